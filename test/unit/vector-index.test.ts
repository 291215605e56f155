import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { topK, VectorIndex, VectorIndexError } from '../../src-main/evaluation/vector-index.ts';

const open: VectorIndex[] = [];
async function build(...args: Parameters<typeof VectorIndex.build>): Promise<VectorIndex> {
  const index = await VectorIndex.build(...args);
  open.push(index);
  return index;
}
afterEach(async () => {
  for (const i of open.splice(0)) await i.close();
});

const ids = (n: number) => Array.from({ length: n }, (_, i) => `item-${i}`);

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
    // Query = row 137 plus a little noise; row 42 is planted as a slightly worse copy.
    const q = new Float32Array(dim);
    for (let j = 0; j < dim; j++) q[j] = g[137 * dim + j]! + 0.01 * rng.normal();
    for (let j = 0; j < dim; j++) g[42 * dim + j] = g[137 * dim + j]! * 0.9 + q[j]! * 0.01;
    // re-normalise row 42
    let s = 0;
    for (let j = 0; j < dim; j++) s += g[42 * dim + j]! ** 2;
    for (let j = 0; j < dim; j++) g[42 * dim + j]! /= Math.sqrt(s);
    for (const backend of ['js', 'onnxruntime'] as const) {
      const index = await build(ids(n), g, dim, { backend });
      expect(index.backend).toBe(backend);
      const [hits] = await index.search(q, 3);
      expect(hits!.map((h) => h.id)).toEqual(reference(g, n, dim, q, 3).map((i) => `item-${i}`));
      expect(hits![0]!.id).toBe('item-137');
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
      const ox = await build(ids(n), g, dim, { backend: 'onnxruntime' });
      const a = await js.search(queries, k);
      const b = await ox.search(queries, k);
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
    await expect(VectorIndex.build(['a', 'bad'], Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0]), 4)).rejects.toThrow(
      VectorIndexError,
    );
    await expect(VectorIndex.build(['a', 'bad'], Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0]), 4)).rejects.toThrow(
      /row 1 \(bad\) has L2 norm 2/,
    );
    const empty = await build([], new Float32Array(0), dim);
    expect(await empty.search(Float32Array.from([1, 0, 0, 0]), 3)).toEqual([[]]);
    await index.close();
    await expect(index.search(Float32Array.from([1, 0, 0, 0]), 1)).rejects.toThrow(/closed/);
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
