import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  emptyResults,
  type RankingTask,
  rankTask,
  rankTaskWith,
  summarise,
} from '../../src-main/retrieval/retrieval-metrics.ts';
import { openBlockScorer } from '../../src-main/retrieval/score-blocks.ts';
import { validationMetrics, validationMetricsBlocked } from '../../src-main/training/validation-metrics.ts';

/** A gallery task on random unit vectors: query i is a noisy copy of candidate i. */
function randomTask(n: number, dim: number, seed: number): RankingTask {
  const rng = new Rng(seed);
  const candidates = rng.unitRows(n, dim);
  const queries = new Float32Array(candidates.length);
  for (let i = 0; i < queries.length; i++) queries[i] = candidates[i]! + 0.2 * rng.normal();
  for (let r = 0; r < n; r++) {
    const row = queries.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row);
    for (let k = 0; k < dim; k++) row[k]! /= norm;
  }
  const classes = Array.from({ length: n }, (_, i) => i % 7);
  return {
    dim,
    queries,
    candidates,
    targets: classes.map((_, i) => i),
    slots: classes.map((_, i) => i),
    strictQ: classes,
    strictC: classes,
    looseQ: classes,
    looseC: classes,
    groups: classes.map((_, i) => i),
  };
}

describe('gallery score blocks on ONNX Runtime', () => {
  it('rank the same as the JS loop, block by block, with progress', async () => {
    const n = 600;
    const task = randomTask(n, 64, 5);
    const js = emptyResults(n, [1, 5, 10]);
    rankTask(task, js);
    const scorer = await openBlockScorer(task.candidates, task.dim, { minOrtRows: 1 });
    expect(scorer.backend).toBe('onnxruntime');
    const ort = emptyResults(n, [1, 5, 10]);
    const seen: number[] = [];
    try {
      await rankTaskWith(task, ort, scorer.scores, 250, (done) => seen.push(done));
    } finally {
      await scorer.close();
    }
    expect(seen).toEqual([250, 500, 600]);
    // Float sums in another order may differ by an ulp; with no exact ties the ranks are equal.
    expect(Array.from(ort.rank)).toEqual(Array.from(js.rank));
    const a = summarise(js);
    const b = summarise(ort);
    expect(b.recall).toEqual(a.recall);
    expect(b.mrr).toBeCloseTo(a.mrr, 12);
    expect(b.positive_similarity).toBeCloseTo(a.positive_similarity, 5);
    // The task is not trivial: some queries miss rank 1.
    expect(a.recall['1']).toBeLessThan(1);
    expect(a.recall['1']).toBeGreaterThan(0);
  });

  it('training validation in blocks on ONNX Runtime gives the figures of the whole-matrix pass', async () => {
    const task = randomTask(700, 64, 9);
    const whole = validationMetrics(task.queries, task.candidates, 64, 0.5);
    const blocked = await validationMetricsBlocked(task.queries, task.candidates, 64, 0.5, { minOrtRows: 1 });
    expect(blocked.top1).toBe(whole.top1);
    expect(blocked.top5).toBe(whole.top5);
    expect(blocked.mrr).toBeCloseTo(whole.mrr, 12);
    expect(blocked.posSim).toBeCloseTo(whole.posSim, 5);
    expect(blocked.negSim).toBeCloseTo(whole.negSim, 5);
    expect(blocked.meanNorm).toBe(whole.meanNorm);
    expect(whole.top1).toBeGreaterThan(0);
    expect(whole.top1).toBeLessThan(1);
    // Below the threshold it is the very same computation.
    expect(await validationMetricsBlocked(task.queries, task.candidates, 64, 0.5)).toEqual(whole);
  });

  it('keeps the JS loop below the threshold (bit-identical to training validation)', async () => {
    const task = randomTask(10, 8, 1);
    const scorer = await openBlockScorer(task.candidates, task.dim);
    expect(scorer.backend).toBe('js');
    await scorer.close();
  });
});
