/**
 * The Workbench: one object per open workspace with one method per use case. The CLI, the HTTP
 * server and the Electron IPC handlers all call these methods, so each feature is written once.
 */

import type { ViewSettings } from '../../src-shared/augmentation-config.ts';
import type { ScanReport, SplitSummary, WorkspaceSummary } from '../../src-shared/dataset.ts';
import type { CentralityReport, EvaluationReport, TemperatureStudy } from '../../src-shared/evaluation.ts';
import type { EmbeddingMap } from '../../src-shared/explore.ts';
import { FIELD_NAMES } from '../../src-shared/fields.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import type {
  CatalogImportReport,
  CatalogProduct,
  CustomerInputResult,
  DashboardData,
  ImageEncoderLabel,
  KpiSummary,
  Top10ToNewResult,
} from '../../src-shared/recommend.ts';
import type { ResearchReportSummary } from '../../src-shared/report.ts';
import type { ImageTagRun, SimilaritySearchRun } from '../../src-shared/search.ts';
import { type CropSummary, ensureCrops } from '../dataset/crops.ts';
import { type ScanOptions, scanDataset } from '../dataset/scan.ts';
import { applySplit } from '../dataset/split.ts';
import {
  type DemoOptions,
  type DemoSummary,
  generateDemoDataset,
} from '../dataset/synthetic/generate-demo.ts';
import { type EmbedSummary, embedImages } from '../encoders/embed-images.ts';
import { embedViews } from '../encoders/embed-views.ts';
import {
  DEMO_STANDIN_MODEL,
  DEMO_STANDIN_NOTE,
  demoStandinDir,
  ensureDemoStandinFiles,
} from '../encoders/image-encoder/demo-standin.ts';
import type { ModelFilesOptions } from '../encoders/image-encoder/model-files.ts';
import type { ImageModelSpec } from '../encoders/image-encoder/open-encoder.ts';
import {
  type OpenedWorkspaceEncoder,
  openWorkspaceImageEncoder,
  setWorkspaceEncoder,
  workspaceEncoderLabel,
} from '../encoders/image-encoder/workspace-encoder.ts';
import {
  type ImportEmbeddingsOptions,
  type ImportReport,
  importEmbeddings,
} from '../encoders/import-embeddings.ts';
import type { EvaluateOptions } from '../evaluation/evaluate.ts';
import type { EvaluationRecord } from '../evaluation/results.ts';
import { type JobControls, runJob } from '../jobs/run-job.ts';
import { WorkerPool } from '../jobs/worker-pool.ts';
import type { Catalog, ProductFields } from '../recommend/catalog.ts';
import { importCatalogFolder } from '../recommend/catalog-import.ts';
import { Dashboard } from '../recommend/dashboard.ts';
import {
  type CustomerInputRequest,
  RecommendService,
  type Top10ToNewRequest,
} from '../recommend/recommender.ts';
import { CropStore } from '../store/crop-store.ts';
import { getMeta, schemaVersion } from '../store/database.ts';
import { DatasetStore, type ItemFilter } from '../store/dataset-store.ts';
import { type EmbeddingModelInfo, EmbeddingStore } from '../store/embedding-store.ts';
import { VocabularyStore } from '../store/vocabulary-store.ts';
import { Workspace } from '../store/workspace.ts';
import { acquireWriterLock, withWriterLock } from '../store/workspace-lock.ts';
import { loadCheckpoint } from '../training/checkpoints.ts';
import type { RunLogger } from '../training/run-logger.ts';
import {
  currentRunId,
  listRuns,
  noteRun,
  promoteRun,
  type RunView,
  removeRun,
  runPaths,
  TAG_PATTERN,
  tagRun,
} from '../training/runs.ts';
import type { SanityCheckOptions, SanityCheckResult } from '../training/sanity-check.ts';
import type { SweepOptions } from '../training/temperature-sweep.ts';
import { resolveTrainConfig, type TrainConfig, TrainConfigError } from '../training/train-config.ts';
import {
  defaultEncoderFactory,
  type EncoderFactory,
  resumeTarget,
  type TrainResult,
  train,
} from '../training/trainer.ts';
import { type BundleSummary, type ExportBundleOptions, exportBundle } from './export-bundle.ts';
import type { ReportOptions } from './research-report.ts';
import { type ReplaySource, replaySource } from './run-replay.ts';
import { compareRuns, type RunComparison, type RunDetail, runDetail, runEvaluations } from './run-views.ts';
import type { SearchRequest, SimilaritySearchService } from './similarity-search.ts';

