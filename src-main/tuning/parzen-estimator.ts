/**
 * The univariate Parzen estimators of TPE (Bergstra, Bardenet, Bengio, Kégl, "Algorithms for
 * Hyper-Parameter Optimization", NeurIPS 2011), with the choices Optuna's TPESampler makes by default
 * (optuna/samplers/_tpe/parzen_estimator.py, univariate mode):
 *
 * numeric  a mixture of Gaussians truncated to the (transformed) range: one per observation, centred on
 *          it, plus a prior component centred mid-range with σ = the range's width. Each observation's σ
 *          is the larger distance to its sorted neighbours (the ends use their one neighbour), clipped to
 *          [width / min(100, 1 + n), width] ("magic clip": no spike narrower than the data supports).
 * categorical  per observation a distribution over the choices, its own choice + prior_weight / (n + 1)
 *          on every choice, normalised; plus a uniform prior row.
 * Mixture weights: the observations' weights (recent ones count fully, older ones ramp down once there
 * are more than 25: Optuna's default_weights) and prior_weight for the prior, normalised.
 *
 * Hand-written: no maintained npm package implements TPE (checked the registry's lists), and the
 * estimator is a hundred lines of arithmetic.
 */
import type { Rng } from '../dataset/rng.ts';

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7: plenty for mixture weights). */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-a * a);
  return s * y;
}

const normCdf = (z: number) => 0.5 * (1 + erf(z / SQRT2));

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** Optuna's default_weights: 1 for the newest 25 observations, a linear ramp from 1/n below that. */
export function observationWeights(n: number): number[] {
  if (n === 0) return [];
  if (n < 25) return Array(n).fill(1);
  const ramp = n - 25;
  const out: number[] = [];
  for (let i = 0; i < ramp; i++) out.push(ramp === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (ramp - 1));
  for (let i = 0; i < 25; i++) out.push(1);
  return out;
}

export interface Estimator {
  sample(rng: Rng): number;
  logPdf(x: number): number;
}

/** Numeric estimator over [low, high] (already transformed); `obs` oldest first. */
export function numericEstimator(
  obs: readonly number[],
  low: number,
  high: number,
  priorWeight = 1,
): Estimator {
  const width = high - low;
  const mus = [...obs, (low + high) / 2];
  const n = mus.length;
  const ow = observationWeights(obs.length);
  const weights = [...ow, priorWeight];
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) weights[i]! /= total;
  // Bandwidths from sorted neighbours (the prior is among them, as in Optuna).
  const order = mus.map((_, i) => i).sort((a, b) => mus[a]! - mus[b]!);
  const sorted = order.map((i) => mus[i]!);
  const padded = [low, ...sorted, high];
  const sigmaSorted = sorted.map((_, i) =>
    Math.max(padded[i + 1]! - padded[i]!, padded[i + 2]! - padded[i + 1]!),
  );
  if (n >= 2) {
    // Without the end points as neighbours: the outermost use their inner neighbour only.
    sigmaSorted[0] = sorted[1]! - sorted[0]!;
    sigmaSorted[n - 1] = sorted[n - 1]! - sorted[n - 2]!;
  }
  const sigmas = new Array<number>(n);
  order.forEach((idx, k) => {
    sigmas[idx] = sigmaSorted[k]!;
  });
  sigmas[n - 1] = width; // the prior
  const minSigma = width / Math.min(100, 1 + n);
  for (let i = 0; i < n; i++) sigmas[i] = Math.min(width, Math.max(minSigma, sigmas[i]!)) || 1e-12;
  const logMass = mus.map((mu, i) => {
    const s = sigmas[i]!;
    const mass = normCdf((high - mu) / s) - normCdf((low - mu) / s);
    return Math.log(Math.max(mass, 1e-300));
  });
  return {
    sample(rng) {
      let r = rng.float();
      let c = 0;
      while (c < n - 1 && r >= weights[c]!) {
        r -= weights[c]!;
        c++;
      }
      // Truncated normal by rejection; the component's mass inside the range is ≥ about 0.16 (σ ≤ width,
      // centre inside), so this ends quickly. Falls back to a clamp after many misses.
      for (let tries = 0; tries < 1000; tries++) {
        const x = mus[c]! + sigmas[c]! * rng.normal();
        if (x >= low && x <= high) return x;
      }
      return Math.min(high, Math.max(low, mus[c]!));
    },
    logPdf(x) {
      const terms = mus.map((mu, i) => {
        const s = sigmas[i]!;
        const z = (x - mu) / s;
        return Math.log(weights[i]!) - 0.5 * z * z - Math.log(s) - LOG_SQRT_2PI - logMass[i]!;
      });
      return logSumExp(terms);
    },
  };
}

/** Categorical estimator over `k` choices; `obs` are choice indices, oldest first. */
export function categoricalEstimator(obs: readonly number[], k: number, priorWeight = 1): Estimator {
  const n = obs.length;
  const ow = observationWeights(n);
  const mix = [...ow, priorWeight];
  const total = mix.reduce((a, b) => a + b, 0);
  // The mixture collapses to one distribution over the choices: Σ_i w_i · row_i.
  const p = new Array<number>(k).fill(0);
  const fill = priorWeight / (n + 1);
  for (let i = 0; i < n; i++) {
    const rowTotal = 1 + fill * k;
    for (let c = 0; c < k; c++) p[c]! += ((mix[i]! / total) * (fill + (c === obs[i] ? 1 : 0))) / rowTotal;
  }
  for (let c = 0; c < k; c++) p[c]! += mix[n]! / total / k;
  return {
    sample(rng) {
      let r = rng.float();
      for (let c = 0; c < k - 1; c++) {
        if (r < p[c]!) return c;
        r -= p[c]!;
      }
      return k - 1;
    },
    logPdf(x) {
      return Math.log(p[x] ?? 0);
    },
  };
}
