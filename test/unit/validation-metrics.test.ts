import { describe, expect, it } from 'vitest';
import {
  meanNorm,
  PairedGalleryPass,
  ranksOfTargets,
  recallAt,
  retrievalFromRanks,
} from '../../src-main/retrieval/rank-metrics.ts';
import { scoreMatrix } from '../../src-main/retrieval/score-matrix.ts';
import {
  validationMetrics,
  validationMetricsBlocked,
  validationQuerySample,
} from '../../src-main/training/validation-metrics.ts';

const f32 = (rows: number[][]) => Float32Array.from(rows.flat());

describe('validation metrics', () => {
  it('ranks the correct item among the gallery and averages Top-1, Top-5, MRR', () => {
    // 6 queries × 6 gallery items; the correct item of query i is column i.
    const scores = f32([
      [0.9, 0.1, 0.2, 0.0, 0.0, 0.0], // rank 1
      [0.8, 0.5, 0.1, 0.0, 0.0, 0.0], // rank 2
      [0.9, 0.8, 0.3, 0.7, 0.6, 0.5], // rank 6
      [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], // rank 3
      [0.0, 0.0, 0.0, 0.0, 1.0, 0.0], // rank 1
      [0.5, 0.6, 0.7, 0.8, 0.9, 0.4], // rank 6
    ]);
    const ranks = ranksOfTargets(scores, 6);
    expect(Array.from(ranks)).toEqual([1, 2, 6, 3, 1, 6]);
    const m = retrievalFromRanks(ranks);
    expect(m.top1).toBeCloseTo(2 / 6, 12);
    expect(m.top5).toBeCloseTo(4 / 6, 12);
    expect(m.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 6 + 1 / 3 + 1 + 1 / 6) / 6, 12);
    expect(recallAt(ranks, 2)).toBeCloseTo(3 / 6, 12);
  });

  it('counts ties against the query: a collapsed model gets rank N, not Top-1', () => {
    const tie = f32([
      [0.5, 0.5, 0.5],
      [0.2, 0.7, 0.7],
      [0.1, 0.3, 0.9],
    ]);
    expect(Array.from(ranksOfTargets(tie, 3))).toEqual([3, 2, 1]);
    const collapsed = new Float32Array(16).fill(1);
    expect(Array.from(ranksOfTargets(collapsed, 4))).toEqual([4, 4, 4, 4]);
    expect(retrievalFromRanks(ranksOfTargets(collapsed, 4)).top1).toBe(0);
  });

  it('takes explicit targets and a non-square gallery', () => {
    const s = f32([
      [0.1, 0.9, 0.3, 0.2],
      [0.4, 0.1, 0.2, 0.3],
    ]);
    expect(Array.from(ranksOfTargets(s, 2, [1, 3]))).toEqual([1, 2]);
  });

  it('computes positive and negative similarity, norms, and the whole pass from vectors', () => {
    const sims = f32([
      [1, 0.2],
      [0.4, 0.6],
    ]);
    const pass = new PairedGalleryPass(2);
    pass.add(sims, 0, 2);
    expect(pass.figures()).toMatchObject({
      posSim: expect.closeTo(0.8, 6),
      negSim: expect.closeTo(0.3, 6),
    });
    // Fed a row at a time, the pass adds the same sums in the same order: identical figures.
    const byRow = new PairedGalleryPass(2);
    byRow.add(sims.subarray(0, 2), 0, 1);
    byRow.add(sims.subarray(2, 4), 1, 1);
    expect(byRow.figures()).toEqual(pass.figures());
    expect(Array.from(byRow.ranks)).toEqual([1, 1]);
    expect(
      meanNorm(
        f32([
          [3, 4],
          [0, 2],
        ]),
        2,
      ),
    ).toBeCloseTo(3.5, 12);
    const q = f32([
      [1, 0],
      [0, 1],
      [Math.SQRT1_2, Math.SQRT1_2],
    ]);
    const g = f32([
      [1, 0],
      [0.6, 0.8],
      [0, 1],
    ]);
    const expected = [1, 0.6, 0, 0, 0.8, 1, Math.SQRT1_2, 1.4 * Math.SQRT1_2, Math.SQRT1_2];
    Array.from(scoreMatrix(q, g, 2).scores).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 6);
    });
    const m = validationMetrics(q, g, 2, 1.25);
    // Ranks: q0 → g0 first; q1 → g1 second (g2 scores 1); q2 → g2 ties g0 and loses to g1 → 3.
    expect(m).toMatchObject({ valLoss: 1.25, top1: 1 / 3, top5: 1 });
    expect(m.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 3) / 3, 6);
    expect(m.meanNorm).toBeCloseTo(1, 6);
  });
});

