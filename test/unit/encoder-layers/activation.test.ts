import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  activationBackward,
  activationForward,
  erfFast,
  erfPrecise,
} from '../../../src-main/encoders/json-encoder/layers/activation.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('activations', () => {
  it('erf: the precise form matches known values; the fast one is within 1.5e-7 of it', () => {
    expect(erfPrecise(0.5)).toBeCloseTo(0.5204998778130465, 13);
    expect(erfPrecise(1)).toBeCloseTo(0.8427007929497149, 13);
    expect(erfPrecise(-2.5)).toBeCloseTo(-0.999593047982555, 13);
    expect(erfPrecise(3.5)).toBeCloseTo(0.9999992569016276, 13);
    for (let x = -5; x <= 5; x += 0.01) expect(Math.abs(erfFast(x) - erfPrecise(x))).toBeLessThan(1.5e-7);
  });

  it('GELU and SiLU match their definitions at a point', () => {
    const x = Float64Array.from([1.3]);
    const out = new Float64Array(1);
    activationForward(out, x, 1, 'gelu');
    expect(out[0]).toBeCloseTo(1.3 * 0.5 * (1 + erfPrecise(1.3 / Math.SQRT2)), 14);
    activationForward(out, x, 1, 'silu');
    expect(out[0]).toBeCloseTo(1.3 / (1 + Math.exp(-1.3)), 14);
    activationForward(out, Float64Array.from([-2]), 1, 'relu');
    expect(out[0]).toBe(0);
  });

  for (const kind of ACTIVATIONS) {
    it(`${kind}: backward matches central differences`, () => {
      const n = 40;
      // Keep ReLU's inputs away from the kink, where a difference quotient straddles it.
      const x = randomArray(n, 5).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
      const r = randomArray(n, 6);
      const loss = () => {
        const out = new Float64Array(n);
        activationForward(out, x, n, kind);
        return dot(out, r);
      };
      const dx = new Float64Array(n);
      activationBackward(dx, x, r, n, kind);
      expectGradient(x, dx, loss, { label: kind });
    });
  }
});
