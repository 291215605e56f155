/**
 * The linear baseline every model is held against (EVALUATION.md, "Baselines"): the closed-form ridge
 * map from the multi-hot encoding of the encoder's fields to the image vectors.
 *
 *   X  [n × p]  multi-hot of the fields (a single field: one 1 at its value's vocabulary index, PAD
 *               included — "missing" is information; a multi field: 1/k at each of its k values, the
 *               mean pooling the encoder's field embedding does), centred by the training mean x̄.
 *   Y  [n × d]  the L2-normalised image vectors, centred by their training mean ȳ.
 *   W = (XcᵀXc + λI)⁻¹ XcᵀYc, solved by Cholesky (p is the vocabulary size, a few hundred at most).
 *
 * A query x becomes q = (x − x̄)W with its component along u = ȳ/‖ȳ‖ removed, then L2-normalised.
 * [Note: Why the baseline projects out the mean image direction]
 * Image embeddings share a large common component ȳ (FashionCLIP's are all within ~40° of it). A
 * prediction that keeps it — (x − x̄)W + ȳ, or an uncentred fit — scores every gallery image by its
 * centrality as much as by the query, so every query ranks the most central images first and the
 * baseline collapses to near chance. With q ⟂ u, q·y = q·(y − (y·u)u): images are compared only on
 * what distinguishes them.
 *
 * λ is chosen on the validation split from a grid relative to the mean diagonal of XcᵀXc (so the grid
 * means the same at any n), by gallery MRR unless asked otherwise, and reported with its figures: the
 * baseline is tuned on the split it is reported on, which favours it, never the model held against it.
 */
import type { RetrievalFigures } from '../../src-shared/evaluation.ts';
import { emptyResults, rankTask, summarise } from '../retrieval/retrieval-metrics.ts';
import type { EvalSet } from './protocols.ts';
import { galleryPlan } from './protocols.ts';

export class RidgeBaselineError extends Error {
  override name = 'RidgeBaselineError';
}

/** λ / (mean diagonal of XcᵀXc): the grid tried on validation. */
export const RIDGE_LAMBDA_GRID = [1e-4, 1e-3, 1e-2, 0.1, 1, 10] as const;

export interface RidgeFit {
  p: number;
  dim: number;
  lambda: number;
  /** λ relative to the mean diagonal of XcᵀXc. */
  relativeLambda: number;
  xMean: Float64Array;
  /** [p × dim] row-major. */
  W: Float64Array;
  /** ȳ / ‖ȳ‖: the direction projected out of every query. */
  meanDirection: Float64Array;
}

/** Multi-hot rows [n × p] from per-field vocabulary indices (EncodedSplit.indices) and vocabulary sizes. */
export function multiHot(
  indices: Record<string, ArrayLike<ArrayLike<number>>>,
  fields: readonly string[],
  vocabSizes: Record<string, number>,
  n: number,
): { x: Float64Array; p: number; offsets: Record<string, number> } {
  const offsets: Record<string, number> = {};
  let p = 0;
  for (const f of fields) {
    const size = vocabSizes[f];
    if (!size) throw new RidgeBaselineError(`field "${f}" has no vocabulary`);
    offsets[f] = p;
    p += size;
  }
  const x = new Float64Array(n * p);
  for (const f of fields) {
    const per = indices[f];
    if (!per || per.length !== n)
      throw new RidgeBaselineError(`field "${f}": ${per?.length ?? 0} rows, expected ${n}`);
    for (let i = 0; i < n; i++) {
      const vals = per[i]!;
      const k = vals.length || 1;
      for (let j = 0; j < vals.length; j++) x[i * p + offsets[f]! + vals[j]!]! += 1 / k;
    }
  }
  return { x, p, offsets };
}

/** In-place Cholesky of a symmetric positive-definite [p × p] matrix (lower triangle). */
function cholesky(a: Float64Array, p: number): void {
  for (let j = 0; j < p; j++) {
    let d = a[j * p + j]!;
    for (let k = 0; k < j; k++) d -= a[j * p + k]! ** 2;
    if (!(d > 0))
      throw new RidgeBaselineError(`ridge system not positive definite at column ${j} (λ too small?)`);
    const l = Math.sqrt(d);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= a[i * p + k]! * a[j * p + k]!;
      a[i * p + j] = s / l;
    }
  }
}

