/**
 * The scan's memory does not grow with the number of files: the same realistic labels (the scan
 * bench's) at 2,000 and at 8,000 files, each scanned by the scan bench's child (the Workbench, parse
 * workers, as the CLI runs it) with --expose-gc, so that the heap is measured after a full collection
 * at every transaction and at the end of every phase (Note: scan memory figures in bench/scan-bench.ts).
 * Anything the scan kept per file (rows waiting for a commit, a list of every group or name, parsed
 * labels) would show as the difference between the two.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { type PhaseFigures, writeBenchTree } from '../../bench/scan-bench.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = tempDir('kf-scan-memory-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * At most this much more live heap at 8,000 files than at 2,000: 256 bytes for each of the 6,000 more
 * files. One stored label's rows alone are several KB, so keeping anything per file passes it; the
 * live heap of two identical runs differs by a few hundred KB.
 */
const ALLOWED_GROWTH_MB = (6000 * 256) / 2 ** 20;

function scanChild(files: number): { files: number; phases: PhaseFigures[] } {
  const data = join(dir, `data-${files}`);
  writeBenchTree(data, files);
  const r = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      join(ROOT, 'dist', 'bench-cli.js'),
      'scan-once',
      data,
      join(dir, `ws-${files}`),
      'workers',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  rmSync(data, { recursive: true, force: true });
  return JSON.parse(r.stdout) as { files: number; phases: PhaseFigures[] };
}

it('keeps the same live heap in every phase at 2,000 and at 8,000 label files', () => {
  const small = scanChild(2000);
  const large = scanChild(8000);
  expect(small.files).toBe(2000);
  expect(large.files).toBe(8000);
  const phases = ['plan', 'load', 'index', 'stale', 'split', 'vocabulary', 'report'];
  expect(small.phases.map((p) => p.phase)).toEqual(phases);
  expect(large.phases.map((p) => p.phase)).toEqual(phases);
  const live = (r: typeof small) => Math.max(...r.phases.map((p) => p.liveHeapMB));
  // The largest live heap of any phase, and the load phase's (sampled after every transaction).
  expect(live(large) - live(small)).toBeLessThan(ALLOWED_GROWTH_MB);
  const load = (r: typeof small) => r.phases.find((p) => p.phase === 'load')!.liveHeapMB;
  expect(load(large) - load(small)).toBeLessThan(ALLOWED_GROWTH_MB);
}, 60_000);
