/**
 * The API contract between the UI and the core, declared once: every method and every event, with
 * zod schemas checked at the process boundary. The machinery (defineMethod, dispatch, createClient…)
 * is in api-core.ts and re-exported here; the data shapes in api-schemas.ts and the areas' own files
 * (evaluation.ts, search.ts, recommend.ts).
 *
 * Served by src-main/services/api-handlers.ts (one handler table for Electron IPC and HTTP), over
 * src-main/electron/ipc.ts and src-main/server/contract-plugin.ts; called through
 * src-renderer/src/lib/transport.ts. Pure TypeScript + zod: imports nothing from Node or the DOM.
 *
 * Conventions:
 * - Method names are `<area>.<verb>`. Inputs are strict objects: an unexpected key is almost always
 *   a caller's typo, better caught than ignored.
 * - A long operation (scan, embed, train, …) is a job: its method returns a JobHandle at once; the
 *   job's progress, result or failure arrive as the events `job.progress`, `job.done`, `job.failed`
 *   (and `job.get` answers the same). Parse a `job.done` result with `parseJobResult(kind, result)`.
 * - Paths the UI shows as images are workspace-relative: give them to the transport's `mediaUrl`.
 */
import { z } from 'zod';
import {
  type ClientOptions,
  type Contract,
  type Client as CoreClient,
  type MethodInput as CoreMethodInput,
  type MethodName as CoreMethodName,
  type MethodOutput as CoreMethodOutput,
  createContractClient,
  defineContract,
  defineEvent,
  defineEvents,
  defineMethod,
  type EventMap,
  type EventName,
  type EventPayload,
  type HandlersOf,
  type Transport,
} from './api-core.ts';
import { embeddingMapSchema, exploreMethods } from './api-explore.ts';
import {
  bundleSummarySchema,
  catalogAddResultSchema,
  catalogImportReportSchema,
  catalogListSchema,
  catalogProductSchema,
  catalogRemoveResultSchema,
  centralityReportSchema,
  cropSummarySchema,
  customerInputResultSchema,
  dashboardSchema,
  demoSummarySchema,
  demoWorkspaceSchema,
  EVAL_REPORT_SCHEMA,
  embedSummarySchema,
  evaluationRecordSchema,
  evaluationReportSchema,
  excludedGarmentsSchema,
  fieldNameSchema,
  imageEncoderLabelSchema,
  imageUploadSchema,
  importReportSchema,
  itemPhotoSchema,
  type JobKind,
  jobHandleSchema,
  jobInfoSchema,
  jobKindSchema,
  jobProgressSchema,
  kpiSummarySchema,
  RUN_STATUS_VALUES,
  researchReportSchema,
  runComparisonSchema,
  runDetailSchema,
  runViewSchema,
  sampleCropsSchema,
  scanReportSchema,
  searchRunSchema,
  splitSummarySchema,
  temperatureStudySchema,
  top10ToNewResultSchema,
  trainOverridesSchema,
  trainPresetsSchema,
  trainResultSchema,
  trainStatusSchema,
  vocabularySchema,
  wireErrorOutSchema,
  workspaceSummarySchema,
} from './api-schemas.ts';
import { tuneResultSchema, tuningMethods } from './api-tuning.ts';
import { viewSettingsInputSchema } from './augmentation-config.ts';

export * from './api-core.ts';

const empty = z.strictObject({});
const nonEmptyPath = (what: string) =>
  z
    .string({ error: `${what} must be a text path` })
    .trim()
    .min(1, { error: `${what} must not be empty` });
const styleList = z.array(z.string().min(1)).min(1);
/** A product or item id: at most 400 characters, as the REST routes take (server/schemas.ts). */
const idString = z.string().min(1).max(400);
/** A run: its id, its number (3 or #3), a unique start of its id, "current" or "latest". */
const runRef = z
  .string()
  .trim()
  .min(1, { error: 'must name a run' })
  .max(200, { error: 'is too long for a run id' });

