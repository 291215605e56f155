/**
 * Runs jobs off the main thread: one worker thread per job, streaming JobProgress, cancellable, and
 * remembering every job of the session (status, latest progress, result or error).
 *
 * [Note: Where jobs run] (run-job.ts) is why: the desktop app's main process and the HTTP server must
 * keep answering while a scan parses, an encoder embeds, or tfjs-wasm trains (a training step holds
 * its thread for tens of milliseconds, an epoch's validation for seconds). The job functions take
 * plain options plus a signal and a progress callback and return plain data, so the worker just opens
 * the workspace itself and calls them; SQLite in WAL mode lets this thread keep reading meanwhile.
 *
 * What a job is (kind → function) is not known here: the worker script (src-main/services/
 * job-worker.ts, bundled as job-worker.js beside the running bundle) and the inline runner come from
 * the services layer, which keeps the arrows pointing down.
 *
 * Cancel: the worker's AbortController is aborted; the job stores what it finished and throws a
 * CancelledError (the job functions guarantee this), which arrives here as a failure with
 * `cancelled: true`. A crash (the worker dies, or throws outside the job) fails the job with a message
 * saying so; what the job committed before it is in SQLite and on disk already.
 *
 * [Note: Jobs in a child process]
 * The kinds named in `processKinds` (the heavy ones: training, tuning, embedding; see job-table.ts)
 * run in a forked child process instead of a thread: same entry file (job-worker.js), same typed
 * calls ([Note: worker in a child process] in workers/protocol.ts). A thread's native memory (ONNX
 * Runtime's and tfjs's buffers, SQLite's page cache) is freed into glibc's arenas when it ends and
 * stays resident there; a process's exit gives all of it back, so a long-running server does not
 * keep what its finished jobs used. The price is the child's start (a fresh V8 loading the bundle:
 * tens of milliseconds), small beside the work of these kinds. A child that ignores a cancel is
 * killed after `cancelGraceMs`; a child that dies (kill -9) fails its job as a crash, and the
 * workspace lock it took (naming its pid) is freed here (it would be stale anyway: its pid is gone).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { WireError } from '../../src-shared/api-errors.ts';
import { CancelledError, type JobProgress } from '../../src-shared/jobs.ts';
import { releaseLockOfProcess, releaseLockOfThread } from '../store/workspace-lock.ts';
import {
  type Connection,
  childEndpoint,
  connect,
  type Endpoint,
  THREAD_DIED,
  workerEntry,
} from '../workers/protocol.ts';
import type { JobControls } from './run-job.ts';

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobSpec<K extends string = string> {
  kind: K;
  /** Absolute workspace path the job opens, or null. */
  workspace: string | null;
  /** Plain, structured-clonable input of the job function. */
  input: unknown;
}

export interface JobRecord<K extends string = string> {
  job: string;
  kind: K;
  workspace: string | null;
  status: JobStatus;
  startedAt: string;
  finishedAt: string | null;
  progress: JobProgress | null;
  error: WireError | null;
  result?: unknown;
}

export type JobEvent<K extends string = string> =
  | { type: 'started'; record: JobRecord<K> }
  | { type: 'progress'; record: JobRecord<K>; progress: JobProgress }
  | { type: 'done'; record: JobRecord<K>; result: unknown }
  | { type: 'failed'; record: JobRecord<K>; error: WireError; cancelled: boolean };

/** Runs a job in this thread (tests from TypeScript sources, where no bundled worker exists). */
export type InlineRunner = (spec: JobSpec, controls: JobControls) => Promise<unknown>;

/**
 * The tasks of a job's worker thread (src-main/services/job-worker.ts defines them, through the worker
 * protocol): `run` one job spec, streaming its progress as events; `cancel` aborts its signal.
 */
export interface JobWorkerTasks {
  [task: string]: (...args: never[]) => unknown;
  run(spec: JobSpec): Promise<unknown>;
  cancel(): void;
}

export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
}

export interface JobHostOptions {
  /**
   * The worker script: default job-worker.js beside this bundle (or one folder up, when this code
   * sits in a shared chunk). null runs jobs inline through `inline` — same functions, same events,
   * but on this thread; used under the test runner and labelled so in `mode`.
   */
  workerScript?: string | null;
  inline?: InlineRunner;
  /** Finished jobs kept for job.list / job.get (default 200). */
  keepFinished?: number;
  /**
   * Job kinds run in a child process instead of a worker thread ([Note: Jobs in a child process]);
   * only where a worker script exists. Default none.
   */
  processKinds?: ReadonlySet<string>;
  /** How long a child job may take to stop after a cancel before it is killed (default 30 s). */
  cancelGraceMs?: number;
}

interface Running {
  record: JobRecord;
  cancel: () => void;
  settled: Promise<unknown>;
}

