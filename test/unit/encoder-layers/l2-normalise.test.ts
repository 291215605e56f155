import { describe, expect, it } from 'vitest';
import {
  l2NormaliseBackward,
  l2NormaliseForward,
} from '../../../src-main/encoders/json-encoder/layers/l2-normalise.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('L2 normalisation', () => {
  const B = 3;
  const C = 6;
  const x = randomArray(B * C, 1);
  const r = randomArray(B * C, 2);
  const run = () => {
    const out = new Float64Array(B * C);
    const norms = new Float64Array(B);
    l2NormaliseForward(out, norms, x, B, C);
    return { out, norms };
  };
  it('rows have unit length', () => {
    const { out } = run();
    expect(dot(out.subarray(0, C), out.subarray(0, C))).toBeCloseTo(1, 14);
  });
  it('backward matches central differences', () => {
    const { out, norms } = run();
    const dx = new Float64Array(B * C);
    l2NormaliseBackward(dx, r, out, norms, B, C);
    expectGradient(x, dx, () => dot(run().out, r));
  });
});
