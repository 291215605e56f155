/**
 * The one handler table that serves the contract (src-shared/api.ts), for Electron IPC and for HTTP
 * alike. Typed by the contract: adding a method there fails to compile until it is served here.
 * Handlers get parsed, validated input (dispatch does that) and call the session's Workbench for
 * quick reads or start a job for long work (off the main thread; see src-main/jobs/job-host.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { z } from 'zod';
import type { Handlers } from '../../src-shared/api.ts';
import {
  type DeclaredFields,
  type JobHandle,
  jobKindSchema,
  runComparisonSchema,
  runDetailSchema,
  trainingResultsFileSchema,
} from '../../src-shared/api-schemas.ts';
import { FIELD_NAMES } from '../../src-shared/fields.ts';
import { quoteShort } from '../../src-shared/short-text.ts';
import { resolveLayout } from '../dataset/layout.ts';
import { UnknownIdError } from '../recommend/catalog.ts';
import { currentRunId, listRuns, runPaths } from '../training/runs.ts';
import {
  BACKEND_NAMES,
  DEFAULT_TRAIN_CONFIG,
  QUICK_PRESET,
  STAGE_PRESETS,
} from '../training/train-config.ts';
import type { ApiSession } from './api-session.ts';
import {
  excludedGarments,
  itemPhoto,
  sampleCrops,
  vocabularyView,
  workspaceRelative,
} from './dataset-views.ts';
import { centralItems, checkDataFolder, embedModels } from './explore-views.ts';
import type { JobInputs } from './job-table.ts';
import { MediaPathError, resolveMediaPath } from './media-path.ts';
import type { Workbench } from './workbench.ts';

/**
 * A core value as the output of a loose schema ([Note: Loose output schemas]). The run files' types
 * are interfaces, which TypeScript will not widen to a loose object's `[key: string]: unknown`; the
 * constraint checks instead that the value has every field the schema declares, with its type.
 */
function looseOutput<S extends z.ZodType, T extends DeclaredFields<z.input<S>>>(
  _schema: S,
  value: T,
): z.input<S> {
  return value as z.input<S>;
}

/** A started job as the contract returns it; its kind checked against the contract's list of kinds. */
const handle = (r: { job: string; kind: string }): JobHandle => ({
  job: r.job,
  kind: jobKindSchema.parse(r.kind),
});

/** An unknown study is the caller's mistake (404 over HTTP), not a server failure. */
function notFoundStudy(e: unknown): unknown {
  if (e instanceof Error && (e.name === 'StudyStoreError' || /no study named/i.test(e.message)))
    return Object.assign(e, { code: 'unknown_id' });
  return e;
}

