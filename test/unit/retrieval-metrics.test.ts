import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  type EvalSet,
  galleryPlan,
  gatherRows,
  inBatchBatches,
  inBatchPlan,
} from '../../src-main/evaluation/protocols.ts';
import {
  ceilingFromGroupSizes,
  embeddingHealth,
  emptyResults,
  harmonic,
  type RankingTask,
  rankTask,
  summarise,
} from '../../src-main/retrieval/retrieval-metrics.ts';
import { topK } from '../../src-main/retrieval/top-k.ts';

/**
 * Score rows as queries against one-hot candidates: query·candidateⱼ = row[j], so any hand-written
 * score matrix becomes a ranking task.
 */
function taskFromScores(
  rows: number[][],
  o: {
    targets: number[];
    strictQ: number[];
    strictC: number[];
    looseQ?: number[];
    looseC?: number[];
    groups?: number[];
  },
): RankingTask {
  const c = rows[0]!.length;
  const eye = new Float32Array(c * c);
  for (let i = 0; i < c; i++) eye[i * c + i] = 1;
  return {
    dim: c,
    queries: Float32Array.from(rows.flat()),
    candidates: eye,
    targets: o.targets,
    slots: rows.map((_, i) => i),
    strictQ: o.strictQ,
    strictC: o.strictC,
    looseQ: o.looseQ ?? o.strictQ,
    looseC: o.looseC ?? o.strictC,
    groups: o.groups ?? o.strictQ,
  };
}

describe('retrieval metrics on hand-computed rankings', () => {
  // Candidates 0..3 have strict classes A A B C (0 0 1 2); query i's answer is candidate i.
  const rows = [
    [0.9, 0.1, 0.2, 0.3], // answer 0 scores highest → rank 1
    [0.5, 0.5, 0.1, 0.0], // answer 1 ties with 0 → rank 2 (ties count against the query)
    [0.3, 0.3, 0.3, 0.3], // everything tied → rank 4
    [0.4, 0.1, 0.6, 0.2], // 0.4 and 0.6 beat 0.2 → rank 3
  ];
  const task = taskFromScores(rows, { targets: [0, 1, 2, 3], strictQ: [0, 0, 1, 2], strictC: [0, 0, 1, 2] });
  const ks = [1, 2, 5]; // K = 5 is larger than the 4-item gallery
  const res = emptyResults(4, ks);
  rankTask(task, res);

  it('ranks with ties against the query', () => {
    expect(Array.from(res.rank)).toEqual([1, 2, 4, 3]);
  });

  it('Recall@K, MRR, K larger than the gallery', () => {
    const f = summarise(res);
    expect(f.queries).toBe(4);
    expect(f.recall).toEqual({ '1': 0.25, '2': 0.5, '5': 1 });
    expect(f.mrr).toBeCloseTo((1 + 1 / 2 + 1 / 4 + 1 / 3) / 4, 12);
  });

  it('Precision@K: the top min(K, gallery), ties put wrong candidates before the answer', () => {
    // q0 top order 0,3,2,1 → classes A,C,B,A; q1 0,1,2,3 → A,A,B,C; q2 0,1,3,2 → A,A,C,B; q3 2,0,3,1 → B,A,C,A.
    const p = summarise(res).precision.strict as Record<string, number>;
    expect(p['1']).toBeCloseTo((1 + 1 + 0 + 0) / 4, 12);
    expect(p['2']).toBeCloseTo((0.5 + 1 + 0 + 0) / 4, 12);
    expect(p['5']).toBeCloseTo((2 / 4 + 2 / 4 + 1 / 4 + 1 / 4) / 4, 12);
  });

  it('positive and negative similarity per query, averaged', () => {
    const f = summarise(res);
    expect(f.positive_similarity).toBeCloseTo((0.9 + 0.5 + 0.3 + 0.2) / 4, 6);
    expect(f.negative_similarity).toBeCloseTo((0.2 + 0.2 + 0.3 + 1.1 / 3) / 4, 6);
  });

  it('ceiling from groups, and figures over a subset', () => {
    const f = summarise(res);
    // Groups: A holds queries 0 and 1, B and C one each.
    expect(f.ceiling.recall).toEqual({ '1': 0.75, '2': 1, '5': 1 });
    expect(f.ceiling.mrr).toBeCloseTo((1.5 + 1 + 1) / 4, 12);
    expect(f.of_ceiling.recall['1']).toBeCloseTo(0.25 / 0.75, 12);
    const s = summarise(res, [2, 3]);
    expect(s.queries).toBe(2);
    expect(s.recall['5']).toBe(1);
    expect(s.recall['1']).toBe(0);
    expect(s.mrr).toBeCloseTo((1 / 4 + 1 / 3) / 2, 12);
    // A subset holding one member of group A: that member can be first.
    expect(summarise(res, [1]).ceiling.recall['1']).toBe(1);
  });

  it('a one-item gallery: rank 1, every K a hit, no negatives', () => {
    const one = emptyResults(1, [1, 5, 10]);
    rankTask(taskFromScores([[0.3]], { targets: [0], strictQ: [0], strictC: [0] }), one);
    const f = summarise(one);
    expect(Array.from(one.rank)).toEqual([1]);
    expect(f.recall).toEqual({ '1': 1, '5': 1, '10': 1 });
    expect(f.precision.strict).toEqual({ '1': 1, '5': 1, '10': 1 });
    expect(f.mrr).toBe(1);
    expect(f.negative_similarity).toBe(0);
    expect(f.ceiling.recall['10']).toBe(1);
  });

  it('topK orders by score, then wrong before the answer, then index (small and large k)', () => {
    expect(topK([0.5, 0.7, 0.7, 0.1], 3, 1)).toEqual([2, 1, 0]);
    expect(topK([0.5, 0.7, 0.7, 0.1], 3, 2)).toEqual([1, 2, 0]);
    expect(topK([0.2, 0.1], 3, 0)).toEqual([0, 1]);
    // 20 tied candidates, k = 2 (the sorted-buffer path): the answer (5) comes after every other one.
    const tied = new Array(20).fill(0.3);
    expect(topK(tied, 2, 0)).toEqual([1, 2]);
    expect(topK(tied, 2, 5)).toEqual([0, 1]);
    expect(topK(tied, 20, 5).at(-1)).toBe(5);
  });
});

