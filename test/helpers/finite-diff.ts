/**
 * Central-difference gradient checks in float64 for the JSON encoder's layers: the scalar checked is
 * L = Σ out · R for a fixed random R, so dL/dout = R and every output value matters.
 */
import { expect } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { worstGradientError } from '../../src-main/encoders/json-encoder/gradient-check.ts';

export function randomArray(n: number, seed: number, scale = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Checks `analytic` (dL/dx) against central differences of `loss()` with respect to every value
 * of `x` (or `sample` of them), perturbing x in place. Relative error against the larger magnitude,
 * with an absolute floor for values near zero.
 */
export function expectGradient(
  x: Float64Array,
  analytic: ArrayLike<number>,
  loss: () => number,
  opts: { h?: number; tol?: number; sample?: number; label?: string } = {},
): void {
  const tol = opts.tol ?? 1e-6;
  // The same check `kfashion sanity` runs (gradient-check.ts), asserted here.
  const worst = worstGradientError(x, analytic, loss, opts.sample ?? 0, opts.h ?? 1e-6);
  expect(worst, `${opts.label ?? 'gradient'}: worst relative error`).toBeLessThan(tol);
}
