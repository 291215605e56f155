/**
 * The scale benchmark at CI size: `npm run bench -- scale --items 20000` runs every phase through
 * the real CLI / product code, and each phase's peak memory stays under its bound (bench/scale-bench.ts
 * MEMORY_BOUNDS: a fixed allowance for what does not grow with N plus at most one copy of the
 * vectors per garment where a phase needs them). The per-item figure is the one to watch at 1.2M.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEMORY_BOUNDS } from '../../bench/scale-bench.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src-main/training/train-config.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ITEMS = 20_000;

describe('npm run bench -- scale at 20,000 garments', () => {
  it('measures every phase and keeps peak memory per garment bounded', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'dist', 'bench-cli.js'),
        'scale',
        '--items',
        String(ITEMS),
        '--train-steps',
        '10',
        '--val-sample',
        '2000',
      ],
      { encoding: 'utf8', timeout: 400_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byPhase = Object.fromEntries(lines.map((l) => [l.phase as string, l]));
    expect(Object.keys(byPhase)).toEqual([
      'generate',
      'scan',
      'import',
      'database',
      'train',
      'validate',
      'search',
      'centrality',
      'report',
    ]);
    expect(byPhase.scan).toMatchObject({ garments: ITEMS, files: ITEMS / 2 });
    expect(byPhase.import).toMatchObject({ rows: ITEMS });
    expect(byPhase.search).toMatchObject({ rows: ITEMS });
    expect(byPhase.train).toMatchObject({
      batch: DEFAULT_TRAIN_CONFIG.batchSize,
      extrapolated: true,
      stepsTimed: expect.any(Number),
    });
    expect(byPhase.validate).toMatchObject({ gallery: expect.any(Number), sampled: true });
    // 20 % of the garments, give or take the per-style rounding of the split.
    expect(Math.abs((byPhase.validate!.gallery as number) / ITEMS - 0.2)).toBeLessThan(0.02);
    for (const [phase, bound] of Object.entries(MEMORY_BOUNDS)) {
      const line = byPhase[phase]!;
      const grownMB = (line.peakRssMB as number) - (line.baselineRssMB as number);
      expect(grownMB, `${phase}: ${JSON.stringify(line)}`).toBeLessThanOrEqual(
        bound.fixedMB + (bound.perItemKB * ITEMS) / 1024,
      );
      expect(line.withinMemoryBound, phase).toBe(true);
    }
    expect(byPhase.database!.bytesPerItem as number).toBeGreaterThan(2048); // the vectors are stored
  }, 420_000);
});
