/**
 * Per-epoch validation figures for JSON → image retrieval over the whole validation gallery
 * (EVALUATION.md, `gallery` protocol): query i is item i's JSON vector, the gallery is every
 * validation item's image embedding, and image i is the single correct answer.
 *
 * Tie rule: a gallery item scoring exactly the same as the correct image counts *against* the query,
 * i.e. rank = 1 + number of other gallery items scoring ≥ the correct one. The optimistic rule
 * (1 + number scoring strictly higher) would give a collapsed model — every score equal — a perfect
 * Top-1; the pessimistic one gives it rank N. Exact float equality is rare with real embeddings, so the
 * rule matters only for degenerate models and duplicate images, which is where honesty matters.
 *
 * Pure functions over row-major Float32Arrays, so they are tested on hand-made score matrices.
 */

export interface RetrievalMetrics {
  top1: number;
  top5: number;
  mrr: number;
}

export interface SimilarityStats {
  /** Mean cosine of matching (JSON, image) pairs. */
  posSim: number;
  /** Mean cosine of non-matching pairs over the gallery. */
  negSim: number;
}

export interface ValidationMetrics extends RetrievalMetrics, SimilarityStats {
  valLoss: number;
  /** Recall@10 over the whole gallery (absent in histories written before runs listed it). */
  recall10?: number;
  /** Mean L2 norm of the encoder's outputs (1 for a healthy encoder). */
  meanNorm: number;
}

/** Scores [q × g] = queries [q × dim] · galleryᵀ [dim × g]; cosines when both sides are unit vectors. */
export function scoreMatrix(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
): { scores: Float32Array; queries: number; gallery: number } {
  const q = queries.length / dim;
  const g = gallery.length / dim;
  if (!Number.isInteger(q) || !Number.isInteger(g)) {
    throw new Error(`scoreMatrix: ${queries.length} and ${gallery.length} floats are not rows of ${dim}`);
  }
  const scores = new Float32Array(q * g);
  // Register blocking: 4 query rows × 2 gallery rows per pass, so each loaded float feeds 2-4
  // products (3-4× faster than one dot product at a time in V8). Every score still sums its own
  // products in k order in a double, so the results are bit-identical to the plain loop below.
  let i = 0;
  for (; i + 4 <= q; i += 4) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    const a2 = a1 + dim;
    const a3 = a2 + dim;
    let j = 0;
    for (; j + 2 <= g; j += 2) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let k = 0; k < dim; k++) {
        const x0 = gallery[b0 + k]!;
        const x1 = gallery[b1 + k]!;
        const y0 = queries[a0 + k]!;
        const y1 = queries[a1 + k]!;
        const y2 = queries[a2 + k]!;
        const y3 = queries[a3 + k]!;
        s00 += y0 * x0;
        s01 += y0 * x1;
        s10 += y1 * x0;
        s11 += y1 * x1;
        s20 += y2 * x0;
        s21 += y2 * x1;
        s30 += y3 * x0;
        s31 += y3 * x1;
      }
      const o = i * g + j;
      scores[o] = s00;
      scores[o + 1] = s01;
      scores[o + g] = s10;
      scores[o + g + 1] = s11;
      scores[o + 2 * g] = s20;
      scores[o + 2 * g + 1] = s21;
      scores[o + 3 * g] = s30;
      scores[o + 3 * g + 1] = s31;
    }
    for (; j < g; j++) {
      const b = j * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < dim; k++) {
        const x = gallery[b + k]!;
        s0 += queries[a0 + k]! * x;
        s1 += queries[a1 + k]! * x;
        s2 += queries[a2 + k]! * x;
        s3 += queries[a3 + k]! * x;
      }
      scores[i * g + j] = s0;
      scores[(i + 1) * g + j] = s1;
      scores[(i + 2) * g + j] = s2;
      scores[(i + 3) * g + j] = s3;
    }
  }
  for (; i < q; i++) {
    const qo = i * dim;
    for (let j = 0; j < g; j++) {
      const go = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += queries[qo + k]! * gallery[go + k]!;
      scores[i * g + j] = s;
    }
  }
  return { scores, queries: q, gallery: g };
}

/**
 * 1-based rank of each query's correct gallery item (`targets[i]`, default i) in its score row
 * [n × g], with ties counted against the query (see the tie rule above).
 */
export function ranksOfTargets(scores: Float32Array, n: number, targets?: ArrayLike<number>): Int32Array {
  const g = scores.length / n;
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = targets ? targets[i]! : i;
    const row = i * g;
    const target = scores[row + t]!;
    let rank = 1;
    for (let j = 0; j < g; j++) if (j !== t && scores[row + j]! >= target) rank++;
    ranks[i] = rank;
  }
  return ranks;
}