/** Solves L Lᵀ W = B for W ([p × d]), B overwritten. */
function cholSolve(l: Float64Array, p: number, b: Float64Array, d: number): void {
  for (let i = 0; i < p; i++) {
    for (let k = 0; k < i; k++) {
      const lik = l[i * p + k]!;
      if (lik !== 0) for (let c = 0; c < d; c++) b[i * d + c]! -= lik * b[k * d + c]!;
    }
    const lii = l[i * p + i]!;
    for (let c = 0; c < d; c++) b[i * d + c]! /= lii;
  }
  for (let i = p - 1; i >= 0; i--) {
    for (let k = i + 1; k < p; k++) {
      const lki = l[k * p + i]!;
      if (lki !== 0) for (let c = 0; c < d; c++) b[i * d + c]! -= lki * b[k * d + c]!;
    }
    const lii = l[i * p + i]!;
    for (let c = 0; c < d; c++) b[i * d + c]! /= lii;
  }
}

/** The sufficient statistics of a fit, computed once for every λ. */
export interface RidgeSystem {
  n: number;
  p: number;
  dim: number;
  xMean: Float64Array;
  meanDirection: Float64Array;
  /** XcᵀXc [p × p] and XcᵀYc [p × dim]. */
  xtx: Float64Array;
  xty: Float64Array;
  meanDiag: number;
}

export function ridgeSystem(
  x: Float64Array,
  y: Float32Array,
  n: number,
  p: number,
  dim: number,
): RidgeSystem {
  if (x.length !== n * p || y.length !== n * dim) {
    throw new RidgeBaselineError(
      `ridge: X has ${x.length} values for ${n}×${p}, Y ${y.length} for ${n}×${dim}`,
    );
  }
  if (n < 2) throw new RidgeBaselineError(`ridge: needs at least 2 training items, got ${n}`);
  const xMean = new Float64Array(p);
  const yMean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) xMean[j]! += x[i * p + j]! / n;
    for (let c = 0; c < dim; c++) yMean[c]! += y[i * dim + c]! / n;
  }
  const xtx = new Float64Array(p * p);
  const xty = new Float64Array(p * dim);
  const xc = new Float64Array(p);
  const yc = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) xc[j] = x[i * p + j]! - xMean[j]!;
    for (let c = 0; c < dim; c++) yc[c] = y[i * dim + c]! - yMean[c]!;
    for (let j = 0; j < p; j++) {
      const v = xc[j]!;
      if (v === 0) continue;
      for (let k = 0; k <= j; k++) xtx[j * p + k]! += v * xc[k]!;
      for (let c = 0; c < dim; c++) xty[j * dim + c]! += v * yc[c]!;
    }
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) xtx[k * p + j] = xtx[j * p + k]!;
  let diag = 0;
  for (let j = 0; j < p; j++) diag += xtx[j * p + j]!;
  const norm = Math.hypot(...yMean);
  const meanDirection = yMean.map((v) => (norm > 0 ? v / norm : 0));
  return { n, p, dim, xMean, meanDirection, xtx, xty, meanDiag: diag / p || 1 };
}

export function solveRidge(sys: RidgeSystem, relativeLambda: number): RidgeFit {
  const { p, dim } = sys;
  const lambda = relativeLambda * sys.meanDiag;
  const a = Float64Array.from(sys.xtx);
  for (let j = 0; j < p; j++) a[j * p + j]! += lambda;
  cholesky(a, p);
  const W = Float64Array.from(sys.xty);
  cholSolve(a, p, W, dim);
  return { p, dim, lambda, relativeLambda, xMean: sys.xMean, W, meanDirection: sys.meanDirection };
}

