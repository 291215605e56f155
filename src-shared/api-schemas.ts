/**
 * Schemas of the data that crosses the contract for the dataset, jobs, training and export areas.
 *
 * [Note: Loose output schemas]
 * Inputs are checked strictly (the renderer is not trusted; an unknown key is a typo). Outputs come
 * from our own core, whose TypeScript types already describe them, so their schemas check the fields
 * a caller relies on and let every other field through (`z.looseObject`): a core that adds a field
 * does not break the UI, and a core that drops or retypes a field the UI reads fails loudly with the
 * field's name. `typed<T>()` gives such a schema the core's own TypeScript type, checked against it.
 */
import { z } from 'zod';
import { augmentationSchema } from './augmentation-config.ts';
import { encoderTrainOverrides } from './encoder-config.ts';
import type { CentralityReport, EvaluationReport, TemperatureStudy } from './evaluation.ts';
import { FIELD_NAMES } from './fields.ts';
import { researchReportSummarySchema } from './report.ts';
import type { SimilaritySearchRun } from './search.ts';

/**
 * A loose object schema (see [Note: Loose output schemas]) typed as the core's type `T`, for a shape
 * whose type another module owns. Checked when it compiles: `T` must satisfy every field the schema
 * declares (a core that drops or retypes one fails to compile here, naming the schema), so the type
 * the client gets is never wider than what the schema checks. Shapes this file owns are declared
 * once, as schemas, with their types inferred (`z.infer`).
 */
/**
 * The fields a schema declares: its output type without the `[key: string]: unknown` a loose object
 * adds (an interface has no index signature, and the check is about the declared fields).
 */
export type DeclaredFields<T> = T extends readonly (infer E)[]
  ? DeclaredFields<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? (unknown extends T[K] ? never : K) : K]: DeclaredFields<T[K]> }
    : T;

