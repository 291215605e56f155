/**
 * The label fuzzer at CI size, through the real CLI (worker threads and all): a few hundred good and
 * hostile label files, and the scan must neither crash nor lose a good file nor let a bad one pass
 * unreported. Under root the CLI runs as `nobody`, so unreadable files and folders really are.
 * `npm run fuzz -- labels --files 10000` is the full run.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import {
  checkFuzzScan,
  readFuzzOutcome,
  stderrWithoutSlowQueries,
  writeFuzzTree,
} from '../helpers/label-fuzzer.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { handOver, unprivilegedUser } from '../helpers/unprivileged.ts';

const dir = tempDir('kf-fuzz-');
afterAll(() => {
  // The locked style folder (chmod 000) must be opened again before a non-root user can remove it.
  try {
    chmodSync(join(dir, 'data', 'Training', '라벨링데이터', 'locked_style'), 0o755);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

it('a few hundred hostile label files: no crash, every bad file reported with a reason, every good file kept', () => {
  chmodSync(dir, 0o755); // mkdtemp's 0700 would shut the unprivileged user out
  const home = join(dir, 'home');
  const wsParent = join(dir, 'ws');
  mkdirSync(home);
  mkdirSync(wsParent);
  const user = unprivilegedUser(home);
  const fuzz = writeFuzzTree(join(dir, 'data'), {
    files: 400,
    seed: 11,
    permissionsBind: true,
    outside: join(dir, 'outside'),
  });
  for (const d of ['data', 'outside', 'ws', 'home']) handOver(join(dir, d), user);

  const r = kfashion(['scan', '--data', fuzz.root, '--workspace', join(wsParent, 'w')], {
    user,
    timeoutMs: 120_000,
  });
  expect(stderrWithoutSlowQueries(r.stderr)).not.toMatch(/kfashion:|Error|at /);
  expect(r.code).toBe(0);
  expect(checkFuzzScan(fuzz, readFuzzOutcome(join(wsParent, 'w')))).toEqual([]);

  const kinds = new Set([...fuzz.files, ...fuzz.folders].map((f) => f.kind));
  for (const k of [
    'good',
    'truncated',
    'bad-utf8',
    'empty',
    'huge-number',
    'nan-string',
    'deep-nesting',
    'many-values',
    'long-value',
    'oversized',
    'oversized-real',
    'duplicate-id',
    'case-twin',
    'link-loop',
    'dangling-link',
    'outside-link',
    'unreadable',
    'bad-coordinates',
    'bom-good',
    'long-list',
    'unreadable-style',
    'loop-style',
    'parent-link-style',
  ])
    expect(kinds).toContain(k);
  expect(fuzz.files.filter((f) => f.keep).length).toBeGreaterThan(100);
  expect(fuzz.files.filter((f) => f.skip).length).toBeGreaterThan(150);
  // The on-screen list stays short and says where the full one is.
  expect(r.stdout).toContain('… and ');
  expect(r.stdout).toContain(join(wsParent, 'w', 'results', 'scan_report.json'));
}, 180_000);
