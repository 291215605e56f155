/**
 * Result types of the recommendation service (catalog of new products, image → image
 * recommendation, KPIs, dashboard). Plain JSON shapes: the HTTP API, the contract and the UI share them.
 *
 * [Note: Result schemas own the types]
 * Each shape is declared once, as a zod schema; its TypeScript type is inferred from it. The contract
 * checks outputs with these schemas, the REST routes' JSON Schemas and /openapi.json are generated
 * from them (src-main/server/rest-schemas.ts), and the core's functions are typed by them, so a new
 * field is one edit here and a core that forgets it does not compile.
 */
import { z } from 'zod';
import { embeddingHealthSchema } from './evaluation.ts';

const count = z.number().int().min(0);

/** The model whose vectors a workspace's image → image features use, and how it shows to people. */
export const imageEncoderLabelSchema = z.object({
  /** Model id the vectors are stored under, e.g. fashion-clip, marqo-fashionclip-int8, demo-standin. */
  model: z.string(),
  /** registry: a known model id; path: a user's ONNX export; demo-standin: the demo's generated graph. */
  kind: z.enum(['registry', 'path', 'demo-standin']),
  /** True for the demo's stand-in encoder: its vectors are NOT FashionCLIP embeddings. */
  synthetic: z.boolean(),
  /** One line for people, e.g. "demo-standin (SYNTHETIC stand-in image encoder, not FashionCLIP)". */
  label: z.string(),
});
export type ImageEncoderLabel = z.infer<typeof imageEncoderLabelSchema>;

export const catalogProductSchema = z.object({
  id: z.string(),
  name: z.string(),
  style: z.string().nullable(),
  category: z.string().nullable(),
  /** Workspace-relative path of the stored image, `catalog/<sha256>.<ext>`. */
  image: z.string(),
  /** URL path the server serves the image at. */
  imageUrl: z.string(),
  imageSha256: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  attributes: z.record(z.string(), z.unknown()).nullable(),
  /** True for the demo's generated "new products". */
  synthetic: z.boolean(),
  createdAt: z.string(),
  /** Model ids this product has a vector for. */
  embeddings: z.array(z.string()),
});
export type CatalogProduct = z.infer<typeof catalogProductSchema>;

export const catalogListSchema = z.object({
  total: count,
  products: z.array(catalogProductSchema),
  /** Products without a vector of the workspace image encoder (they cannot be recommended yet). */
  missingVectors: z.number().int(),
  encoder: imageEncoderLabelSchema.nullable(),
  note: z.string().optional(),
});
export type CatalogList = z.infer<typeof catalogListSchema>;

/** What adding one product answers: the product, whether it is new (else an id was replaced), a note. */
export const catalogAddResultSchema = z.object({
  product: catalogProductSchema,
  created: z.boolean(),
  note: z.string().optional(),
});
export type CatalogAddResult = z.infer<typeof catalogAddResultSchema>;

export const catalogRemoveResultSchema = z.object({ removed: z.array(z.string()) });

export const catalogImportReportSchema = z.object({
  folder: z.string(),
  added: z.array(z.string()),
  updated: z.array(z.string()),
  unchanged: z.array(z.string()),
  /** Files skipped, with the reason (not an image, damaged, duplicate of another product...). */
  skipped: z.array(z.object({ file: z.string(), reason: z.string() })),
  embedded: count,
  importedVectors: count,
  model: z.string().nullable(),
  synthetic: z.boolean(),
  elapsedMs: z.number(),
  timestamp: z.string(),
});
export type CatalogImportReport = z.infer<typeof catalogImportReportSchema>;

export const recommendationMatchSchema = z.object({
  productId: z.string(),
  name: z.string(),
  style: z.string().nullable(),
  category: z.string().nullable(),
  /** Cosine similarity of the L2-normalised image embeddings. */
  score: z.number(),
  imageUrl: z.string(),
});
export type RecommendationMatch = z.infer<typeof recommendationMatchSchema>;

