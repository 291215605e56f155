/**
 * Retrieval metrics of EVALUATION.md as pure functions over row-major Float32Arrays, so they are
 * tested on hand-made vectors and rankings.
 *
 * One pass ranks every query against its candidates and keeps per-query results (rank, Precision@K,
 * similarities, ceiling group); figures for any subset — a style folder, a category, the anchor
 * queries — are then means over that subset's rows (`summarise`). The score matrix is computed a
 * block of queries at a time, so memory stays O(block × candidates) however large the gallery.
 *
 * Ranks use the tie rule of training validation (rank-metrics.ts, shared with it): a candidate scoring
 * exactly the same as the correct one counts against the query (rank = 1 + others scoring ≥ it), so a
 * collapsed model gets rank N, not a perfect Top-1. Precision@K's top K breaks ties the same way:
 * equal-scoring wrong candidates come before the correct one, then lower index first.
 *
 * Ceilings: a JSON-only model gives identical vectors to garments with identical encoder input, so
 * within such a group it cannot tell the images apart; a group with s of the counted queries can at
 * best fill ranks 1..s for them. Hence, over the queries S: Recall@K ≤ (1/|S|) Σ_g min(s_g, K) and
 * MRR ≤ (1/|S|) Σ_g H(s_g). Over all queries of the gallery s_g = m_g, EVALUATION.md's formula; over a
 * subset it is the tight bound for that subset (no model can pass it).
 */
import type { Ceiling, EmbeddingHealth, PerK, RetrievalFigures } from '../../src-shared/evaluation.ts';
import { ranksOfTargets } from './rank-metrics.ts';
import type { BlockScores } from './score-blocks.ts';
import { scoreMatrix } from './score-matrix.ts';
import { topK } from './top-k.ts';

export const TIE_RULE =
  'Ties count against the query: rank = 1 + number of other candidates scoring ≥ the correct one (as in training validation).';

/** Queries scored per block: bounds the score matrix to BLOCK × candidates floats. */
const BLOCK = 128;

/** Bins of the similarity histograms: cosines in [-1, 1]. */
export const HIST_BINS = 100;

/** Per-query results of one ranking pass, indexed by query number. */
export interface QueryResults {
  n: number;
  ks: readonly number[];
  /** 1-based rank of the correct candidate (ties against the query). */
  rank: Int32Array;
  /** Per K (same order as `ks`), per query: Precision@K with strict / loose relevance. */
  precisionStrict: Float64Array[];
  precisionLoose: Float64Array[];
  /** Cosine with the correct candidate. */
  positive: Float64Array;
  /** Mean cosine with the other candidates (NaN when there are none). */
  negative: Float64Array;
  /** Candidates the query was ranked against. */
  candidates: Int32Array;
  /** The query's ceiling group: queries with the same value share encoder input and candidate set. */
  ceilingGroup: Int32Array;
  /** Histograms over [-1, 1] of positive and negative cosines (all pairs seen). */
  positiveHist: Float64Array;
  negativeHist: Float64Array;
}

export function emptyResults(n: number, ks: readonly number[]): QueryResults {
  return {
    n,
    ks,
    rank: new Int32Array(n),
    precisionStrict: ks.map(() => new Float64Array(n)),
    precisionLoose: ks.map(() => new Float64Array(n)),
    positive: new Float64Array(n),
    negative: new Float64Array(n),
    candidates: new Int32Array(n),
    ceilingGroup: new Int32Array(n).fill(-1),
    positiveHist: new Float64Array(HIST_BINS),
    negativeHist: new Float64Array(HIST_BINS),
  };
}

const bin = (c: number) => Math.min(HIST_BINS - 1, Math.max(0, Math.floor(((c + 1) / 2) * HIST_BINS)));

/** One ranking problem: `queries` rows against `candidates` rows, with labels for relevance. */
export interface RankingTask {
  dim: number;
  /** [q × dim]: the query vectors, in the order of `slots`. */
  queries: Float32Array;
  /** [c × dim]: the candidate vectors. */
  candidates: Float32Array;
  /** Per query: the index of its correct candidate. */
  targets: ArrayLike<number>;
  /** Per query: where its results go in the QueryResults (its query number). */
  slots: ArrayLike<number>;
  /** Strict relevance classes (equal encoder input) of queries and candidates. */
  strictQ: ArrayLike<number>;
  strictC: ArrayLike<number>;
  /** Loose relevance classes (equal category and style). */
  looseQ: ArrayLike<number>;
  looseC: ArrayLike<number>;
  /** Per query: its ceiling group id (unique across tasks of one pass). */
  groups: ArrayLike<number>;
}

