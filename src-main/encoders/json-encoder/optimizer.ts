/**
 * AdamW (torch.optim.AdamW: decoupled weight decay) and global-norm clipping
 * (torch.nn.utils.clip_grad_norm_) over the model's flat arenas: parameters, gradients and both
 * moments share one layout, so a step is one loop over every value of the model.
 */
import type { Arr } from './layers/arrays.ts';

export interface AdamWSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** √(Σ g²), accumulated in float64. */
export function globalNorm(grads: Arr): number {
  let s = 0;
  for (let i = 0; i < grads.length; i++) s += grads[i]! * grads[i]!;
  return Math.sqrt(s);
}

/** PyTorch's clip coefficient: max_norm / (norm + 1e-6), at most 1; `clip` 0 disables. */
export function clipScale(norm: number, clip: number): number {
  return clip > 0 ? Math.min(1, clip / (norm + 1e-6)) : 1;
}

/**
 * One AdamW step (`step` counts from 1) with the gradients scaled by `scale` (the clip coefficient).
 * PyTorch's order: p ← p·(1 − lr·wd); m, v updated; p ← p − lr/bc1 · m / (√v/√bc2 + eps).
 */
export function adamwStep(
  p: Arr,
  g: Arr,
  m: Arr,
  v: Arr,
  step: number,
  scale: number,
  s: AdamWSettings,
): void {
  const { lr, beta1: b1, beta2: b2, eps, weightDecay } = s;
  const decay = 1 - lr * weightDecay;
  const stepSize = lr / (1 - b1 ** step);
  const bc2Sqrt = Math.sqrt(1 - b2 ** step);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * scale;
    const mi = b1 * m[i]! + (1 - b1) * gi;
    const vi = b2 * v[i]! + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
  }
}
