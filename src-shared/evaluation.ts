/**
 * Result shapes of the evaluation suite (EVALUATION.md): `kfashion eval`, `kfashion centrality`,
 * `kfashion sweep`. Plain JSON objects — what results/*.json hold, what `--json` prints, what the
 * contract carries to the UI. Keys are snake_case because researchers read these files from Python
 * and the evaluation suite's specification names them so (`positive_similarity`, `per_style`, …);
 * keep them stable.
 *
 * Rates (recall, precision, Top-K, "of ceiling") are fractions in [0, 1]; similarities are cosines.
 */

import { z } from 'zod';

/** The cut-offs every retrieval figure is given at. */
export const EVAL_KS = [1, 5, 10] as const;
export type EvalK = (typeof EVAL_KS)[number];
/** A figure per cut-off K, keyed "1", "5", "10". */
export type PerK = Record<'1' | '5' | '10', number>;

export type EvalProtocol = 'gallery' | 'in-batch';
/** json-to-image is the main direction; image-to-json ranks attribute JSONs for an image. */
export type EvalDirection = 'json-to-image' | 'image-to-json';

export const DEFAULT_EVAL_BATCH = 64;
/** The temperature study's default grid, around the earlier pipeline's best 0.1 and the research plan's 0.07. */
export const DEFAULT_SWEEP_TEMPERATURES = [0.05, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.15] as const;
/** In-batch ranking with fewer candidates inflates every figure; EVALUATION.md forbids B < 32. */
export const MIN_EVAL_BATCH = 32;

/** The best figures any JSON-only model can reach on these queries (see EVALUATION.md). */
export interface Ceiling {
  recall: PerK;
  mrr: number;
}

/** Retrieval figures of one set of queries (all of them, a style folder, a category, a subset). */
export interface RetrievalFigures {
  queries: number;
  /** Recall@K = Top-K accuracy (one correct answer per query). */
  recall: PerK;
  /**
   * Precision@K. strict: the share of the top K whose encoder input equals the query's (every encoder
   * field equal); loose: whose category and style are equal. The top K is the top min(K, candidates).
   */
  precision: { strict: PerK; loose: PerK };
  /** Mean of 1/rank over the whole candidate set (no cut-off). */
  mrr: number;
  ceiling: Ceiling;
  /** Each figure as a fraction of its ceiling (null when the ceiling is 0). */
  of_ceiling: { recall: Record<'1' | '5' | '10', number | null>; mrr: number | null };
  /** Mean cosine of the matching pairs. */
  positive_similarity: number;
  /** Mean cosine of non-matching pairs among the candidates each query was ranked against. */
  negative_similarity: number;
}

/** Health of a set of vectors (EVALUATION.md "Embedding health"). */
/** Embedding health of a set of vectors (EVALUATION.md); the type is inferred from the schema. */
export const embeddingHealthSchema = z.object({
  vectors: z.number().int(),
  dim: z.number().int(),
  norm: z.object({
    min: z.number(),
    max: z.number(),
    mean: z.number(),
    /** Largest |‖v‖ − 1|. */
    max_deviation: z.number(),
    tolerance: z.number(),
    /** Every vector has norm 1 within `tolerance`. */
    ok: z.boolean(),
    /** Vectors outside the tolerance. */
    off: z.number().int(),
  }),
  /** Variance of each output dimension across the vectors: summary here, all values in the file. */
  per_dimension_variance: z.object({
    mean: z.number(),
    min: z.number(),
    max: z.number(),
    near_zero: z.number().int(),
    values: z.array(z.number()).optional(),
  }),
  /** Mean cosine over all pairs of distinct vectors; near 1 means collapse. */
  mean_pairwise_cosine: z.number(),
});
export type EmbeddingHealth = z.infer<typeof embeddingHealthSchema>;

export interface DirectionFigures extends RetrievalFigures {
  direction: EvalDirection;
  /** Candidates a query is ranked against: the gallery, or the batch (B). */
  candidates: number;
  /** How the candidates are made, in a sentence. */
  description: string;
  per_style: Record<string, RetrievalFigures>;
  per_category: Record<string, RetrievalFigures>;
}

export type QuerySubsetName = 'all' | 'anchor' | 'high_quality' | 'category_balanced';

export interface QuerySubsetFigures extends RetrievalFigures {
  description: string;
}

export interface QueryAwareFigures {
  subsets: Record<QuerySubsetName, QuerySubsetFigures>;
  /** Anchor-query figure minus all-query figure, in percentage points. */
  anchor_minus_all_points: { top1: number; recall5: number; recall10: number };
  anchor_beats_all: boolean;
  statement: string;
  /** How the anchor set was made (centrality of the training image-embedding model). */
  anchor: { model: string; fraction: number; items: number; threshold: number };
  /** Seed and per-style draw of the category-balanced subset. */
  category_balanced: { seed: number; per_style: number; styles: string[] };
}