export class JobHost {
  /** 'worker' when jobs run on worker threads, 'inline' when on this thread (no bundled worker). */
  readonly mode: 'worker' | 'inline';
  private readonly script: string | null;
  private readonly inline: InlineRunner | undefined;
  private readonly keep: number;
  private readonly processKinds: ReadonlySet<string>;
  private readonly cancelGraceMs: number;
  private readonly jobs = new Map<string, Running>();
  private readonly listeners = new Set<(event: JobEvent) => void>();

  constructor(options: JobHostOptions = {}) {
    this.script = options.workerScript === undefined ? JobHost.defaultScript() : options.workerScript;
    this.inline = options.inline;
    if (!this.script && !this.inline) {
      throw new Error('JobHost: no job-worker.js was found beside the bundle and no inline runner given');
    }
    this.mode = this.script ? 'worker' : 'inline';
    this.keep = options.keepFinished ?? 200;
    this.processKinds = options.processKinds ?? new Set();
    this.cancelGraceMs = options.cancelGraceMs ?? 30_000;
  }

  /** Where a job of `kind` runs. */
  placement(kind: string): 'process' | 'thread' | 'inline' {
    if (!this.script) return 'inline';
    return this.processKinds.has(kind) ? 'process' : 'thread';
  }

  /**
   * job-worker.js beside the running bundle: dist/ for the CLI, out/main/ for the desktop app. Not
   * dist/ from the TypeScript sources: there the services run jobs inline (tests pass the bundle).
   */
  static defaultScript(): string | null {
    return workerEntry('job-worker', { fromSources: false });
  }

