/**
 * VectorIndex.buildFromRows: the exact index filled from a row source a chunk at a time (so the
 * search service holds its gallery once) answers exactly as `build` over the whole matrix.
 */
import { describe, expect, it } from 'vitest';
import { VectorIndex } from '../../src-main/retrieval/vector-index.ts';

function unitRows(n: number, dim: number, seed: number): Float32Array {
  let a = seed;
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
      const x = a / 2 ** 32 - 0.5;
      v[i * dim + j] = x;
      s += x * x;
    }
    for (let j = 0; j < dim; j++) v[i * dim + j]! /= Math.sqrt(s);
  }
  return v;
}

describe('VectorIndex.buildFromRows', () => {
  const dim = 8;
  const n = 10_000; // more than one 8,192-row read chunk
  const vectors = unitRows(n, dim, 3);
  const ids = Array.from({ length: n }, (_, i) => `item-${i}`);
  const queries = unitRows(5, dim, 99);

  for (const blockRows of [undefined, 3000]) {
    it(`finds the same hits as build (blockRows ${blockRows ?? 'default'}), reading rows in chunks`, async () => {
      const reads: [number, number][] = [];
      const fromRows = await VectorIndex.buildFromRows(
        ids,
        dim,
        (start, count) => {
          reads.push([start, count]);
          return vectors.slice(start * dim, (start + count) * dim);
        },
        { backend: 'onnxruntime', thread: 'main', blockRows },
      );
      const whole = await VectorIndex.build(ids, vectors, dim, {
        backend: 'onnxruntime',
        thread: 'main',
        blockRows,
      });
      try {
        expect(await fromRows.search(queries, 7)).toEqual(await whole.search(queries, 7));
        expect(Math.max(...reads.map(([, c]) => c))).toBeLessThanOrEqual(8192);
        expect(reads.length).toBeGreaterThan(1);
      } finally {
        await fromRows.close();
        await whole.close();
      }
    });
  }

  it('names the row that is not unit length, counted from the start of the gallery', async () => {
    const bad = vectors.slice();
    bad[9000 * dim] = 5;
    await expect(
      VectorIndex.buildFromRows(ids, dim, (s, c) => bad.slice(s * dim, (s + c) * dim), {
        backend: 'onnxruntime',
        thread: 'main',
      }),
    ).rejects.toThrow(/row 9000 \(item-9000\) has L2 norm/);
  });
});
