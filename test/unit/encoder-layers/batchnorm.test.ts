import { describe, expect, it } from 'vitest';
import {
  type BatchNormRunning,
  batchNormBackward,
  batchNormForward,
} from '../../../src-main/encoders/json-encoder/layers/batchnorm.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('BatchNorm', () => {
  const B = 5;
  const C = 3;
  const x = randomArray(B * C, 1, 2);
  const w = randomArray(C, 2);
  const b = randomArray(C, 3);
  const r = randomArray(B * C, 4);
  const fresh = (): BatchNormRunning => ({
    mean: new Float64Array(C),
    var: new Float64Array(C).fill(1),
    batches: 0,
  });
  const run = (train: boolean, running = fresh()) => {
    const out = new Float64Array(B * C);
    const mean = new Float64Array(C);
    const rstd = new Float64Array(C);
    batchNormForward(out, mean, rstd, x, w, b, running, train, B, C);
    return { out, mean, rstd, running };
  };

  it('training updates the running statistics like PyTorch (momentum 0.1, unbiased variance)', () => {
    const { running } = run(true);
    let m = 0;
    for (let i = 0; i < B; i++) m += x[i * C]!;
    m /= B;
    let v = 0;
    for (let i = 0; i < B; i++) v += (x[i * C]! - m) ** 2;
    expect(running.mean[0]).toBeCloseTo(0.1 * m, 12);
    expect(running.var[0]).toBeCloseTo(0.9 + (0.1 * v) / (B - 1), 12);
    expect(running.batches).toBe(1);
  });

  it('eval uses the running statistics, not the batch', () => {
    const running: BatchNormRunning = {
      mean: Float64Array.from([1, 2, 3]),
      var: Float64Array.from([4, 4, 4]),
      batches: 7,
    };
    const { out } = run(false, running);
    expect(out[0]).toBeCloseTo(((x[0]! - 1) / Math.sqrt(4 + 1e-5)) * w[0]! + b[0]!, 12);
    expect(running.batches).toBe(7);
  });

  it('backward (batch statistics) matches central differences', () => {
    const { mean, rstd } = run(true);
    const dx = new Float64Array(B * C);
    const dw = new Float64Array(C);
    const db = new Float64Array(C);
    batchNormBackward(dx, dw, db, r, x, w, mean, rstd, B, C);
    const loss = () => dot(run(true).out, r);
    expectGradient(x, dx, loss, { label: 'dinp' });
    expectGradient(w, dw, loss, { label: 'dweight' });
    expectGradient(b, db, loss, { label: 'dbias' });
  });
});
