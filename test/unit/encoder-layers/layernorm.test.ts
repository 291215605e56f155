import { describe, expect, it } from 'vitest';
import {
  layerNormBackward,
  layerNormForward,
} from '../../../src-main/encoders/json-encoder/layers/layernorm.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('LayerNorm', () => {
  const B = 3;
  const C = 7;
  const x = randomArray(B * C, 1, 2);
  const w = randomArray(C, 2);
  const b = randomArray(C, 3);
  const r = randomArray(B * C, 4);
  const run = () => {
    const out = new Float64Array(B * C);
    const mean = new Float64Array(B);
    const rstd = new Float64Array(B);
    layerNormForward(out, mean, rstd, x, w, b, B, C);
    return { out, mean, rstd };
  };

  it('normalises each row to mean 0 / variance 1 before the affine map', () => {
    const ones = new Float64Array(C).fill(1);
    const out = new Float64Array(B * C);
    layerNormForward(out, new Float64Array(B), new Float64Array(B), x, ones, new Float64Array(C), B, C);
    const row = out.subarray(C, 2 * C);
    const m = row.reduce((a, v) => a + v, 0) / C;
    const v = row.reduce((a, u) => a + (u - m) ** 2, 0) / C;
    expect(m).toBeCloseTo(0, 12);
    expect(v).toBeCloseTo(1, 4); // eps 1e-5
  });

  it('backward matches central differences for input, weight and bias', () => {
    const { mean, rstd } = run();
    const dx = new Float64Array(B * C);
    const dw = new Float64Array(C);
    const db = new Float64Array(C);
    layerNormBackward(dx, dw, db, r, x, w, mean, rstd, B, C);
    const loss = () => dot(run().out, r);
    expectGradient(x, dx, loss, { label: 'dinp' });
    expectGradient(w, dw, loss, { label: 'dweight' });
    expectGradient(b, db, loss, { label: 'dbias' });
  });
});
