/**
 * The state behind the API contract, shared by the desktop app and browser mode: which workspace is
 * open (with a main-thread Workbench for quick reads), the job host that runs long work on worker
 * threads, and the subscribers to the contract's events. Electron and the HTTP server each make one
 * and differ only in the options (a folder dialog in Electron; the mode name).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiEvent, ApiEventPayload, AppInfo } from '../../src-shared/api.ts';
import type { JobKind } from '../../src-shared/api-schemas.ts';
import { type JobEvent, JobHost, type JobRecord } from '../jobs/job-host.ts';
import { WorkspaceError } from '../store/workspace.ts';
import { CHILD_PROCESS_KINDS, runJobSpec } from './job-table.ts';
import { PathRoots } from './path-roots.ts';
import { Workbench } from './workbench.ts';

export type ApiEventListener = <K extends ApiEvent>(event: K, payload: ApiEventPayload<K>) => void;

export interface ApiSessionOptions {
  mode: 'desktop' | 'browser';
  appName: string;
  version: string;
  /** The per-user data folder: the demo workspace and its dataset live here. */
  dataDir: string;
  /** Shows a folder dialog (desktop); absent in browser mode. */
  pickFolder?: (purpose: 'workspace' | 'dataset') => Promise<string | null>;
  /** Default: a JobHost with the bundled job-worker.js, else inline (tests from sources). */
  jobs?: JobHost;
  /**
   * Browser mode: folders (besides the data folder and the workspaces opened in this process) that
   * paths in RPC inputs may name; see [Note: Path roots]. Absent (the desktop app): no restriction.
   */
  allowedRoots?: readonly string[];
}

/**
 * Kinds that write a workspace's dataset, embeddings or checkpoints: at most one of them runs per
 * workspace at a time (a scan under a training run would change its data mid-epoch). Readers
 * (export, search, recommend) run beside them.
 */
const WRITERS: ReadonlySet<JobKind> = new Set([
  'demo',
  'scan',
  'split',
  'crops',
  'embed',
  'import-embeddings',
  'train',
  'evaluate',
  'centrality',
  'sweep',
  'catalog-import',
]);

/**
 * Reader jobs (not in WRITERS) that may run at once in one session, all kinds together. [Note: Job
 * threads] Each job runs on a thread of its own with its own V8 heap, native libraries (ONNX Runtime,
 * sharp) and workspace handles, some 2-10 MB apiece before it does any work, and a UMAP map or a
 * tuning study runs for seconds to minutes: a client that starts them faster than they finish (a
 * script, a fuzzer, a UI clicked repeatedly) grew the browser-mode server's memory without bound
 * (hundreds of MB in 20,000 requests). Past this many, a start is refused as busy (409) until one ends.
 */
export const MAX_RUNNING_READER_JOBS = 4;

/**
 * Reader kinds whose identical request is answered by the job already computing it: a second
 * embedding map of the same method for the same workspace gets the running job, not a new thread.
 */
const COALESCED: ReadonlySet<JobKind> = new Set(['map']);

export class JobConflictError extends Error {
  override name = 'JobConflictError';
}

export class NoWorkspaceError extends Error {
  override name = 'NoWorkspaceError';
}

export class ApiSession {
  readonly jobs: JobHost;
  private wb: Workbench | null = null;
  private synthetic = false;
  private preparing: string | null = null;
  private readonly listeners = new Set<ApiEventListener>();
  private readonly unsubscribeJobs: () => void;
  /** Running coalesced jobs by kind, workspace and input ([Note: Job threads]); removed when they end. */
  private readonly coalesced = new Map<string, string>();
  /** Null when every path is allowed (the desktop app). */
  readonly pathRoots: PathRoots | null;

  constructor(readonly options: ApiSessionOptions) {
    this.jobs = options.jobs ?? new JobHost({ inline: runJobSpec, processKinds: CHILD_PROCESS_KINDS });
    this.pathRoots = options.allowedRoots ? new PathRoots([options.dataDir, ...options.allowedRoots]) : null;
    this.unsubscribeJobs = this.jobs.onEvent((e) => this.forwardJobEvent(e));
  }

  get workspace(): string | null {
    return this.wb?.workspace.root ?? null;
  }

  info(): AppInfo {
    return {
      name: this.options.appName,
      version: this.options.version,
      platform: process.platform,
      workspace: this.workspace,
      synthetic: this.synthetic,
      mode: this.options.mode,
      canPickFolder: this.options.pickFolder !== undefined,
      preparing: this.preparing,
    };
  }

  /** The open workspace's Workbench (main thread; quick reads only — long work goes to a job). */
  workbench(): Workbench {
    if (!this.wb) {
      throw new NoWorkspaceError(
        this.preparing
          ? `No workspace is open yet: ${this.preparing}`
          : 'No workspace is open: open a folder (workspace.open) or the demo (demo.open) first',
      );
    }
    return this.wb;
  }

  /**
   * `path` when a caller may name it (inside an allowed root, or any path in the desktop app), else a
   * PathNotAllowedError naming `field`, the path and the roots.
   */
  checkPath(path: string, field: string): string {
    return this.pathRoots ? this.pathRoots.check(path, field) : path;
  }

  /** Opens `path` as the workspace (closing the previous one); emits workspace.changed. */
  openWorkspace(path: string, opts: { create?: boolean; reason?: string } = {}): AppInfo {
    const dir = resolve(path);
    if (!opts.create && !existsSync(join(dir, 'workspace.db'))) {
      throw new WorkspaceError(
        `No workspace at ${dir}: ${join(dir, 'workspace.db')} does not exist. Open an existing workspace folder, or ask to create one (create: true) and scan a dataset into it.`,
      );
    }
    const next = Workbench.open(dir, { create: opts.create ?? false });
    // A workspace opened once stays reachable for the rest of the session ([Note: Path roots]).
    this.pathRoots?.add(dir);
    this.wb?.close();
    this.wb = next;
    this.preparing = null;
    this.refreshSynthetic();
    this.emit('workspace.changed', {
      workspace: this.workspace,
      synthetic: this.synthetic,
      reason: opts.reason ?? 'opened',
    });
    return this.info();
  }

