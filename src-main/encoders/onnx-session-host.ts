/**
 * Where an ONNX Runtime session lives: on a worker thread of its own (the default), or on the calling
 * thread. The one ONNX Runtime host of the product: the image encoder (embedding, and the query image
 * of an image search) and the exact vector index (its top-k search graph over the blocked gallery)
 * both open their sessions here.
 *
 * Why a worker: onnxruntime-node runs a batch synchronously on the thread that calls `run` (inside a
 * setImmediate). On the calling thread that blocks the event loop for the whole batch: nothing else of
 * the embedding pipeline (sharp callbacks, crop bookkeeping, SQLite writes, progress) can happen
 * meanwhile, and in the desktop app or the server every other request would wait too. On its own
 * thread the session computes while the calling thread prepares the next batch and stores the last.
 * One thread per session, so an embedding job's batches never queue a search behind them.
 *
 * The worker is the bundled entry onnx-session-worker.js (onnx-session-worker.ts), called through the
 * worker protocol (workers/protocol.ts). Where no bundle exists (nothing built), the session runs on
 * the calling thread and `thread` says 'main'.
 */
import { Worker } from 'node:worker_threads';
import type ort from 'onnxruntime-node';
import { connect, type Remote, type Tasks, transfer, workerEntry } from '../workers/protocol.ts';
import { type OnnxSessionTasks, type RawTensor, sessionTasks } from './onnx-session-tasks.ts';

// The wire type lives with the worker's tasks (which this file starts), so the two do not import each other.
export type { RawTensor } from './onnx-session-tasks.ts';

export type SessionThread = 'worker' | 'main';

/** A tensor as plain data, the form that crosses between threads. */

export interface SessionHost<X extends Tasks = OnnxSessionTasks> {
  readonly thread: SessionThread;
  /**
   * The worker's tasks, for an entry that serves its own beside the session's (the vector index's
   * search worker); null when the session runs on the calling thread.
   */
  readonly tasks: Remote<X> | null;
  readonly inputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** Runs the session and returns a copy of `output` that the caller owns. */
  run(feeds: Record<string, RawTensor>, output: string): Promise<RawTensor>;
  /** Runs the session and returns copies of `outputs` that the caller owns. */
  runMany(feeds: Record<string, RawTensor>, outputs: readonly string[]): Promise<Record<string, RawTensor>>;
  release(): Promise<void>;
}

export interface SessionHostOptions<X extends Tasks = OnnxSessionTasks> {
  /**
   * Inputs fixed for the session's life, fed to every run (the vector index's blocked gallery). On a
   * worker their buffers are moved there, not copied: the caller must not use them afterwards.
   */
  constants?: Record<string, RawTensor>;
  /** Load onnxruntime-node from this path instead (tests of a runtime that fails to load). */
  ortPath?: string;
  /** An idle worker does not keep the process alive (a CLI search ends when its work ends). */
  unrefWhenIdle?: boolean;
  /** Names the thread in errors ("the search worker thread exited …"). */
  name?: string;
  /**
   * The bundled worker entry to start (default 'onnx-session-worker'): one that serves the session's
   * tasks (onnx-session-tasks.ts) and may add its own, reached through `SessionHost.tasks`.
   */
  entry?: string;
  /**
   * On a worker only: called with the worker's tasks before the session opens, e.g. to build a
   * constant on the worker itself (the search worker lays out the gallery there, see
   * onnx-session-tasks.ts `stage`). Its failure ends the worker and fails the host with its message.
   */
  prepare?: (tasks: Remote<X>) => Promise<void>;
}

export class SessionHostError extends Error {
  override name = 'SessionHostError';
}

export function createSessionHost<X extends Tasks = OnnxSessionTasks>(
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  thread: SessionThread = 'worker',
  host: SessionHostOptions<X> = {},
): Promise<SessionHost<X>> {
  const script = thread === 'worker' ? workerEntry(host.entry ?? 'onnx-session-worker') : null;
  return script ? workerHost<X>(script, model, options, host) : mainThreadHost<X>(model, options, host);
}

const label = (model: string | Uint8Array) => (typeof model === 'string' ? model : 'ONNX graph');

/**
 * The session on the calling thread: the worker's own tasks (onnx-session-tasks.ts), called directly,
 * so both placements open, feed and copy out the same way and fail with the same errors.
 */
async function mainThreadHost<X extends Tasks>(
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  host: SessionHostOptions<X>,
): Promise<SessionHost<X>> {
  const { tasks } = sessionTasks();
  const info = await tasks.open({
    model,
    options,
    ...(host.constants ? { constants: host.constants } : {}),
    ...(host.ortPath ? { ortPath: host.ortPath } : {}),
    // On the calling thread ORT's log level is the process's: left as it is.
    quiet: false,
  });
  const runMany = async (feeds: Record<string, RawTensor>, outputs: readonly string[]) => {
    try {
      return await tasks.run(feeds, [...outputs]);
    } catch (e) {
      throw new SessionHostError(`${label(model)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return {
    thread: 'main',
    tasks: null,
    inputNames: info.inputNames,
    inputMetadata: info.inputMetadata,
    outputMetadata: info.outputMetadata,
    runMany,
    run: async (feeds, output) => (await runMany(feeds, [output]))[output]!,
    release: () => tasks.release(),
  };
}

async function workerHost<X extends Tasks>(
  script: string,
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
  host: SessionHostOptions<X>,
): Promise<SessionHost<X>> {
  const conn = connect<OnnxSessionTasks>(new Worker(script), {
    name: host.name ?? 'ONNX Runtime worker thread',
    unrefWhenIdle: host.unrefWhenIdle ?? false,
  });
  const constants = host.constants ?? {};
  const moved = Object.values(constants).map((t) => t.data.buffer as ArrayBuffer);
  let info: Awaited<ReturnType<OnnxSessionTasks['open']>>;
  try {
    await host.prepare?.(conn.call as unknown as Remote<X>);
    info = await conn.call.open(
      transfer(
        {
          model,
          options,
          constants,
          ...(host.ortPath ? { ortPath: host.ortPath } : {}),
          quiet: !process.env.KFASHION_DEBUG,
        },
        moved,
      ),
    );
  } catch (e) {
    void conn.terminate();
    throw new SessionHostError(e instanceof Error ? e.message : String(e));
  }
  let released = false;
  const runMany = async (feeds: Record<string, RawTensor>, outputs: readonly string[]) => {
    try {
      // Inputs are copied, not transferred: callers may reuse their arrays (a benchmark does).
      return await conn.call.run(feeds, [...outputs]);
    } catch (e) {
      throw new SessionHostError(`${label(model)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  return {
    thread: 'worker',
    // The entry's own tasks travel over the same connection; the caller named the entry and its type.
    tasks: conn.call as unknown as Remote<X>,
    inputNames: info.inputNames,
    inputMetadata: info.inputMetadata,
    outputMetadata: info.outputMetadata,
    runMany,
    run: async (feeds, output) => (await runMany(feeds, [output]))[output]!,
    async release() {
      if (released) return;
      released = true;
      await conn.call.release().catch(() => {});
      await conn.terminate();
    },
  };
}
