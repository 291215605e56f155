/**
 * The one top-K selection of a score row, shared by the vector index's JS path and evaluation's
 * Precision@K (retrieval-metrics.ts).
 *
 * Order: higher score first; among equal scores, the query's correct answer `target` (if any) after
 * the others, which is the tie rule of the ranks (rank-metrics.ts); then the lower index first, which
 * is ONNX TopK's rule, so the index's JS and ONNX Runtime paths return the same hits.
 */
export function topK(scores: ArrayLike<number>, k: number, target = -1): number[] {
  const n = scores.length;
  const kk = Math.min(k, n);
  if (kk <= 0) return [];
  const before = (a: number, b: number) => {
    const sa = scores[a]!;
    const sb = scores[b]!;
    if (sa !== sb) return sa > sb;
    if ((a === target) !== (b === target)) return b === target;
    return a < b;
  };
  if (kk * 8 > n) {
    // Large k: sort everything.
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    return all.slice(0, kk);
  }
  // Small k: keep a sorted buffer of the best kk; most rows fail the threshold test in one compare.
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (best.length === kk && !before(i, best[kk - 1]!)) continue;
    let p = best.length === kk ? kk - 1 : best.length;
    if (best.length < kk) best.push(i);
    while (p > 0 && before(i, best[p - 1]!)) {
      best[p] = best[p - 1]!;
      p--;
    }
    best[p] = i;
  }
  return best;
}
