/**
 * Permission errors where the tests run as root (CI does): root reads a chmod 000 file anyway, so a
 * test that needs EACCES runs the real CLI as `nobody` instead, over a tree handed to that user.
 * Everywhere else the CLI runs as the current user, whom chmod 000 already denies.
 */
import { chmodSync, lchownSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const NOBODY = 65534;

/** The user to run the CLI as so that permissions bind, or undefined for the current user. */
export function unprivilegedUser(home: string): { uid: number; gid: number; home: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  letNobodyReach(PROJECT_ROOT);
  return { uid: NOBODY, gid: NOBODY, home };
}

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `nobody` runs the project's own CLI (bin/, dist/, node_modules/), so every folder above the
 * checkout must let others pass through. A clone made under `mktemp -d` (mode 0700) does not: such
 * a folder gets the traverse bit for others (o+x: pass through, not list), and the test says so.
 */
function letNobodyReach(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(d, (mode & 0o7777) | 0o001);
      console.log(`unprivileged: gave ${d} the traverse bit for others (o+x) so that nobody can run the CLI`);
    }
    if (dirname(d) === d) break;
  }
}

/** Gives `dir` and everything below it (links themselves, not their targets) to `user`. */
export function handOver(dir: string, user: { uid: number; gid: number } | undefined): void {
  if (!user) return;
  lchownSync(dir, user.uid, user.gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) handOver(p, user);
    else lchownSync(p, user.uid, user.gid);
  }
}
