/**
 * Per-epoch validation figures for JSON → image retrieval over the whole validation gallery
 * (EVALUATION.md, `gallery` protocol): query i is item i's JSON vector, the gallery is every
 * validation item's image embedding, and image i is the single correct answer. The scoring, the
 * ranks (with their tie rule) and the similarity sums are the retrieval engine's (retrieval/);
 * training adds its loss and the encoder's output norm.
 */
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
 */
export async function validationMetricsBlocked(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
  valLoss: number,
  opts: { minOrtRows?: number } = {},
): Promise<ValidationMetrics> {
  const n = pairedCount(queries, gallery, dim);
  const scorer = await openBlockScorer(gallery, dim, opts);
  const pass = new PairedGalleryPass(n);
  try {
    for (let start = 0; start < n; start += scorer.blockRows) {
      const rows = Math.min(scorer.blockRows, n - start);
      pass.add(await scorer.scores(queries.subarray(start * dim, (start + rows) * dim), rows), start, rows);
    }
  } finally {
    await scorer.close();
  }
  return withLossAndNorm(pass, queries, dim, valLoss);
}