describe('sampled validation queries', () => {
  // A random paired task: 300 items, 16-d, queries near their own gallery row.
  function task(n: number, dim: number, seed: number) {
    let s = seed >>> 0;
    const rand = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    };
    const gallery = Float32Array.from({ length: n * dim }, rand);
    const queries = Float32Array.from(gallery, (v) => v + 0.8 * rand());
    return { gallery, queries };
  }

  it('draws a seeded sample of distinct ascending items, the same for the same seed, none when all are asked', () => {
    const a = validationQuerySample(1000, 50, 7)!;
    expect(a).toHaveLength(50);
    expect(new Set(a).size).toBe(50);
    expect(Array.from(a)).toEqual(Array.from(a).sort((x, y) => x - y));
    expect(a.every((i) => i >= 0 && i < 1000)).toBe(true);
    expect(Array.from(validationQuerySample(1000, 50, 7)!)).toEqual(Array.from(a));
    expect(Array.from(validationQuerySample(1000, 50, 8)!)).not.toEqual(Array.from(a));
    expect(validationQuerySample(1000, undefined, 7)).toBeNull();
    expect(validationQuerySample(1000, 1000, 7)).toBeNull();
    expect(validationQuerySample(1000, 5000, 7)).toBeNull();
  });

  it('ranks each sampled query against the whole gallery, with the same rank as in the full pass', async () => {
    const n = 300;
    const dim = 16;
    const { gallery, queries } = task(n, dim, 3);
    const full = new PairedGalleryPass(n);
    full.add(scoreMatrix(queries, gallery, dim).scores, 0, n);
    const rows = validationQuerySample(n, 40, 1)!;
    const sampled = await validationMetricsBlocked(queries, gallery, dim, 0.25, { queryRows: rows });
    // The same item has the same rank whether it is ranked alone or among all queries.
    const expectedRanks = Array.from(rows, (i) => full.ranks[i]!);
    expect(sampled.top1).toBeCloseTo(expectedRanks.filter((r) => r === 1).length / rows.length, 12);
    expect(sampled.mrr).toBeCloseTo(expectedRanks.reduce((a, r) => a + 1 / r, 0) / rows.length, 12);
    // The loss and the mean norm still cover every item.
    expect(sampled.valLoss).toBe(0.25);
    expect(sampled.meanNorm).toBeCloseTo(meanNorm(queries, dim), 12);
    // An estimate of the full figure, not the full figure: close on this task, and not the same pass.
    const whole = full.figures();
    expect(Math.abs(sampled.mrr - whole.mrr)).toBeLessThan(0.25);
    // Positive similarity is the mean over the sampled queries of their own pair's score.
    const { scores } = scoreMatrix(queries, gallery, dim);
    const pos = Array.from(rows, (i) => scores[i * n + i]!).reduce((a, b) => a + b, 0) / rows.length;
    expect(sampled.posSim).toBeCloseTo(pos, 5);
  });

  it('gives bit-identical figures to the whole pass when no sample is asked', async () => {
    const { gallery, queries } = task(120, 8, 9);
    expect(await validationMetricsBlocked(queries, gallery, 8, 0.5)).toEqual(
      validationMetrics(queries, gallery, 8, 0.5),
    );
  });
});
