/**
 * Rank and recall metrics with one correct answer per query, shared by training validation (each
 * epoch) and evaluation (retrieval-metrics.ts builds its per-query figures on `ranksOfTargets`).
 *
 * Tie rule: a gallery item scoring exactly the same as the correct one counts *against* the query,
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

/** Mean L2 norm of [n × dim] vectors (1 for a healthy encoder's outputs). */
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

/** Figures of a paired gallery pass: ranks (Top-1, Top-5, MRR, Recall@10) and similarities. */
export type PairedGalleryFigures = RetrievalMetrics & { recall10: number } & SimilarityStats;

/**
 * A paired gallery pass (query i's one correct answer is gallery row i of n), fed one block of score
 * rows at a time so the n × n matrix never has to exist whole. The diagonal and the whole-row sums
 * are added row by row in the same order however the rows are blocked, so a pass fed the whole
 * matrix at once and one fed 128 rows at a time give identical figures.
 *
 * With `queryRows`, only those items are queries (still ranked against all n gallery rows): query r
 * of the pass is item queryRows[r], and its correct answer is gallery row queryRows[r]. The figures
 * are then a sample estimate of the whole pass's ([Note: sampled validation queries], trainer.ts).
 */
export class PairedGalleryPass {
  readonly ranks: Int32Array;
  private pos = 0;
  private all = 0;

  constructor(
    readonly n: number,
    private readonly queryRows: Int32Array | null = null,
  ) {
    this.ranks = new Int32Array(queryRows ? queryRows.length : n);
  }

  /** How many queries the pass ranks (n, or the sample's size). */
  get queries(): number {
    return this.ranks.length;
  }

  /** `scores` holds the rows of queries [start, start + rows), each n scores long. */
  add(scores: Float32Array, start: number, rows: number): void {
    const n = this.n;
    if (scores.length !== rows * n) {
      throw new Error(`PairedGalleryPass: expected ${rows}×${n} scores, got ${scores.length}`);
    }
    const q = this.queryRows;
    const targets = Int32Array.from({ length: rows }, (_, r) => (q ? q[start + r]! : start + r));
    this.ranks.set(ranksOfTargets(scores, rows, targets), start);
    for (let r = 0; r < rows; r++) {
      this.pos += scores[r * n + targets[r]!]!;
      for (let j = r * n, end = j + n; j < end; j++) this.all += scores[j]!;
    }
  }

  figures(): PairedGalleryFigures {
    const n = this.n;
    const q = this.queries;
    return {
      ...retrievalFromRanks(this.ranks),
      recall10: recallAt(this.ranks, 10),
      posSim: q > 0 ? this.pos / q : 0,
      negSim: n > 1 && q > 0 ? (this.all - this.pos) / (q * n - q) : 0,
    };
  }
}
