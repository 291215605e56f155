/**
 * [Note: the second core] tfjs-wasm runs single-threaded in Node (tfjs disables its threaded build
 * there, and its matMul passes no thread pool to XNNPACK even in that build). This helper thread takes
 * the output layer's share of a training step so that both cores work:
 *   forward  rows [256, 512) of Yᵀ = W₂·Dᵀ, while the main thread computes rows [0, 256);
 *   phase 1  rows [hidden/2, hidden) of dDᵀ = W₂ᵀ·dYᵀ (the main thread computes the other half), then
 *            dW₂ᵀ = Dᵀ·dY and its sum of squares (for the global norm) while the main thread computes
 *            layer 1's gradients;
 *   phase 2  AdamW on W₂ (and the transposed mirror the backward pass reads), while the main thread
 *            updates every other parameter.
 * W₂, its moments and its mirror live in SharedArrayBuffers, so nothing is copied back. Same code
 * (adamw.ts) on the same data in the same order: results are bit-identical to the one-thread path.
 *
 * The worker starts from source text (`eval: true`) made of adamw.ts's functions, because the product
 * runs both from TypeScript sources (tests) and from an esbuild bundle, and a worker file would need a
 * build entry of its own. It imports tfjs by the absolute path resolved here.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { wasmBinaryFolder } from '../tf-backend.ts';
import { ADAMW_WORKER_FUNCTIONS, type AdamWHyper, adamwUpdate, transposeInto } from './adamw.ts';

const require = createRequire(import.meta.url);

/** W₂ as [rows = hidden, cols = out] (its gradient's layout), moments, [out, hidden] mirror: shared. */
export interface SharedSlot {
  p: Float32Array;
  m: Float32Array;
  v: Float32Array;
  pT: Float32Array;
  rows: number;
  cols: number;
}

function sharedF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

export function sharedSlot(rows: number, cols: number): SharedSlot {
  const n = rows * cols;
  return { p: sharedF32(n), m: sharedF32(n), v: sharedF32(n), pT: sharedF32(n), rows, cols };
}