/** Query vectors [n × dim]: centred map, mean image direction projected out, L2-normalised. */
export function predictRidge(fit: RidgeFit, x: Float64Array, n: number): Float32Array {
  const { p, dim, W, xMean, meanDirection: u } = fit;
  const out = new Float32Array(n * dim);
  const q = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    q.fill(0);
    for (let j = 0; j < p; j++) {
      const v = x[i * p + j]! - xMean[j]!;
      if (v === 0) continue;
      for (let c = 0; c < dim; c++) q[c]! += v * W[j * dim + c]!;
    }
    let along = 0;
    for (let c = 0; c < dim; c++) along += q[c]! * u[c]!;
    let norm = 0;
    for (let c = 0; c < dim; c++) {
      q[c]! -= along * u[c]!;
      norm += q[c]! ** 2;
    }
    norm = Math.sqrt(norm);
    for (let c = 0; c < dim; c++) out[i * dim + c] = norm > 0 ? q[c]! / norm : 0;
  }
  return out;
}

/** Strict classes (identical encoder input ⇔ identical multi-hot row). */
export function inputClasses(x: Float64Array, n: number, p: number): Int32Array {
  const map = new Map<string, number>();
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const key = Array.from(x.subarray(i * p, (i + 1) * p)).join(',');
    let v = map.get(key);
    if (v === undefined) {
      v = map.size;
      map.set(key, v);
    }
    out[i] = v;
  }
  return out;
}

/** Gallery-protocol JSON → image figures of query vectors against a validation set's images. */
export function galleryFigures(set: EvalSet, ks: readonly number[] = [1, 5, 10]): RetrievalFigures {
  const plan = galleryPlan(set, 'json-to-image');
  const res = emptyResults(set.ids.length, ks);
  for (const task of plan.tasks) rankTask(task, res);
  return summarise(res);
}

export type RidgeSelectMetric = 'mrr' | 'top1' | 'top5' | 'recall10';

export const pickFigure = (f: RetrievalFigures, metric: RidgeSelectMetric): number =>
  metric === 'mrr' ? f.mrr : f.recall[metric === 'top1' ? '1' : metric === 'top5' ? '5' : '10'];

export interface RidgeBaselineInput {
  train: { x: Float64Array; images: Float32Array; n: number };
  val: { x: Float64Array; images: Float32Array; ids: string[]; loose?: Int32Array };
  p: number;
  dim: number;
  lambdas?: readonly number[];
  metric?: RidgeSelectMetric;
}

export interface RidgeBaselineResult {
  fit: RidgeFit;
  figures: RetrievalFigures;
  /** Per relative λ tried: its validation figure. */
  tried: { relativeLambda: number; lambda: number; value: number }[];
  metric: RidgeSelectMetric;
  /** The validation queries, for callers that evaluate further (in-batch, per style). */
  set: EvalSet;
}

/** Fits the ridge map for each λ of the grid and keeps the best on validation (gallery protocol). */
export function ridgeBaseline(input: RidgeBaselineInput): RidgeBaselineResult {
  const { train, val, p, dim } = input;
  const metric = input.metric ?? 'mrr';
  const nVal = val.ids.length;
  if (val.x.length !== nVal * p || val.images.length !== nVal * dim) {
    throw new RidgeBaselineError(`ridge: validation X/Y sizes do not match ${nVal} items`);
  }
  const sys = ridgeSystem(train.x, train.images, train.n, p, dim);
  const strict = inputClasses(val.x, nVal, p);
  let best: { fit: RidgeFit; figures: RetrievalFigures; set: EvalSet; value: number } | null = null;
  const tried: RidgeBaselineResult['tried'] = [];
  for (const rel of input.lambdas ?? RIDGE_LAMBDA_GRID) {
    const fit = solveRidge(sys, rel);
    const set: EvalSet = {
      dim,
      ids: val.ids,
      json: predictRidge(fit, val.x, nVal),
      images: val.images,
      strict,
      loose: val.loose ?? strict,
    };
    const figures = galleryFigures(set);
    const value = pickFigure(figures, metric);
    tried.push({ relativeLambda: rel, lambda: fit.lambda, value });
    if (!best || value > best.value) best = { fit, figures, set, value };
  }
  return { fit: best!.fit, figures: best!.figures, tried, metric, set: best!.set };
}