export function createHandlers(session: ApiSession): Handlers {
  const ws = () => session.workbench().workspace;
  const afterChange = (reason: string) => () => session.workspaceUpdated(reason);
  // Paths in inputs are checked against the allowed roots in browser mode ([Note: Path roots]).
  const allowed = (path: string, field: string) => session.checkPath(path, field);
  const allowedOpt = (path: string | undefined, field: string) =>
    path === undefined ? undefined : session.checkPath(path, field);

  return {
    'app.info': async () => session.info(),

    'workspace.summary': async () => session.workbench().summary(),
    'workspace.open': async ({ path, create }) => session.openWorkspace(allowed(path, 'path'), { create }),
    'workspace.pick': async ({ create }) => {
      const path = await session.pickFolder('workspace');
      if (path === null) return { path: null, openedAs: null, scan: null, info: session.info() };
      if (existsSync(join(path, 'workspace.db'))) {
        return { path, openedAs: 'workspace' as const, scan: null, info: session.openWorkspace(path) };
      }
      if (looksLikeDataset(path)) {
        // A data folder is never written into: its workspace lives in the app's data folder.
        const workspace = datasetWorkspacePath(session.options.dataDir, path);
        const info = session.openWorkspace(workspace, { create: true });
        const job: JobInputs['scan'] = { data: path };
        const scan = handle(session.startJob('scan', job, { onDone: afterChange('scan') }));
        return { path, openedAs: 'dataset' as const, scan, info };
      }
      return {
        path,
        openedAs: 'new-workspace' as const,
        scan: null,
        info: session.openWorkspace(path, { create }),
      };
    },
    'dataset.pick': async () => ({ path: await session.pickFolder('dataset') }),
    'dataset.check': async ({ path }) =>
      checkDataFolder(path, (p, f) => session.checkPath(p, f), session.pathRoots?.list() ?? []),
    'embed.models': async () => embedModels(session.workspace ? ws() : null),
    'search.tag': async ({ image, k }) =>
      session.workbench().tagImage({
        imageBytes: decodeImage(image.dataBase64, 'image'),
        imageName: image.name,
        k,
      }),
    'centrality.items': async ({ limit }) => centralItems(ws(), { limit }),
    'map.start': async (input) => {
      const job: JobInputs['map'] = input;
      return handle(session.startJob('map', job));
    },
    'map.get': async ({ method }) => {
      const { cachedEmbeddingMap } = await import('../evaluation/embedding-map.ts');
      return cachedEmbeddingMap(ws(), method);
    },

    'demo.open': async () => {
      const input: JobInputs['demo'] = { action: 'open', baseDir: session.options.dataDir };
      return handle(
        session.startJob('demo', input, {
          workspace: null,
          onDone: (result) => {
            const { workspace } = result as { workspace: string };
            session.openWorkspace(workspace, { reason: 'demo' });
          },
        }),
      );
    },
    'demo.generate': async ({ outDir, seed, scale }) => {
      const input: JobInputs['demo'] = { action: 'generate', outDir: allowed(outDir, 'outDir'), seed, scale };
      return handle(session.startJob('demo', input, { workspace: null }));
    },

    'dataset.scan': async (input) => {
      const job: JobInputs['scan'] = {
        ...input,
        data: allowed(input.data, 'data'),
        splitFile: allowedOpt(input.splitFile, 'splitFile'),
      };
      return handle(session.startJob('scan', job, { onDone: afterChange('scan') }));
    },
    'dataset.split': async (input) => {
      const job: JobInputs['split'] = { ...input, file: allowedOpt(input.file, 'file') };
      const result = (await session.runJob('split', job)) as Awaited<ReturnType<Handlers['dataset.split']>>;
      session.workspaceUpdated('split');
      return result;
    },
    'dataset.crops': async ({ split, styles, concurrency }) => {
      const job: JobInputs['crops'] = { filter: { split, styleFolders: styles }, concurrency };
      return handle(session.startJob('crops', job, { onDone: afterChange('crops') }));
    },
    'dataset.sampleCrops': async (input) => sampleCrops(ws(), input),
    'dataset.photo': async ({ id }) => itemPhoto(ws(), id),
    'dataset.excluded': async (input) => excludedGarments(ws(), input),
    'dataset.vocabulary': async ({ fields }) => vocabularyView(ws(), fields),

    'embed.start': async (input) => {
      const job: JobInputs['embed'] = { ...input, modelPath: allowedOpt(input.modelPath, 'modelPath') };
      return handle(session.startJob('embed', job, { onDone: afterChange('embed') }));
    },
    'embed.import': async ({ npy, ids, model }) => {
      const job: JobInputs['import-embeddings'] = {
        npy: allowed(npy, 'npy'),
        ids: allowed(ids, 'ids'),
        model,
      };
      const result = (await session.runJob('import-embeddings', job)) as Awaited<
        ReturnType<Handlers['embed.import']>
      >;
      session.workspaceUpdated('import-embeddings');
      return result;
    },

    'train.presets': async () => ({
      defaults: { ...DEFAULT_TRAIN_CONFIG },
      stages: { 1: { ...STAGE_PRESETS[1] }, 2: { ...STAGE_PRESETS[2] } },
      quick: { ...QUICK_PRESET },
      backends: [...BACKEND_NAMES],
      fields: [...FIELD_NAMES],
    }),
    'train.start': async (input) => {
      const job: JobInputs['train'] = input;
      return handle(session.startJob('train', job, { onDone: afterChange('train') }));
    },
    'train.stop': async () => {
      const running = session.jobs.running('train').find((r) => r.workspace === session.workspace);
      if (!running) return { stopped: false, job: null };
      return { stopped: session.jobs.cancel(running.job), job: running.job };
    },
    'train.status': async () => {
      const w = ws();
      const running = session.jobs.running('train').find((r) => r.workspace === w.root) ?? null;
      // The run being watched: the newest run while one is running (its own results file, updated
      // every epoch), else the current run (results/training_results.json is its copy).
      const runs = listRuns(w);
      const live = runs.filter((r) => r.status === 'running').at(-1);
      const resultsPath = live
        ? runPaths(w, live.id).resultsJson
        : join(w.paths.results, 'training_results.json');
      let results = null;
      if (existsSync(resultsPath)) {
        const parsed = trainingResultsFileSchema.safeParse(JSON.parse(readFileSync(resultsPath, 'utf8')));
        if (!parsed.success) {
          throw new Error(
            `${resultsPath} is not a training results file this version can read: ${parsed.error.message}`,
          );
        }
        results = parsed.data;
      }
      const charts = join(w.paths.results, 'training_charts.png');
      return {
        running: running
          ? { job: running.job, startedAt: running.startedAt, progress: running.progress }
          : null,
        results,
        canResume: runs.some((r) => r.hasLast && (r.status === 'stopped' || r.status === 'interrupted')),
        charts: existsSync(charts) ? workspaceRelative(w, charts) : null,
      };
    },

    'runs.list': async ({ tag, status }) => {
      const wb = session.workbench();
      const list = wb
        .runs()
        .filter((r) => (tag ? r.tags.includes(tag) : true) && (status ? r.status === status : true));
      const r10 = wb.runsRecall10(list.map((r) => r.id));
      return list.map((r) => ({ ...r, recall10: r.headline?.recall10 ?? r10.get(r.id) ?? null }));
    },
    'runs.show': async ({ run }) => looseOutput(runDetailSchema, session.workbench().runShow(run)),
    'runs.compare': async ({ runs, chart }) =>
      looseOutput(runComparisonSchema, await session.workbench().runsCompare(runs, { chart })),
    'runs.promote': async ({ run }) => {
      const r = session.workbench().runPromote(run);
      session.workspaceUpdated('promote');
      return r;
    },
    'runs.remove': async ({ run, force }) => {
      const r = session.workbench().runRemove(run, { force });
      session.workspaceUpdated('remove run');
      return r;
    },
    'runs.note': async ({ run, note }) => session.workbench().runNote(run, note),
    'runs.tag': async ({ run, tag, remove }) => session.workbench().runTag(run, tag, { remove }),

    'eval.run': async (input) => {
      const job: JobInputs['evaluate'] = { ...input, checkpoint: allowedOpt(input.checkpoint, 'checkpoint') };
      return handle(session.startJob('evaluate', job, { onDone: afterChange('evaluate') }));
    },
    'eval.centrality': async (input) => {
      const job: JobInputs['centrality'] = input;
      return handle(session.startJob('centrality', job, { onDone: afterChange('centrality') }));
    },
    'eval.sweep': async (input) => {
      const job: JobInputs['sweep'] = input;
      return handle(session.startJob('sweep', job, { onDone: afterChange('sweep') }));
    },
    'tuning.list': async () => {
      const { studyList } = await import('../tuning/study-view.ts');
      return studyList(ws());
    },
    'tuning.show': async ({ name, charts }) => {
      const { studyView } = await import('../tuning/study-view.ts');
      try {
        return await studyView(ws(), name, { charts });
      } catch (e) {
        throw notFoundStudy(e);
      }
    },
    'tuning.start': async (input) => {
      // The name is fixed here, so the caller can follow the study while the job runs.
      const study =
        input.resume ??
        input.name ??
        `tune-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z')}`;
      // Checked here, so a mistake is the caller's answer (400/404), not a failed job later.
      const { studyList } = await import('../tuning/study-view.ts');
      const exists = studyList(ws()).some((s) => s.name === study);
      if (input.resume && !exists)
        throw Object.assign(new Error(`resume: no study named "${input.resume}" in this workspace`), {
          code: 'unknown_id',
        });
      if (!input.resume && exists)
        throw Object.assign(
          new Error(
            `name: a study named "${study}" exists; finish it with resume: "${study}" or pick another name`,
          ),
          { code: 'bad_request' },
        );
      if (input.space) {
        const { checkSearchSpace } = await import('../tuning/search-space.ts');
        try {
          checkSearchSpace(input.space, 'space');
        } catch (e) {
          throw Object.assign(e as Error, { code: 'bad_request' });
        }
      }
      const { timeoutS, ...rest } = input;
      const job: JobInputs['tune'] = input.resume
        ? { resume: input.resume }
        : { ...rest, name: study, timeoutS };
      const r = session.startJob('tune', job, { onDone: afterChange('tune') });
      return { job: r.job, kind: 'tune' as const, study };
    },
    'eval.list': async ({ kind }) => session.workbench().evaluations(kind),
    'eval.report': async ({ file }) => {
      // The same containment rules as media URLs: a results JSON inside the workspace, nothing else.
      const found = resolveMediaPath(ws().root, file.replaceAll('\\', '/'));
      if (!found.path.endsWith('.json')) throw new MediaPathError(`Not a results JSON: ${file}`, 400);
      const report = JSON.parse(readFileSync(found.path, 'utf8'));
      // Staleness is a fact of now, not of when the file was written: the current run may have changed.
      if (report?.kind === 'evaluation' && typeof report.checkpoint?.run_id === 'string') {
        const current = currentRunId(ws());
        report.stale = report.checkpoint.run_id !== current;
        if (report.run) report.run = { ...report.run, current: !report.stale, current_run: current };
      }
      return report;
    },

    // Search and recommendation answer from the main thread's Workbench: they keep their indexes
    // and ONNX sessions warm between calls (the heavy matrix work runs on those sessions' own
    // threads), which a fresh worker per call could not.
    'search.run': async ({ image, checkpoint, ...rest }) => {
      const w = session.workbench();
      const run = await w.search({
        ...rest,
        checkpoint: allowedOpt(checkpoint, 'checkpoint'),
        ...(image ? { imageBytes: decodeImage(image.dataBase64, 'image'), imageName: image.name } : {}),
      });
      const rel = run.files?.dir ? workspaceRelative(w.workspace, run.files.dir) : null;
      return { ...run, workspaceDir: rel && !rel.startsWith('..') ? rel : null };
    },
    'report.write': async (input) => {
      const job: JobInputs['report'] = input;
      return handle(session.startJob('report', job));
    },
    ...createRecommendHandlers(() => session.workbench()),
    'catalog.import': async (input) => {
      const job: JobInputs['catalog-import'] = {
        ...input,
        folder: allowed(input.folder, 'folder'),
        embeddings: input.embeddings && {
          ...input.embeddings,
          npy: allowed(input.embeddings.npy, 'embeddings.npy'),
          ids: allowed(input.embeddings.ids, 'embeddings.ids'),
        },
      };
      return handle(session.startJob('catalog-import', job, { onDone: afterChange('catalog-import') }));
    },
    'catalog.embed': async () => {
      const job: JobInputs['catalog-embed'] = {};
      return handle(session.startJob('catalog-embed', job, { onDone: afterChange('catalog-embed') }));
    },
    'job.list': async () => session.jobs.list().map(jobInfo),
    'job.get': async ({ job }) => jobInfo(session.jobs.get(job)),
    'job.cancel': async ({ job }) => ({ cancelled: session.jobs.cancel(job) }),

    'export.bundle': async ({ name, run }) => {
      const job: JobInputs['export'] = { name, run };
      return handle(session.startJob('export', job));
    },
  };
}

