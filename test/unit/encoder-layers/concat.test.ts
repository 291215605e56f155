import { describe, expect, it } from 'vitest';
import { concatBackward, concatForward } from '../../../src-main/encoders/json-encoder/layers/concat.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('concatenation', () => {
  const B = 2;
  const a = randomArray(B * 2, 1);
  const b = randomArray(B * 3, 2);
  it('places parts side by side per row', () => {
    const out = new Float64Array(B * 5);
    concatForward(out, [a, b], [2, 3], B);
    expect([...out.subarray(5, 10)]).toEqual([a[2], a[3], b[3], b[4], b[5]]);
  });
  it('backward splits the gradient (central differences)', () => {
    const r = randomArray(B * 5, 3);
    const loss = () => {
      const out = new Float64Array(B * 5);
      concatForward(out, [a, b], [2, 3], B);
      return dot(out, r);
    };
    const da = new Float64Array(B * 2);
    const db = new Float64Array(B * 3);
    concatBackward([da, db], r, [2, 3], B);
    expectGradient(a, da, loss, { label: 'first part' });
    expectGradient(b, db, loss, { label: 'second part' });
  });
});
