/**
 * LayerNorm over the last dimension (nn.LayerNorm(C), eps 1e-5), as llm.c writes it: the forward keeps
 * each row's mean and reciprocal standard deviation for the backward pass.
 *   out = (x − μ) · rstd · w + b,  rstd = 1/√(var + eps), var biased (÷ C).
 * Backward, with x̂ = (x − μ)·rstd and g = dout·w:
 *   dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)),  dw += Σ_b dout·x̂,  db += Σ_b dout.
 */
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Arr } from './arrays.ts';

export const LAYERNORM_EPS = 1e-5;

export function layerNormForward(
  out: Arr,
  mean: Arr,
  rstd: Arr,
  inp: Arr,
  weight: Arr,
  bias: Arr,
  B: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    const o = b * C;
    let m = 0;
    for (let i = 0; i < C; i++) m += inp[o + i]!;
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) {
      const x = inp[o + i]! - m;
      v += x * x;
    }
    v /= C;
    const s = 1 / Math.sqrt(v + LAYERNORM_EPS);
    for (let i = 0; i < C; i++) out[o + i] = (inp[o + i]! - m) * s * weight[i]! + bias[i]!;
    mean[b] = m;
    rstd[b] = s;
  }
}

export function layerNormBackward(
  dinp: Arr,
  dweight: Arr,
  dbias: Arr,
  dout: Arr,
  inp: Arr,
  weight: Arr,
  mean: Arr,
  rstd: Arr,
  B: number,
  C: number,
): void {
  for (let b = 0; b < B; b++) {
    const o = b * C;
    const m = mean[b]!;
    const s = rstd[b]!;
    let gMean = 0;
    let gxMean = 0;
    for (let i = 0; i < C; i++) {
      const xhat = (inp[o + i]! - m) * s;
      const g = weight[i]! * dout[o + i]!;
      gMean += g;
      gxMean += g * xhat;
    }
    gMean /= C;
    gxMean /= C;
    for (let i = 0; i < C; i++) {
      const xhat = (inp[o + i]! - m) * s;
      const d = dout[o + i]!;
      dbias[i]! += d;
      dweight[i]! += xhat * d;
      dinp[o + i]! += s * (weight[i]! * d - gMean - xhat * gxMean);
    }
  }
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------

/** The forward pass; returns the output and what the backward pass reuses (x̂ and rstd). */
export function emitLayerNormForward(
  g: OnnxGraph,
  x: string,
  weight: string,
  bias: string,
): { out: string; xhat: string; rstd: string } {
  const xc = g.sub(x, g.meanLast(x));
  const variance = g.meanLast(g.mul(xc, xc));
  const rstd = g.op('Reciprocal', [g.op('Sqrt', [g.add(variance, g.scalar(LAYERNORM_EPS))])]);
  const xhat = g.mul(xc, rstd);
  return { out: g.add(g.mul(xhat, weight), bias), xhat, rstd };
}

export function emitLayerNormBackward(
  g: OnnxGraph,
  dout: string,
  saved: { xhat: string; rstd: string },
  weight: string,
): { dx: string; dweight: string; dbias: string } {
  const gw = g.mul(dout, weight);
  const inner = g.sub(g.sub(gw, g.meanLast(gw)), g.mul(saved.xhat, g.meanLast(g.mul(gw, saved.xhat))));
  return {
    dx: g.mul(inner, saved.rstd),
    dweight: g.sumRows(g.mul(dout, saved.xhat)),
    dbias: g.sumRows(dout),
  };
}
