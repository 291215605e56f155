/**
 * `npm run fuzz -- labels [--files N] [--seed S]`: the label fuzzer's full run (default 10,000 files).
 * Writes a tree of good and hostile label files (test/helpers/label-fuzzer.ts), scans it with the real
 * CLI in a child process (as `nobody` when run as root, so that unreadable files really are), and
 * checks the outcome against what each file asks for: no crash, every bad file and folder reported
 * with a reason, every good file kept with its garments. Prints one JSON line; exits 1 on any problem.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  checkFuzzScan,
  readFuzzOutcome,
  stderrWithoutSlowQueries,
  writeFuzzTree,
} from '../test/helpers/label-fuzzer.ts';
import { handOver, unprivilegedUser } from '../test/helpers/unprivileged.ts';
import { emit } from './machine.ts';

function intFlag(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${flag} expects a whole number ≥ 1, got ${args[i + 1]}`);
  return n;
}

export async function labelFuzz(args: string[]): Promise<void> {
  const files = intFlag(args, '--files', 10_000);
  const seed = intFlag(args, '--seed', 1);
  const dir = mkdtempSync(join(tmpdir(), 'kf-fuzz-'));
  try {
    chmodSync(dir, 0o755);
    const home = join(dir, 'home');
    mkdirSync(home);
    mkdirSync(join(dir, 'ws'));
    const user = unprivilegedUser(home);
    const t0 = performance.now();
    const tree = writeFuzzTree(join(dir, 'data'), {
      files,
      seed,
      permissionsBind: true,
      outside: join(dir, 'outside'),
    });
    for (const d of ['data', 'outside', 'ws', 'home']) handOver(join(dir, d), user);
    const writeSeconds = (performance.now() - t0) / 1000;

    // dist/bench-cli.js → bin/kfashion.js: the CLI as users run it.
    const bin = join(dirname(process.argv[1]!), '..', 'bin', 'kfashion.js');
    const ws = join(dir, 'ws', 'w');
    const t1 = performance.now();
    const r = spawnSync(process.execPath, [bin, 'scan', '--data', tree.root, '--workspace', ws, '--json'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...process.env, FORCE_COLOR: '0', ...(user ? { HOME: home } : {}) },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    const scanSeconds = (performance.now() - t1) / 1000;
    const crashed = r.status !== 0 || /kfashion:|Error/.test(stderrWithoutSlowQueries(r.stderr));
    const problems = crashed ? [] : checkFuzzScan(tree, readFuzzOutcome(ws));
    const byKind: Record<string, number> = {};
    for (const f of [...tree.files, ...tree.folders]) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
    emit({
      fuzz: 'labels',
      files: tree.files.length,
      good: tree.files.filter((f) => f.keep).length,
      bad: tree.files.filter((f) => f.skip).length,
      badFolders: tree.folders.length,
      ranAs: user ? 'nobody (root does not bind chmod 000)' : 'current user',
      notGenerated: tree.notGenerated,
      crashes: crashed ? 1 : 0,
      exitCode: r.status,
      stderrTail: crashed ? r.stderr.slice(-2000) : undefined,
      problems: problems.length,
      firstProblems: problems.slice(0, 20),
      writeSeconds: Number(writeSeconds.toFixed(1)),
      scanSeconds: Number(scanSeconds.toFixed(1)),
      filesPerSecond: Math.round(tree.files.length / scanSeconds),
      byKind,
    });
    if (crashed || problems.length > 0) process.exitCode = 1;
  } finally {
    try {
      chmodSync(join(dir, 'data', 'Training', '라벨링데이터', 'locked_style'), 0o755);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
}