describe('ceiling formula', () => {
  it('Recall@K = Σ min(m, K) / N and MRR = Σ H(m) / N on constructed groups', () => {
    const c = ceilingFromGroupSizes([12, 1, 2], [1, 5, 10]);
    expect(c.queries).toBe(15);
    expect(c.recall[0]).toBeCloseTo(3 / 15, 12);
    expect(c.recall[1]).toBeCloseTo((5 + 1 + 2) / 15, 12);
    expect(c.recall[2]).toBeCloseTo((10 + 1 + 2) / 15, 12);
    expect(c.mrr).toBeCloseTo((harmonic(12) + 1 + 1.5) / 15, 12);
    expect(harmonic(3)).toBeCloseTo(1 + 1 / 2 + 1 / 3, 12);
    // All singletons: a perfect model is possible.
    expect(ceilingFromGroupSizes([1, 1, 1]).recall).toEqual([1, 1, 1]);
  });

  it('a model that orders each group perfectly reaches exactly the ceiling (gallery)', () => {
    // 6 items in groups {0,1,2} {3,4} {5}: identical JSON vectors within a group; images are the group
    // direction plus a small item-specific tilt, so a group's images outrank everything else.
    const dim = 10;
    const group = [0, 0, 0, 1, 1, 2];
    const json = new Float32Array(6 * dim);
    const images = new Float32Array(6 * dim);
    group.forEach((g, i) => {
      json[i * dim + g] = 1;
      images[i * dim + g] = 1;
      images[i * dim + 3 + i] = 0.05 * (i + 1);
      let n = 0;
      for (let d = 0; d < dim; d++) n += images[i * dim + d]! ** 2;
      for (let d = 0; d < dim; d++) images[i * dim + d]! /= Math.sqrt(n);
    });
    const set: EvalSet = {
      dim,
      ids: group.map((_, i) => `i${i}`),
      json,
      images,
      strict: Int32Array.from(group),
      loose: Int32Array.from(group),
    };
    const res = emptyResults(6, [1, 5, 10]);
    for (const t of galleryPlan(set, 'json-to-image').tasks) rankTask(t, res);
    const f = summarise(res);
    expect(f.ceiling.recall['1']).toBeCloseTo(3 / 6, 12);
    expect(f.ceiling.mrr).toBeCloseTo((harmonic(3) + harmonic(2) + 1) / 6, 12);
    expect(f.recall['1']).toBeCloseTo(f.ceiling.recall['1'], 12);
    expect(f.mrr).toBeCloseTo(f.ceiling.mrr, 12);
    expect(f.of_ceiling.mrr).toBeCloseTo(1, 12);
    // Strict precision: a query's top-3 are its group (3 of them for group 0).
    expect(f.precision.strict['1']).toBe(1);

    // image → JSON ranks the 3 distinct JSONs; every image's own JSON is the best candidate.
    const rev = emptyResults(6, [1, 5, 10]);
    const plan = galleryPlan(set, 'image-to-json');
    expect(plan.candidates).toBe(3);
    for (const t of plan.tasks) rankTask(t, rev);
    const r = summarise(rev);
    expect(r.recall['1']).toBe(1);
    expect(r.ceiling.recall['1']).toBe(1);
  });
});

