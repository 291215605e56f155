/**
 * The second core for matrix products: one helper thread (matmul-worker.ts, bundled as
 * matmul-worker.js beside the running bundle) computes the second of a product's two fixed row blocks
 * while this thread computes the first (matmul.ts [Note: fixed row blocks]). Same blocks, same engine
 * call, so results are bit-identical with and without the helper, whatever the timing.
 *
 * [Note: a synchronous hand-off] The model's step is synchronous (the trainer's interface), so the
 * threads meet through Atomics on a shared control block, not messages: operands are copied into a
 * SharedArrayBuffer staging area, the helper is woken, this thread computes its block, then waits for
 * the helper's. A larger staging area is handed over with postMessage and picked up by the helper
 * with receiveMessageOnPort, still without returning to its event loop. Small products stay on this
 * thread (the hand-off costs more than they do).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { firstBlockRows, type RowBlockRunner, tfBlockProduct } from './matmul.ts';

/** Control block slots (Int32). */
export const CTRL = {
  seq: 0,
  done: 1,
  op: 2,
  m: 3,
  k: 4,
  n: 5,
  aOff: 6,
  bOff: 7,
  oOff: 8,
  ready: 9,
} as const;
export const OP = { product: 1, memory: 2, exit: 3 } as const;
const CTRL_SLOTS = 16;
/** Below this many multiply-adds a product stays on this thread. */
const MIN_SHARED_MACS = 1 << 20;

/** matmul-worker.js beside this bundle (dist/ for the CLI and benches, out/main/ for the desktop app). */
export function matmulWorkerScript(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['matmul-worker.js', join('..', 'matmul-worker.js')]) {
    const p = join(here, rel);
    if (existsSync(p)) return p;
  }
  return null;
}

export class RowBlockThreads implements RowBlockRunner {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
  private mem: Float32Array<ArrayBufferLike> = new Float32Array(new SharedArrayBuffer(4));
  private seq = 0;
  private closed = false;
  /** Products shared with the helper so far. */
  shared = 0;

  private constructor(private readonly worker: Worker) {
    worker.unref();
  }

  /** Starts the helper from `script` (default: matmul-worker.js beside the bundle); null if there is none. */
  static async start(script = matmulWorkerScript()): Promise<RowBlockThreads | null> {
    if (!script) return null;
    const worker = new Worker(script);
    const pool = new RowBlockThreads(worker);
    const failed = new Promise<null>((resolve) => {
      worker.once('error', () => resolve(null));
      worker.once('exit', () => resolve(null));
    });
    const ready = new Promise<RowBlockThreads>((resolve) => worker.once('message', () => resolve(pool)));
    worker.postMessage({ ctrl: pool.ctrl.buffer });
    const result = await Promise.race([ready, failed]);
    if (!result) await worker.terminate();
    return result;
  }

  private ensure(floats: number): void {
    if (this.mem.length >= floats) return;
    this.mem = new Float32Array(new SharedArrayBuffer(Math.ceil(floats * 1.25) * 4));
    this.worker.postMessage({ mem: this.mem.buffer });
    this.call(OP.memory);
  }

  private call(op: number): void {
    const c = this.ctrl;
    c[CTRL.op] = op;
    this.seq++;
    Atomics.store(c, CTRL.seq, this.seq);
    Atomics.notify(c, CTRL.seq);
  }

  private wait(): void {
    const c = this.ctrl;
    for (;;) {
      const done = Atomics.load(c, CTRL.done);
      if (done === this.seq) return;
      Atomics.wait(c, CTRL.done, done, 1000);
    }
  }

  run(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): boolean {
    if (this.closed) return false;
    const m1 = firstBlockRows(m);
    const m2 = m - m1;
    if (m1 === 0 || m2 === 0 || m * k * n < MIN_SHARED_MACS) return false;
    const aOff = 0;
    const bOff = m2 * k;
    const oOff = bOff + k * n;
    this.ensure(oOff + m2 * n);
    this.wait(); // a memory hand-off, if there was one
    const mem = this.mem;
    mem.set(a.subarray(m1 * k, m * k), aOff);
    mem.set(b.subarray(0, k * n), bOff);
    const c = this.ctrl;
    c[CTRL.m] = m2;
    c[CTRL.k] = k;
    c[CTRL.n] = n;
    c[CTRL.aOff] = aOff;
    c[CTRL.bOff] = bOff;
    c[CTRL.oOff] = oOff;
    this.call(OP.product);
    tfBlockProduct(a.subarray(0, m1 * k), b, m1, k, n, out.subarray(0, m1 * n));
    this.wait();
    out.set(mem.subarray(oOff, oOff + m2 * n), m1 * n);
    this.shared++;
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.call(OP.exit);
    await this.worker.terminate();
  }
}
