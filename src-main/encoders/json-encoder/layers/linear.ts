/**
 * Linear layer (PyTorch nn.Linear): out [B, OC] = inp [B, C] · Wᵀ + b, with W stored [OC, C].
 * Backward accumulates (llm.c style: gradients are zeroed once per step, then every use adds).
 */
import { matmul } from '../matmul.ts';
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Arr } from './arrays.ts';

export function linearForward(
  out: Arr,
  inp: Arr,
  weight: Arr,
  bias: Arr | null,
  B: number,
  C: number,
  OC: number,
): void {
  matmul(out, inp, weight, B, C, OC, { transB: true });
  if (bias)
    for (let b = 0; b < B; b++) {
      const o = b * OC;
      for (let j = 0; j < OC; j++) out[o + j]! += bias[j]!;
    }
}

/**
 * dinp += dout · W; dweight = doutᵀ · inp (written, not added: a model uses each weight once per step,
 * and adding a [OC, C] product costs a full pass); dbias += Σ_b dout. `dinp` null: no input gradient.
 */
export function linearBackward(
  dinp: Arr | null,
  dweight: Arr,
  dbias: Arr | null,
  dout: Arr,
  inp: Arr,
  weight: Arr,
  B: number,
  C: number,
  OC: number,
): void {
  if (dinp) matmul(dinp, dout, weight, B, OC, C, { accumulate: true });
  matmul(dweight, dout, inp, OC, B, C, { transA: true });
  if (dbias)
    for (let b = 0; b < B; b++) {
      const o = b * OC;
      for (let j = 0; j < OC; j++) dbias[j]! += dout[o + j]!;
    }
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------

/** out = x·Wᵀ + b as one Gemm. */
export function emitLinearForward(g: OnnxGraph, x: string, weight: string, bias: string): string {
  return g.op('Gemm', [x, weight, bias], { transB: 1 }, 'linear');
}

/** dW = doutᵀ·x, db = Σ_b dout, and dx = dout·W when the input needs a gradient. */
export function emitLinearBackward(
  g: OnnxGraph,
  dout: string,
  x: string,
  weight: string,
  needDx: boolean,
): { dx: string | null; dweight: string; dbias: string } {
  return {
    dweight: g.op('Gemm', [dout, x], { transA: 1 }, 'dweight'),
    dbias: g.sumRows(dout),
    dx: needDx ? g.op('MatMul', [dout, weight], undefined, 'dx') : null,
  };
}