export const RECOMMEND_INPUT_KINDS = ['upload', 'catalog', 'item', 'anchor'] as const;
export type RecommendInputKind = (typeof RECOMMEND_INPUT_KINDS)[number];

export const recommendInputRefSchema = z.object({
  kind: z.enum(RECOMMEND_INPUT_KINDS),
  /** Catalog product id or dataset item id; the upload's field index as `upload:<n>` for uploads. */
  id: z.string(),
  /** The uploaded file's name as the client sent it (shown only, never used as a path). */
  filename: z.string().optional(),
  /** For anchor inputs: the item's centrality (cosine to the centre of all image embeddings). */
  centrality: z.number().optional(),
});
export type RecommendInputRef = z.infer<typeof recommendInputRefSchema>;

export const recommendationForInputSchema = z.object({
  input: recommendInputRefSchema,
  matches: z.array(recommendationMatchSchema),
});
export type RecommendationForInput = z.infer<typeof recommendationForInputSchema>;

export const trendDataSchema = z.object({
  /** Share (0..1) of all matched products per style; `(none)` for products without one. */
  styleDistribution: z.record(z.string(), z.number()),
  categoryDistribution: z.record(z.string(), z.number()),
  meanSimilarity: z.number(),
  maxSimilarity: z.number(),
  /** Matches counted (inputs × k, fewer when the catalog is small). */
  matches: z.number().int(),
  /** Products matched most often across the inputs (ties by best score). */
  mostMatched: z.array(
    z.object({
      productId: z.string(),
      name: z.string(),
      count: z.number().int(),
      bestScore: z.number(),
      imageUrl: z.string(),
    }),
  ),
});
export type TrendData = z.infer<typeof trendDataSchema>;

export const recommendationMetaSchema = z.object({
  runId: z.string(),
  timestamp: z.string(),
  encoder: imageEncoderLabelSchema,
  k: z.number().int(),
  catalogSize: z.number().int(),
  latencyMs: z.number(),
  /** Present when an approximate index served the answer: which, and its recall@10 against exact. */
  index: z
    .object({ kind: z.literal('ann'), engine: z.string(), recallAt10: z.number().nullable() })
    .optional(),
  /** Present when any figure rests on synthetic data; repeat it wherever the result shows. */
  note: z.string().optional(),
});
export type RecommendationMeta = z.infer<typeof recommendationMetaSchema>;

export const top10ToNewResultSchema = recommendationMetaSchema.extend({
  /** How the inputs were chosen, e.g. the centrality proxy's definition and anchor-set size. */
  inputSource: z.string(),
  inputs: z.array(recommendationForInputSchema),
  trend: trendDataSchema,
});
export type Top10ToNewResult = z.infer<typeof top10ToNewResultSchema>;

export const customerInputResultSchema = recommendationMetaSchema.extend({
  input: recommendInputRefSchema,
  matches: z.array(recommendationMatchSchema),
});
export type CustomerInputResult = z.infer<typeof customerInputResultSchema>;

export const latencySummarySchema = z.object({
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
  mean: z.number().nullable(),
});
export type LatencySummary = z.infer<typeof latencySummarySchema>;

/** Embedding health (EVALUATION.md) of one set of vectors the recommendation uses. */
export const embeddingHealthEntrySchema = z.object({
  /** Which vectors: the catalog's new products or the dataset's garments. */
  set: z.enum(['catalog', 'dataset']),
  model: z.string(),
  health: embeddingHealthSchema,
});
export type EmbeddingHealthEntry = z.infer<typeof embeddingHealthEntrySchema>;

