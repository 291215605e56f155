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
 * [Note: the helper's entry] The helper is the bundled entry shard-helper.js (shard-helper.ts). Its
 * setup and control (start, bind, forget, memory) are typed calls of the worker protocol
 * (workers/protocol.ts); a step's work is posted as plain messages and finished through Atomics on
 * the shared control block (wait() below), so the hot path costs what it did. Where no bundle exists
 * (nothing built) the helper does not start and steps run on one thread, bit-identically.
 */
import { Worker } from 'node:worker_threads';
import { type Connection, connect, workerEntry } from '../../workers/protocol.ts';
import type { ShardData, ShardIo } from './hidden-shard.ts';
import type { AdamJob, ShardHelperTasks } from './shard-helper.ts';

let shared: Promise<ShardWorker | { error: string }> | null = null;
let ready: ShardWorker | null = null;
let startError: string | null = null;
/** The helper's thread while it starts, and whether anyone waits for that (whenStarted). */
let starting: Worker | null = null;
let waited = false;

export class ShardWorker {
  private seq = 0;

  private readonly worker: Worker;

  private constructor(
    private readonly conn: Connection<ShardHelperTasks>,
    private readonly control: Int32Array,
    private readonly errorText: Uint8Array,
  ) {
    this.worker = conn.worker;
  }

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
    // Someone waits for the start: the starting thread keeps the process alive until it answers
    // (it is unref'd otherwise, and an awaited promise alone does not keep Node running).
    waited = true;
    starting?.ref();
    const w = await shared!;
    return w instanceof ShardWorker ? w : null;
  }

  static startError(): string | null {
    return startError;
  }

  private static async start(): Promise<ShardWorker | { error: string }> {
    const script = workerEntry('shard-helper');
    if (!script)
      return { error: 'no shard-helper.js bundle beside the running code (npm run build:cli builds it)' };
    let conn: Connection<ShardHelperTasks> | null = null;
    try {
      const control = new SharedArrayBuffer(8);
      const errorText = new SharedArrayBuffer(2048);
      conn = connect<ShardHelperTasks>(new Worker(script), { name: 'JSON encoder helper thread' });
      // Never keeps the process alive (a CLI run ends when its work ends), unless someone waits for
      // its start (whenStarted).
      starting = conn.worker;
      if (!waited) conn.worker.unref();
      await conn.call.start(control, errorText).finally(() => {
        starting = null;
        conn?.worker.unref();
      });
      return new ShardWorker(conn, new Int32Array(control), new Uint8Array(errorText));
    } catch (e) {
      void conn?.terminate();
      return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }

  /** Gives the helper a model's shard (views of the model's shared memory) and its kernels. */
  bind(id: number, module: object, memory: object, shard: ShardData): void {
    // Not awaited: the steps that follow are synchronous; a failed bind is reported by their wait().
    this.conn.call.bind(id, module, memory, shard).catch(() => {});
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
    this.conn.call.forget(id).catch(() => {});
  }

  /** The helper's tfjs memory and bound models: flat across steps and models (tests, leaks). */
  memory(): Promise<{ numTensors: number; numBytes: number; models: number }> {
    return this.conn.call.memory();
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
