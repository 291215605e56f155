/**
 * Schemas of the data that crosses the contract for the dataset, jobs, training and export areas.
 *
 * [Note: Loose output schemas]
 * Inputs are checked strictly (the renderer is not trusted; an unknown key is a typo). Outputs come
 * from our own core, whose TypeScript types already describe them, so their schemas check the fields
 * a caller relies on and let every other field through (`z.looseObject`): a core that adds a field
 * does not break the UI, and a core that drops or retypes a field the UI reads fails loudly with the
 * field's name. `typed<T>()` gives such a schema the core's own TypeScript type.
 */
import { z } from 'zod';
import { augmentationSchema } from './augmentation-config.ts';
import type { ScanReport, SplitSummary, WorkspaceSummary } from './dataset.ts';
import { encoderTrainOverrides } from './encoder-config.ts';
import type { CentralityReport, EvaluationReport, TemperatureStudy } from './evaluation.ts';
import { FIELD_NAMES } from './fields.ts';
import type {
  CatalogImportReport,
  CatalogList,
  CatalogProduct,
  CustomerInputResult,
  DashboardData,
  ImageEncoderLabel,
  KpiSummary,
  Top10ToNewResult,
} from './recommend.ts';
import type { ResearchReportSummary } from './report.ts';
import type { SimilaritySearchRun } from './search.ts';

/** A loose object schema (see [Note: Loose output schemas]) typed as `T`. */
export function typed<T>() {
  return <S extends z.core.$ZodLooseShape>(shape: S): z.ZodType<T, T> =>
    z.looseObject(shape) as unknown as z.ZodType<T, T>;
}

const count = z.number().int().min(0);
const isoTime = z.string();

// ---------------------------------------------------------------------------------------------
// Errors and jobs

export const wireErrorOutSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
});

export const jobProgressSchema = z.object({
  job: z.string(),
  phase: z.string(),
  step: z.number(),
  total: z.number(),
  elapsedMs: z.number(),
  etaMs: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
});

/**
 * Kinds of job the job host runs (src-main/services/job-table.ts). A long one is started by a
 * `*.start`-style method that returns a JobHandle at once; a medium one (split, import) is awaited
 * by its method but still runs off the main thread.
 */
export const JOB_KINDS = [
  'demo',
  'scan',
  'split',
  'crops',
  'embed',
  'import-embeddings',
  'train',
  'export',
  'evaluate',
  'centrality',
  'sweep',
  'catalog-import',
  'catalog-embed',
  'report',
  'map',
  'tune',
] as const;
export const jobKindSchema = z.enum(JOB_KINDS);
export type JobKind = z.infer<typeof jobKindSchema>;

export const jobHandleSchema = z.object({ job: z.string(), kind: jobKindSchema });
export type JobHandle = z.infer<typeof jobHandleSchema>;

export const JOB_STATUSES = ['running', 'done', 'failed', 'cancelled'] as const;

export const jobInfoSchema = z.object({
  job: z.string(),
  kind: jobKindSchema,
  /** Workspace the job works on (absolute path); null for jobs that do not need one. */
  workspace: z.string().nullable(),
  status: z.enum(JOB_STATUSES),
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
  /** The latest progress event, or null before the first one. */
  progress: jobProgressSchema.nullable(),
  error: wireErrorOutSchema.nullable(),
  /** The job's result once done (its shape depends on `kind`; see the job.done event). */
  result: z.unknown().optional(),
});
export type JobInfo = z.infer<typeof jobInfoSchema>;

// ---------------------------------------------------------------------------------------------
// Workspace and dataset

const styleCountsSchema = z.looseObject({
  labels: count,
  images: count,
  garments: count,
  excluded: count,
  excludedByReason: z.record(z.string(), count),
  skippedFiles: count,
});

export const splitSummarySchema = typed<SplitSummary>()({
  method: z.enum(['seeded', 'file']),
  valRatio: z.number(),
  trainImages: count,
  valImages: count,
  trainItems: count,
  valItems: count,
  warnings: z.array(z.string()),
});