/** Top-1, Top-5 (Recall@K with one correct answer) and MRR from ranks. */
export function retrievalFromRanks(ranks: ArrayLike<number>): RetrievalMetrics {
  const n = ranks.length;
  if (n === 0) return { top1: 0, top5: 0, mrr: 0 };
  let top1 = 0;
  let top5 = 0;
  let rr = 0;
  for (let i = 0; i < n; i++) {
    const r = ranks[i]!;
    if (r <= 1) top1++;
    if (r <= 5) top5++;
    rr += 1 / r;
  }
  return { top1: top1 / n, top5: top5 / n, mrr: rr / n };
}

/** Recall@K for any K, from ranks. */
export function recallAt(ranks: ArrayLike<number>, k: number): number {
  let hit = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i]! <= k) hit++;
  return ranks.length === 0 ? 0 : hit / ranks.length;
}

/** Mean diagonal (matching pairs) and mean off-diagonal (non-matching pairs) of a square score matrix. */
export function similarityStats(scores: Float32Array, n: number): SimilarityStats {
  if (scores.length !== n * n)
    throw new Error(`similarityStats: expected ${n}×${n} scores, got ${scores.length}`);
  let pos = 0;
  let all = 0;
  for (let i = 0; i < n; i++) {
    pos += scores[i * n + i]!;
    for (let j = 0; j < n; j++) all += scores[i * n + j]!;
  }
  const neg = n > 1 ? (all - pos) / (n * n - n) : 0;
  return { posSim: n > 0 ? pos / n : 0, negSim: neg };
}

export function meanNorm(vectors: Float32Array, dim: number): number {
  const n = vectors.length / dim;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += vectors[i * dim + k]! ** 2;
    sum += Math.sqrt(s);
  }
  return sum / n;
}

/**
 * Every retrieval and similarity figure of one validation pass: `queries` are the encoder's outputs
 * for the validation items, `gallery` their image embeddings in the same order.
 */
export function validationMetrics(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  valLoss: number,
): ValidationMetrics {
  const { scores, queries: n, gallery: g } = scoreMatrix(queries, gallery, dim);
  if (n !== g) throw new Error(`validationMetrics: ${n} queries but ${g} gallery images; they must pair up`);
  const ranks = ranksOfTargets(scores, n);
  return {
    valLoss,
    ...retrievalFromRanks(ranks),
    recall10: recallAt(ranks, 10),
    ...similarityStats(scores, n),
    meanNorm: meanNorm(queries, dim),
  };
}

/**
 * `validationMetrics` for any size of validation split: below `minOrtRows` items exactly the same
 * computation (so small runs keep their figures bit for bit); from there up, a block of queries at a
 * time with the dot products on ONNX Runtime (score-blocks.ts), so memory stays O(block × N) instead
 * of the N × N matrix (3.6 GB at 30k items) and the epoch's validation takes seconds, not minutes.
 */
export async function validationMetricsBlocked(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  valLoss: number,
  opts: { minOrtRows?: number } = {},
): Promise<ValidationMetrics> {
  const n = queries.length / dim;
  const g = gallery.length / dim;
  if (n !== g) throw new Error(`validationMetrics: ${n} queries but ${g} gallery images; they must pair up`);
  const { MIN_ORT_CANDIDATES, openBlockScorer } = await import('./score-blocks.ts');
  const minRows = opts.minOrtRows ?? MIN_ORT_CANDIDATES;
  if (n < minRows) return validationMetrics(queries, gallery, dim, valLoss);
  const scorer = await openBlockScorer(gallery, dim, { minOrtRows: minRows });
  const ranks = new Int32Array(n);
  let pos = 0;
  let all = 0;
  try {
    for (let start = 0; start < n; start += scorer.blockRows) {
      const rows = Math.min(scorer.blockRows, n - start);
      const scores = await scorer.scores(queries.subarray(start * dim, (start + rows) * dim), rows);
      const targets = Int32Array.from({ length: rows }, (_, r) => start + r);
      ranks.set(ranksOfTargets(scores, rows, targets), start);
      for (let r = 0; r < rows; r++) {
        pos += scores[r * n + start + r]!;
        for (let j = r * n, end = j + n; j < end; j++) all += scores[j]!;
      }
    }
  } finally {
    await scorer.close();
  }
  return {
    valLoss,
    ...retrievalFromRanks(ranks),
    recall10: recallAt(ranks, 10),
    posSim: pos / n,
    negSim: n > 1 ? (all - pos) / (n * n - n) : 0,
    meanNorm: meanNorm(queries, dim),
  };
}
