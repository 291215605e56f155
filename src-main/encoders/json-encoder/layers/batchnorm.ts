/**
 * BatchNorm over features (nn.BatchNorm1d(C), eps 1e-5, momentum 0.1).
 *
 * Training normalises with the batch's own statistics (biased variance) and updates the running
 * statistics (unbiased variance, like PyTorch); eval normalises with the running statistics.
 * [Note: BatchNorm mixes the items of a batch] In training an item's output depends on the other
 * items of its batch, and InfoNCE already compares the items of a batch with each other: the loss can
 * then partly be lowered through the batch statistics, small batches make the statistics noisy, and
 * eval-mode vectors (running statistics) differ from the vectors the loss saw. LayerNorm has none of
 * this; BatchNorm is offered because the research plan asks to compare them.
 */
import type { Arr } from './arrays.ts';

export const BATCHNORM_EPS = 1e-5;
export const BATCHNORM_MOMENTUM = 0.1;

/** Running statistics (buffers, not parameters: no gradient, no weight decay). */
export interface BatchNormRunning {
  mean: Arr;
  var: Arr;
  /** Batches seen (PyTorch's num_batches_tracked). */
  batches: number;
}

/**
 * `train`: normalise with batch statistics, keep them in mean/rstd for the backward pass, update
 * `running`. Eval: normalise with `running`.
 */
export function batchNormForward(
  out: Arr,
  mean: Arr,
  rstd: Arr,
  inp: Arr,
  weight: Arr,
  bias: Arr,
  running: BatchNormRunning,
  train: boolean,
  B: number,
  C: number,
): void {
  if (train) {
    if (B < 2) throw new Error('BatchNorm in training needs at least 2 items per batch');
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let b = 0; b < B; b++) m += inp[b * C + c]!;
      m /= B;
      let v = 0;
      for (let b = 0; b < B; b++) {
        const x = inp[b * C + c]! - m;
        v += x * x;
      }
      v /= B;
      mean[c] = m;
      rstd[c] = 1 / Math.sqrt(v + BATCHNORM_EPS);
      running.mean[c] = (1 - BATCHNORM_MOMENTUM) * running.mean[c]! + BATCHNORM_MOMENTUM * m;
      running.var[c] = (1 - BATCHNORM_MOMENTUM) * running.var[c]! + BATCHNORM_MOMENTUM * ((v * B) / (B - 1));
    }
    running.batches++;
  } else {
    for (let c = 0; c < C; c++) {
      mean[c] = running.mean[c]!;
      rstd[c] = 1 / Math.sqrt(running.var[c]! + BATCHNORM_EPS);
    }
  }
  for (let b = 0; b < B; b++) {
    const o = b * C;
    for (let c = 0; c < C; c++) out[o + c] = (inp[o + c]! - mean[c]!) * rstd[c]! * weight[c]! + bias[c]!;
  }
}

/** Backward of the training-mode forward (batch statistics): per feature, the LayerNorm formula over B. */
export function batchNormBackward(
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
  for (let c = 0; c < C; c++) {
    const m = mean[c]!;
    const s = rstd[c]!;
    let dSum = 0;
    let dxSum = 0;
    for (let b = 0; b < B; b++) {
      const d = dout[b * C + c]!;
      dSum += d;
      dxSum += d * (inp[b * C + c]! - m) * s;
    }
    dbias[c]! += dSum;
    dweight[c]! += dxSum;
    const w = weight[c]!;
    for (let b = 0; b < B; b++) {
      const xhat = (inp[b * C + c]! - m) * s;
      dinp[b * C + c]! += w * s * (dout[b * C + c]! - dSum / B - (xhat * dxSum) / B);
    }
  }
}
