/**
 * Elementwise activations: ReLU, GELU (PyTorch nn.GELU's exact erf form), SiLU/Swish (x·σ(x)).
 *
 * [Note: erf in two precisions]
 * JavaScript has no Math.erf. Float32 training uses Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7, below
 * float32's resolution at these magnitudes, one exp per value); the float64 gradient tests use a
 * series / continued fraction accurate to ~1e-14, since a finite-difference check at float64 would
 * otherwise measure the approximation instead of the derivative. The backward pass uses the same
 * erf as the forward pass of its precision, plus the exact density.
 */
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Arr } from './arrays.ts';

export const ACTIVATIONS = ['relu', 'gelu', 'silu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Abramowitz–Stegun 7.1.26. */
export function erfFast(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

/** erf to ~1e-14: Maclaurin series below 3, the erfc continued fraction above. */
export function erfPrecise(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    let sum = a;
    let term = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else if (a < 6) {
    // erfc(a) = exp(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated from the tail.
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  } else r = 1;
  return x < 0 ? -r : r;
}

export function activationForward(out: Arr, inp: Arr, n: number, kind: Activation): void {
  switch (kind) {
    case 'relu':
      for (let i = 0; i < n; i++) {
        const x = inp[i]!;
        out[i] = x > 0 ? x : 0;
      }
      return;
    case 'gelu': {
      const erf = inp instanceof Float64Array ? erfPrecise : erfFast;
      for (let i = 0; i < n; i++) {
        const x = inp[i]!;
        out[i] = 0.5 * x * (1 + erf(x * INV_SQRT2));
      }
      return;
    }
    case 'silu':
      for (let i = 0; i < n; i++) {
        const x = inp[i]!;
        out[i] = x / (1 + Math.exp(-x));
      }
      return;
  }
}

/** dinp += f'(inp) · dout. */
export function activationBackward(dinp: Arr, inp: Arr, dout: Arr, n: number, kind: Activation): void {
  switch (kind) {
    case 'relu':
      for (let i = 0; i < n; i++) if (inp[i]! > 0) dinp[i]! += dout[i]!;
      return;
    case 'gelu': {
      const erf = inp instanceof Float64Array ? erfPrecise : erfFast;
      for (let i = 0; i < n; i++) {
        const x = inp[i]!;
        const cdf = 0.5 * (1 + erf(x * INV_SQRT2));
        dinp[i]! += dout[i]! * (cdf + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x));
      }
      return;
    }
    case 'silu':
      for (let i = 0; i < n; i++) {
        const x = inp[i]!;
        const s = 1 / (1 + Math.exp(-x));
        dinp[i]! += dout[i]! * s * (1 + x * (1 - s));
      }
      return;
  }
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------
// GELU uses ONNX Runtime's own Erf (exact to float32), so the two engines agree to ~1e-7, not bitwise.

export function emitActivationForward(g: OnnxGraph, x: string, kind: Activation): string {
  switch (kind) {
    case 'relu':
      return g.op('Relu', [x]);
    case 'gelu': {
      const erf = g.op('Erf', [g.mul(x, g.scalar(INV_SQRT2))]);
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(erf, g.scalar(1)));
    }
    case 'silu':
      return g.mul(x, g.op('Sigmoid', [x]));
  }
}

/** dx = f'(x)·dout. */
export function emitActivationBackward(g: OnnxGraph, x: string, dout: string, kind: Activation): string {
  switch (kind) {
    case 'relu':
      return g.op('Where', [g.op('Greater', [x, g.scalar(0)]), dout, g.scalar(0)]);
    case 'gelu': {
      const cdf = g.mul(g.add(g.op('Erf', [g.mul(x, g.scalar(INV_SQRT2))]), g.scalar(1)), g.scalar(0.5));
      const pdf = g.mul(g.op('Exp', [g.mul(g.mul(x, x), g.scalar(-0.5))]), g.scalar(INV_SQRT_2PI));
      return g.mul(dout, g.add(cdf, g.mul(x, pdf)));
    }
    case 'silu': {
      const s = g.op('Sigmoid', [x]);
      const oneMinus = g.sub(g.scalar(1), s);
      return g.mul(g.mul(dout, s), g.add(g.scalar(1), g.mul(x, oneMinus)));
    }
  }
}