// ---------------------------------------------------------------------------------------------
// App and workspace

export const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  /** Absolute path of the open workspace folder; null until one is opened. */
  workspace: z.string().nullable(),
  /** True when the open workspace holds generated (synthetic) data rather than K-Fashion labels. */
  synthetic: z.boolean(),
  /** 'desktop' over Electron IPC, 'browser' over HTTP (`kfashion web`). */
  mode: z.enum(['desktop', 'browser']).default('desktop'),
  /** Whether `workspace.pick` can show a folder dialog (desktop only; a browser types the path). */
  canPickFolder: z.boolean().default(false),
  /** What the app is doing before a workspace is open (e.g. building the demo), else null. */
  preparing: z.string().nullable().default(null),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

const workspaceMethods = [
  defineMethod({ name: 'app.info', input: empty, output: appInfoSchema }),
  defineMethod({
    name: 'workspace.summary',
    summary: 'Counts per style and split, vocabulary sizes, crops, embeddings of the open workspace.',
    input: empty,
    output: workspaceSummarySchema,
  }),
  defineMethod({
    name: 'workspace.open',
    summary: 'Opens (with create: true, makes) a workspace folder; emits workspace.changed.',
    input: z.strictObject({ path: nonEmptyPath('path'), create: z.boolean().default(false) }),
    output: appInfoSchema,
  }),
  defineMethod({
    name: 'workspace.pick',
    summary:
      "Desktop only: a folder dialog. A workspace folder opens; a K-Fashion data folder (e.g. C:/sample) gets a workspace in the app's data folder and a scan job; an empty folder becomes a new workspace (create). path is null when cancelled.",
    input: z.strictObject({ create: z.boolean().default(true) }),
    output: z.object({
      path: z.string().nullable(),
      /** What the chosen folder was taken as. */
      openedAs: z.enum(['workspace', 'dataset', 'new-workspace']).nullable(),
      /** The scan job started for a data folder, else null. */
      scan: jobHandleSchema.nullable(),
      info: appInfoSchema,
    }),
  }),
  defineMethod({
    name: 'dataset.pick',
    summary:
      'Desktop only: a folder dialog for a data folder to scan (returns the path; scan with dataset.scan).',
    input: empty,
    output: z.object({ path: z.string().nullable() }),
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Demo and dataset

const demoMethods = [
  defineMethod({
    name: 'demo.open',
    summary:
      "Job: makes (first time) and opens the SYNTHETIC demo workspace in the app's data folder; result DemoWorkspace.",
    input: empty,
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'demo.generate',
    summary: 'Job: writes the SYNTHETIC demo dataset (labels, images, stand-in embeddings) to outDir.',
    input: z.strictObject({
      outDir: nonEmptyPath('outDir'),
      seed: z.number().int().min(0).optional(),
      scale: z.enum(['small', 'seed']).optional(),
    }),
    output: jobHandleSchema,
  }),
] as const;

const datasetMethods = [
  defineMethod({
    name: 'dataset.scan',
    summary: 'Job: reads K-Fashion labels under `data` into the open workspace; result ScanReport.',
    input: z.strictObject({
      data: nonEmptyPath('data'),
      styles: styleList.optional(),
      splitFile: nonEmptyPath('splitFile').optional(),
      seed: z.number().int().min(0).optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'dataset.split',
    summary: 'Redraws the train/val split (seeded) or takes it from a file (runs off the main thread).',
    input: z
      .strictObject({ seed: z.number().int().min(0).optional(), file: nonEmptyPath('file').optional() })
      .refine((v) => (v.seed === undefined) !== (v.file === undefined), {
        error: 'give exactly one of seed or file',
        path: ['seed'],
      }),
    output: splitSummarySchema,
  }),
  defineMethod({
    name: 'dataset.crops',
    summary: 'Job: cuts and caches every garment crop (only new or changed ones); result CropSummary.',
    input: z.strictObject({
      split: z.enum(['train', 'val']).optional(),
      styles: styleList.optional(),
      concurrency: z.number().int().min(1).max(64).optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'dataset.sampleCrops',
    summary: 'A seeded random sample of garments with their crops (cut on demand), per style or all.',
    input: z.strictObject({
      style: z.string().min(1).optional(),
      split: z.enum(['train', 'val']).optional(),
      limit: z.number().int().min(1).max(96).default(24),
      seed: z.number().int().min(0).default(1),
    }),
    output: sampleCropsSchema,
  }),
  defineMethod({
    name: 'dataset.photo',
    summary:
      "A garment's whole photo (a downscaled copy in the workspace) with its box, for the detail panel.",
    input: z.strictObject({ id: z.string().min(1).max(512) }),
    output: itemPhotoSchema,
  }),
  defineMethod({
    name: 'dataset.excluded',
    summary: 'Garments that did not become items, with reasons, and label files the last scan skipped.',
    input: z.strictObject({
      style: z.string().min(1).optional(),
      reason: z.enum(['no-box', 'degenerate-box', 'no-attributes', 'bad-coordinates']).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
      offset: z.number().int().min(0).default(0),
    }),
    output: excludedGarmentsSchema,
  }),
  defineMethod({
    name: 'dataset.vocabulary',
    summary: "Each field's values with counts (for the search query builder); <pad>/<unk> left out.",
    input: z.strictObject({ fields: z.array(fieldNameSchema).min(1).optional() }),
    output: vocabularySchema,
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Embeddings and training

const embedMethods = [
  defineMethod({
    name: 'embed.start',
    summary: 'Job: embeds every crop with a frozen image encoder (registry id or ONNX folder); cached.',
    input: z.strictObject({
      model: z.string().min(1).optional(),
      modelPath: nonEmptyPath('modelPath').optional(),
      precision: z.enum(['fp32', 'fp16', 'int8']).optional(),
      device: z.enum(['cpu', 'cuda', 'dml']).optional(),
      batch: z.number().int().min(1).max(512).optional(),
      download: z.boolean().optional(),
      views: z.number().int().min(1).max(64).optional(),
      viewSeed: z.number().int().min(0).optional(),
      viewSettings: viewSettingsInputSchema.optional(),
      inputCacheGb: z.number().int().min(0).max(100_000).optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'embed.import',
    summary: 'Imports precomputed image embeddings (.npy [N,512] + ids JSON); runs off the main thread.',
    input: z.strictObject({
      npy: nonEmptyPath('npy'),
      ids: nonEmptyPath('ids'),
      model: z.string().min(1).optional(),
    }),
    output: importReportSchema,
  }),
] as const;

const trainMethods = [
  defineMethod({
    name: 'train.presets',
    summary: "The config form's defaults, stage presets, --quick preset, backends and fields.",
    input: empty,
    output: trainPresetsSchema,
  }),
  defineMethod({
    name: 'train.start',
    summary: 'Job: trains the JSON encoder; progress per step, results per epoch; result TrainResult.',
    input: z.strictObject({
      stage: z.union([z.literal(1), z.literal(2)]).optional(),
      quick: z.boolean().optional(),
      /** true = continue the newest run from its last checkpoint; a run id/number = that run. */
      resume: z.union([z.boolean(), runRef]).optional(),
      /** Start from this run's best weights (recorded as the new run's parent). */
      initFrom: runRef.optional(),
      /** Repeat this run's config. */
      fromRun: runRef.optional(),
      tags: z.array(z.string().min(1).max(64)).max(20).optional(),
      overrides: trainOverridesSchema.optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'train.stop',
    summary: 'Stops the running training after storing its last finished epoch (checkpoints/last.*).',
    input: empty,
    output: z.object({ stopped: z.boolean(), job: z.string().nullable() }),
  }),
  defineMethod({
    name: 'train.status',
    summary: "The running training job (if any) and the latest run's per-epoch results.",
    input: empty,
    output: trainStatusSchema,
  }),
] as const;

const runMethods = [
  defineMethod({
    name: 'runs.list',
    summary:
      'Every training run, oldest first: status (killed runs show interrupted), parent, tags, note, key settings, best figures with their protocol; the current run flagged.',
    input: z.strictObject({
      tag: z.string().min(1).optional(),
      status: z.enum(RUN_STATUS_VALUES).optional(),
    }),
    output: z.array(runViewSchema),
  }),
  defineMethod({
    name: 'runs.show',
    summary:
      'One run: its row, config.json (with the data fingerprint), run.json, per-epoch history, evaluations.',
    input: z.strictObject({ run: runRef }),
    output: runDetailSchema,
  }),
  defineMethod({
    name: 'runs.compare',
    summary:
      'Two or more runs: settings that differ, figures side by side with the best marked, their validation curves and an overlay chart.',
    // chart: also write results/runs_compare_<time>.png (the UI overlays `curves` itself).
    input: z.strictObject({ runs: z.array(runRef).min(2).max(10), chart: z.boolean().default(false) }),
    output: runComparisonSchema,
  }),
  defineMethod({
    name: 'runs.promote',
    summary: 'Makes a finished run current (its files become checkpoints/best_model.*, results/training_*).',
    input: z.strictObject({ run: runRef }),
    output: runViewSchema,
  }),
  defineMethod({
    name: 'runs.remove',
    summary: 'Deletes a run (folder and record); the current run only with force.',
    input: z.strictObject({ run: runRef, force: z.boolean().default(false) }),
    output: z.object({ removed: z.string(), current: z.string().nullable() }),
  }),
  defineMethod({
    name: 'runs.note',
    summary: "Sets a run's note (empty clears it).",
    input: z.strictObject({ run: runRef, note: z.string().max(4000) }),
    output: runViewSchema,
  }),
  defineMethod({
    name: 'runs.tag',
    summary: 'Adds a tag to a run (remove: true takes it off).',
    input: z.strictObject({
      run: runRef,
      tag: z.string().min(1).max(64),
      remove: z.boolean().default(false),
    }),
    output: runViewSchema,
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Jobs and export

const jobMethods = [
  defineMethod({ name: 'job.list', input: empty, output: z.array(jobInfoSchema) }),
  defineMethod({ name: 'job.get', input: z.strictObject({ job: z.string().min(1) }), output: jobInfoSchema }),
  defineMethod({
    name: 'job.cancel',
    summary: 'Asks a job to stop; it stores what it finished, then fails with a CancelledError.',
    input: z.strictObject({ job: z.string().min(1) }),
    output: z.object({ cancelled: z.boolean() }),
  }),
] as const;

const exportMethods = [
  defineMethod({
    name: 'export.bundle',
    summary:
      'Job: zips config, best checkpoint, results, charts, reports and searches into <workspace>/exports/.',
    input: z.strictObject({
      /** File name only (no folders), e.g. "run-1.zip"; default bundle-<run>-<time>.zip. */
      name: z
        .string()
        .regex(/^[\w.\- ]{1,100}\.zip$/, { error: 'must be a plain file name ending in .zip' })
        .refine((n) => !n.startsWith('.'), { error: 'must not start with a dot' })
        .optional(),
      /** Bundle this run only (its config with the data fingerprint, split ids, checkpoint, results, evaluations). */
      run: runRef.optional(),
    }),
    output: jobHandleSchema,
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Evaluation (src-main/evaluation; EVALUATION.md)

const evalMethods = [
  defineMethod({
    name: 'eval.run',
    summary:
      'Job: evaluates a checkpoint (default the best) on the validation split: metrics beside ceilings, per style/category, query-aware, histograms.',
    input: z.strictObject({
      checkpoint: nonEmptyPath('checkpoint').optional(),
      /** Evaluate this run's best checkpoint (default: the current run). */
      run: runRef.optional(),
      /** Refuse when the run's data differs from the workspace's (default: warn in the report). */
      strict: z.boolean().optional(),
      protocol: z.enum(['gallery', 'in-batch']).optional(),
      batchSize: z
        .number()
        .int()
        .min(32, { error: 'must be at least 32 (EVALUATION.md)' })
        .max(4096)
        .optional(),
      seed: z.number().int().min(0).optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'eval.centrality',
    summary: 'Job: embedding centrality per item (the best-seller proxy), stored, with a histogram.',
    input: z.strictObject({ model: z.string().min(1).optional() }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'eval.sweep',
    summary: 'Job: temperature study — one training run per temperature, each evaluated (gallery).',
    input: z.strictObject({
      temperatures: z.array(z.number().positive()).min(1).max(12).optional(),
      epochs: z.number().int().min(1).optional(),
      quick: z.boolean().optional(),
      overrides: trainOverridesSchema.optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'eval.list',
    summary: 'Past evaluation, centrality and temperature-study runs of the workspace, newest first.',
    input: z.strictObject({ kind: z.enum(['evaluation', 'centrality', 'temperature-study']).optional() }),
    output: z.array(evaluationRecordSchema),
  }),
  defineMethod({
    name: 'eval.report',
    summary: 'Reads one results JSON named by eval.list (workspace-relative; nothing outside the workspace).',
    input: z.strictObject({ file: nonEmptyPath('file') }),
    output: EVAL_REPORT_SCHEMA,
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Similarity search (src-main/services/similarity-search.ts)

const attributeValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const searchMethods = [
  defineMethod({
    name: 'search.run',
    summary:
      'Similarity search over every garment: an attribute query (json → image), a picture (image → image), or demo queries; saves results/similarity_search/<stamp>/.',
    input: z
      .strictObject({
        /** Field → value(s): encoder field names (category, style, …) or K-Fashion's Korean keys. */
        query: z.record(z.string().min(1), attributeValue).optional(),
        image: imageUploadSchema.optional(),
        demo: z.boolean().optional(),
        samples: z.number().int().min(1).max(100).optional(),
        seed: z.number().int().min(0).optional(),
        k: z.number().int().min(1).max(50).optional(),
        checkpoint: nonEmptyPath('checkpoint').optional(),
        /** 'ann': the approximate index (big galleries); its recall@10 is in the answer's gallery.engine. */
        index: z.enum(['exact', 'ann']).optional(),
      })
      .refine((v) => [v.query, v.image, v.demo || undefined].filter(Boolean).length === 1, {
        error: 'give exactly one of query, image or demo: true',
        path: ['query'],
      }),
    output: searchRunSchema,
  }),
  defineMethod({
    name: 'report.write',
    summary:
      'Job: writes results/report_<stamp>.html (config, training, evaluation, centrality, temperature study, searches); open it with mediaUrl(result.html).',
    input: z.strictObject({
      maxSearches: z.number().int().min(0).max(50).optional(),
      runSearches: z.boolean().optional(),
    }),
    output: jobHandleSchema,
  }),
] as const;

// ---------------------------------------------------------------------------------------------
// Catalog, recommendation, KPIs, dashboard (src-main/recommend)

const kSchema = z.number().int().min(1).max(100);

const recommendMethods = [
  defineMethod({
    name: 'recommend.encoder',
    summary: "The workspace's image encoder (model, kind, SYNTHETIC flag), or null before `embed`.",
    input: empty,
    output: imageEncoderLabelSchema.nullable(),
  }),
  defineMethod({
    name: 'catalog.list',
    input: z.strictObject({
      limit: z.number().int().min(1).max(1000).optional(),
      offset: z.number().int().min(0).optional(),
    }),
    output: catalogListSchema,
  }),
  defineMethod({
    name: 'catalog.get',
    summary: 'One catalog product by id (unknown id: UnknownIdError).',
    input: z.strictObject({ id: idString }),
    output: catalogProductSchema,
  }),
  defineMethod({
    name: 'catalog.add',
    summary: 'Adds one new product from an uploaded image (embedded with the workspace encoder).',
    input: z.strictObject({
      image: imageUploadSchema,
      name: z.string().trim().min(1).max(200).optional(),
      style: z.string().min(1).max(100).nullable().optional(),
      category: z.string().min(1).max(100).nullable().optional(),
    }),
    output: catalogAddResultSchema,
  }),
  defineMethod({
    name: 'catalog.remove',
    input: z.strictObject({ ids: z.array(idString).min(1).max(1000) }),
    output: catalogRemoveResultSchema,
  }),
  defineMethod({
    name: 'catalog.import',
    summary: 'Job: imports a folder of product images (idempotent), optionally with precomputed vectors.',
    input: z.strictObject({
      folder: nonEmptyPath('folder'),
      embeddings: z
        .strictObject({
          npy: nonEmptyPath('npy'),
          ids: nonEmptyPath('ids'),
          model: z.string().min(1).optional(),
        })
        .optional(),
      synthetic: z.boolean().optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'catalog.embed',
    summary: 'Job: computes the catalog vectors the workspace encoder is missing.',
    input: empty,
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'recommend.top10ToNew',
    summary:
      'Best-sellers (uploaded images, item/product ids, or the centrality proxy) → the k most similar new products each, with trends.',
    input: z
      .strictObject({
        images: z.array(imageUploadSchema).min(1).max(32).optional(),
        ids: z.array(idString).min(1).max(200).optional(),
        useCentralityProxy: z.boolean().optional(),
        k: kSchema.optional(),
        /** 'ann': the approximate catalog index; its recall@10 comes back in the answer's `index`. */
        index: z.enum(['exact', 'ann'], { error: 'index must be "exact" or "ann"' }).optional(),
      })
      .refine((v) => [v.images, v.ids, v.useCentralityProxy || undefined].filter(Boolean).length === 1, {
        error: 'give exactly one of images, ids or useCentralityProxy: true',
        path: ['images'],
      }),
    output: top10ToNewResultSchema,
  }),
  defineMethod({
    name: 'recommend.customerInput',
    summary: "A customer's photo, or a clicked product/item id → the k most similar new products.",
    input: z
      .strictObject({
        image: imageUploadSchema.optional(),
        productId: idString.optional(),
        k: kSchema.optional(),
        /** 'ann': the approximate catalog index; its recall@10 comes back in the answer's `index`. */
        index: z.enum(['exact', 'ann'], { error: 'index must be "exact" or "ann"' }).optional(),
      })
      .refine((v) => (v.image === undefined) !== (v.productId === undefined), {
        error: 'give exactly one of image or productId',
        path: ['image'],
      }),
    output: customerInputResultSchema,
  }),
  defineMethod({ name: 'kpi.summary', input: empty, output: kpiSummarySchema }),
  defineMethod({
    name: 'dashboard.get',
    summary: 'KPI cards, loss curve, most-recommended products, hyperparameters, augmented samples.',
    input: empty,
    output: dashboardSchema,
  }),
] as const;

export const api = defineContract(
  ...workspaceMethods,
  ...demoMethods,
  ...datasetMethods,
  ...embedMethods,
  ...trainMethods,
  ...runMethods,
  ...evalMethods,
  ...searchMethods,
  ...recommendMethods,
  ...jobMethods,
  ...exportMethods,
  ...exploreMethods,
  ...tuningMethods,
);

// ---------------------------------------------------------------------------------------------
// Events

const jobRef = { job: z.string(), kind: jobKindSchema };

export const apiEvents = defineEvents(
  defineEvent({
    name: 'job.started',
    payload: z.object({ ...jobRef, workspace: z.string().nullable(), startedAt: z.string() }),
  }),
  defineEvent({
    name: 'job.progress',
    summary: '{job, phase, step, total, elapsedMs, etaMs, metrics}, throttled to ~10 per second.',
    payload: jobProgressSchema.extend({ kind: jobKindSchema }),
  }),
  defineEvent({
    name: 'job.done',
    payload: z.object({ ...jobRef, finishedAt: z.string(), result: z.unknown() }),
  }),
  defineEvent({
    name: 'job.failed',
    summary: 'cancelled = true when the job was asked to stop (what it finished is kept).',
    payload: z.object({
      ...jobRef,
      finishedAt: z.string(),
      cancelled: z.boolean(),
      error: wireErrorOutSchema,
    }),
  }),
  defineEvent({
    name: 'workspace.changed',
    summary: 'Another workspace was opened, or the open one was rescanned / retrained.',
    payload: z.object({ workspace: z.string().nullable(), synthetic: z.boolean(), reason: z.string() }),
  }),
);

/** What each job kind's `job.done` result holds. */
export const JOB_RESULT_SCHEMAS = {
  demo: z.union([demoWorkspaceSchema, demoSummarySchema]),
  scan: scanReportSchema,
  split: splitSummarySchema,
  crops: cropSummarySchema,
  embed: embedSummarySchema,
  'import-embeddings': importReportSchema,
  train: trainResultSchema,
  export: bundleSummarySchema,
  evaluate: evaluationReportSchema,
  centrality: centralityReportSchema,
  sweep: temperatureStudySchema,
  'catalog-import': catalogImportReportSchema,
  'catalog-embed': z.object({ model: z.string(), embedded: z.number().int().min(0) }),
  report: researchReportSchema,
  map: embeddingMapSchema,
  tune: tuneResultSchema,
} as const satisfies Record<JobKind, z.ZodType>;

export type JobResult<K extends JobKind> = z.output<(typeof JOB_RESULT_SCHEMAS)[K]>;

/** Checks and types a `job.done` result; throws naming the field when it does not match. */
export function parseJobResult<K extends JobKind>(kind: K, result: unknown): JobResult<K> {
  return JOB_RESULT_SCHEMAS[kind].parse(result) as JobResult<K>;
}

// ---------------------------------------------------------------------------------------------
// Types and the client

export type Api = typeof api;
export type ApiEvents = typeof apiEvents;
export type ApiMethod = keyof Api & string;
export type ApiEvent = EventName<ApiEvents>;
export type ApiEventPayload<K extends ApiEvent> = EventPayload<K, ApiEvents>;
// These shadow api-core's generic versions with this contract as the default.
export type MethodName<C extends Contract = Api> = CoreMethodName<C>;
export type MethodInput<K extends MethodName<C>, C extends Contract = Api> = CoreMethodInput<K, C>;
export type MethodOutput<K extends MethodName<C>, C extends Contract = Api> = CoreMethodOutput<K, C>;
/** The serving side of this contract (or of another, for tests). */
export type Handlers<C extends Contract = Api> = HandlersOf<C>;
export type Client<C extends Contract = Api, E extends EventMap = ApiEvents> = CoreClient<C, E>;
export type ApiClient = Client;

export function createClient(transport: Transport, options?: ClientOptions): ApiClient;
export function createClient<C extends Contract, E extends EventMap = Record<never, never>>(
  transport: Transport,
  contract: C,
  events?: E,
  options?: ClientOptions,
): Client<C, E>;
export function createClient(
  transport: Transport,
  contractOrOptions?: Contract | ClientOptions,
  events?: EventMap,
  options?: ClientOptions,
): Client<Contract, EventMap> {
  if (contractOrOptions === undefined || !isContract(contractOrOptions)) {
    return createContractClient(transport, api, apiEvents, contractOrOptions ?? {});
  }
  return createContractClient(transport, contractOrOptions, events ?? {}, options ?? {});
}

function isContract(value: Contract | ClientOptions): value is Contract {
  return Object.values(value).some((v) => typeof v === 'object' && v !== null && 'input' in v);
}