export interface EmbedRequest extends ImageModelSpec {
  /** Images per inference batch (default 16). */
  batch?: number;
  filter?: ItemFilter;
  /** Where model folders live and whether missing files may be downloaded (model-files.ts). */
  files?: Omit<ModelFilesOptions, 'onProgress' | 'signal'>;
  /** Also embed this many augmented views of every crop (embed-views.ts); 0 or absent: none. */
  views?: number;
  /** Seed of the views (default 0) and their recipe (defaults: viewSettingsSchema). */
  viewSeed?: number;
  viewSettings?: Partial<ViewSettings>;
  /**
   * Size limit of the input cache (crops kept at the model's input size), in GB; 0 turns it off
   * (default `DEFAULT_INPUT_CACHE_GB`; see [Note: input cache budget]).
   */
  inputCacheGb?: number;
}

export class Workbench {
  private recommendService: RecommendService | null = null;
  /** Similarity search keeps its gallery index and encoders open between searches. */
  private searchService: Promise<SimilaritySearchService> | null = null;
  private dashboardService: Dashboard | null = null;

  private constructor(readonly workspace: Workspace) {}

  /** Opens (and with `create`, makes) the workspace at `dir`. */
  static open(dir: string, options: { create?: boolean } = {}): Workbench {
    return new Workbench(Workspace.open(dir, options));
  }

  close(): void {
    // The recommendation service's ONNX sessions are released in the background; closeAsync waits.
    const svc = this.recommendService;
    this.recommendService = null;
    if (svc) void svc.close();
    const search = this.searchService;
    this.searchService = null;
    if (search)
      void search.then(
        (x) => x.close(),
        () => undefined,
      );
    this.workspace.close();
  }

  /** Like close, but waits until the image encoder and search sessions are released (server shutdown). */
  async closeAsync(): Promise<void> {
    const svc = this.recommendService;
    this.recommendService = null;
    if (svc) await svc.close();
    const search = this.searchService;
    this.searchService = null;
    if (search)
      await search.then(
        (x) => x.close(),
        () => undefined,
      );
    this.workspace.close();
  }

  scan(
    opts: Omit<ScanOptions, 'signal' | 'onProgress' | 'readLabels' | 'inFlight' | 'countVocabulary'>,
    controls: JobControls = {},
  ): Promise<ScanReport> {
    return runJob('scan', controls, (work) =>
      this.writing('scan', async () => {
        // Parsing runs on worker threads while this thread writes SQLite (see WorkerPool).
        const pool = WorkerPool.create();
        try {
          return await scanDataset(this.workspace, {
            ...opts,
            ...work,
            readLabels: pool ? (paths) => pool.run('read-labels', paths) : undefined,
            countVocabulary: pool ? (file) => pool.run('count-vocabulary', file) : undefined,
            inFlight: pool ? pool.size * 2 : 1,
          });
        } finally {
          await pool?.close();
        }
      }),
    );
  }

  /** Redraws the split: a writer (a run's data must not change under it). */
  split(opts: { file?: string; seed?: number }): SplitSummary {
    const lock = acquireWriterLock(this.workspace.root, 'split');
    try {
      return applySplit(this.workspace.db, opts);
    } finally {
      lock.release();
    }
  }

  /** Runs `fn` holding the workspace's writer lock (see [Note: Workspace lock]). */
  private writing<T>(job: string, fn: () => Promise<T>): Promise<T> {
    return withWriterLock(this.workspace, job, fn);
  }

