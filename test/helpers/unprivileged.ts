/**
 * Permission errors where the tests run as root (CI does): root reads a chmod 000 file anyway, so a
 * test that needs EACCES runs the real CLI as `nobody` instead, over a tree handed to that user.
 * Everywhere else the CLI runs as the current user, whom chmod 000 already denies.
 */
import { lchownSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const NOBODY = 65534;

/** The user to run the CLI as so that permissions bind, or undefined for the current user. */
export function unprivilegedUser(home: string): { uid: number; gid: number; home: string } | undefined {
  return process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY, home } : undefined;
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