/** Ranks every query of `task` and writes its results into `out` at the query's slot. */
export function rankTask(task: RankingTask, out: QueryResults): void {
  const { nq } = taskShape(task);
  for (let start = 0; start < nq; start += BLOCK) {
    const rows = Math.min(BLOCK, nq - start);
    const queries = task.queries.subarray(start * task.dim, (start + rows) * task.dim);
    rankBlock(task, out, start, rows, scoreMatrix(queries, task.candidates, task.dim).scores);
  }
}

/**
 * `rankTask` with the score blocks computed by `scores` (a large gallery's dot products on ONNX
 * Runtime, score-blocks.ts); `onBlock` reports queries done, and may throw to cancel.
 */
export async function rankTaskWith(
  task: RankingTask,
  out: QueryResults,
  scores: BlockScores,
  blockRows: number,
  onBlock?: (done: number, total: number) => void,
): Promise<void> {
  const { nq } = taskShape(task);
  for (let start = 0; start < nq; start += blockRows) {
    const rows = Math.min(blockRows, nq - start);
    const queries = task.queries.subarray(start * task.dim, (start + rows) * task.dim);
    rankBlock(task, out, start, rows, await scores(queries, rows));
    onBlock?.(start + rows, nq);
  }
}

function taskShape(task: RankingTask): { nq: number; nc: number } {
  const nq = task.queries.length / task.dim;
  const nc = task.candidates.length / task.dim;
  if (!Number.isInteger(nq) || !Number.isInteger(nc) || nc < 1) {
    throw new Error(
      `rankTask: ${task.queries.length} / ${task.candidates.length} floats are not rows of ${task.dim}`,
    );
  }
  return { nq, nc };
}

/** Ranks queries [start, start + rows) of `task` from their score rows ([rows × candidates]). */
function rankBlock(
  task: RankingTask,
  out: QueryResults,
  start: number,
  rows: number,
  scores: Float32Array,
): void {
  const nc = task.candidates.length / task.dim;
  const ks = out.ks;
  const kMax = Math.min(nc, Math.max(...ks));
  const targets = Array.from({ length: rows }, (_, i) => task.targets[start + i]!);
  const ranks = ranksOfTargets(scores, rows, targets);
  for (let r = 0; r < rows; r++) {
    const qi = start + r;
    const slot = task.slots[qi]!;
    const t = targets[r]!;
    const row = scores.subarray(r * nc, (r + 1) * nc);
    out.rank[slot] = ranks[r]!;
    out.candidates[slot] = nc;
    out.ceilingGroup[slot] = task.groups[qi]!;
    const pos = row[t]!;
    out.positive[slot] = pos;
    out.positiveHist[bin(pos)]!++;
    let negSum = 0;
    for (let j = 0; j < nc; j++) {
      if (j === t) continue;
      negSum += row[j]!;
      out.negativeHist[bin(row[j]!)]!++;
    }
    out.negative[slot] = nc > 1 ? negSum / (nc - 1) : Number.NaN;
    const top = topK(row, kMax, t);
    const filled = top.length;
    const sq = task.strictQ[qi]!;
    const lq = task.looseQ[qi]!;
    ks.forEach((k, ki) => {
      const kk = Math.min(k, filled);
      let s = 0;
      let l = 0;
      for (let i = 0; i < kk; i++) {
        if (task.strictC[top[i]!] === sq) s++;
        if (task.looseC[top[i]!] === lq) l++;
      }
      out.precisionStrict[ki]![slot] = kk > 0 ? s / kk : 0;
      out.precisionLoose[ki]![slot] = kk > 0 ? l / kk : 0;
    });
  }
}

/** H(m) = 1 + 1/2 + … + 1/m. */
export function harmonic(m: number): number {
  let h = 0;
  for (let i = 1; i <= m; i++) h += 1 / i;
  return h;
}

/**
 * The ceiling for queries split into groups of `sizes` (identical encoder input and candidates):
 * Recall@K = Σ min(s, K) / N and MRR = Σ H(s) / N with N = Σ s.
 */
export function ceilingFromGroupSizes(
  sizes: Iterable<number>,
  ks: readonly number[] = [1, 5, 10],
): {
  recall: number[];
  mrr: number;
  queries: number;
} {
  let n = 0;
  let mrr = 0;
  const recall = ks.map(() => 0);
  for (const s of sizes) {
    n += s;
    mrr += harmonic(s);
    ks.forEach((k, i) => {
      recall[i]! += Math.min(s, k);
    });
  }
  return { recall: recall.map((r) => (n ? r / n : 0)), mrr: n ? mrr / n : 0, queries: n };
}