  crops(
    opts: { filter?: ItemFilter; concurrency?: number },
    controls: JobControls = {},
  ): Promise<CropSummary> {
    return runJob('crop', controls, (work) => ensureCrops(this.workspace, { ...opts, ...work }));
  }

  /**
   * Embeds every garment crop with a frozen image encoder (a registry model, downloaded on first use
   * where there is internet, or any CLIP vision export via `modelPath`). Cached per (model, crop).
   */
  embed(req: EmbedRequest, controls: JobControls = {}): Promise<EmbedSummary> {
    return runJob('embed', controls, (work) =>
      this.writing('embed', async () => {
        // Loaded on use: ONNX Runtime and tfjs take most of a second to import, which every other
        // command (and `--help`) should not pay.
        const { openImageEncoder } = await import('../encoders/image-encoder/open-encoder.ts');
        // `--model demo-standin`: the demo's SYNTHETIC stand-in encoder, generated into the workspace.
        const standin = req.model === DEMO_STANDIN_MODEL && !req.modelPath;
        if (standin)
          req = { ...req, modelPath: ensureDemoStandinFiles(demoStandinDir(this.workspace.root)).dir };
        const opened = await openImageEncoder(req, {
          ...req.files,
          signal: work.signal,
          onProgress: work.onProgress
            ? (file, received, total) =>
                work.onProgress?.(`download ${file.split(/[\\/]/).at(-1)}`, received, total, {
                  MB: Math.round(received / 1e5) / 10,
                })
            : undefined,
        });
        const { encoder } = opened;
        const origin = standin
          ? { ...opened.origin, synthetic: true, note: DEMO_STANDIN_NOTE }
          : opened.origin;
        // The model that made this workspace's vectors is the one query images must be embedded with:
        // recorded once vectors exist (a run refused before storing any leaves the setting as it was).
        const record = () => setWorkspaceEncoder(this.workspace, req, encoder.modelId);
        try {
          const summary: EmbedSummary = await embedImages(this.workspace, encoder, origin, {
            batch: req.batch,
            filter: req.filter,
            ...(req.inputCacheGb !== undefined ? { inputCacheBytes: req.inputCacheGb * 1e9 } : {}),
            ...work,
          });
          record();
          if (req.views) {
            summary.views = await embedViews(this.workspace, encoder, {
              views: req.views,
              seed: req.viewSeed,
              settings: req.viewSettings,
              batch: req.batch,
              filter: req.filter,
              ...work,
            });
          }
          return summary;
        } catch (e) {
          if (e instanceof CancelledError) record();
          throw e;
        } finally {
          await encoder.close();
        }
      }),
    );
  }

  /** Imports precomputed embeddings (.npy [N, 512] + ids JSON); see import-embeddings.ts. */
  importEmbeddings(
    opts: Omit<ImportEmbeddingsOptions, 'signal' | 'onProgress'>,
    controls: JobControls = {},
  ): Promise<ImportReport> {
    return runJob('import', controls, (work) =>
      this.writing('embed import', async () => importEmbeddings(this.workspace, { ...opts, ...work })),
    );
  }

  embeddingModels(): EmbeddingModelInfo[] {
    return new EmbeddingStore(this.workspace.db).models();
  }