describe('in-batch vs gallery', () => {
  const dim = 16;
  const n = 80;
  const rng = new Rng(9);
  const json = rng.unitRows(n, dim);
  const noise = rng.unitRows(n, dim);
  const images = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const v = json[i * dim + d]! + 0.9 * noise[i * dim + d]!;
      images[i * dim + d] = v;
      s += v * v;
    }
    for (let d = 0; d < dim; d++) images[i * dim + d]! /= Math.sqrt(s);
  }
  // Items 0 and 1 share their JSON (a group of two), the rest are distinct.
  json.set(json.subarray(0, dim), dim);
  const strict = Int32Array.from({ length: n }, (_, i) => (i === 1 ? 0 : i));
  const set: EvalSet = {
    dim,
    ids: Array.from({ length: n }, (_, i) => `i${i}`),
    json,
    images,
    strict,
    loose: strict,
  };

  it('batches of exactly B: the remainder is completed with earlier items that are not counted again', () => {
    const batches = inBatchBatches(n, 32, 42);
    expect(batches.map((b) => [b.queries.length, b.context.length])).toEqual([
      [32, 32],
      [32, 32],
      [16, 32],
    ]);
    const counted = batches.flatMap((b) => b.queries).sort((a, b) => a - b);
    expect(counted).toEqual(Array.from({ length: n }, (_, i) => i));
    const last = batches[2]!;
    expect(new Set(last.context).size).toBe(32);
    for (const q of last.queries) expect(last.context).toContain(q);
    expect(() => inBatchBatches(n, 16, 1)).toThrow('at least 32');
    expect(() => inBatchBatches(20, 32, 1)).toThrow(
      'needs at least 32 validation items; this workspace has 20',
    );
  });

  it('in-batch ranks are the gallery rule applied within each batch, never worse than gallery ranks', () => {
    const gallery = emptyResults(n, [1, 5, 10]);
    for (const t of galleryPlan(set, 'json-to-image').tasks) rankTask(t, gallery);
    const inBatch = emptyResults(n, [1, 5, 10]);
    const plan = inBatchPlan(set, 'json-to-image', 32, 42);
    expect(plan.batches).toBe(3);
    for (const t of plan.tasks) rankTask(t, inBatch);
    const dot = (a: Float32Array, i: number, b: Float32Array, j: number) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += a[i * dim + d]! * b[j * dim + d]!;
      return s;
    };
    for (const b of inBatchBatches(n, 32, 42)) {
      for (const q of b.queries) {
        const own = dot(json, q, images, q);
        const expected = 1 + b.context.filter((j) => j !== q && dot(json, q, images, j) >= own).length;
        expect(inBatch.rank[q]).toBe(expected);
        expect(inBatch.rank[q]).toBeLessThanOrEqual(gallery.rank[q]!);
        expect(inBatch.candidates[q]).toBe(32);
      }
    }
    const g = summarise(gallery);
    const ib = summarise(inBatch);
    expect(ib.recall['1']).toBeGreaterThan(g.recall['1']);
    expect(ib.mrr).toBeGreaterThan(g.mrr);
    // Gallery: items 0 and 1 share a group → ceiling Top-1 = 79/80. In-batch they may sit in different
    // batches (then both can be first) or the same one (then not).
    expect(g.ceiling.recall['1']).toBeCloseTo(79 / 80, 12);
    const together = inBatchBatches(n, 32, 42).some((b) => b.queries.includes(0) && b.queries.includes(1));
    expect(ib.ceiling.recall['1']).toBeCloseTo(together ? 79 / 80 : 1, 12);
  });

  it('gatherRows copies rows in order', () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(gatherRows(m, 2, [2, 0]))).toEqual([5, 6, 1, 2]);
  });
});