const perK = (ks: readonly number[], f: (k: number, i: number) => number): PerK => {
  const out: Record<string, number> = {};
  ks.forEach((k, i) => {
    out[String(k)] = f(k, i);
  });
  return out as PerK;
};

/** Figures over the queries `subset` (default: all) of one pass. */
export function summarise(res: QueryResults, subset?: ArrayLike<number>): RetrievalFigures {
  const rows = subset ? Array.from(subset) : Array.from({ length: res.n }, (_, i) => i);
  const n = rows.length;
  const ks = res.ks;
  const mean = (f: (q: number) => number) => {
    if (n === 0) return 0;
    let s = 0;
    for (const q of rows) s += f(q);
    return s / n;
  };
  const groupSizes = new Map<number, number>();
  for (const q of rows) {
    const g = res.ceilingGroup[q]!;
    if (g < 0) throw new Error(`summarise: query ${q} was never ranked`);
    groupSizes.set(g, (groupSizes.get(g) ?? 0) + 1);
  }
  const c = ceilingFromGroupSizes(groupSizes.values(), ks);
  const recall = perK(ks, (k) => mean((q) => (res.rank[q]! <= k ? 1 : 0)));
  const mrr = mean((q) => 1 / res.rank[q]!);
  const ceiling: Ceiling = { recall: perK(ks, (_, i) => c.recall[i]!), mrr: c.mrr };
  const ratio = (v: number, cv: number) => (cv > 0 ? v / cv : null);
  const negRows = rows.filter((q) => !Number.isNaN(res.negative[q]!));
  return {
    queries: n,
    recall,
    precision: {
      strict: perK(ks, (_, i) => mean((q) => res.precisionStrict[i]![q]!)),
      loose: perK(ks, (_, i) => mean((q) => res.precisionLoose[i]![q]!)),
    },
    mrr,
    ceiling,
    of_ceiling: {
      recall: Object.fromEntries(
        ks.map((k) => [String(k), ratio(recall[String(k) as '1']!, ceiling.recall[String(k) as '1']!)]),
      ) as RetrievalFigures['of_ceiling']['recall'],
      mrr: ratio(mrr, ceiling.mrr),
    },
    positive_similarity: mean((q) => res.positive[q]!),
    negative_similarity: negRows.length
      ? negRows.reduce((a, q) => a + res.negative[q]!, 0) / negRows.length
      : 0,
  };
}

/**
 * Norms, per-dimension variance and mean pairwise cosine of [n × dim] vectors. The mean pairwise
 * cosine uses Σ_{i≠j} uᵢ·uⱼ = ‖Σ uᵢ‖² − Σ ‖uᵢ‖² over the unit vectors uᵢ: O(n·dim), not O(n²·dim).
 */
export function embeddingHealth(vectors: Float32Array, dim: number, tolerance = 1e-5): EmbeddingHealth {
  const n = vectors.length / dim;
  if (!Number.isInteger(n))
    throw new Error(`embeddingHealth: ${vectors.length} floats are not rows of ${dim}`);
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let sum = 0;
  let maxDev = 0;
  let off = 0;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  const unitSum = new Float64Array(dim);
  let unitSq = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const v = vectors[i * dim + d]!;
      s += v * v;
      mean[d]! += v;
      sq[d]! += v * v;
    }
    const norm = Math.sqrt(s);
    min = Math.min(min, norm);
    max = Math.max(max, norm);
    sum += norm;
    const dev = Math.abs(norm - 1);
    maxDev = Math.max(maxDev, dev);
    if (!(dev <= tolerance)) off++;
    if (norm > 0) {
      for (let d = 0; d < dim; d++) unitSum[d]! += vectors[i * dim + d]! / norm;
      unitSq += 1;
    }
  }
  const variances = Array.from({ length: dim }, (_, d) =>
    n > 0 ? Math.max(0, sq[d]! / n - (mean[d]! / n) ** 2) : 0,
  );
  let total = 0;
  for (let d = 0; d < dim; d++) total += unitSum[d]! ** 2;
  const pairs = unitSq * (unitSq - 1);
  return {
    vectors: n,
    dim,
    norm: {
      min: n ? min : 0,
      max,
      mean: n ? sum / n : 0,
      max_deviation: maxDev,
      tolerance,
      ok: n > 0 && off === 0,
      off,
    },
    per_dimension_variance: {
      mean: variances.reduce((a, b) => a + b, 0) / Math.max(1, dim),
      min: Math.min(...variances),
      max: Math.max(...variances),
      near_zero: variances.filter((v) => v < 1e-8).length,
      values: variances,
    },
    mean_pairwise_cosine: pairs > 0 ? (total - unitSq) / pairs : 0,
  };
}
