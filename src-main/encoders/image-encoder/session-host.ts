/**
 * Where an ONNX Runtime session lives: on a worker thread of its own (the default), or on the calling
 * thread.
 *
 * Why a worker: onnxruntime-node runs a batch synchronously on the thread that calls `run` (inside a
 * setImmediate). On the calling thread that blocks the event loop for the whole batch: nothing else of
 * the embedding pipeline (sharp callbacks, crop bookkeeping, SQLite writes, progress) can happen
 * meanwhile, and in the desktop app or the server every other request would wait too. On its own
 * thread the session computes while the calling thread prepares the next batch and stores the last.
 *
 * The worker is a short CommonJS script passed as a string (`eval: true`) rather than a file: it then
 * works the same from the TypeScript sources (tests), from the esbuild bundle and from Electron,
 * without a separate bundle entry. It loads onnxruntime-node from the path the calling thread resolved.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import ort from 'onnxruntime-node';

export type SessionThread = 'worker' | 'main';

/** A tensor as plain data, the form that crosses between threads. */
export interface RawTensor {
  type: 'float32' | 'float16' | 'int64' | 'int32';
  data: Float32Array | Uint16Array | BigInt64Array | Int32Array;
  dims: readonly number[];
}

export interface SessionHost {
  readonly thread: SessionThread;
  readonly inputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  /** Runs the session and returns a copy of `output` that the caller owns. */
  run(feeds: Record<string, RawTensor>, output: string): Promise<RawTensor>;
  release(): Promise<void>;
}

export class SessionHostError extends Error {
  override name = 'SessionHostError';
}

export function createSessionHost(
  file: string,
  options: ort.InferenceSession.SessionOptions,
  thread: SessionThread = 'worker',
): Promise<SessionHost> {
  return thread === 'main' ? mainThreadHost(file, options) : workerHost(file, options);
}

async function mainThreadHost(
  file: string,
  options: ort.InferenceSession.SessionOptions,
): Promise<SessionHost> {
  const session = await ort.InferenceSession.create(file, options);
  return {
    thread: 'main',
    inputNames: session.inputNames,
    inputMetadata: session.inputMetadata,
    outputMetadata: session.outputMetadata,
    async run(feeds, output) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) {
        tensors[k] = new ort.Tensor(v.type, v.data as Float32Array, v.dims);
      }
      const result = await session.run(tensors, [output]);
      const t = result[output];
      if (!t) throw new SessionHostError(`${file}: the run returned no ${output}`);
      const copy: RawTensor = {
        type: t.type as RawTensor['type'],
        data: (t.data as Float32Array).slice(),
        dims: [...t.dims],
      };
      for (const d of Object.values(result)) d.dispose();
      return copy;
    },
    release: () => session.release(),
  };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
if (workerData.quiet) ort.env.logLevel = 'fatal';
const text = (e) => (e && e.message) || String(e);
ort.InferenceSession.create(workerData.file, workerData.options).then(
  (session) => {
    parentPort.postMessage({
      type: 'ready',
      inputNames: session.inputNames,
      inputMetadata: session.inputMetadata,
      outputMetadata: session.outputMetadata,
    });
    parentPort.on('message', async (m) => {
      if (m.type === 'release') {
        await session.release();
        parentPort.postMessage({ type: 'released' });
        return;
      }
      try {
        const feeds = {};
        for (const [k, v] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(v.type, v.data, v.dims);
        const result = await session.run(feeds, [m.output]);
        const t = result[m.output];
        if (!t) throw new Error('the run returned no ' + m.output);
        const data = t.data.slice();
        for (const d of Object.values(result)) d.dispose();
        parentPort.postMessage({ type: 'result', id: m.id, tensor: { type: t.type, data, dims: t.dims } }, [data.buffer]);
      } catch (e) {
        parentPort.postMessage({ type: 'result', id: m.id, error: text(e) });
      }
    });
  },
  (e) => parentPort.postMessage({ type: 'failed', error: text(e) }),
);
`;

type WorkerMessage =
  | {
      type: 'ready';
      inputNames: string[];
      inputMetadata: ort.InferenceSession.ValueMetadata[];
      outputMetadata: ort.InferenceSession.ValueMetadata[];
    }
  | { type: 'failed'; error: string }
  | { type: 'result'; id: number; tensor?: RawTensor; error?: string }
  | { type: 'released' };

function workerHost(file: string, options: ort.InferenceSession.SessionOptions): Promise<SessionHost> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath, file, options, quiet: !process.env.KFASHION_DEBUG },
  });
  const pending = new Map<number, { resolve: (t: RawTensor) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let released: (() => void) | null = null;
  let dead: Error | null = null;
  const failAll = (e: Error) => {
    dead ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  return new Promise<SessionHost>((resolve, reject) => {
    worker.on('error', (e) => {
      failAll(e);
      reject(e);
    });
    worker.on('exit', (code) => {
      const e = new SessionHostError(`${file}: the ONNX Runtime worker thread exited (code ${code})`);
      failAll(e);
      reject(e);
      released?.();
    });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'failed') {
        void worker.terminate();
        reject(new SessionHostError(m.error));
      } else if (m.type === 'released') {
        void worker.terminate();
      } else if (m.type === 'result') {
        const p = pending.get(m.id);
        if (!p) return;
        pending.delete(m.id);
        if (m.tensor) p.resolve(m.tensor);
        else p.reject(new SessionHostError(`${file}: ${m.error ?? 'the run failed'}`));
      } else {
        resolve({
          thread: 'worker',
          inputNames: m.inputNames,
          inputMetadata: m.inputMetadata,
          outputMetadata: m.outputMetadata,
          run(feeds, output) {
            if (dead) return Promise.reject(dead);
            const id = nextId++;
            // Inputs are copied, not transferred: callers may reuse their arrays (a benchmark does).
            const plain: Record<string, RawTensor> = {};
            for (const [k, v] of Object.entries(feeds)) plain[k] = { ...v, dims: [...v.dims] };
            return new Promise<RawTensor>((res, rej) => {
              pending.set(id, { resolve: res, reject: rej });
              worker.postMessage({ type: 'run', id, feeds: plain, output });
            });
          },
          release() {
            if (dead) return Promise.resolve();
            return new Promise<void>((res) => {
              released = res;
              worker.postMessage({ type: 'release' });
            });
          },
        });
      }
    });
  });
}