export const scanReportSchema = typed<ScanReport>()({
  synthetic: z.boolean(),
  dataRoot: z.string(),
  workspace: z.string(),
  perStyle: z.record(z.string(), styleCountsSchema),
  total: styleCountsSchema,
  skipped: z.array(z.looseObject({ path: z.string(), reason: z.string(), detail: z.string() })),
  split: splitSummarySchema,
  elapsedMs: z.number(),
});

export const workspaceSummarySchema = typed<WorkspaceSummary>()({
  workspace: z.string(),
  synthetic: z.boolean(),
  schemaVersion: count,
  images: count,
  items: count,
  perStyle: z.record(
    z.string(),
    z.looseObject({ images: count, items: count, trainItems: count, valItems: count }),
  ),
  vocabularySizes: z.record(z.string(), count),
  crops: count,
  embeddings: z.array(z.looseObject({ model: z.string(), dim: count, source: z.string(), count: count })),
});

export const EXCLUSION_REASONS = ['no-box', 'degenerate-box', 'no-attributes', 'bad-coordinates'] as const;

export interface ExcludedGarments {
  /** Garments excluded in the workspace (matching the filter). */
  total: number;
  byReason: Record<string, number>;
  byStyle: Record<string, number>;
  rows: { imageKey: string; styleFolder: string; part: string; reason: string; labelPath: string }[];
  /** Label files the last scan could not read at all. */
  skippedFiles: { total: number; rows: { path: string; reason: string; detail: string }[] };
}
export const excludedGarmentsSchema = typed<ExcludedGarments>()({
  total: count,
  byReason: z.record(z.string(), count),
  byStyle: z.record(z.string(), count),
  rows: z.array(
    z.looseObject({
      imageKey: z.string(),
      styleFolder: z.string(),
      part: z.string(),
      reason: z.string(),
      labelPath: z.string(),
    }),
  ),
  skippedFiles: z.looseObject({
    total: count,
    rows: z.array(z.looseObject({ path: z.string(), reason: z.string(), detail: z.string() })),
  }),
});

export interface SampleCrop {
  id: string;
  styleFolder: string;
  part: string;
  split: 'train' | 'val' | null;
  attributes: Record<string, string | string[]>;
  /** Workspace-relative path of the crop (give it to the transport's mediaUrl), or null. */
  crop: string | null;
  width: number | null;
  height: number | null;
  /** Why there is no crop (no image file, unreadable image, ...). */
  error: string | null;
}
export const sampleCropsSchema = typed<{ total: number; items: SampleCrop[] }>()({
  total: count,
  items: z.array(
    z.looseObject({
      id: z.string(),
      styleFolder: z.string(),
      part: z.string(),
      crop: z.string().nullable(),
      error: z.string().nullable(),
    }),
  ),
});

export const cropSummarySchema = z.looseObject({
  total: count,
  made: count,
  cached: count,
  noImage: count,
  failed: z.array(z.object({ id: z.string(), reason: z.string() })),
});

export interface VocabularyView {
  /** Per field, its values by index (without <pad>/<unk>), with counts in this workspace. */
  fields: Record<string, { value: string; count: number; known: boolean }[]>;
}
export const vocabularySchema = typed<VocabularyView>()({
  fields: z.record(z.string(), z.array(z.object({ value: z.string(), count: count, known: z.boolean() }))),
});

export const fieldNameSchema = z.enum(FIELD_NAMES);

// ---------------------------------------------------------------------------------------------
// Demo, embeddings

export const demoSummarySchema = z.looseObject({
  synthetic: z.literal(true),
  outDir: z.string(),
  seed: z.number(),
  scale: z.string(),
  images: count,
  garments: count,
});

export const demoWorkspaceSchema = z.looseObject({
  workspace: z.string(),
  data: z.string(),
  created: z.boolean(),
  synthetic: z.literal(true),
});

export const embedSummarySchema = z.looseObject({
  model: z.string(),
  source: z.string(),
  total: count,
  embedded: count,
  cached: count,
  noImage: count,
  failed: z.array(z.object({ id: z.string(), reason: z.string() })),
  elapsedMs: z.number(),
  imgPerSec: z.number(),
});

export const importReportSchema = z.looseObject({
  model: z.string(),
  source: z.string(),
  synthetic: z.boolean(),
  rows: count,
  dim: count,
  stored: count,
  notes: z.array(z.string()),
});

// ---------------------------------------------------------------------------------------------
// Training

