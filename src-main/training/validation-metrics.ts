/**
 * Per-epoch validation figures for JSON → image retrieval over the whole validation gallery
 * (EVALUATION.md, `gallery` protocol): query i is item i's JSON vector, the gallery is every
 * validation item's image embedding, and image i is the single correct answer. The scoring, the
 * ranks (with their tie rule) and the similarity sums are the retrieval engine's (retrieval/);
 * training adds its loss and the encoder's output norm.
 */

import { Rng } from '../dataset/rng.ts';
import {
  meanNorm,
  PairedGalleryPass,
  type RetrievalMetrics,
  type SimilarityStats,
} from '../retrieval/rank-metrics.ts';
import { openBlockScorer } from '../retrieval/score-blocks.ts';
import { scoreMatrix } from '../retrieval/score-matrix.ts';

export interface ValidationMetrics extends RetrievalMetrics, SimilarityStats {
  valLoss: number;
  /** Recall@10 over the whole gallery (absent in histories written before runs listed it). */
  recall10?: number;
  /** Mean L2 norm of the encoder's outputs (1 for a healthy encoder). */
  meanNorm: number;
}

function pairedCount(queries: Float32Array, gallery: Float32Array, dim: number): number {
  const n = queries.length / dim;
  const g = gallery.length / dim;
  if (n !== g) throw new Error(`validationMetrics: ${n} queries but ${g} gallery images; they must pair up`);
  return n;
}

function withLossAndNorm(
  pass: PairedGalleryPass,
  queries: Float32Array,
  dim: number,
  valLoss: number,
): ValidationMetrics {
  return { valLoss, ...pass.figures(), meanNorm: meanNorm(queries, dim) };
}

/**
 * Every retrieval and similarity figure of one validation pass, from the whole score matrix at once:
 * `queries` are the encoder's outputs for the validation items, `gallery` their image embeddings in
 * the same order.
 */
export function validationMetrics(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  valLoss: number,
): ValidationMetrics {
  const { scores, queries: n } = scoreMatrix(queries, gallery, dim);
  pairedCount(queries, gallery, dim);
  const pass = new PairedGalleryPass(n);
  pass.add(scores, 0, n);
  return withLossAndNorm(pass, queries, dim, valLoss);
}

/**
 * `validationMetrics` for any size of validation split, a block of queries at a time, so memory stays
 * O(block × N) instead of the N × N matrix (3.6 GB at 30k items). Below `minOrtRows` items the blocks
 * are scored by the same JS loop (so small runs keep their figures bit for bit, see [Note: score
 * summation order]); from there up on ONNX Runtime (retrieval/score-blocks.ts), so the epoch's
 * validation takes seconds, not minutes.
 *
 * `queryRows` (ascending item indices) ranks only those items' queries, each against the whole
 * gallery: the cost falls by n / queryRows.length, and the figures become an estimate ([Note: sampled
 * validation queries], trainer.ts). The loss and the mean norm still cover every item.
 */
export async function validationMetricsBlocked(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  valLoss: number,
  opts: { minOrtRows?: number; queryRows?: Int32Array } = {},
): Promise<ValidationMetrics> {
  const n = pairedCount(queries, gallery, dim);
  const rowsOf = opts.queryRows ?? null;
  const ranked = rowsOf ? gatherRows(queries, dim, rowsOf) : queries;
  const q = ranked.length / dim;
  const scorer = await openBlockScorer(gallery, dim, opts);
  const pass = new PairedGalleryPass(n, rowsOf);
  try {
    for (let start = 0; start < q; start += scorer.blockRows) {
      const rows = Math.min(scorer.blockRows, q - start);
      pass.add(await scorer.scores(ranked.subarray(start * dim, (start + rows) * dim), rows), start, rows);
    }
  } finally {
    await scorer.close();
  }
  return withLossAndNorm(pass, queries, dim, valLoss);
}

/** The rows `rows` of a [n × dim] matrix, in that order, as one contiguous [rows.length × dim] copy. */
function gatherRows(m: Float32Array, dim: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) out.set(m.subarray(rows[r]! * dim, (rows[r]! + 1) * dim), r * dim);
  return out;
}

/**
 * The validation items ranked as queries when `valQueries` is set: `want` distinct indices of n drawn
 * uniformly with a generator derived from the run's seed (a partial Fisher-Yates shuffle), ascending.
 * Null when every item is a query (no setting, or a setting of n or more).
 */
export function validationQuerySample(n: number, want: number | undefined, seed: number): Int32Array | null {
  if (want === undefined || want >= n) return null;
  const rng = Rng.derive(seed, 'validation-queries');
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < want; i++) {
    const j = rng.int(i, n - 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order.slice(0, want).sort();
}
