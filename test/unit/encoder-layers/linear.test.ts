import { describe, expect, it } from 'vitest';
import { linearBackward, linearForward } from '../../../src-main/encoders/json-encoder/layers/linear.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('linear layer', () => {
  const B = 3;
  const C = 5;
  const OC = 4;
  const inp = randomArray(B * C, 1);
  const w = randomArray(OC * C, 2);
  const bias = randomArray(OC, 3);
  const r = randomArray(B * OC, 4);
  const loss = () => {
    const out = new Float64Array(B * OC);
    linearForward(out, inp, w, bias, B, C, OC);
    return dot(out, r);
  };

  it('computes inp · Wᵀ + b with W stored [out, in]', () => {
    const out = new Float64Array(B * OC);
    linearForward(out, inp, w, bias, B, C, OC);
    let e = bias[2]!;
    for (let c = 0; c < C; c++) e += inp[1 * C + c]! * w[2 * C + c]!;
    expect(out[1 * OC + 2]).toBeCloseTo(e, 12);
  });

  it('backward matches central differences for input, weight and bias, and accumulates', () => {
    const dinp = new Float64Array(B * C).fill(0.5);
    const dw = new Float64Array(OC * C);
    const db = new Float64Array(OC);
    linearBackward(dinp, dw, db, r, inp, w, B, C, OC);
    expectGradient(
      inp,
      dinp.map((v) => v - 0.5),
      loss,
      { label: 'dinp' },
    );
    expectGradient(w, dw, loss, { label: 'dweight' });
    expectGradient(bias, db, loss, { label: 'dbias' });
  });
});