export const epochRecordSchema = z.looseObject({
  epoch: count,
  step: count,
  trainLoss: z.number(),
  valLoss: z.number(),
  lr: z.number(),
  gradNorm: z.number(),
  top1: z.number(),
  top5: z.number(),
  mrr: z.number(),
  posSim: z.number(),
  negSim: z.number(),
  meanNorm: z.number(),
  epochMs: z.number(),
  msPerStep: z.number(),
  finishedAt: isoTime,
});
export type EpochRecordView = z.infer<typeof epochRecordSchema>;

const imageEmbeddingSchema = z.looseObject({ model: z.string(), source: z.string(), synthetic: z.boolean() });

export const trainResultSchema = z.looseObject({
  runId: z.string(),
  /** The run's number in the workspace; absent only in results made before runs existed. */
  seq: count.optional(),
  /** The best checkpoint's epoch is bestEpoch; current = this run's files are the workspace's current ones. */
  current: z.boolean().optional(),
  /** True when the run is not the workspace's current run (e.g. a sweep run, a stopped run). */
  stale: z.boolean().optional(),
  warnings: z.array(z.string()).optional(),
  startedAt: isoTime,
  timestamp: isoTime,
  status: z.string(),
  backend: z.string(),
  imageEmbedding: imageEmbeddingSchema,
  note: z.string().optional(),
  data: z.looseObject({ train: count, val: count, stepsPerEpoch: count }),
  bestEpoch: z.number(),
  best: epochRecordSchema.nullable(),
  epochsRun: count,
  epochsPlanned: count,
  stoppedEarly: z.boolean(),
  wallMs: z.number(),
  msPerStep: z.number(),
  config: z.record(z.string(), z.unknown()),
  history: z.array(epochRecordSchema),
});

/** results/training_results.json as the trainer writes it (per epoch while running, then at the end). */
export const trainingResultsFileSchema = z.looseObject({
  runId: z.string(),
  timestamp: isoTime,
  status: z.string(),
  synthetic: z.boolean(),
  note: z.string().optional(),
  backend: z.string(),
  imageEmbedding: imageEmbeddingSchema,
  data: z.looseObject({ train: count, val: count, stepsPerEpoch: count }),
  config: z.record(z.string(), z.unknown()),
  startedAt: isoTime,
  history: z.array(epochRecordSchema),
});

export const trainStatusSchema = z.object({
  /** The training job running now, if any (in this app session). */
  running: z
    .object({ job: z.string(), startedAt: isoTime, progress: jobProgressSchema.nullable() })
    .nullable(),
  /** The latest run's results file, or null when the workspace has never trained. */
  results: trainingResultsFileSchema.nullable(),
  /** Whether checkpoints/last.* exists and a resume is possible in principle. */
  canResume: z.boolean(),
  /** Workspace-relative path of results/training_charts.png when it exists. */
  charts: z.string().nullable(),
});

export const TRAIN_BACKENDS = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;

/** Overrides the UI's config form may send (the trainer validates ranges again; see train-config.ts). */
export const trainOverridesSchema = z.strictObject({
  epochs: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(2).optional(),
  lr: z.number().positive().optional(),
  temperature: z.number().positive().optional(),
  weightDecay: z.number().min(0).optional(),
  warmupFraction: z.number().min(0).max(0.5).optional(),
  patience: z.number().int().min(1).optional(),
  seed: z.number().int().min(0).optional(),
  fields: z.array(fieldNameSchema).min(1).optional(),
  embedDim: z.number().int().min(1).optional(),
  hiddenDim: z.number().int().min(1).optional(),
  dropout: z.number().min(0).lt(1).optional(),
  backend: z.enum(TRAIN_BACKENDS).optional(),
  model: z.string().min(1).optional(),
  /** JSON augmentation per step and image views per epoch (augmentation-config.ts; absent = none). */
  augmentation: augmentationSchema.optional(),
  // The encoder's shape and schedule, with the validators of src-shared/encoder-config.ts.
  ...encoderTrainOverrides,
});

export const trainPresetsSchema = z.object({
  defaults: z.record(z.string(), z.unknown()),
  stages: z.record(z.string(), z.record(z.string(), z.unknown())),
  quick: z.record(z.string(), z.unknown()),
  backends: z.array(z.string()),
  fields: z.array(z.string()),
});