/** The contract methods the REST routes serve too (server/routes): reads of the catalog, recommendation, KPIs. */
export type RecommendMethod =
  | 'recommend.encoder'
  | 'catalog.list'
  | 'catalog.get'
  | 'catalog.add'
  | 'catalog.remove'
  | 'recommend.top10ToNew'
  | 'recommend.customerInput'
  | 'kpi.summary'
  | 'dashboard.get';
export type RecommendHandlers = Pick<Handlers, RecommendMethod>;

/**
 * The handlers of the catalog, recommendation, KPI and dashboard methods, over a Workbench alone:
 * the contract serves them (createHandlers, for IPC and RPC) and so do the REST routes of `serve`,
 * which have a Workbench but no session. One implementation per method, whatever the transport.
 */
export function createRecommendHandlers(workbench: () => Workbench): RecommendHandlers {
  return {
    'recommend.encoder': async () => workbench().imageEncoder(),
    'catalog.list': async ({ limit, offset }) => {
      const w = workbench();
      const catalog = w.catalog();
      const encoder = w.imageEncoder();
      const total = catalog.count();
      const products = catalog.list({ limit, offset });
      const synthetic = Boolean(encoder?.synthetic) || products.some((p) => p.synthetic);
      return {
        total,
        products,
        missingVectors: encoder ? total - catalog.countWithVectors(encoder.model) : total,
        encoder,
        ...(synthetic
          ? {
              note: 'SYNTHETIC: products marked synthetic are generated demo pictures; vectors of the demo-standin encoder are not FashionCLIP embeddings.',
            }
          : {}),
      };
    },
    'catalog.get': async ({ id }) => {
      const p = workbench().catalog().get(id);
      if (!p) throw new UnknownIdError(`no catalog product ${quoteShort(id)}`, 'id');
      return p;
    },
    'catalog.add': async ({ image, name, style, category }) =>
      workbench().catalogAdd(
        decodeImage(image.dataBase64, 'image'),
        { name: name ?? image.name.replace(/\.[^.]+$/, ''), style, category, source: image.name },
        { what: image.name, imageField: 'image' },
      ),
    'catalog.remove': async ({ ids }) => ({ removed: workbench().catalogRemove(ids) }),
    'recommend.top10ToNew': async ({ images, ids, useCentralityProxy, k, index }) =>
      workbench().recommendTop10ToNew({
        uploads: images?.map((img, i) => ({
          bytes: decodeImage(img.dataBase64, `images.${i}`),
          field: `images.${i}`,
          filename: img.name,
        })),
        ids,
        useCentralityProxy,
        k,
        index,
      }),
    'recommend.customerInput': async ({ image, productId, k, index }) =>
      workbench().recommendCustomerInput({
        upload: image
          ? { bytes: decodeImage(image.dataBase64, 'image'), field: 'image', filename: image.name }
          : undefined,
        productId,
        k,
        index,
      }),
    'kpi.summary': async () => workbench().kpi(),
    'dashboard.get': async () => workbench().dashboard(),
  };
}

/** A K-Fashion data folder: the layout resolves (라벨링데이터, Training/Validation, or style folders). */
function looksLikeDataset(path: string): boolean {
  try {
    return resolveLayout(path).sources.length > 0;
  } catch {
    return false;
  }
}

/** <dataDir>/workspaces/<folder name>-<hash of its path>: one workspace per data folder, stable. */
export function datasetWorkspacePath(dataDir: string, dataPath: string): string {
  const abs = resolve(dataPath);
  const name = (basename(abs) || 'data').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 60);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 8);
  return join(dataDir, 'workspaces', `${name}-${hash}`);
}

/** Base64 → bytes; the schema already checked the alphabet and the size. */
function decodeImage(base64: string, field: string): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) throw new MediaPathError(`${field}: the image is empty`, 400);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

function jobInfo(r: ReturnType<ApiSession['jobs']['get']>) {
  return { ...r, kind: jobKindSchema.parse(r.kind) };
}