describe('embedding health', () => {
  it('norm check, per-dimension variance, mean pairwise cosine', () => {
    const v = Float32Array.from([1, 0, 0, 1, 0.6, 0.8, 2, 0]);
    const h = embeddingHealth(v, 2);
    expect(h.vectors).toBe(4);
    expect(h.norm.ok).toBe(false);
    expect(h.norm.off).toBe(1);
    expect(h.norm.max).toBeCloseTo(2, 6);
    expect(h.norm.max_deviation).toBeCloseTo(1, 6);
    // Unit vectors (1,0) (0,1) (.6,.8) (1,0): pairwise cosines 0, .6, 1, .8, 0, .6 → mean 3/6.
    expect(h.mean_pairwise_cosine).toBeCloseTo(0.5, 6);
    // Dim 0 values 1, 0, .6, 2: mean .9, variance (0.01 + 0.81 + 0.09 + 1.21) / 4.
    expect(h.per_dimension_variance.values![0]).toBeCloseTo(2.12 / 4, 6);
    const collapsed = embeddingHealth(Float32Array.from([0.6, 0.8, 0.6, 0.8, 0.6, 0.8]), 2);
    expect(collapsed.norm.ok).toBe(true);
    expect(collapsed.mean_pairwise_cosine).toBeCloseTo(1, 6);
    expect(collapsed.per_dimension_variance.near_zero).toBe(2);
  });
});

describe('score matrix', () => {
  it('the blocked kernel equals plain dot products bit for bit (odd sizes hit every remainder path)', async () => {
    const { scoreMatrix } = await import('../../src-main/retrieval/score-matrix.ts');
    const rng = new Rng(3);
    const dim = 7;
    const q = rng.unitRows(7, dim);
    const g = rng.unitRows(5, dim);
    const { scores } = scoreMatrix(q, g, dim);
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let k = 0; k < dim; k++) s += q[i * dim + k]! * g[j * dim + k]!;
        expect(scores[i * 5 + j]).toBe(Math.fround(s));
      }
    }
  });
});

describe('ceiling note', () => {
  it('speaks up when the data caps Recall@10 or Top-1, and stays quiet otherwise', async () => {
    const { ceilingNote } = await import('../../src-main/evaluation/evaluate.ts');
    const res = emptyResults(4, [1, 5, 10]);
    // Four queries with the same encoder input and 4 candidates: at most one can be first.
    const rows = [
      [0.9, 0.1, 0.2, 0.3],
      [0.5, 0.6, 0.1, 0.0],
      [0.3, 0.3, 0.4, 0.3],
      [0.4, 0.1, 0.6, 0.7],
    ];
    rankTask(
      taskFromScores(rows, { targets: [0, 1, 2, 3], strictQ: [0, 0, 0, 0], strictC: [0, 0, 0, 0] }),
      res,
    );
    const f = summarise(res);
    expect(f.ceiling.recall['1']).toBe(0.25);
    const note = ceilingNote(f, 1);
    expect(note).toContain("The data's ceiling is low: no JSON-only model can exceed Top-1 25.0 %");
    expect(note).toContain('100.0 % of them share their encoder input');
    const free = emptyResults(4, [1, 5, 10]);
    rankTask(
      taskFromScores(rows, { targets: [0, 1, 2, 3], strictQ: [0, 1, 2, 3], strictC: [0, 1, 2, 3] }),
      free,
    );
    expect(ceilingNote(summarise(free), 0)).toBeNull();
  });
});
