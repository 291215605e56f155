/**
 * The uncertainty of a retrieval figure (EVALUATION.md "Uncertainty"): Recall@K and Top-K are
 * proportions of queries, so each carries a 95 % Wilson score interval, and a figure from fewer than
 * MIN_QUERIES queries is marked. Pure functions; the UI and any report use the same ones.
 *
 * Wilson rather than the normal ("Wald") interval p ± z·√(p(1−p)/n): Wald collapses to a zero-width
 * interval at 0 % and 100 % and leaves [0, 1] for small n, exactly where per-style and per-category
 * rows live. Written here (a dozen lines) rather than pulling a statistics package into the renderer.
 */

/** The two-sided 95 % normal quantile, Φ⁻¹(0.975). */
export const Z_95 = 1.959963984540054;

/** Below this many queries a figure is marked as resting on too few queries to quote. */
export const MIN_QUERIES = 20;

export interface Interval {
  low: number;
  high: number;
}

/**
 * The Wilson score interval of a proportion: `share` (in [0, 1]) observed over `n` trials. `share`
 * may come from a figure rather than a count (an in-batch Recall@K is a mean over batches), so it
 * need not be a multiple of 1/n. Null when n is 0 or either input is not a finite number.
 */
export function wilsonInterval(share: number, n: number, z = Z_95): Interval | null {
  if (!Number.isFinite(share) || !Number.isFinite(n) || n <= 0) return null;
  const p = Math.min(1, Math.max(0, share));
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At p = 0 (p = 1) the lower (upper) end is exactly 0 (1); computed, it lands a rounding error off.
  return {
    low: p === 0 ? 0 : Math.max(0, centre - half),
    high: p === 1 ? 1 : Math.min(1, centre + half),
  };
}

/** The same from a count of successes out of n. */
export function wilsonFromCount(successes: number, n: number, z = Z_95): Interval | null {
  return n > 0 ? wilsonInterval(successes / n, n, z) : null;
}

/** Whether a figure over `queries` queries is too few to quote without a mark. */
export function tooFewQueries(queries: number): boolean {
  return queries < MIN_QUERIES;
}
