import { describe, expect, it } from 'vitest';
import {
  fieldEmbeddingAccumulate,
  fieldEmbeddingBackward,
  fieldEmbeddingForward,
} from '../../../src-main/encoders/json-encoder/layers/field-embedding.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('field embedding (lookup and masked mean pooling)', () => {
  const V = 6;
  const d = 4;
  const table = randomArray(V * d, 1);
  table.fill(0, 0, d); // padding row

  it('a single slot is a lookup; several slots average their non-padding rows; none gives zeros', () => {
    const idx = Int32Array.from([3, 0, 0, 2, 5, 0, 0, 0, 0]);
    const out = new Float64Array(3 * d);
    fieldEmbeddingForward(out, table, idx, 3, 3, d);
    for (let k = 0; k < d; k++) {
      expect(out[k]).toBe(table[3 * d + k]);
      expect(out[d + k]).toBeCloseTo((table[2 * d + k]! + table[5 * d + k]!) / 2, 14);
      expect(out[2 * d + k]).toBe(0);
    }
  });

  it('backward is a scatter-add matching central differences; the padding row gets nothing', () => {
    const B = 4;
    const slots = 3;
    const idx = Int32Array.from([1, 2, 2, 4, 0, 0, 0, 0, 0, 5, 3, 1]);
    const r = randomArray(B * d, 7);
    const loss = () => {
      const out = new Float64Array(B * d);
      fieldEmbeddingForward(out, table, idx, slots, B, d);
      return dot(out, r);
    };
    const dt = new Float64Array(V * d);
    fieldEmbeddingBackward(dt, r, idx, slots, B, d);
    expectGradient(table, dt, loss, { label: 'dtable' });
    expect([...dt.subarray(0, d)]).toEqual([0, 0, 0, 0]);
  });

  it('accumulating into a float32 row gives bit for bit the gather into a zeroed buffer plus an add, for 0-5 values', () => {
    const slots = 5;
    const D = 37;
    const big = Float32Array.from(randomArray(9 * D, 3));
    // Items with 0, 1, 2, 3, 4 and 5 values, padding in different places.
    const idx = Int32Array.from([
      0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, 0, 8, 0, 0, 1, 3, 5, 0, 0, 4, 6, 0, 8, 2, 1, 2, 3, 4, 5,
    ]);
    const B = 6;
    const base = Float32Array.from(randomArray(B * D, 4));
    const tmp = new Float32Array(B * D);
    fieldEmbeddingForward(tmp, big, idx, slots, B, D);
    const want = base.slice();
    for (let k = 0; k < want.length; k++) want[k]! += tmp[k]!;
    const got = base.slice();
    fieldEmbeddingAccumulate(got, big, idx, slots, 0, 2, D, new Float32Array(D));
    fieldEmbeddingAccumulate(got, big, idx, slots, 2, B, D, new Float32Array(D));
    expect([...got]).toEqual([...want]);
    expect(got).not.toEqual(base);
  });
});
