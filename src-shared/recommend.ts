/**
 * Result types of the recommendation service (catalog of new products, image → image
 * recommendation, KPIs, dashboard). Plain JSON shapes: the HTTP API, the contract and the UI share them.
 */
import type { EmbeddingHealth } from './evaluation.ts';

/** The model whose vectors a workspace's image → image features use, and how it shows to people. */
export interface ImageEncoderLabel {
  /** Model id the vectors are stored under, e.g. fashion-clip, marqo-fashionclip-int8, demo-standin. */
  model: string;
  /** registry: a known model id; path: a user's ONNX export; demo-standin: the demo's generated graph. */
  kind: 'registry' | 'path' | 'demo-standin';
  /** True for the demo's stand-in encoder: its vectors are NOT FashionCLIP embeddings. */
  synthetic: boolean;
  /** One line for people, e.g. "demo-standin (SYNTHETIC stand-in image encoder, not FashionCLIP)". */
  label: string;
}

export interface CatalogProduct {
  id: string;
  name: string;
  style: string | null;
  category: string | null;
  /** Workspace-relative path of the stored image, `catalog/<sha256>.<ext>`. */
  image: string;
  /** URL path the server serves the image at. */
  imageUrl: string;
  imageSha256: string;
  width: number;
  height: number;
  attributes: Record<string, unknown> | null;
  /** True for the demo's generated "new products". */
  synthetic: boolean;
  createdAt: string;
  /** Model ids this product has a vector for. */
  embeddings: string[];
}

export interface CatalogList {
  total: number;
  products: CatalogProduct[];
  /** Products without a vector of the workspace image encoder (they cannot be recommended yet). */
  missingVectors: number;
  encoder: ImageEncoderLabel | null;
  note?: string;
}

export interface CatalogImportReport {
  folder: string;
  added: string[];
  updated: string[];
  unchanged: string[];
  /** Files skipped, with the reason (not an image, damaged, duplicate of another product...). */
  skipped: { file: string; reason: string }[];
  embedded: number;
  importedVectors: number;
  model: string | null;
  synthetic: boolean;
  elapsedMs: number;
  timestamp: string;
}

export interface RecommendationMatch {
  productId: string;
  name: string;
  style: string | null;
  category: string | null;
  /** Cosine similarity of the L2-normalised image embeddings. */
  score: number;
  imageUrl: string;
}

export type RecommendInputKind = 'upload' | 'catalog' | 'item' | 'anchor';

export interface RecommendInputRef {
  kind: RecommendInputKind;
  /** Catalog product id or dataset item id; the upload's field index as `upload:<n>` for uploads. */
  id: string;
  /** The uploaded file's name as the client sent it (shown only, never used as a path). */
  filename?: string;
  /** For anchor inputs: the item's centrality (cosine to the centre of all image embeddings). */
  centrality?: number;
}

export interface RecommendationForInput {
  input: RecommendInputRef;
  matches: RecommendationMatch[];
}

export interface TrendData {
  /** Share (0..1) of all matched products per style; `(none)` for products without one. */
  styleDistribution: Record<string, number>;
  categoryDistribution: Record<string, number>;
  meanSimilarity: number;
  maxSimilarity: number;
  /** Products matched most often across the inputs (ties by best score). */
  mostMatched: { productId: string; name: string; count: number; bestScore: number; imageUrl: string }[];
  /** Matches counted (inputs × k, fewer when the catalog is small). */
  matches: number;
}

export interface RecommendationMeta {
  runId: string;
  timestamp: string;
  encoder: ImageEncoderLabel;
  k: number;
  catalogSize: number;
  latencyMs: number;
  /** Present when an approximate index served the answer: which, and its recall@10 against exact. */
  index?: { kind: 'ann'; engine: string; recallAt10: number | null };
  /** Present when any figure rests on synthetic data; repeat it wherever the result shows. */
  note?: string;
}

export interface Top10ToNewResult extends RecommendationMeta {
  inputs: RecommendationForInput[];
  trend: TrendData;
  /** How the inputs were chosen, e.g. the centrality proxy's definition and anchor-set size. */
  inputSource: string;
}

export interface CustomerInputResult extends RecommendationMeta {
  input: RecommendInputRef;
  matches: RecommendationMatch[];
}

export interface LatencySummary {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
}

/** Embedding health (EVALUATION.md) of one set of vectors the recommendation uses. */
export interface EmbeddingHealthEntry {
  /** Which vectors: the catalog's new products or the dataset's garments. */
  set: 'catalog' | 'dataset';
  model: string;
  health: EmbeddingHealth;
}

/** The newest results/evaluation_*.json, in brief (JSON → image, as the report's top level). */
export interface LastEvaluation {
  /** Workspace-relative path of the report. */
  file: string;
  timestamp: string | null;
  runId: string | null;
  /** The training run whose checkpoint was evaluated. */
  trainingRunId: string | null;
  /** The checkpoint epoch the evaluated weights come from. */
  checkpointEpoch: number | null;
  /** True when `trainingRunId` is not the workspace's current run (its figures are not the current model's). */
  stale: boolean;
  currentRunId: string | null;
  /** Top-1 / Top-5 accuracy and Recall@10 (fractions) and MRR, as the report states them. */
  top1: number | null;
  top5: number | null;
  recall10: number | null;
  mrr: number | null;
  /** How they were measured, e.g. "gallery, N=800" or "in-batch, B=64". */
  protocol: string | null;
  synthetic: boolean;
  note?: string;
}

export interface KpiSummary {
  timestamp: string;
  /** Successful recommendation calls logged. */
  count: number;
  errors: number;
  byEndpoint: Record<string, number>;
  latencyMs: LatencySummary;
  /** Mean over calls of the (mean over inputs) best match's cosine similarity. */
  meanTop1Similarity: number | null;
  lastEvaluation: LastEvaluation | null;
  embeddingHealth: EmbeddingHealthEntry[];
  catalog: { products: number; withVectors: number };
  encoder: ImageEncoderLabel | null;
  note?: string;
}

export interface DashboardData {
  kpi: KpiSummary;
  loss_curve: {
    runId: string;
    epochs: number[];
    trainLoss: number[];
    valLoss: number[];
    source: string;
  } | null;
  /** The new products recommended most often (from the KPI log), with their images. */
  top_k_images: { productId: string; name: string; count: number; imageUrl: string }[];
  hyperparams: Record<string, unknown> | null;
  /**
   * Real examples of the current run's augmentation, recorded by its first training step (empty when
   * the run used none): the picture the garment's vector came from, and its attributes before/after.
   */
  augmented_samples: {
    itemId: string;
    /** What was done: the view's recipe ("view 2 · crop … · flip · rot …") and the JSON changes. */
    augmentation: string;
    /** The crop or augmented view used, a JPEG as a data URL ('' when the picture is gone). */
    dataUrl: string;
    /** 0 = the original crop, v = augmented view v. */
    view?: number;
    before?: Record<string, string | string[]>;
    after?: Record<string, string | string[]>;
    changes?: string[];
    epoch?: number;
    step?: number;
  }[];
  /** The current run's augmentation settings (null: no run, or a run without augmentation). */
  augmentation?: {
    runId: string;
    settings: unknown;
    /** View recipe the image views came from. */
    recipe: string | null;
    /** Workspace-relative file the examples were read from. */
    source: string;
  } | null;
  note?: string;
}

/** URL path the server serves a workspace file at (each path segment percent-encoded). */
export function workspaceFileUrl(relativePath: string): string {
  return `/api/files/${relativePath.split('/').map(encodeURIComponent).join('/')}`;
}