  /**
   * Trains the JSON encoder as a new run (runs/<id>/). Settings: defaults (or a replayed run's
   * config) → stage preset → quick → explicit overrides; with `resume`, the saved run's settings
   * replace the defaults and any override that changes more than the epoch count or the backend is
   * refused (it would be a different run). Holds the workspace's writer lock while it runs.
   */
  train(opts: TrainRequest, controls: JobControls = {}): Promise<TrainResult> {
    return runJob('train', controls, (work) =>
      this.writing('train', async () => {
        const ws = this.workspace;
        const startsNew = [opts.initFrom, opts.fromRun, opts.configFile, opts.replay].some(
          (x) => x !== undefined,
        );
        if (opts.resume && startsNew) {
          throw new TrainConfigError(
            '--resume continues a run with its own settings and weights; --init-from, --from-run, --config and --from-bundle start a new run. Give one or the other.',
          );
        }
        for (const t of opts.tags ?? []) {
          if (!TAG_PATTERN.test(t)) {
            throw new TrainConfigError(
              `--tag "${t}": expected 1-64 letters, digits or . _ : - / = + (starting with a letter or digit).`,
            );
          }
        }
        let base: TrainConfig | undefined;
        let resume: string | undefined;
        if (opts.resume) {
          const row = resumeTarget(ws, opts.resume);
          resume = row.id;
          base = loadCheckpoint(runPaths(ws, row.id).checkpoints, 'last').info.config;
        }
        const replay = resume ? null : replaySource(ws, opts);
        const config = resolveTrainConfig({
          stage: opts.stage,
          quick: opts.quick,
          overrides: opts.overrides,
          base: base ?? replay?.config,
        });
        return await train(ws, config, {
          ...work,
          resume,
          initFrom: opts.initFrom,
          replayOf: replay?.runId ?? undefined,
          expectData: replay?.data ?? null,
          onWarning: opts.onWarning,
          tags: opts.tags,
          loggers: opts.loggers,
          createEncoder: opts.createEncoder ?? defaultEncoderFactory,
        });
      }),
    );
  }

  // ---- runs (training/runs.ts) ---------------------------------------------------------------------

  /** Every run, oldest first (killed ones shown as interrupted, the current one flagged). */
  runs(): RunView[] {
    return listRuns(this.workspace);
  }

  /** One run in full: row, config.json, run.json, history, evaluations. */
  runShow(ref: string): RunDetail {
    return runDetail(this.workspace, ref);
  }

  runsCompare(refs: readonly string[], opts: { chart?: boolean; out?: string } = {}): Promise<RunComparison> {
    return compareRuns(this.workspace, refs, opts);
  }