export function typed<T>() {
  return <S extends z.core.$ZodLooseShape>(
    shape: S,
    ..._check: T extends DeclaredFields<z.output<z.ZodObject<S>>>
      ? []
      : [error: 'the type does not satisfy the fields this schema declares', got: T]
  ): z.ZodType<T, T> =>
    // The cast only adds the fields the schema lets through unchecked; the check above covers the rest.
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

export const jobEventSchema = z.object({ kind: z.literal('epoch-end'), epoch: z.number().int() });

export const jobProgressSchema = z.object({
  job: z.string(),
  phase: z.string(),
  step: z.number(),
  total: z.number(),
  elapsedMs: z.number(),
  etaMs: z.number().nullable(),
  metrics: z.record(z.string(), z.number()),
  event: jobEventSchema.optional(),
  train: z
    .object({
      epoch: z.number(),
      epochs: z.number(),
      stage: z.enum(['train', 'validate']),
      globalStep: z.number().optional(),
      stepLoss: z.number().optional(),
    })
    .optional(),
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

// The schemas live beside their types (dataset.ts).
export {
  EXCLUSION_REASONS,
  scanReportSchema,
  splitSummarySchema,
  workspaceSummarySchema,
} from './dataset.ts';

export const excludedGarmentsSchema = z.object({
  /** Garments excluded in the workspace (matching the filter). */
  total: count,
  byReason: z.record(z.string(), count),
  byStyle: z.record(z.string(), count),
  rows: z.array(
    z.object({
      imageKey: z.string(),
      styleFolder: z.string(),
      part: z.string(),
      reason: z.string(),
      labelPath: z.string(),
    }),
  ),
  /** Label files the last scan could not read at all. */
  skippedFiles: z.object({
    total: count,
    rows: z.array(z.object({ path: z.string(), reason: z.string(), detail: z.string() })),
  }),
});
export type ExcludedGarments = z.infer<typeof excludedGarmentsSchema>;

export const sampleCropSchema = z.object({
  id: z.string(),
  styleFolder: z.string(),
  part: z.string(),
  split: z.enum(['train', 'val']).nullable(),
  attributes: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  /** Workspace-relative path of the crop (give it to the transport's mediaUrl), or null. */
  crop: z.string().nullable(),
  width: z.number().nullable(),
  height: z.number().nullable(),
  /** Why there is no crop (no image file, unreadable image, ...). */
  error: z.string().nullable(),
});
export type SampleCrop = z.infer<typeof sampleCropSchema>;
export const sampleCropsSchema = z.object({ total: count, items: z.array(sampleCropSchema) });

/** The whole photo of a garment (a downscaled copy in the workspace) with the garment's box on it. */
export const itemPhotoSchema = z.object({
  id: z.string(),
  /** Workspace-relative path of the copy (for mediaUrl). */
  photo: z.string(),
  width: count,
  height: count,
  /** The garment's box in the copy's pixels (the label's polygon or rect). */
  box: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
  boxSource: z.string(),
  original: z.object({ width: count, height: count }),
});
export type ItemPhotoView = z.infer<typeof itemPhotoSchema>;

export const cropSummarySchema = z.looseObject({
  total: count,
  made: count,
  cached: count,
  noImage: count,
  failed: z.array(z.object({ id: z.string(), reason: z.string() })),
});

export const vocabularySchema = z.object({
  /** Per field, its values by index (without <pad>/<unk>), with counts in this workspace. */
  fields: z.record(z.string(), z.array(z.object({ value: z.string(), count: count, known: z.boolean() }))),
});
export type VocabularyView = z.infer<typeof vocabularySchema>;

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
  /** The input cache's limit, its size after the run and crops not kept for space; null when off. */
  inputCache: z
    .object({ limitBytes: z.number(), usedBytes: z.number(), notKept: count })
    .nullable()
    .optional(),
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
  /** [global step, mean training loss] points, bucketed when an epoch has many steps; older runs lack it. */
  stepLoss: z.array(z.tuple([z.number(), z.number()])).optional(),
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
  /** The best checkpoint's epoch (0 before any epoch); absent in files written before it was kept. */
  bestEpoch: z.number().optional(),
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
  /** Validation queries ranked per epoch (a seeded sample); absent = every validation item. */
  valQueries: z.number().int().min(1).optional(),
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
export const evaluationRecordSchema = z.object({
  runId: z.string(),
  kind: z.enum(['evaluation', 'centrality', 'temperature-study']),
  createdAt: isoTime,
  /** The training run whose checkpoint was evaluated, if any. */
  checkpoint: z.string().nullable(),
  /** That checkpoint's epoch (null for records made before runs recorded it). */
  checkpointEpoch: z.number().int().nullable().optional(),
  /** True when `checkpoint` is not the workspace's current run: the figures are not the current model's. */
  stale: z.boolean().optional(),
  protocol: z.string().nullable(),
  synthetic: z.boolean(),
  /** Workspace-relative path of the results JSON (readable with eval.report, or via mediaUrl). */
  file: z.string(),
  summary: z.record(z.string(), z.unknown()),
});
export type EvaluationRecordView = z.infer<typeof evaluationRecordSchema>;

export const EVAL_REPORT_SCHEMA = z.union([
  evaluationReportSchema,
  centralityReportSchema,
  temperatureStudySchema,
]);

// ---------------------------------------------------------------------------------------------
// Catalog, recommendation, KPI, dashboard (src-shared/recommend.ts owns the types)

// The schemas live beside their types ([Note: Result schemas own the types] in recommend.ts).
export {
  catalogAddResultSchema,
  catalogImportReportSchema,
  catalogListSchema,
  catalogProductSchema,
  catalogRemoveResultSchema,
  customerInputResultSchema,
  dashboardSchema,
  imageEncoderLabelSchema,
  kpiSummarySchema,
  top10ToNewResultSchema,
} from './recommend.ts';

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
export const researchReportSchema = researchReportSummarySchema.extend({ html: z.string().nullable() });
export type ResearchReportView = z.infer<typeof researchReportSchema>;

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
