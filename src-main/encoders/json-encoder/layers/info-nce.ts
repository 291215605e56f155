/**
 * Symmetric InfoNCE (CLIP's loss) between a batch of text-side vectors z [B, C] and the matching image
 * vectors [B, C], both L2-normalised, temperature T, in-batch negatives:
 *   S = z · imagesᵀ / T,  loss = (CE(S, I) + CE(Sᵀ, I)) / 2, each cross-entropy a mean over the batch.
 * Gradient in closed form: dS = (softmax_rows(S) + softmax_cols(S) − 2I) / (2B); dz = dS · images / T.
 * Softmaxes are computed in float64 with the row's / column's maximum subtracted.
 * With soft `targets` (MixUp; row = z item, column = image, the same layout as S here) the loss and
 * dS are output-head.ts's softTargetInfoNce ([Note: soft-target InfoNCE]).
 */
import { matmul } from '../matmul.ts';
import type { OnnxGraph } from '../onnx-graph.ts';
import { softTargetInfoNce } from '../output-head.ts';
import { type Arr, zerosLike } from './arrays.ts';

export interface InfoNceScratch {
  /** [B, B] similarities, then reused for dS. */
  s: Arr;
}

/** The loss, and dz (accumulated into `dz` when given). */
export function infoNceForwardBackward(
  dz: Arr | null,
  z: Arr,
  images: Arr,
  B: number,
  C: number,
  temperature: number,
  scratch?: InfoNceScratch,
  targets?: Float64Array,
): number {
  const s = scratch?.s.subarray(0, B * B) ?? zerosLike(z, B * B);
  matmul(s, z, images, B, C, B, { transB: true });
  const inv = 1 / temperature;
  for (let i = 0; i < B * B; i++) s[i]! *= inv;
  if (targets) {
    if (targets.length !== B * B)
      throw new Error(`soft InfoNCE targets must be ${B}×${B}, got ${targets.length} values`);
    const { loss } = softTargetInfoNce(s, B, targets, s);
    if (dz) {
      for (let i = 0; i < B * B; i++) s[i]! *= inv;
      matmul(dz, s, images, B, B, C, { accumulate: true });
    }
    return loss;
  }
  const pr = new Float64Array(B * B);
  const pc = new Float64Array(B * B);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    let mx = -Infinity;
    for (let j = 0; j < B; j++) mx = Math.max(mx, s[i * B + j]!);
    let sum = 0;
    for (let j = 0; j < B; j++) sum += Math.exp(s[i * B + j]! - mx);
    loss += (mx + Math.log(sum) - s[i * B + i]!) / (2 * B);
    for (let j = 0; j < B; j++) pr[i * B + j] = Math.exp(s[i * B + j]! - mx) / sum;
  }
  for (let j = 0; j < B; j++) {
    let mx = -Infinity;
    for (let i = 0; i < B; i++) mx = Math.max(mx, s[i * B + j]!);
    let sum = 0;
    for (let i = 0; i < B; i++) sum += Math.exp(s[i * B + j]! - mx);
    loss += (mx + Math.log(sum) - s[j * B + j]!) / (2 * B);
    for (let i = 0; i < B; i++) pc[i * B + j] = Math.exp(s[i * B + j]! - mx) / sum;
  }
  if (dz) {
    const scale = inv / (2 * B);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++)
        s[i * B + j] = (pr[i * B + j]! + pc[i * B + j]! - (i === j ? 2 : 0)) * scale;
    matmul(dz, s, images, B, B, C, { accumulate: true });
  }
  return loss;
}

// ---- ONNX emission (the ONNX Runtime training engine, ort-step.ts) ---------------------------------

/**
 * The targets as graph inputs, prepared on the JS side (infoNceTargetInputs): each row's and each
 * column's target normalised to sum 1 (`rows`, `cols`, [B, B]) and whether that row / column has any
 * target (`rowOn` [B, 1], `colOn` [1, B]); hard targets are the identity with every row and column on.
 */
export interface InfoNceTargetNames {
  rows: string;
  cols: string;
  rowOn: string;
  colOn: string;
}

/** loss [1, 1] and dz [B, C]: the same formulas as softTargetInfoNce, in float32. */
export function emitInfoNce(
  g: OnnxGraph,
  z: string,
  images: string,
  t: InfoNceTargetNames,
  B: number,
  temperature: number,
): { loss: string; dz: string } {
  const inv = 1 / temperature;
  const s = g.op('Gemm', [z, images], { transB: 1, alpha: { float: inv } }, 'sim');
  const lsRows = g.op('LogSoftmax', [s], { axis: 1 });
  const lsCols = g.op('LogSoftmax', [s], { axis: 0 });
  const all = (x: string) => g.op('ReduceSum', [x], { keepdims: 1 });
  const ce = g.add(all(g.mul(t.rows, lsRows)), all(g.mul(t.cols, lsCols)));
  const loss = g.mul(ce, g.scalar(-1 / (2 * B)));
  const pr = g.mul(g.op('Exp', [lsRows]), t.rowOn);
  const pc = g.mul(g.op('Exp', [lsCols]), t.colOn);
  const dS = g.mul(g.sub(g.add(pr, pc), g.add(t.rows, t.cols)), g.scalar(inv / (2 * B)));
  return { loss, dz: g.op('MatMul', [dS, images]) };
}

/** Fills the target inputs of emitInfoNce from soft targets (MixUp), or the identity without them. */
export function infoNceTargetInputs(
  B: number,
  targets: Float64Array | undefined,
  out: { rows: Float32Array; cols: Float32Array; rowOn: Float32Array; colOn: Float32Array },
): void {
  out.rows.fill(0);
  out.cols.fill(0);
  if (!targets) {
    for (let i = 0; i < B; i++) {
      out.rows[i * B + i] = 1;
      out.cols[i * B + i] = 1;
    }
    out.rowOn.fill(1);
    out.colOn.fill(1);
    return;
  }
  if (targets.length !== B * B)
    throw new Error(`soft InfoNCE targets must be ${B}×${B}, got ${targets.length} values`);
  for (let i = 0; i < B; i++) {
    let sum = 0;
    for (let j = 0; j < B; j++) sum += targets[i * B + j]!;
    out.rowOn[i] = sum > 0 ? 1 : 0;
    if (sum > 0) for (let j = 0; j < B; j++) out.rows[i * B + j] = targets[i * B + j]! / sum;
  }
  for (let j = 0; j < B; j++) {
    let sum = 0;
    for (let i = 0; i < B; i++) sum += targets[i * B + j]!;
    out.colOn[j] = sum > 0 ? 1 : 0;
    if (sum > 0) for (let i = 0; i < B; i++) out.cols[i * B + j] = targets[i * B + j]! / sum;
  }
}