  /** Subscribes to every job's events; returns the unsubscribe function. */
  onEvent(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a job and returns its record at once; `wait(job)` resolves with its result. */
  start<K extends string>(spec: JobSpec<K>): JobRecord<K> {
    const record: JobRecord<K> = {
      job: `${spec.kind}-${randomUUID().slice(0, 8)}`,
      kind: spec.kind,
      workspace: spec.workspace,
      status: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      progress: null,
      error: null,
    };
    const onProgress = (p: JobProgress) => {
      // The job function's own id (run-job.ts) is replaced by the host's, the one callers know.
      const progress = { ...p, job: record.job };
      record.progress = progress;
      this.emit({ type: 'progress', record, progress });
    };
    const placement = this.placement(spec.kind);
    const run =
      placement === 'process'
        ? this.runInChild(this.script!, spec, onProgress)
        : placement === 'thread'
          ? this.runInWorker(this.script!, spec, onProgress)
          : this.runInline(spec, onProgress);
    const settled = run.promise.then(
      (result) => {
        record.status = 'done';
        record.finishedAt = new Date().toISOString();
        record.result = result;
        this.emit({ type: 'done', record, result });
        this.prune();
        return result;
      },
      (thrown: unknown) => {
        const error = toWire(thrown);
        const cancelled = error.name === 'CancelledError';
        record.status = cancelled ? 'cancelled' : 'failed';
        record.finishedAt = new Date().toISOString();
        record.error = error;
        this.emit({ type: 'failed', record, error, cancelled });
        this.prune();
        throw rebuild(error);
      },
    );
    // wait() rethrows; nobody waiting must not make an unhandled rejection.
    settled.catch(() => {});
    this.jobs.set(record.job, { record, cancel: run.cancel, settled });
    this.emit({ type: 'started', record });
    return record;
  }

  /** Starts a job and resolves with its result (rejects with its error, a CancelledError on cancel). */
  run<K extends string>(spec: JobSpec<K>): Promise<unknown> {
    return this.wait(this.start(spec).job);
  }

  wait(job: string): Promise<unknown> {
    return this.entry(job).settled;
  }

  get(job: string): JobRecord {
    return this.entry(job).record;
  }

  list(): JobRecord[] {
    return [...this.jobs.values()].map((r) => r.record);
  }

  running(kind?: string): JobRecord[] {
    return this.list().filter((r) => r.status === 'running' && (kind === undefined || r.kind === kind));
  }

  /** Asks the job to stop; false when it had already finished. */
  cancel(job: string): boolean {
    const entry = this.entry(job);
    if (entry.record.status !== 'running') return false;
    entry.cancel();
    return true;
  }

  /** Cancels every running job and waits for them to store their work and finish. */
  async close(): Promise<void> {
    const running = [...this.jobs.values()].filter((r) => r.record.status === 'running');
    for (const r of running) r.cancel();
    await Promise.allSettled(running.map((r) => r.settled));
  }

  private entry(job: string): Running {
    const entry = this.jobs.get(job);
    if (!entry) throw new JobNotFoundError(`No job "${job}" in this session`);
    return entry;
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug (e.g. a closed socket) must not stop the job or the other listeners.
      }
    }
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((r) => r.record.status !== 'running');
    for (const r of finished.slice(0, Math.max(0, finished.length - this.keep)))
      this.jobs.delete(r.record.job);
  }

  private runInline(
    spec: JobSpec,
    onProgress: (p: JobProgress) => void,
  ): { promise: Promise<unknown>; cancel: () => void } {
    const abort = new AbortController();
    const inline = this.inline!;
    // Started on the next turn, so 'started' is emitted before the job's first progress event.
    const promise = Promise.resolve().then(() => inline(spec, { signal: abort.signal, onProgress }));
    return { promise, cancel: () => abort.abort() };
  }

  private runInWorker(
    script: string,
    spec: JobSpec,
    onProgress: (p: JobProgress) => void,
  ): { promise: Promise<unknown>; cancel: () => void } {
    const worker = new Worker(script);
    // Read now: after the thread ends, worker.threadId no longer names it.
    const tid = worker.threadId;
    const conn = connect<JobWorkerTasks>(worker, { name: `${spec.kind} job's worker thread` });
    conn.onEvent((progress) => onProgress(progress as JobProgress));
    // A job thread that dies without finishing cannot release the workspace's writer lock itself.
    const promise = jobAnswer(conn, spec, () => {
      if (spec.workspace) releaseLockOfThread(spec.workspace, tid);
      return null;
    });
    return { promise, cancel: () => void conn.call.cancel().catch(() => {}) };
  }

  private runInChild(
    script: string,
    spec: JobSpec,
    onProgress: (p: JobProgress) => void,
  ): { promise: Promise<unknown>; cancel: () => void } {
    const child = fork(script, [], {
      // Structured clone, as between threads: the job's input and result keep their types.
      serialization: 'advanced',
      // The desktop app's binary is Electron; this makes the child a plain Node on the same ABI.
      env: process.versions.electron ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : process.env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pid = child.pid;
    const end = childEndpoint(child);
    const name = `${spec.kind} job's child process`;
    const conn = connect<JobWorkerTasks, typeof end>(end, { name });
    conn.onEvent((progress) => onProgress(progress as JobProgress));
    let killTimer: NodeJS.Timeout | null = null;
    let killedAfterCancel = false;
    void conn.exited.then(() => {
      if (killTimer) clearTimeout(killTimer);
    });
    // A dead child cannot release the workspace's writer lock itself.
    const promise = jobAnswer(conn, spec, () => {
      if (spec.workspace && pid !== undefined) releaseLockOfProcess(spec.workspace, pid);
      return killedAfterCancel
        ? new CancelledError(
            `The ${spec.kind} job did not stop within ${Math.round(this.cancelGraceMs / 100) / 10} s of the cancel and was ended; what it had stored before is kept`,
          )
        : null;
    });
    const cancel = () => {
      void conn.call.cancel().catch(() => {});
      if (killTimer) return;
      killTimer = setTimeout(() => {
        killedAfterCancel = true;
        end.kill();
      }, this.cancelGraceMs);
      killTimer.unref();
    };
    return { promise, cancel };
  }
}

/**
 * The job's result from its thread or child process, which is ended once it has answered: the job has
 * returned and closed its workspace, so nothing is left to finish, and ending it also ends helper
 * threads or handles a library may keep open (tfjs, ONNX Runtime) and, for a child, returns its
 * memory. A job's own error passes through. When the thread or process died instead, `died` frees what
 * the dead one held and may name the error to report (a child ended after ignoring a cancel);
 * otherwise the job failed as a crash.
 */
function jobAnswer<E extends Endpoint>(
  conn: Connection<JobWorkerTasks, E>,
  spec: JobSpec,
  died: () => Error | null,
): Promise<unknown> {
  return conn.call.run(spec).then(
    (result) => {
      void conn.terminate();
      return result;
    },
    (e: Error) => {
      if (!THREAD_DIED.has(e.name)) {
        void conn.terminate();
        throw e;
      }
      const instead = died();
      if (instead) throw instead;
      const message = e.message.replace(/^the /, 'The ').replace('before answering', 'before finishing');
      throw Object.assign(new Error(message), { name: 'JobCrashedError' });
    },
  );
}

function toWire(thrown: unknown): WireError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: thrown.name, message: thrown.message, code }
      : { name: thrown.name, message: thrown.message };
  }
  return { name: 'Error', message: String(thrown) };
}

/** An Error with the worker's name, message and code (a CancelledError stays one, for instanceof). */
function rebuild(wire: WireError): Error {
  const e = wire.name === 'CancelledError' ? new CancelledError(wire.message) : new Error(wire.message);
  e.name = wire.name;
  if (wire.code !== undefined) Object.assign(e, { code: wire.code });
  return e;
}
