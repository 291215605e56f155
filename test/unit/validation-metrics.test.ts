import { describe, expect, it } from 'vitest';
import {
  meanNorm,
  PairedGalleryPass,
  ranksOfTargets,
  recallAt,
  retrievalFromRanks,
} from '../../src-main/retrieval/rank-metrics.ts';
import { scoreMatrix } from '../../src-main/retrieval/score-matrix.ts';
import { validationMetrics } from '../../src-main/training/validation-metrics.ts';

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