export interface CheckpointRef {
  path: string;
  weights: string;
  run_id: string;
  kind: 'best' | 'last';
  epoch: number;
  timestamp: string;
  temperature: number;
  fields: string[];
  image_embedding: { model: string; source: string; synthetic: boolean };
}

/** Whether the evaluated run's data (split items, vectors) is the workspace's data now. */
export interface DataCheck {
  /** null when the run did not record its data. */
  same: boolean | null;
  /** What differs, in words. */
  differences: string[];
  /** Validation items here that were in the run's training set (null when unknown). */
  val_items_trained_on: number | null;
  /** The warning shown on every face when the data differ, else null. */
  warning: string | null;
  note: string | null;
}

/** The training run an evaluation (or search) used. */
export interface EvaluatedRun {
  id: string;
  /** The run's number in the workspace (null for a checkpoint outside any run). */
  seq: number | null;
  checkpoint_epoch: number;
  /** Whether that run is the workspace's current run (now, or when the result was made). */
  current: boolean;
  current_run: string | null;
}

/** runs/<id>/evaluations/evaluation_<timestamp>.json and `kfashion eval --json`. The top level is json-to-image. */
export interface EvaluationReport extends RetrievalFigures {
  kind: 'evaluation';
  run_id: string;
  timestamp: string;
  /** The training run evaluated, and whether it is current. Absent in files made before runs. */
  run?: EvaluatedRun;
  /** True when the evaluated run is not the workspace's current run (re-checked when read back). */
  stale?: boolean;
  data_check?: DataCheck;
  synthetic: boolean;
  /** Present when the image embeddings are synthetic stand-ins: says so in every output. */
  note?: string;
  workspace: string;
  checkpoint: CheckpointRef;
  protocol: EvalProtocol;
  /** e.g. "gallery, N=800" or "in-batch, B=64". */
  protocol_label: string;
  /** Figure names as they must be quoted, e.g. { "1": "Top-1 (in-batch, B=64)", … }. */
  labels: PerKLabels;
  batch_size: number | null;
  /** Seed of the in-batch shuffle (null for gallery). */
  batch_seed: number | null;
  batches: number | null;
  tie_rule: string;
  direction: 'json-to-image';
  candidates: number;
  per_style: Record<string, RetrievalFigures>;
  per_category: Record<string, RetrievalFigures>;
  image_to_json: DirectionFigures;
  health: { json: EmbeddingHealth; image: EmbeddingHealth };
  query_aware: QueryAwareFigures;
  /** Said when the data's ceiling is low (a target above it is out of reach), else null. */
  ceiling_note: string | null;
  /** Positive and negative similarity histograms of json-to-image (shared bins). */
  similarity_histogram: { edges: number[]; positive: number[]; negative: number[] };
  files: { json: string; chart: string };
  elapsed_ms: number;
}
export type PerKLabels = Record<'1' | '5' | '10', string>;

export interface CentralityStats {
  count: number;
  mean: number;
  min: number;
  max: number;
  /** Population standard deviation. */
  std: number;
}

/** results/centrality_<timestamp>.json and `kfashion centrality --json`. */
export interface CentralityReport {
  kind: 'centrality';
  run_id: string;
  timestamp: string;
  synthetic: boolean;
  note?: string;
  workspace: string;
  /** The image-embedding model whose vectors were used (the training model). */
  model: string;
  items: number;
  overall: CentralityStats;
  anchor: CentralityStats & {
    fraction: number;
    threshold: number;
    top: { id: string; centrality: number }[];
  };
  per_style: Record<string, CentralityStats & { anchors: number }>;
  anchor_mean_exceeds_overall: boolean;
  statement: string;
  histogram: { edges: number[]; counts: number[] };
  files: { json: string; chart: string };
}

export interface TemperatureRun {
  temperature: number;
  train_run_id: string;
  best_epoch: number;
  epochs_run: number;
  stopped_early: boolean;
  top1: number;
  top5: number;
  recall10: number;
  mrr: number;
  ceiling: Ceiling;
  of_ceiling: { top1: number | null; top5: number | null; recall10: number | null; mrr: number | null };
  checkpoint: string;
  train_ms: number;
}

/** results/temperature_study_<timestamp>.json and `kfashion sweep --json`. */
export interface TemperatureStudy {
  kind: 'temperature-study';
  run_id: string;
  timestamp: string;
  synthetic: boolean;
  note?: string;
  workspace: string;
  protocol_label: string;
  /** The settings every run shared (the temperature aside). */
  config: Record<string, unknown>;
  queries: number;
  runs: TemperatureRun[];
  /** Temperatures whose run failed (e.g. the loss diverged), with the error; the study compares the rest. */
  failed: { temperature: number; error: string }[];
  best: { temperature: number; by: 'mrr' };
  recommendation: string;
  /** Standard error of a Top-5 figure at these N queries, in points: differences below ~2× are noise. */
  top5_standard_error_points: number;
  earlier_finding: { holds: boolean | null; statement: string };
  files: { json: string; chart: string; runs_dir: string };
  elapsed_ms: number;
}
