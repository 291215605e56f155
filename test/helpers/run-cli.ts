/** Runs the real `kfashion` command (the bundle `npm install` builds) in a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kfashion(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; user?: { uid: number; gid: number; home: string } } = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    timeout: opts.timeoutMs ?? 60_000,
    env: {
      ...process.env,
      FORCE_COLOR: '0',
      ...(opts.user ? { HOME: opts.user.home, XDG_CONFIG_HOME: join(opts.user.home, '.config') } : {}),
    },
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