function workerSource(): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
${ADAMW_WORKER_FUNCTIONS.map((f) => f.toString()).join('\n')}
const adamw = ${adamwUpdate.name};
const transposeMirror = ${transposeInto.name};
const control = new Int32Array(workerData.control);
const wasmFns = new Map();
const errorText = new Uint8Array(workerData.errorText);
let tf;
function done(seq) {
  Atomics.store(control, 0, seq);
  Atomics.notify(control, 0);
}
parentPort.on('message', (msg) => {
  try {
    // Every tensor is made inside tf.tidy: one leaked [hidden, 512] intermediate per step (2 MB)
    // once filled this thread's wasm heap after ~2,000 steps and aborted the run.
    if (msg.type === 'fwd') {
      const { w2Rows, dT, y, rows, hidden, batch } = msg;
      tf.tidy(() => {
        const a = tf.tensor2d(w2Rows, [rows, hidden]);
        const b = tf.tensor2d(dT.subarray(0, hidden * batch), [hidden, batch]);
        y.set(tf.matMul(a, b).dataSync());
      });
      done(msg.seq);
    } else if (msg.type === 'grad') {
      const { dT, dY, gW2T, hidden, out, batch, result, w2Rows, ddRows, dyT, dd } = msg;
      // First the share of dDᵀ the main thread waits for, then dW₂ᵀ.
      tf.tidy(() => {
        const w = tf.tensor2d(w2Rows, [ddRows, out]);
        const g = tf.tensor2d(dyT.subarray(0, out * batch), [out, batch]);
        dd.set(tf.matMul(w, g).dataSync());
      });
      done(msg.ddSeq);
      tf.tidy(() => {
        const a = tf.tensor2d(dT.subarray(0, hidden * batch), [hidden, batch]);
        const b = tf.tensor2d(dY.subarray(0, batch * out), [batch, out]);
        const r = tf.matMul(a, b);
        gW2T.set(r.dataSync());
        // The same kernels the main thread uses for this sum, so both paths agree bit for bit.
        result[0] = tf.sum(tf.square(r)).dataSync()[0];
      });
      done(msg.seq);
    } else if (msg.type === 'forget') {
      // A disposed model's AdamW instance holds its whole wasm memory: let both go.
      wasmFns.delete(msg.id);
    } else if (msg.type === 'memory') {
      parentPort.postMessage({ type: 'memory', ...tf.memory(), adamwInstances: wasmFns.size });
    } else if (msg.type === 'adam') {
      if (msg.wasm) {
        // The model's SIMD AdamW on its shared memory (wasm-kernels.ts), then the mirror with the
        // same module's SIMD transpose (both arrays live in that memory), as on the main thread.
        let k = wasmFns.get(msg.wasm.id);
        if (!k) {
          k = new WebAssembly.Instance(msg.wasm.module, { env: { mem: msg.wasm.memory } }).exports;
          wasmFns.set(msg.wasm.id, k);
        }
        k.adamw(...msg.wasm.args);
        const { p, pT, rows, cols } = msg.slot;
        if (rows % 4 === 0 && cols % 4 === 0 && p.byteOffset % 16 === 0 && pT.byteOffset % 16 === 0)
          k.transpose(p.byteOffset, pT.byteOffset, rows, cols);
        else transposeMirror(p, rows, cols, pT);
      } else adamw(msg.slot, msg.gW2T, false, msg.scale, msg.hyper);
      done(msg.seq);
    }
  } catch (e) {
    const text = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, errorText.length);
    errorText.fill(0);
    errorText.set(text);
    Atomics.store(control, 1, 1);
    done(msg.seq);
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

let shared: Promise<Layer2Worker | { error: string }> | null = null;
let ready: Layer2Worker | null = null;
let startError: string | null = null;

export class Layer2Worker {
  private seq = 0;
  private dT = sharedF32(0);
  private dY = sharedF32(0);
  private gW2T = sharedF32(0);
  private y = sharedF32(0);
  private dYT = sharedF32(0);
  private dd = sharedF32(0);
  private ddSeq = 0;
  private readonly result = new Float64Array(new SharedArrayBuffer(8));

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
    shared ??= Layer2Worker.start().then((w) => {
      if (w instanceof Layer2Worker) ready = w;
      else startError = w.error;
      return w;
    });
  }

  static ready(): Layer2Worker | null {
    return ready;
  }

  /** Resolves once the helper has started or failed (for benchmarks and tests). */
  static async whenStarted(): Promise<Layer2Worker | null> {
    Layer2Worker.warmUp();
    const w = await shared!;
    return w instanceof Layer2Worker ? w : null;
  }

  static startError(): string | null {
    return startError;
  }

  private static async start(): Promise<Layer2Worker | { error: string }> {
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
      return new Layer2Worker(w, new Int32Array(control), new Uint8Array(errorText));
    } catch (e) {
      void worker?.terminate();
      return { error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }

  /**
   * Forward share: starts rows [from, out) of Yᵀ = W₂·Dᵀ (W₂ = the slot's [out, hidden] mirror), and
   * keeps Dᵀ for phase 1. The caller computes rows [0, from) meanwhile.
   */
  startForward(slot: SharedSlot, from: number, dT: Float32Array, batch: number): void {
    const hidden = slot.rows;
    const rows = slot.cols - from;
    if (this.dT.length < dT.length) this.dT = sharedF32(dT.length);
    if (this.y.length < rows * batch) this.y = sharedF32(rows * batch);
    this.dT.set(dT);
    this.worker.postMessage({
      type: 'fwd',
      seq: ++this.seq,
      w2Rows: slot.pT.subarray(from * hidden),
      dT: this.dT,
      y: this.y,
      rows,
      hidden,
      batch,
    });
  }

  /** Waits for the forward share; returns its rows of Yᵀ ([out − from, B], valid until the next call). */
  finishForward(rows: number, batch: number): Float32Array {
    this.wait();
    return this.y.subarray(0, rows * batch);
  }

  /**
   * Phase 1: starts rows [from, hidden) of dDᵀ = W₂ᵀ·dYᵀ (W₂ᵀ = the slot's primary [hidden, out]),
   * then dW₂ᵀ = Dᵀ·dY (Dᵀ as given to startForward). The caller computes rows [0, from) meanwhile.
   */
  startGrad(
    slot: SharedSlot,
    from: number,
    dY: Float32Array,
    dYT: Float32Array,
    batch: number,
    gW2TOut?: Float32Array,
  ): void {
    const hidden = slot.rows;
    const out = slot.cols;
    if (this.dY.length < dY.length) this.dY = sharedF32(dY.length);
    if (this.dYT.length < dYT.length) this.dYT = sharedF32(dYT.length);
    if (this.dd.length < (hidden - from) * batch) this.dd = sharedF32((hidden - from) * batch);
    // dW₂ᵀ goes where the caller's AdamW reads it (its wasm memory), else to a buffer of ours.
    if (gW2TOut) this.gW2T = gW2TOut;
    else if (this.gW2T.length !== hidden * out || !(this.gW2T.buffer instanceof SharedArrayBuffer))
      this.gW2T = sharedF32(hidden * out);
    this.dY.set(dY);
    this.dYT.set(dYT);
    this.ddSeq = ++this.seq;
    this.worker.postMessage({
      type: 'grad',
      ddSeq: this.ddSeq,
      seq: ++this.seq,
      w2Rows: slot.p.subarray(from * out),
      ddRows: hidden - from,
      dyT: this.dYT,
      dd: this.dd,
      dT: this.dT,
      dY: this.dY,
      gW2T: this.gW2T,
      hidden,
      out,
      batch,
      result: this.result,
    });
  }

  /** Waits for phase 1's share of dDᵀ: [rows, B], valid until the next phase 1. */
  finishGradInput(rows: number, batch: number): Float32Array {
    this.wait(this.ddSeq);
    return this.dd.subarray(0, rows * batch);
  }

  /** Waits for phase 1; returns dW₂ᵀ (valid until the next phase 1) and its sum of squares. */
  finishGrad(): { gW2T: Float32Array; sumOfSquares: number } {
    this.wait();
    return { gW2T: this.gW2T, sumOfSquares: this.result[0]! };
  }

  /**
   * Phase 2: AdamW on the shared W₂ with phase 1's gradient times `scale`; with `wasm`, the model's
   * SIMD update (its arguments computed by the caller) on the model's shared memory.
   */
  startAdam(
    slot: SharedSlot,
    scale: number,
    hyper: AdamWHyper,
    wasm?: { id: number; module: object; memory: object; args: number[] },
  ): void {
    this.worker.postMessage({ type: 'adam', seq: ++this.seq, slot, gW2T: this.gW2T, scale, hyper, wasm });
  }

  finishAdam(): void {
    this.wait();
  }

  /** Drops what the helper keeps for a disposed model (its AdamW instance and wasm memory). */
  forget(wasmId: number): void {
    this.worker.postMessage({ type: 'forget', id: wasmId });
  }

  /** The helper's tfjs memory and kept AdamW instances: flat across steps and models (tests, leaks). */
  memory(): Promise<{ numTensors: number; numBytes: number; adamwInstances: number }> {
    return new Promise((resolve) => {
      const onMessage = (m: {
        type?: string;
        numTensors: number;
        numBytes: number;
        adamwInstances: number;
      }) => {
        if (m.type !== 'memory') return;
        this.worker.off('message', onMessage);
        resolve(m);
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ type: 'memory' });
    });
  }

  /** Blocks until the helper has finished job `want` (default: the last one posted). */
  private wait(want = this.seq): void {
    // Atomics.wait is allowed on Node's main thread, and the step API is synchronous by contract.
    while (Atomics.load(this.control, 0) < want) {
      const now = Atomics.load(this.control, 0);
      if (Atomics.wait(this.control, 0, now, 30_000) === 'timed-out' && Atomics.load(this.control, 0) < want)
        throw new Error('JSON encoder helper thread did not answer within 30 s');
    }
    if (Atomics.load(this.control, 1) !== 0) {
      const text = new TextDecoder().decode(this.errorText.slice()).replace(/\0+$/, '');
      throw new Error(`JSON encoder helper thread failed: ${text || 'unknown error'}`);
    }
  }
}
