/**
 * LayerNorm over the last dimension (nn.LayerNorm(C), eps 1e-5), as llm.c writes it: the forward keeps
 * each row's mean and reciprocal standard deviation for the backward pass.
 *   out = (x − μ) · rstd · w + b,  rstd = 1/√(var + eps), var biased (÷ C).
 * Backward, with x̂ = (x − μ)·rstd and g = dout·w:
 *   dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)),  dw += Σ_b dout·x̂,  db += Σ_b dout.
 */
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