  /** Recall@10 of each run's latest evaluation, where it has one. */
  runsRecall10(ids: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of ids) {
      const e = runEvaluations(this.workspace, id)[0];
      const r10 = (e?.summary as { recall?: Record<string, number> } | undefined)?.recall?.['10'];
      if (typeof r10 === 'number') out.set(id, r10);
    }
    return out;
  }

  runPromote(ref: string): RunView {
    return promoteRun(this.workspace, ref);
  }

  runRemove(ref: string, opts: { force?: boolean } = {}): { removed: string; current: string | null } {
    return removeRun(this.workspace, ref, opts);
  }

  runNote(ref: string, note: string): RunView {
    return noteRun(this.workspace, ref, note);
  }

  runTag(ref: string, tag: string, opts: { remove?: boolean } = {}): RunView {
    return tagRun(this.workspace, ref, tag, opts);
  }

  /** Zips the run's config, best checkpoint, results, charts and reports (see export-bundle.ts). */
  exportBundle(opts: ExportBundleOptions, controls: JobControls = {}): Promise<BundleSummary> {
    return runJob('export', controls, (work) => exportBundle(this.workspace, opts, work));
  }

  // ---- image encoder, catalog, recommendation (src-main/recommend) --------------------------------

  /** The workspace's image encoder (recorded by `kfashion embed`), or null when it has none. */
  imageEncoder(): ImageEncoderLabel | null {
    return workspaceEncoderLabel(this.workspace);
  }

  /** Opens the workspace's image encoder, for embedding query images; the caller closes `encoder`. */
  openImageEncoder(opts: { threads?: number } = {}): Promise<OpenedWorkspaceEncoder> {
    return openWorkspaceImageEncoder(this.workspace, opts);
  }

  /** The recommendation service (keeps the encoder and the catalog index open between calls). */
  recommender(): RecommendService {
    if (!this.recommendService) {
      this.recommendService = new RecommendService(this.workspace, () =>
        openWorkspaceImageEncoder(this.workspace),
      );
      this.dashboardService = null;
    }
    return this.recommendService;
  }

  catalog(): Catalog {
    return this.recommender().catalog;
  }

  /** Adds a product from image bytes; its vector is computed with the workspace encoder when there is one. */
  async catalogAdd(
    bytes: Uint8Array,
    fields: ProductFields,
    opts: { what?: string; imageField?: string } = {},
  ): Promise<{ product: CatalogProduct; created: boolean; note?: string }> {
    const svc = this.recommender();
    const enc = svc.encoderLabel() ? await svc.encoder() : null;
    const r = await svc.catalog.add(bytes, fields, { encoder: enc?.encoder ?? null, ...opts });
    return enc
      ? r
      : {
          ...r,
          note: 'The workspace has no image encoder yet, so this product has no vector and cannot be recommended; run "kfashion embed", then "kfashion catalog embed".',
        };
  }

  /** Imports a folder of product images (recommend/catalog-import.ts); idempotent. */
  async catalogImport(
    dir: string,
    opts: { embeddings?: { npy: string; ids: string; model?: string }; synthetic?: boolean } = {},
    controls: JobControls = {},
  ): Promise<CatalogImportReport> {
    return runJob('catalog-import', controls, (work) =>
      this.writing('catalog import', async () => {
        const svc = this.recommender();
        const label = svc.encoderLabel();
        const embeddings = opts.embeddings
          ? { ...opts.embeddings, model: opts.embeddings.model ?? label?.model ?? 'fashion-clip' }
          : undefined;
        const enc = !embeddings && label ? await svc.encoder() : null;
        return importCatalogFolder(svc.catalog, dir, {
          encoder: enc?.encoder ?? null,
          embeddings,
          synthetic: opts.synthetic,
          signal: work.signal,
          onProgress: work.onProgress ? (d, t) => work.onProgress?.('import', d, t) : undefined,
        });
      }),
    );
  }

  catalogRemove(ids: readonly string[]): string[] {
    return this.catalog().remove(ids);
  }

  /** Computes the catalog vectors the workspace encoder is missing; returns how many. */
  async catalogEmbed(): Promise<{ model: string; embedded: number }> {
    const enc = await this.recommender().encoder();
    return { model: enc.setting.model, embedded: await this.catalog().embedMissing(enc.encoder) };
  }

  recommendTop10ToNew(req: Top10ToNewRequest): Promise<Top10ToNewResult> {
    return this.recommender().top10ToNew(req);
  }

  recommendCustomerInput(req: CustomerInputRequest): Promise<CustomerInputResult> {
    return this.recommender().customerInput(req);
  }

  private dashboards(): Dashboard {
    this.dashboardService ??= new Dashboard(this.recommender());
    return this.dashboardService;
  }

  kpi(): KpiSummary {
    return this.dashboards().kpi();
  }

  dashboard(): Promise<DashboardData> {
    return this.dashboards().dashboard();
  }

  // ---- evaluation (src-main/evaluation; EVALUATION.md) -------------------------------------------

  /** Evaluates a trained JSON encoder on the validation split (gallery or in-batch, both directions). */
  evaluate(opts: EvaluateRequest = {}, controls: JobControls = {}): Promise<EvaluationReport> {
    return runJob('eval', controls, async (work) => {
      const { evaluate } = await import('../evaluation/evaluate.ts');
      return await evaluate(this.workspace, { ...opts, ...work });
    });
  }

  /** The best-seller proxy: embedding centrality per item, stored, with results/centrality_*.json + PNG. */
  centrality(opts: { model?: string } = {}, controls: JobControls = {}): Promise<CentralityReport> {
    return runJob('centrality', controls, async (work) => {
      const { runCentrality } = await import('../evaluation/centrality.ts');
      return await runCentrality(this.workspace, { ...opts, ...work });
    });
  }

  /** Temperature study: one training run per temperature (own folders), each evaluated (gallery). */
  sweep(opts: SweepRequest = {}, controls: JobControls = {}): Promise<TemperatureStudy> {
    return runJob('sweep', controls, (work) =>
      this.writing('sweep', async () => {
        const { runTemperatureSweep } = await import('../training/temperature-sweep.ts');
        const { sweepEvaluation } = await import('../evaluation/sweep-evaluation.ts');
        return await runTemperatureSweep(this.workspace, { ...opts, ...work, evaluation: sweepEvaluation });
      }),
    );
  }

  /** Tuning study (or `resume`): each trial a run of kind tune; stored in the workspace database. */
  tune(
    opts: Omit<import('../tuning/tune-study.ts').TuneOptions, 'signal' | 'onProgress'>,
    controls: JobControls = {},
  ): Promise<import('../tuning/tune-study.ts').TuneResult> {
    return runJob('tune', controls, (work) =>
      this.writing('tune', async () => {
        const { tune } = await import('../tuning/tune-study.ts');
        return await tune(this.workspace, { ...opts, ...work });
      }),
    );
  }

  /** A stored study's results; writes its charts under results/studies/<name>/. */
  async studyShow(name: string): Promise<import('../tuning/study-show.ts').StudyShow> {
    const { showStudy } = await import('../tuning/study-show.ts');
    return showStudy(this.workspace, name);
  }

  async studyList(): Promise<ReturnType<typeof import('../tuning/study-show.ts').listStudies>> {
    const { listStudies } = await import('../tuning/study-show.ts');
    return listStudies(this.workspace);
  }

  /** The ridge baseline, stored as a run of kind baseline (holds the writer lock: it adds a run). */
  baseline(
    opts: import('../evaluation/baseline-run.ts').BaselineOptions = {},
  ): Promise<import('../evaluation/baseline-run.ts').BaselineResult> {
    return this.writing('baseline', async () => {
      const { fitBaselineRun } = await import('../evaluation/baseline-run.ts');
      return await fitBaselineRun(this.workspace, opts);
    });
  }

  /**
   * Similarity search (exact cosine top-K over every item's image embedding): a JSON query, a
   * picture, or demo queries; saves results/similarity_search/<stamp>/ (see services/similarity-search.ts).
   */
  search(req: SearchRequest, controls: JobControls = {}): Promise<SimilaritySearchRun> {
    return runJob('search', controls, async (work) => {
      this.searchService ??= import('./similarity-search.ts').then(
        (m) => new m.SimilaritySearchService(this.workspace),
      );
      return (await this.searchService).search(req, work);
    });
  }

  /** The embedding map of the validation set (cached per checkpoint; evaluation/embedding-map.ts). */
  embeddingMap(
    req: { method: 'pca' | 'umap'; refresh?: boolean },
    controls: JobControls = {},
  ): Promise<EmbeddingMap> {
    return runJob('map', controls, async (work) => {
      const { computeEmbeddingMap } = await import('../evaluation/embedding-map.ts');
      return computeEmbeddingMap(this.workspace, { ...req, ...work });
    });
  }

  /** image → JSON (tagging): the attribute combinations nearest to a picture (nothing is written). */
  tagImage(req: SearchRequest, controls: JobControls = {}): Promise<ImageTagRun> {
    return runJob('search', controls, async (work) => {
      this.searchService ??= import('./similarity-search.ts').then(
        (m) => new m.SimilaritySearchService(this.workspace),
      );
      return (await this.searchService).tag(req, work);
    });
  }

  /**
   * Writes results/report_<stamp>.html: one self-contained page with the run's config, training,
   * latest evaluation, centrality, temperature study and example searches (services/research-report.ts).
   */
  report(
    opts: Omit<ReportOptions, 'signal' | 'onProgress'> = {},
    controls: JobControls = {},
  ): Promise<ResearchReportSummary> {
    return runJob('report', controls, async (work) => {
      const { writeResearchReport } = await import('./research-report.ts');
      return await writeResearchReport(
        this.workspace,
        { summary: this.summary(), search: (req) => this.search(req) },
        { ...opts, ...work },
      );
    });
  }

  /** Past evaluation, centrality and temperature-study runs, newest first. */
  async evaluations(kind?: EvaluationRecord['kind']): Promise<(EvaluationRecord & { stale?: boolean })[]> {
    const { listEvaluations } = await import('../evaluation/results.ts');
    const current = currentRunId(this.workspace);
    // An evaluation of a run that is not current is stale: its figures are not the current model's.
    return listEvaluations(this.workspace, kind).map((e) =>
      e.checkpoint ? { ...e, stale: e.checkpoint !== current } : e,
    );
  }

  summary(): WorkspaceSummary {
    const db = this.workspace.db;
    const perStyle: WorkspaceSummary['perStyle'] = {};
    const dataset = new DatasetStore(db);
    const rows = dataset.perStyleCounts();
    let images = 0;
    let items = 0;
    for (const r of rows) {
      perStyle[r.style] = { images: r.images, items: r.items, trainItems: r.train, valItems: r.val };
      images += r.images;
      items += r.items;
    }
    const vocabRows = new VocabularyStore(db).sizes();
    const vocabularySizes = Object.fromEntries(
      FIELD_NAMES.map((f) => [f, vocabRows.find((r) => r.field === f)?.n ?? 0]),
    );
    const lastScan = dataset.lastScan() as WorkspaceSummary['lastScan'] | null;
    const dataRoots = dataset.dataRoots();
    return {
      workspace: this.workspace.root,
      synthetic: getMeta<boolean>(db, 'synthetic') ?? false,
      schemaVersion: schemaVersion(db),
      dataRoots,
      images,
      items,
      perStyle,
      split: getMeta<WorkspaceSummary['split']>(db, 'split') ?? null,
      vocabularySizes,
      crops: new CropStore(db).count(),
      lastScan: lastScan ?? null,
      embeddings: this.embeddingModels().map(({ model, dim, source, count, detail }) => ({
        model,
        dim,
        source,
        count,
        ...(detail['synthetic'] === true && typeof detail['note'] === 'string'
          ? { note: detail['note'] }
          : {}),
      })),
      imageEncoder: this.imageEncoder(),
    };
  }
}

