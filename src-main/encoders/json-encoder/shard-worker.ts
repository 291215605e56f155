/**
 * [Note: the second core] tfjs-wasm runs single-threaded in Node (tfjs disables its threaded build
 * there, and its matMul passes no thread pool to XNNPACK even in that build). This helper thread
 * computes shard 1 of the hidden layer (hidden-shard.ts, [Note: the hidden layer in two shards]) while
 * the main thread computes shard 0:
 *   forward   shard 1's hidden units and its partial output W₂[:, rows]·Dᵀ;
 *   backward  shard 1's gradients (dW₁ rows, db₁ rows, dW₂ rows, its part of dE);
 *   update    AdamW on shard 1's parameters with the SIMD kernel, and their transposed mirrors.
 * Parameters, moments, mirrors and gradients live in the model's shared WebAssembly.Memory
 * (wasm-kernels.ts), the batch's inputs and outputs in SharedArrayBuffers: nothing is copied back.
 * Steps are synchronous by contract, so the main thread waits with Atomics.wait.
 *
 * [Note: the helper's source] The worker starts from source text (`eval: true`) made of
 * hidden-shard.ts's and adamw.ts's functions, because the product runs both from TypeScript sources
 * (tests) and from an esbuild bundle, and a worker file would need a build entry of its own. It
 * imports tfjs by the absolute path resolved here.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { wasmBinaryFolder } from '../tf-backend.ts';
import { transposeInto } from './adamw.ts';
import {
  readInto,
  SHARD_WORKER_FUNCTIONS,
  type ShardData,
  type ShardIo,
  shardBackward,
  shardForward,
} from './hidden-shard.ts';

const require = createRequire(import.meta.url);

/** One AdamW update for the helper: the kernel's arguments, then the mirror to refresh (if any). */
export interface AdamJob {
  args: number[];
  mirror: { src: Float32Array; dst: Float32Array; rows: number; cols: number } | null;
}

