/**
 * Dropout (inverted, like nn.Dropout): in training each value is kept with probability 1 − p and
 * scaled by 1/(1 − p); in eval it is the identity.
 *
 * The mask comes from a seeded generator (mulberry32) whose 32-bit state the model saves with its
 * checkpoints, so a resumed run draws the same masks as an uninterrupted one and results do not
 * depend on threads. Masks are drawn on the main thread in a fixed order (layer by layer, row-major).
 */
import type { OnnxGraph } from '../onnx-graph.ts';
import { MULBERRY_INCREMENT, WasmDropout } from '../wasm-kernels.ts';
import type { Arr } from './arrays.ts';

let kernel: WasmDropout | null | undefined;

/**
 * Fills `mask` (n values of 0 or 1/(1−p)) and returns the generator's next state. A float32 mask's
 * multiple-of-4 head comes from the SIMD twin (wasm-kernels.ts dropout32: ~2.5 ms of JS per 262,144
 * values, a B=256 × 1024 mask), bit-identical: u < p with u = r/2³² is r < ⌈p·2³²⌉ for a whole r.
 */
export function dropoutMask(mask: Arr, n: number, p: number, state: number): number {
  const keep = 1 / (1 - p);
  let s = state >>> 0;
  let from = 0;
  const threshold = Math.ceil(p * 4294967296);
  if (mask instanceof Float32Array && n >= 64 && threshold < 4294967296) {
    kernel ??= WasmDropout.create();
    if (kernel) {
      from = n - (n % 4);
      kernel.fill32Into(mask, from, s, threshold, keep);
      s = (s + Math.imul(from, MULBERRY_INCREMENT)) >>> 0;
    }
  }
  for (let i = from; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    mask[i] = u < p ? 0 : keep;
  }
  return s;
}

/** out = inp · mask (training); `mask` null: out = inp (eval, or p = 0). */
export function dropoutForward(out: Arr, inp: Arr, mask: Arr | null, n: number): void {
  if (!mask) {
    if (out !== inp) out.set(inp.subarray(0, n));
    return;
  }
  for (let i = 0; i < n; i++) out[i] = inp[i]! * mask[i]!;
}

/** dinp += dout · mask. */
export function dropoutBackward(dinp: Arr, dout: Arr, mask: Arr | null, n: number): void {
  if (!mask) for (let i = 0; i < n; i++) dinp[i]! += dout[i]!;
  else for (let i = 0; i < n; i++) dinp[i]! += dout[i]! * mask[i]!;
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------
// The mask is an input of the graph, drawn by dropoutMask on the JS side in the same order as the JS
// engine draws it, so both engines see the same masks from the same seed.

export function emitDropoutForward(g: OnnxGraph, x: string, mask: string | null): string {
  return mask ? g.mul(x, mask) : x;
}

export function emitDropoutBackward(g: OnnxGraph, dout: string, mask: string | null): string {
  return mask ? g.mul(dout, mask) : dout;
}