// ---------------------------------------------------------------------------------------------
// Export

export const bundleSummarySchema = z.looseObject({
  /** Absolute path of the zip written. */
  path: z.string(),
  /** Workspace-relative path when the zip is inside the workspace (to download via mediaUrl). */
  relPath: z.string().nullable(),
  bytes: count,
  runId: z.string().nullable(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  files: z.array(z.object({ path: z.string(), bytes: count, sha256: z.string() })),
});
export type BundleSummaryView = z.infer<typeof bundleSummarySchema>;

// ---------------------------------------------------------------------------------------------
// Evaluation (src-shared/evaluation.ts owns the types; these check the fields the UI reads)

const perKSchema = z.looseObject({ '1': z.number(), '5': z.number(), '10': z.number() });

export const evaluationReportSchema = typed<EvaluationReport>()({
  kind: z.literal('evaluation'),
  run_id: z.string(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  protocol: z.enum(['gallery', 'in-batch']),
  protocol_label: z.string(),
  queries: count,
  recall: perKSchema,
  mrr: z.number(),
  ceiling: z.looseObject({ recall: perKSchema, mrr: z.number() }),
  per_style: z.record(z.string(), z.looseObject({ queries: count })),
  per_category: z.record(z.string(), z.looseObject({ queries: count })),
  files: z.looseObject({ json: z.string(), chart: z.string() }),
});

export const centralityReportSchema = typed<CentralityReport>()({
  kind: z.literal('centrality'),
  run_id: z.string(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  model: z.string(),
  items: count,
  histogram: z.looseObject({ edges: z.array(z.number()), counts: z.array(z.number()) }),
  files: z.looseObject({ json: z.string(), chart: z.string() }),
});

export const temperatureStudySchema = typed<TemperatureStudy>()({
  kind: z.literal('temperature-study'),
  run_id: z.string(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  runs: z.array(
    z.looseObject({ temperature: z.number(), top1: z.number(), top5: z.number(), mrr: z.number() }),
  ),
  best: z.looseObject({ temperature: z.number() }),
  recommendation: z.string(),
  files: z.looseObject({ json: z.string(), chart: z.string() }),
});

/** One past evaluation, centrality or temperature-study run (the workspace's run log). */
export interface EvaluationRecordView {
  runId: string;
  kind: 'evaluation' | 'centrality' | 'temperature-study';
  createdAt: string;
  /** The training run whose checkpoint was evaluated, if any. */
  checkpoint: string | null;
  /** That checkpoint's epoch (null for records made before runs recorded it). */
  checkpointEpoch?: number | null;
  /** True when `checkpoint` is not the workspace's current run: the figures are not the current model's. */
  stale?: boolean;
  protocol: string | null;
  synthetic: boolean;
  /** Workspace-relative path of the results JSON (readable with eval.report, or via mediaUrl). */
  file: string;
  summary: Record<string, unknown>;
}
export const evaluationRecordSchema = typed<EvaluationRecordView>()({
  runId: z.string(),
  kind: z.enum(['evaluation', 'centrality', 'temperature-study']),
  createdAt: isoTime,
  synthetic: z.boolean(),
  file: z.string(),
  summary: z.record(z.string(), z.unknown()),
});

export const EVAL_REPORT_SCHEMA = z.union([
  evaluationReportSchema,
  centralityReportSchema,
  temperatureStudySchema,
]);

// ---------------------------------------------------------------------------------------------
// Catalog, recommendation, KPI, dashboard (src-shared/recommend.ts owns the types)

export const imageEncoderLabelSchema = typed<ImageEncoderLabel>()({
  model: z.string(),
  kind: z.enum(['registry', 'path', 'demo-standin']),
  synthetic: z.boolean(),
  label: z.string(),
});

const catalogProductSchema = typed<CatalogProduct>()({
  id: z.string(),
  name: z.string(),
  image: z.string(),
  imageUrl: z.string(),
  synthetic: z.boolean(),
  embeddings: z.array(z.string()),
});

export const catalogListSchema = typed<CatalogList>()({
  total: count,
  products: z.array(catalogProductSchema),
  missingVectors: count,
  encoder: imageEncoderLabelSchema.nullable(),
});

export const catalogImportReportSchema = typed<CatalogImportReport>()({
  folder: z.string(),
  added: z.array(z.string()),
  updated: z.array(z.string()),
  unchanged: z.array(z.string()),
  skipped: z.array(z.looseObject({ file: z.string(), reason: z.string() })),
  synthetic: z.boolean(),
  timestamp: isoTime,
});

export const catalogAddResultSchema = z.looseObject({
  product: catalogProductSchema,
  created: z.boolean(),
  note: z.string().optional(),
});

const matchSchema = z.looseObject({
  productId: z.string(),
  name: z.string(),
  score: z.number(),
  imageUrl: z.string(),
});

const recommendMetaShape = {
  runId: z.string(),
  timestamp: isoTime,
  encoder: imageEncoderLabelSchema,
  k: count,
  catalogSize: count,
  latencyMs: z.number(),
  index: z
    .object({ kind: z.literal('ann'), engine: z.string(), recallAt10: z.number().nullable() })
    .optional(),
  note: z.string().optional(),
};

export const top10ToNewResultSchema = typed<Top10ToNewResult>()({
  ...recommendMetaShape,
  inputs: z.array(
    z.looseObject({
      input: z.looseObject({ kind: z.string(), id: z.string() }),
      matches: z.array(matchSchema),
    }),
  ),
  trend: z.looseObject({
    styleDistribution: z.record(z.string(), z.number()),
    categoryDistribution: z.record(z.string(), z.number()),
  }),
  inputSource: z.string(),
});

export const customerInputResultSchema = typed<CustomerInputResult>()({
  ...recommendMetaShape,
  input: z.looseObject({ kind: z.string(), id: z.string() }),
  matches: z.array(matchSchema),
});

export const kpiSummarySchema = typed<KpiSummary>()({
  timestamp: isoTime,
  count: count,
  errors: count,
  latencyMs: z.looseObject({ p50: z.number().nullable(), p95: z.number().nullable() }),
  catalog: z.looseObject({ products: count, withVectors: count }),
  encoder: imageEncoderLabelSchema.nullable(),
});

export const dashboardSchema = typed<DashboardData>()({
  kpi: kpiSummarySchema,
  loss_curve: z
    .looseObject({
      runId: z.string(),
      epochs: z.array(z.number()),
      trainLoss: z.array(z.number()),
      valLoss: z.array(z.number()),
    })
    .nullable(),
  top_k_images: z.array(z.looseObject({ productId: z.string(), imageUrl: z.string() })),
  hyperparams: z.record(z.string(), z.unknown()).nullable(),
  augmented_samples: z.array(
    z.looseObject({ itemId: z.string(), augmentation: z.string(), dataUrl: z.string() }),
  ),
  augmentation: z
    .looseObject({
      runId: z.string(),
      settings: z.unknown(),
      recipe: z.string().nullable(),
      source: z.string(),
    })
    .nullable()
    .optional(),
});

/**
 * An image sent through the contract (an upload in the UI): base64 so the same input crosses IPC and
 * JSON over HTTP. At most ~10 MB of image (the HTTP server's body limit is set to match).
 */
export const MAX_IMAGE_BASE64 = 14_000_000;
export const imageUploadSchema = z.strictObject({
  /** The file's name as the user picked it: shown only, never used as a path. */
  name: z.string().max(255).default('upload'),
  dataBase64: z
    .string()
    .min(8, { error: 'is empty' })
    .max(MAX_IMAGE_BASE64, { error: 'is larger than 10 MB' })
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, { error: 'must be base64 (no data: prefix)' }),
});

// ---------------------------------------------------------------------------------------------
// Similarity search (src-shared/search.ts owns the types)

/** A search run plus where its files are, relative to the workspace (for mediaUrl of the grids). */
export type SearchRunView = SimilaritySearchRun & {
  /** Workspace-relative folder of results/similarity_search/<stamp>/ (grids are relative to it). */
  workspaceDir: string | null;
};

export const searchRunSchema = typed<SearchRunView>()({
  kind: z.literal('similarity-search'),
  run_id: z.string(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  mode: z.enum(['query', 'image', 'demo']),
  k: count,
  gallery: z.looseObject({ model: z.string(), items: count, synthetic: z.boolean() }),
  searches: z.array(
    z.looseObject({
      query: z.looseObject({ direction: z.string(), label: z.string() }),
      hits: z.array(
        z.looseObject({
          rank: count,
          id: z.string(),
          score: z.number(),
          style: z.string(),
          crop: z.string().nullable(),
        }),
      ),
      grid: z.string().nullable(),
    }),
  ),
  workspaceDir: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------
// Research report (src-shared/report.ts owns the type)

/** What `report.write`'s job returns: the summary plus the HTML's workspace-relative path (mediaUrl). */
export type ResearchReportView = ResearchReportSummary & { html: string | null };

export const researchReportSchema = typed<ResearchReportView>()({
  kind: z.literal('research-report'),
  run_id: z.string(),
  timestamp: isoTime,
  synthetic: z.boolean(),
  file: z.string(),
  bytes: count,
  sections: z.array(z.looseObject({ name: z.string(), included: z.boolean(), detail: z.string() })),
  html: z.string().nullable(),
});

// ---------------------------------------------------------------------------------------------
// Runs (src-main/training/runs.ts): every training is a folder runs/<id>/ and a row

export const RUN_STATUS_VALUES = ['running', 'done', 'stopped', 'failed', 'interrupted'] as const;

const runHeadlineSchema = z.object({
  epoch: count,
  valLoss: z.number(),
  top1: z.number(),
  top5: z.number(),
  mrr: z.number(),
  recall10: z.number().optional(),
  /** How the figures were measured, e.g. "gallery, N=800 (training validation)". */
  protocol: z.string(),
});

export const runViewSchema = z.looseObject({
  id: z.string(),
  seq: count,
  kind: z.string(),
  status: z.enum(RUN_STATUS_VALUES),
  config: z.record(z.string(), z.unknown()),
  backend: z.string().nullable(),
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
  parentId: z.string().nullable(),
  replayOf: z.string().nullable(),
  study: z.string().nullable(),
  tags: z.array(z.string()),
  note: z.string(),
  /** Workspace-relative runs/<id>, or null for a run without files. */
  folder: z.string().nullable(),
  pid: z.number().nullable(),
  host: z.string().nullable(),
  bestEpoch: z.number().nullable(),
  epochsRun: z.number().nullable(),
  headline: runHeadlineSchema.nullable(),
  /** The workspace's current run (its files at checkpoints/best_model.*, results/training_*). */
  current: z.boolean(),
  hasBest: z.boolean(),
  /** A last checkpoint exists: a stopped or interrupted run can be resumed. */
  hasLast: z.boolean(),
  /** Recall@10 of the run's latest evaluation, when it has one. */
  recall10: z.number().nullable().optional(),
});
export type RunViewData = z.infer<typeof runViewSchema>;

export const runDetailSchema = z.looseObject({
  run: runViewSchema,
  config: z.looseObject({ config: z.record(z.string(), z.unknown()) }).nullable(),
  status: z.looseObject({ status: z.string() }).nullable(),
  history: z.array(epochRecordSchema.partial({ epochMs: true, finishedAt: true })),
  evaluations: z.array(z.looseObject({ runId: z.string(), stale: z.boolean() })),
  files: z.looseObject({ dir: z.string().nullable(), charts: z.string().nullable() }),
});

export const runComparisonSchema = z.looseObject({
  runs: z.array(runViewSchema),
  configDiff: z.array(z.object({ key: z.string(), values: z.array(z.unknown()) })),
  configSame: z.record(z.string(), z.unknown()),
  metrics: z.array(
    z.looseObject({
      name: z.string(),
      protocol: z.string(),
      higherIsBetter: z.boolean(),
      values: z.array(z.number().nullable()),
      best: z.string().nullable(),
    }),
  ),
  sameData: z.boolean().nullable(),
  curves: z.array(
    z.object({
      runId: z.string(),
      points: z.array(
        z.object({ epoch: count, valLoss: z.number(), top1: z.number(), top5: z.number(), mrr: z.number() }),
      ),
    }),
  ),
  /** Workspace-relative PNG overlaying the validation curves (give it to mediaUrl). */
  chart: z.string().nullable(),
  timestamp: isoTime,
});