function workerSource(): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
${[...SHARD_WORKER_FUNCTIONS, transposeInto].map((f) => f.toString()).join('\n')}
const forward = ${shardForward.name};
const backward = ${shardBackward.name};
const transposeJs = ${transposeInto.name};
const readIntoJs = ${readInto.name};
const control = new Int32Array(workerData.control);
const errorText = new Uint8Array(workerData.errorText);
// Per model: its kernels (instantiated on its memory), its shard, and the tensors kept between
// the forward and the backward pass.
const models = new Map();
let tf;
function done(seq) {
  Atomics.store(control, 0, seq);
  Atomics.notify(control, 0);
}
function dropKept(m) {
  if (!m.kept) return;
  for (const t of [m.kept.hT, m.kept.dT, m.kept.maskT, m.kept.dAct]) if (t) t.dispose();
  m.kept = null;
}
parentPort.on('message', (msg) => {
  try {
    if (msg.type === 'bind') {
      const kernels = new WebAssembly.Instance(msg.module, { env: { mem: msg.memory } }).exports;
      models.set(msg.id, { kernels, shard: msg.shard, kept: null });
    } else if (msg.type === 'forget') {
      // A disposed model's kernels hold its whole wasm memory: let both go.
      const m = models.get(msg.id);
      if (m) dropKept(m);
      models.delete(msg.id);
    } else if (msg.type === 'mm') {
      // Rows of a product the main thread splits with this thread (the output head's S and dZᵀ).
      const { a, b, m, k, n, out } = msg;
      tf.tidy(() => readIntoJs(tf, tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])), out));
      done(msg.seq);
    } else if (msg.type === 'memory') {
      parentPort.postMessage({ type: 'memory', ...tf.memory(), models: models.size });
    } else {
      const m = models.get(msg.id);
      if (!m) throw new Error('no model ' + msg.id + ' bound to the helper thread');
      if (msg.type === 'fwd') {
        dropKept(m); // a step that failed between its passes leaves nothing behind
        m.kept = forward(tf, m.shard, msg.io, true);
      } else if (msg.type === 'bwd') {
        const kept = m.kept;
        m.kept = null;
        backward(tf, m.shard, msg.io, kept);
      } else if (msg.type === 'adam') {
        for (const job of msg.jobs) {
          m.kernels.adamw(...job.args);
          const t = job.mirror;
          if (!t) continue;
          if (t.rows % 4 === 0 && t.cols % 4 === 0 && t.src.byteOffset % 16 === 0 && t.dst.byteOffset % 16 === 0)
            m.kernels.transpose(t.src.byteOffset, t.dst.byteOffset, t.rows, t.cols);
          else transposeJs(t.src, t.rows, t.cols, t.dst);
        }
      }
      done(msg.seq);
    }
  } catch (e) {
    const text = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, errorText.length);
    errorText.fill(0);
    errorText.set(text);
    Atomics.store(control, 1, 1);
    if (msg.seq) done(msg.seq);
  }
});
(async () => {
  tf = await import(workerData.tfUrl);
  const wasm = await import(workerData.wasmUrl);
  wasm.setWasmPaths(workerData.wasmDir);
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend did not start in the helper thread');
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;
}

let shared: Promise<ShardWorker | { error: string }> | null = null;
let ready: ShardWorker | null = null;
let startError: string | null = null;

export class ShardWorker {
  private seq = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    private readonly errorText: Uint8Array,
  ) {}

  /**
   * Starts the process-wide helper in the background (one per process, shared by every model: steps
   * run one at a time). Until it is ready, `ready()` returns null and steps run on one thread with
   * bit-identical results, so a caller never waits for tfjs to load a second time.
   */
  static warmUp(): void {
    shared ??= ShardWorker.start().then((w) => {
      if (w instanceof ShardWorker) ready = w;
      else startError = w.error;
      return w;
    });
  }

  static ready(): ShardWorker | null {
    return ready;
  }

  /** Resolves once the helper has started or failed (for training runs, benchmarks and tests). */
  static async whenStarted(): Promise<ShardWorker | null> {
    ShardWorker.warmUp();
    const w = await shared!;
    return w instanceof ShardWorker ? w : null;
  }

  static startError(): string | null {
    return startError;
  }

  private static async start(): Promise<ShardWorker | { error: string }> {
    let worker: Worker | null = null;
    try {
      const control = new SharedArrayBuffer(8);
      const errorText = new SharedArrayBuffer(2048);
      worker = new Worker(workerSource(), {
        eval: true,
        workerData: {
          tfUrl: pathToFileURL(require.resolve('@tensorflow/tfjs')).href,
          wasmUrl: pathToFileURL(require.resolve('@tensorflow/tfjs-backend-wasm')).href,
          wasmDir: wasmBinaryFolder(),
          control,
          errorText,
        },
      });
      const w = worker;
      // Never keeps the process alive (a CLI run ends when its work ends).
      w.unref();
      await new Promise<void>((resolve, reject) => {
        w.once('message', (m: { ready?: boolean; error?: string }) =>
          m.ready ? resolve() : reject(new Error(m.error ?? 'the helper thread did not start')),
        );
        w.once('error', reject);
      });
      return new ShardWorker(w, new Int32Array(control), new Uint8Array(errorText));
    } catch (e) {
      void worker?.terminate();
      return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }

  /** Gives the helper a model's shard (views of the model's shared memory) and its kernels. */
  bind(id: number, module: object, memory: object, shard: ShardData): void {
    this.worker.postMessage({ type: 'bind', id, module, memory, shard });
  }

  /** Starts shard 1's forward pass (io: views of shared buffers). Finish with `wait()`. */
  startForward(id: number, io: ShardIo): void {
    this.worker.postMessage({ type: 'fwd', id, io, seq: ++this.seq });
  }

  /** Starts shard 1's backward pass (io: views of shared buffers). Finish with `wait()`. */
  startBackward(id: number, io: ShardIo): void {
    this.worker.postMessage({ type: 'bwd', id, io, seq: ++this.seq });
  }

  /** Starts out [m, n] = a [m, k] · b [k, n] (views of shared buffers). Finish with `wait()`. */
  startProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): void {
    this.worker.postMessage({ type: 'mm', a, b, m, k, n, out, seq: ++this.seq });
  }

  /** Starts shard 1's AdamW updates and mirror refreshes. Finish with `wait()`. */
  startAdam(id: number, jobs: AdamJob[]): void {
    this.worker.postMessage({ type: 'adam', id, jobs, seq: ++this.seq });
  }

  /** Drops what the helper keeps for a disposed model (its kernels, memory and tensors). */
  forget(id: number): void {
    this.worker.postMessage({ type: 'forget', id });
  }

  /** The helper's tfjs memory and bound models: flat across steps and models (tests, leaks). */
  memory(): Promise<{ numTensors: number; numBytes: number; models: number }> {
    return new Promise((resolve) => {
      const onMessage = (m: { type?: string; numTensors: number; numBytes: number; models: number }) => {
        if (m.type !== 'memory') return;
        this.worker.off('message', onMessage);
        resolve(m);
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ type: 'memory' });
    });
  }

  /** Blocks until the helper has finished the last job posted; rethrows its error. */
  wait(): void {
    const want = this.seq;
    // Atomics.wait is allowed on Node's main thread, and the step API is synchronous by contract.
    while (Atomics.load(this.control, 0) < want) {
      const now = Atomics.load(this.control, 0);
      if (Atomics.wait(this.control, 0, now, 30_000) === 'timed-out' && Atomics.load(this.control, 0) < want)
        throw new Error('JSON encoder helper thread did not answer within 30 s');
    }
    if (Atomics.load(this.control, 1) !== 0) {
      Atomics.store(this.control, 1, 0);
      const text = new TextDecoder().decode(this.errorText.slice()).replace(/\0+$/, '');
      throw new Error(`JSON encoder helper thread failed: ${text || 'unknown error'}`);
    }
  }
}