  /** Marks the app busy before a workspace exists (e.g. the first start building the demo). */
  setPreparing(message: string | null): void {
    this.preparing = message;
  }

  async pickFolder(purpose: 'workspace' | 'dataset'): Promise<string | null> {
    if (!this.options.pickFolder) {
      throw Object.assign(
        new Error(
          'The folder dialog exists only in the desktop app; in the browser, type the folder path (workspace.open).',
        ),
        { name: 'NotAvailableError' },
      );
    }
    return this.options.pickFolder(purpose);
  }

  /**
   * Starts a job on the open workspace (or on none, for `needsWorkspace: false`). Refuses a second
   * writer on the same workspace, naming the one that runs.
   */
  startJob(
    kind: JobKind,
    input: unknown,
    opts: {
      needsWorkspace?: boolean;
      workspace?: string | null;
      onDone?: (result: unknown) => void;
      onFailed?: (error: Error) => void;
    } = {},
  ): JobRecord {
    const workspace =
      opts.workspace !== undefined
        ? opts.workspace
        : opts.needsWorkspace === false
          ? this.workspace
          : this.workbench().workspace.root;
    if (kind === 'demo') {
      // Two demo jobs would write the same folders of the data folder.
      const busy = this.jobs.running('demo')[0];
      if (busy) throw new JobConflictError(`A demo job (${busy.job}) is already running; wait for it.`);
    }
    if (WRITERS.has(kind) && workspace) {
      const busy = this.jobs
        .running()
        .find((r) => r.workspace === workspace && WRITERS.has(r.kind as JobKind));
      if (busy) {
        throw new JobConflictError(
          `A ${busy.kind} job (${busy.job}) is still running on this workspace; wait for it or stop it before starting ${kind}.`,
        );
      }
    }
    let key: string | null = null;
    if (!WRITERS.has(kind)) {
      if (COALESCED.has(kind)) {
        key = JSON.stringify([kind, workspace, input]);
        const same = this.coalesced.get(key);
        const running = same ? this.jobs.running().find((r) => r.job === same) : undefined;
        if (running) return running;
      }
      const readers = this.jobs.running().filter((r) => !WRITERS.has(r.kind as JobKind));
      if (readers.length >= MAX_RUNNING_READER_JOBS) {
        throw new JobConflictError(
          `${readers.length} jobs (${readers.map((r) => `${r.kind} ${r.job}`).join(', ')}) are already running; wait for one to finish or stop one before starting ${kind}.`,
        );
      }
    }
    const record = this.jobs.start({ kind, workspace, input });
    if (key !== null) {
      const k = key;
      this.coalesced.set(k, record.job);
      const forget = () => {
        if (this.coalesced.get(k) === record.job) this.coalesced.delete(k);
      };
      this.jobs.wait(record.job).then(forget, forget);
    }
    if (opts.onDone || opts.onFailed) {
      const { onDone, onFailed } = opts;
      this.jobs.wait(record.job).then(
        (result) => {
          try {
            onDone?.(result);
          } catch (e) {
            onFailed?.(e as Error);
          }
        },
        (e: unknown) => onFailed?.(e as Error),
      );
    }
    return record;
  }

  /** Runs a job off the main thread and resolves with its result (for methods that answer directly). */
  runJob(kind: JobKind, input: unknown): Promise<unknown> {
    return this.jobs.wait(this.startJob(kind, input).job);
  }

  /** How many event subscribers are attached (windows, WebSockets); for tests and diagnostics. */
  get subscribers(): number {
    return this.listeners.size;
  }

  onEvent(listener: ApiEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit<K extends ApiEvent>(event: K, payload: ApiEventPayload<K>): void {
    for (const listener of this.listeners) {
      try {
        listener(event, payload);
      } catch {
        // One broken subscriber (a closed socket, a destroyed window) must not starve the others.
      }
    }
  }

  /** Re-reads whether the open workspace is synthetic (after a scan); emits workspace.changed. */
  workspaceUpdated(reason: string): void {
    if (!this.wb) return;
    this.refreshSynthetic();
    this.emit('workspace.changed', { workspace: this.workspace, synthetic: this.synthetic, reason });
  }

  async close(): Promise<void> {
    await this.jobs.close();
    this.unsubscribeJobs();
    // Waits for the recommendation and search ONNX sessions to be released before the process ends.
    await this.wb?.closeAsync();
    this.wb = null;
    this.listeners.clear();
  }

  private refreshSynthetic(): void {
    try {
      this.synthetic = this.wb?.summary().synthetic ?? false;
    } catch {
      this.synthetic = false;
    }
  }

  private forwardJobEvent(e: JobEvent): void {
    const kind = e.record.kind as JobKind;
    const job = e.record.job;
    switch (e.type) {
      case 'started':
        this.emit('job.started', { job, kind, workspace: e.record.workspace, startedAt: e.record.startedAt });
        break;
      case 'progress':
        this.emit('job.progress', { ...e.progress, kind });
        break;
      case 'done':
        this.emit('job.done', { job, kind, finishedAt: e.record.finishedAt ?? '', result: e.result });
        break;
      case 'failed':
        this.emit('job.failed', {
          job,
          kind,
          finishedAt: e.record.finishedAt ?? '',
          cancelled: e.cancelled,
          error: e.error,
        });
        break;
    }
  }
}