/** The newest results/evaluation_*.json, in brief (JSON → image, as the report's top level). */
export const lastEvaluationSchema = z.object({
  /** Workspace-relative path of the report. */
  file: z.string(),
  timestamp: z.string().nullable(),
  runId: z.string().nullable(),
  /** The training run whose checkpoint was evaluated. */
  trainingRunId: z.string().nullable(),
  /** The checkpoint epoch the evaluated weights come from. */
  checkpointEpoch: z.number().int().nullable(),
  /** True when `trainingRunId` is not the workspace's current run (its figures are not the current model's). */
  stale: z.boolean(),
  currentRunId: z.string().nullable(),
  /** Top-1 / Top-5 accuracy and Recall@10 (fractions) and MRR, as the report states them. */
  top1: z.number().nullable(),
  top5: z.number().nullable(),
  recall10: z.number().nullable(),
  mrr: z.number().nullable(),
  /** How they were measured, e.g. "gallery, N=800" or "in-batch, B=64". */
  protocol: z.string().nullable(),
  synthetic: z.boolean(),
  note: z.string().optional(),
});
export type LastEvaluation = z.infer<typeof lastEvaluationSchema>;

export const kpiSummarySchema = z.object({
  timestamp: z.string(),
  /** Successful recommendation calls logged. */
  count: z.number().int(),
  errors: z.number().int(),
  byEndpoint: z.record(z.string(), z.number()),
  latencyMs: latencySummarySchema,
  /** Mean over calls of the (mean over inputs) best match's cosine similarity. */
  meanTop1Similarity: z.number().nullable(),
  lastEvaluation: lastEvaluationSchema.nullable(),
  embeddingHealth: z.array(embeddingHealthEntrySchema),
  catalog: z.object({ products: z.number().int(), withVectors: z.number().int() }),
  encoder: imageEncoderLabelSchema.nullable(),
  note: z.string().optional(),
});
export type KpiSummary = z.infer<typeof kpiSummarySchema>;

const attributeMapSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

export const dashboardSchema = z.object({
  kpi: kpiSummarySchema,
  loss_curve: z
    .object({
      runId: z.string(),
      epochs: z.array(z.number()),
      trainLoss: z.array(z.number()),
      valLoss: z.array(z.number()),
      source: z.string(),
    })
    .nullable(),
  /** The new products recommended most often (from the KPI log), with their images. */
  top_k_images: z.array(
    z.object({ productId: z.string(), name: z.string(), count: z.number().int(), imageUrl: z.string() }),
  ),
  hyperparams: z.record(z.string(), z.unknown()).nullable(),
  /**
   * Real examples of the current run's augmentation, recorded by its first training step (empty when
   * the run used none): the picture the garment's vector came from, and its attributes before/after.
   */
  augmented_samples: z.array(
    z.object({
      itemId: z.string(),
      /** What was done: the view's recipe ("view 2 · crop … · flip · rot …") and the JSON changes. */
      augmentation: z.string(),
      /** The crop or augmented view used, a JPEG as a data URL ('' when the picture is gone). */
      dataUrl: z.string(),
      /** 0 = the original crop, v = augmented view v. */
      view: z.number().int().optional(),
      before: attributeMapSchema.optional(),
      after: attributeMapSchema.optional(),
      changes: z.array(z.string()).optional(),
      epoch: z.number().int().optional(),
      step: z.number().int().optional(),
    }),
  ),
  /** The current run's augmentation settings (null: no run, or a run without augmentation). */
  augmentation: z
    .object({
      runId: z.string(),
      settings: z.unknown(),
      /** View recipe the image views came from. */
      recipe: z.string().nullable(),
      /** Workspace-relative file the examples were read from. */
      source: z.string(),
    })
    .nullable()
    .optional(),
  note: z.string().optional(),
});
export type DashboardData = z.infer<typeof dashboardSchema>;

/** URL path the server serves a workspace file at (each path segment percent-encoded). */
export function workspaceFileUrl(relativePath: string): string {
  return `/api/files/${relativePath.split('/').map(encodeURIComponent).join('/')}`;
}