/** `Workbench.evaluate` options (see evaluation/evaluate.ts); progress and cancel come as JobControls. */
export type EvaluateRequest = Omit<EvaluateOptions, 'signal' | 'onProgress'>;
/** `Workbench.sweep` options (see training/temperature-sweep.ts). */
export type SweepRequest = Omit<SweepOptions, 'signal' | 'onProgress' | 'evaluation'>;

export interface TrainRequest {
  stage?: 1 | 2;
  quick?: boolean;
  /** Continue a run: true = the newest, or a run reference. */
  resume?: boolean | string;
  /** Start from this run's best weights (stage 2 after stage 1); recorded as the new run's parent. */
  initFrom?: string;
  /** Repeat this run's config (runs/<id>/config.json). */
  fromRun?: string;
  /** Repeat the config in this file: a run's config.json, or a bare training config object. */
  configFile?: string;
  /** A run config given as data (e.g. read from a bundle). */
  replay?: ReplaySource;
  overrides?: Partial<TrainConfig>;
  tags?: string[];
  /** Said as soon as it is known (e.g. the data differs from the replayed run's). */
  onWarning?: (message: string) => void;
  loggers?: RunLogger[];
  /** The encoder to train; the tfjs JSON encoder when absent (tests pass a small JS model). */
  createEncoder?: EncoderFactory;
}

/** Writes the synthetic demo dataset (labels, images, stand-in embeddings) to `opts.outDir`. */
export function createDemoDataset(
  opts: Omit<DemoOptions, 'signal' | 'onProgress'>,
  controls: JobControls = {},
): Promise<DemoSummary> {
  return runJob('demo', controls, (work) =>
    generateDemoDataset({
      ...opts,
      signal: work.signal,
      onProgress: work.onProgress ? (done, total) => work.onProgress?.('render', done, total) : undefined,
    }),
  );
}

/**
 * The JSON encoder's sanity check (`kfashion sanity`): on a workspace's items and embeddings when a
 * workspace folder is given, else on synthetic inputs. Writes temp_logs/sanity_check_results.json.
 */
export async function sanityCheck(opts: SanityCheckOptions): Promise<SanityCheckResult> {
  const { runSanityCheck } = await import('../training/sanity-check.ts');
  return runSanityCheck(opts);
}
