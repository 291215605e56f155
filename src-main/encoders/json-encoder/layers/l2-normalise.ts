/**
 * L2 normalisation of each row (F.normalize(dim=-1), eps 1e-12): out = y / max(‖y‖, eps).
 * Backward: dy = (dout − out · ⟨out, dout⟩) / ‖y‖ (the norm clamp's gradient is ignored, as it only
 * applies to rows that are numerically zero).
 */
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Arr } from './arrays.ts';

export const L2_EPS = 1e-12;

export function l2NormaliseForward(out: Arr, norms: Arr, inp: Arr, B: number, C: number): void {
  for (let b = 0; b < B; b++) {
    const o = b * C;
    let s = 0;
    for (let i = 0; i < C; i++) s += inp[o + i]! * inp[o + i]!;
    const n = Math.max(Math.sqrt(s), L2_EPS);
    norms[b] = n;
    for (let i = 0; i < C; i++) out[o + i] = inp[o + i]! / n;
  }
}

/** dinp += the gradient through the normalisation. */
export function l2NormaliseBackward(dinp: Arr, dout: Arr, out: Arr, norms: Arr, B: number, C: number): void {
  for (let b = 0; b < B; b++) {
    const o = b * C;
    let dot = 0;
    for (let i = 0; i < C; i++) dot += out[o + i]! * dout[o + i]!;
    const inv = 1 / norms[b]!;
    for (let i = 0; i < C; i++) dinp[o + i]! += (dout[o + i]! - out[o + i]! * dot) * inv;
  }
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------

export function emitL2NormaliseForward(g: OnnxGraph, y: string): { out: string; norm: string } {
  const norm = g.op('Max', [
    g.op('Sqrt', [g.op('ReduceSumSquare', [y], { axes: [-1], keepdims: 1 })]),
    g.scalar(L2_EPS),
  ]);
  return { out: g.op('Div', [y, norm]), norm };
}

export function emitL2NormaliseBackward(g: OnnxGraph, dout: string, out: string, norm: string): string {
  const dot = g.sumLast(g.mul(out, dout));
  return g.op('Div', [g.sub(dout, g.mul(out, dot)), norm]);
}
