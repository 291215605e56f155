import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { blockLayout, blockStart } from '../../src-main/retrieval/gallery-blocks.ts';
import { topK } from '../../src-main/retrieval/top-k.ts';
import { VectorIndex, VectorIndexError } from '../../src-main/retrieval/vector-index.ts';
import { indexTracker, itemIds } from '../helpers/vector-index-fixture.ts';

const indexes = indexTracker();
const build = indexes.build;
afterEach(indexes.closeAll);
const ids = itemIds;

/** Brute force in float64 with a full sort: the independent reference. */
function reference(g: Float32Array, n: number, dim: number, q: Float32Array, k: number): number[] {
  const s = Array.from({ length: n }, (_, i) => {
    let a = 0;
    for (let j = 0; j < dim; j++) a += g[i * dim + j]! * q[j]!;
    return [a, i] as const;
  });
  s.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return s.slice(0, Math.min(k, n)).map((x) => x[1]);
}

describe('VectorIndex', () => {
  it('finds a planted nearest item on both paths, best first with cosine scores', async () => {
    const dim = 16;
    const n = 200;
    const rng = new Rng(1);
    const g = rng.unitRows(n, dim);
    // Plant: row 137 = query + small noise (the nearest), row 42 = query + more noise (second).
    const q = rng.unitRows(1, dim);
    const plant = (row: number, noise: number) => {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        g[row * dim + j] = q[j]! + noise * rng.normal();
        s += g[row * dim + j]! ** 2;
      }
      for (let j = 0; j < dim; j++) g[row * dim + j]! /= Math.sqrt(s);
    };
    plant(137, 0.02);
    plant(42, 0.2);
    for (const [backend, thread] of [
      ['js', 'main'],
      ['onnxruntime', 'main'],
      ['onnxruntime', 'worker'],
    ] as const) {
      const index = await build(ids(n), g, dim, { backend, thread });
      expect(index.backend).toBe(backend);
      expect(index.thread).toBe(thread);
      const [hits] = await index.search(q, 3);
      expect(hits!.map((h) => h.id)).toEqual(reference(g, n, dim, q, 3).map((i) => `item-${i}`));
      expect(hits![0]!.id).toBe('item-137');
      expect(hits![1]!.id).toBe('item-42');
      expect(hits![0]!.score).toBeGreaterThan(0.99);
      expect(hits![0]!.score).toBeLessThanOrEqual(1 + 1e-6);
      expect(hits![0]!.score).toBeGreaterThanOrEqual(hits![1]!.score);
    }
  });

  it('ORT path equals the JS path on random data, incl. batches, k > N and N = 1', async () => {
    const dim = 512;
    const rng = new Rng(7);
    for (const [n, k, q] of [
      [1, 5, 3],
      [5, 10, 2],
      [1000, 10, 37],
      [300, 300, 2],
      [2500, 50, 5],
    ] as const) {
      const g = rng.unitRows(n, dim);
      const queries = rng.unitRows(q, dim);
      const js = await build(ids(n), g, dim, { backend: 'js' });
      // A small score budget splits the queries over several ORT runs (the N = 1M case).
      const ox = await build(ids(n), g, dim, {
        backend: 'onnxruntime',
        thread: 'main',
        maxScoreFloats: n * 4,
      });
      const a = await js.search(queries, k);
      const b = await ox.search(queries, k);
      if (n === 1000) {
        // The search worker thread gives the same hits (scores may differ in the last bit: MLAS
        // picks its kernels by batch size). One case only: a worker takes a moment to start.
        const w = await build(ids(n), g, dim, { backend: 'onnxruntime', thread: 'worker' });
        const c = await w.search(queries, k);
        expect(c.map((hits) => hits.map((h) => h.index))).toEqual(b.map((hits) => hits.map((h) => h.index)));
      }
      expect(a).toHaveLength(q);
      expect(b).toHaveLength(q);
      for (let r = 0; r < q; r++) {
        expect(a[r]!).toHaveLength(Math.min(k, n));
        expect(b[r]!.map((h) => h.index)).toEqual(a[r]!.map((h) => h.index));
        b[r]!.forEach((h, j) => {
          expect(h.score).toBeCloseTo(a[r]![j]!.score, 5);
          expect(h.id).toBe(`item-${h.index}`);
        });
        if (k < n) {
          expect(a[r]!.map((h) => h.index)).toEqual(
            reference(g, n, dim, queries.subarray(r * dim, (r + 1) * dim), k),
          );
        }
      }
    }
  });

  it('cuts large galleries into overlapping blocks and merges their top-k exactly', async () => {
    const dim = 64;
    const rng = new Rng(11);
    const n = 1000;
    const g = rng.unitRows(n, dim);
    // Identical rows in different blocks (and in the overlap): ties go to the lower row.
    g.copyWithin(990 * dim, 5 * dim, 6 * dim);
    g.copyWithin(880 * dim, 5 * dim, 6 * dim);
    const queries = new Float32Array([...g.subarray(5 * dim, 6 * dim), ...rng.unitRows(4, dim)]);
    const js = await build(ids(n), g, dim, { backend: 'js' });
    for (const [blockRows, k] of [
      [128, 10],
      [128, 300],
      [999, 7],
      [1, 3],
    ] as const) {
      const ox = await build(ids(n), g, dim, { backend: 'onnxruntime', thread: 'main', blockRows });
      expect(ox.layout).toEqual({ n, rows: blockRows, blocks: Math.ceil(n / blockRows) });
      const a = await js.search(queries, k);
      const b = await ox.search(queries, k);
      expect(b.map((hits) => hits.map((h) => h.index))).toEqual(a.map((hits) => hits.map((h) => h.index)));
    }
    const [first] = await js.search(queries.subarray(0, dim), 3);
    expect(first!.map((h) => h.index)).toEqual([5, 880, 990]);
    // Large galleries get 8,192-row blocks by default; up to 256k rows, one block.
    expect(blockLayout(1_000_000)).toEqual({ n: 1_000_000, rows: 8192, blocks: 123 });
    expect(blockLayout(262_144)).toEqual({ n: 262_144, rows: 262_144, blocks: 1 });
    expect(blockStart(blockLayout(1_000_000), 122)).toBe(1_000_000 - 8192);
  });

  it('ranks adversarial near-tie galleries by (score, row) identically across k and block layouts', async () => {
    // Near ties: rows within ~1e-7 of each other's score against the query, exact duplicates (also
    // across blocks and in the last block's overlap) and rows that differ from another only in the
    // lowest bit of one coordinate. Whatever the k or the block layout, the hits must be the prefix
    // of one order: float32 score descending, then the lower row.
    const dim = 32;
    const n = 700;
    const rng = new Rng(29);
    const g = rng.unitRows(n, dim);
    const q = rng.unitRows(1, dim);
    const noise = rng.unitRows(n, dim);
    for (let i = 0; i < 300; i++) {
      // query + 1e-4 · noise, normalised: cosine 1 - O(1e-8), so these rows all but tie.
      let s = 0;
      for (let j = 0; j < dim; j++) {
        g[i * dim + j] = q[j]! + 1e-4 * noise[i * dim + j]!;
        s += g[i * dim + j]! ** 2;
      }
      for (let j = 0; j < dim; j++) g[i * dim + j]! /= Math.sqrt(s);
    }
    for (const [from, to] of [
      [3, 650],
      [3, 699],
      [10, 400],
      [10, 11],
      [250, 690],
    ] as const)
      g.copyWithin(to * dim, from * dim, (from + 1) * dim);
    const bits = new Uint32Array(g.buffer);
    for (const [from, to] of [
      [20, 500],
      [21, 660],
    ] as const) {
      g.copyWithin(to * dim, from * dim, (from + 1) * dim);
      bits[to * dim + 7]! ^= 1; // the lowest mantissa bit of one coordinate
    }
    const full = await build(ids(n), g, dim, { backend: 'onnxruntime', thread: 'main' });
    const [all] = await full.search(q, n);
    for (let r = 1; r < n; r++) {
      const [a, b] = [all![r - 1]!, all![r]!];
      expect(a.score > b.score || (a.score === b.score && a.index < b.index)).toBe(true);
    }
    // Duplicates score the same, the lower row first (other rows of that very score may sit between:
    // at a cosine near 1 a float32 ulp is 6e-8, so many of the near ties are exact ties).
    const at = new Map(all!.map((h, r) => [h.index, r]));
    for (const [lo, hi] of [
      [3, 650],
      [650, 699],
      [10, 11],
      [11, 400],
      [250, 690],
    ] as const) {
      expect(all![at.get(hi)!]!.score).toBe(all![at.get(lo)!]!.score);
      expect(at.get(hi)!).toBeGreaterThan(at.get(lo)!);
    }
    // The near ties really are ties in float32: the test would be weak otherwise.
    expect(new Set(all!.slice(0, 300).map((h) => h.score)).size).toBeLessThan(100);
    const order = all!.map((h) => h.index);
    for (const blockRows of [undefined, 64, 97, 1] as const) {
      const ox = await build(ids(n), g, dim, {
        backend: 'onnxruntime',
        thread: 'main',
        ...(blockRows ? { blockRows } : {}),
      });
      for (const k of [1, 2, 7, 64, 299, 301]) {
        const [hits] = await ox.search(q, k);
        expect(hits!.map((h) => h.index)).toEqual(order.slice(0, k));
        expect(hits!.map((h) => h.score)).toEqual(all!.slice(0, k).map((h) => h.score));
      }
    }
  });

  it('normalises queries, clamps k and rejects bad input with clear messages', async () => {
    const dim = 4;
    const g = Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0]);
    const index = await build(['a', 'b'], g, dim);
    const [hits] = await index.search(Float32Array.from([0, 5, 0, 0]), 10);
    expect(hits!.map((h) => [h.id, h.score])).toEqual([
      ['b', 1],
      ['a', 0],
    ]);
    await expect(index.search(new Float32Array(3), 1)).rejects.toThrow(/multiple of the index's 4 dims/);
    await expect(index.search(new Float32Array(4), 1)).rejects.toThrow(/query 0 has L2 norm 0/);
    await expect(index.search(Float32Array.from([1, 0, 0, 0]), 0)).rejects.toThrow(/positive integer/);
    await expect(VectorIndex.build(['a'], new Float32Array(3), 4)).rejects.toThrow(/need 4 floats, got 3/);
    await expect(
      VectorIndex.build(['a', 'bad'], Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0]), 4),
    ).rejects.toThrow(VectorIndexError);
    await expect(
      VectorIndex.build(['a', 'bad'], Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0]), 4),
    ).rejects.toThrow(/row 1 \(bad\) has L2 norm 2/);
    const empty = await build([], new Float32Array(0), dim);
    expect(await empty.search(Float32Array.from([1, 0, 0, 0]), 3)).toEqual([[]]);
    await index.close();
    await expect(index.search(Float32Array.from([1, 0, 0, 0]), 1)).rejects.toThrow(/closed/);
  });

  it('falls back to plain JS, saying why, when ONNX Runtime cannot load', async () => {
    const dim = 8;
    const g = new Rng(3).unitRows(50, dim);
    const q = new Rng(4).unitRows(2, dim);
    const missing = '/nonexistent/onnxruntime-node';
    for (const thread of ['worker', 'main'] as const) {
      const fb = await build(ids(50), g, dim, { minOrtRows: 1, onnxruntimePath: missing, thread });
      expect(fb.backend).toBe('js');
      expect(fb.fallbackReason).toMatch(
        /ONNX Runtime unavailable \(.*Cannot find module.*\); searching with plain JS loops/,
      );
      const js = await build(ids(50), g, dim, { backend: 'js' });
      expect(js.fallbackReason).toBeNull();
      expect(await fb.search(q, 5)).toEqual(await js.search(q, 5));
      await expect(
        VectorIndex.build(ids(50), g, dim, { backend: 'onnxruntime', onnxruntimePath: missing, thread }),
      ).rejects.toThrow(/ONNX Runtime is not available for search/);
    }
  });

  it('topK breaks ties toward the lower index, for small and large k', () => {
    const s = Float32Array.from([0.5, 0.9, 0.5, 0.9, 0.1]);
    expect(topK(s, 3)).toEqual([1, 3, 0]);
    expect(topK(s, 5)).toEqual([1, 3, 0, 2, 4]);
    expect(topK(s, 9)).toEqual([1, 3, 0, 2, 4]);
    const big = new Float32Array(100).fill(0.25);
    big[77] = 0.5;
    expect(topK(big, 4)).toEqual([77, 0, 1, 2]);
  });
});
