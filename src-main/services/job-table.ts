/**
 * What each job kind runs: the Workbench method (or service function) behind it. Used by the worker
 * thread (job-worker.ts) and, when no bundled worker exists (tests from sources), inline by the
 * JobHost. Inputs are the internal, already-validated options the API handlers build from the
 * contract's input (src-main/services/api-handlers.ts), plain data so they cross to a worker.
 */
import type { JobKind } from '../../src-shared/api-schemas.ts';
import type { DemoOptions } from '../dataset/synthetic/generate-demo.ts';
import type { ImportEmbeddingsOptions } from '../encoders/import-embeddings.ts';
import type { JobSpec } from '../jobs/job-host.ts';
import type { JobControls } from '../jobs/run-job.ts';
import type { ItemFilter } from '../store/dataset-store.ts';
import { workspaceRelative } from './dataset-views.ts';
import { ensureDemoWorkspace } from './demo-workspace.ts';
import type { ExportBundleOptions } from './export-bundle.ts';
import {
  createDemoDataset,
  type EmbedRequest,
  type EvaluateRequest,
  type SweepRequest,
  type TrainRequest,
  Workbench,
} from './workbench.ts';

/** Internal inputs per job kind (what the worker receives). */
export interface JobInputs {
  demo:
    | { action: 'open'; baseDir: string }
    | ({ action: 'generate' } & Omit<DemoOptions, 'signal' | 'onProgress'>);
  scan: { data: string; styles?: string[]; splitFile?: string; seed?: number };
  split: { seed?: number; file?: string };
  crops: { filter?: ItemFilter; concurrency?: number };
  embed: Omit<EmbedRequest, 'files'> & { download?: boolean };
  'import-embeddings': ImportEmbeddingsOptions;
  train: Omit<TrainRequest, 'createEncoder'>;
  export: ExportBundleOptions;
  evaluate: Omit<EvaluateRequest, 'createEncoder' | 'now'>;
  centrality: { model?: string };
  sweep: Omit<SweepRequest, 'createEncoder' | 'evalEncoder' | 'now'>;
  'catalog-import': {
    folder: string;
    embeddings?: { npy: string; ids: string; model?: string };
    synthetic?: boolean;
  };
  'catalog-embed': Record<string, never>;
  report: { maxSearches?: number; runSearches?: boolean };
  map: { method: 'pca' | 'umap'; refresh?: boolean };
  tune: Omit<
    import('../tuning/tune-study.ts').TuneOptions,
    'signal' | 'onProgress' | 'onTrial' | 'onStage' | 'createEncoder' | 'evalEncoder'
  >;
}

export type TableKind = keyof JobInputs & JobKind;

type JobFn<K extends TableKind> = (
  spec: JobSpec<K> & { input: JobInputs[K] },
  controls: JobControls,
) => Promise<unknown>;

/** Opens the spec's workspace for the length of `fn` (each job has its own SQLite connection). */
async function withWorkbench<T>(
  workspace: string | null,
  create: boolean,
  fn: (wb: Workbench) => Promise<T> | T,
): Promise<T> {
  if (!workspace) throw new Error('No workspace is open: open or create one first');
  const wb = Workbench.open(workspace, { create });
  try {
    return await fn(wb);
  } finally {
    wb.close();
  }
}

export const JOB_TABLE: { [K in TableKind]: JobFn<K> } = {
  demo: async ({ input }, controls) => {
    if (input.action === 'open') {
      const demo = await ensureDemoWorkspace(input.baseDir, controls);
      return { ...demo, synthetic: true as const };
    }
    const { action: _a, ...opts } = input;
    return createDemoDataset(opts, controls);
  },
  scan: ({ workspace, input }, controls) => withWorkbench(workspace, true, (wb) => wb.scan(input, controls)),
  split: ({ workspace, input }) => withWorkbench(workspace, false, (wb) => wb.split(input)),
  crops: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.crops(input, controls)),
  embed: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => {
      const { download, ...req } = input;
      return wb.embed({ ...req, files: download === undefined ? undefined : { download } }, controls);
    }),
  'import-embeddings': ({ workspace, input }) =>
    withWorkbench(workspace, false, (wb) => wb.importEmbeddings(input)),
  train: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.train(input, controls)),
  export: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.exportBundle(input, controls)),
  evaluate: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.evaluate(input, controls)),
  centrality: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.centrality(input, controls)),
  sweep: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.sweep(input, controls)),
  'catalog-import': ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, async (wb) => {
      const { folder, ...opts } = input;
      try {
        return await wb.catalogImport(folder, opts, controls);
      } finally {
        // The import opened the image encoder's ONNX session: release it before the thread ends.
        await wb.closeAsync();
      }
    }),
  report: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, async (wb) => {
      try {
        const r = await wb.report(input, controls);
        const rel = workspaceRelative(wb.workspace, r.file);
        return { ...r, html: rel.startsWith('..') ? null : rel };
      } finally {
        // The report may run demo searches, which open the search service's sessions.
        await wb.closeAsync();
      }
    }),
  map: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, (wb) => wb.embeddingMap(input, controls)),
  tune: ({ workspace, input }, controls) =>
    withWorkbench(workspace, false, async (wb) => {
      const r = await wb.tune(input, controls);
      // The job's result crosses to the UI: the study and its best trial, not every trial's record
      // (their intermediate values are a Map, which does not survive structured cloning as JSON).
      const { trials: _t, best, ...rest } = r;
      return {
        ...rest,
        trials: r.trials.length,
        best: best
          ? { number: best.number, value: best.value, runId: best.runId, params: best.params }
          : null,
      };
    }),
  'catalog-embed': ({ workspace }) =>
    withWorkbench(workspace, false, async (wb) => {
      try {
        return await wb.catalogEmbed();
      } finally {
        await wb.closeAsync();
      }
    }),
};

/**
 * The kinds a JobHost runs in a child process rather than a worker thread ([Note: Jobs in a child
 * process] in jobs/job-host.ts): those that load a model runtime (ONNX Runtime, tfjs) or train, whose
 * native memory runs to hundreds of MB and would otherwise stay resident in glibc's arenas after the
 * thread ends. A child's start (tens of ms) is nothing beside their seconds to hours. The light kinds
 * (split, demo, export, map, centrality, crops, scan, import-embeddings) keep a thread: mostly JS heap
 * (returned when the thread's V8 isolate goes), and some are started often by the UI.
 */
export const CHILD_PROCESS_KINDS: ReadonlySet<TableKind> = new Set<TableKind>([
  'train',
  'tune',
  'sweep',
  'embed',
  'evaluate',
  'catalog-import',
  'catalog-embed',
  'report',
]);

export function isTableKind(kind: string): kind is TableKind {
  return Object.hasOwn(JOB_TABLE, kind);
}

/** Runs one job spec in this thread (the worker's body, and the JobHost's inline runner). */
export function runJobSpec(spec: JobSpec, controls: JobControls): Promise<unknown> {
  if (!isTableKind(spec.kind)) throw new Error(`Unknown job kind "${spec.kind}"`);
  const fn = JOB_TABLE[spec.kind] as JobFn<TableKind>;
  return fn(spec as JobSpec<TableKind> & { input: JobInputs[TableKind] }, controls);
}
