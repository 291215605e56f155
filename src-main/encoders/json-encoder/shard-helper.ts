/**
 * Entry point of the JSON encoder's shard helper thread (bundled as shard-helper.js: dist/ for the CLI
 * and benches, out/main/ for the desktop app). shard-worker.ts starts it and explains the split
 * ([Note: the second core]).
 *
 * Two channels on one port: setup and control (start, bind, forget, memory) are typed calls of the
 * worker protocol (workers/protocol.ts); a training step's work (fwd, bwd, mm, adam) arrives as plain
 * messages carrying views of shared memory, and is answered through Atomics on the shared control
 * block, because the step is synchronous and the main thread blocks in Atomics.wait for it (no reply
 * message could be read meanwhile).
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { defineWorker } from '../../workers/protocol.ts';
import { initTfBackend } from '../tf-backend.ts';
import { transposeInto } from './adamw.ts';
import {
  readInto,
  type ShardData,
  type ShardIo,
  type ShardKept,
  shardBackward,
  shardForward,
} from './hidden-shard.ts';
import { WA } from './wasm-kernels.ts';

/** One AdamW update for the helper: the kernel's arguments, then the mirror to refresh (if any). */
export interface AdamJob {
  args: number[];
  mirror: { src: Float32Array; dst: Float32Array; rows: number; cols: number } | null;
}

const port = parentPort;
if (!port) throw new Error('shard-helper.js runs as a worker thread of the JSON encoder, not on its own');

interface Kernels {
  adamw: (...args: number[]) => void;
  transpose: (src: number, dst: number, rows: number, cols: number) => void;
}

/** Per model: its kernels (instantiated on its memory), its shard, the tensors kept between passes. */
interface Bound {
  kernels: Kernels;
  shard: ShardData;
  kept: ShardKept | null;
}

/** Step messages (the hot path); each ends with `done(seq)` on the control block. */
type StepMessage =
  | { type: 'fwd'; id: number; io: ShardIo; seq: number }
  | { type: 'bwd'; id: number; io: ShardIo; seq: number }
  | { type: 'adam'; id: number; jobs: AdamJob[]; seq: number }
  | {
      type: 'mm';
      a: Float32Array;
      b: Float32Array;
      m: number;
      k: number;
      n: number;
      out: Float32Array;
      seq: number;
    };

const models = new Map<number, Bound>();
let control: Int32Array | null = null;
let errorText: Uint8Array | null = null;

function done(seq: number): void {
  Atomics.store(control!, 0, seq);
  Atomics.notify(control!, 0);
}

/** Leaves the error for the main thread's next wait() (slot 1 set, text in the shared buffer). */
function report(e: unknown): void {
  if (!control || !errorText) return;
  const text = new TextEncoder()
    .encode(String((e instanceof Error && e.stack) || e))
    .subarray(0, errorText.length);
  errorText.fill(0);
  errorText.set(text);
  Atomics.store(control, 1, 1);
}

function dropKept(m: Bound): void {
  if (!m.kept) return;
  for (const t of [m.kept.hT, m.kept.dT, m.kept.maskT, m.kept.dAct]) t?.dispose();
  m.kept = null;
}

function model(id: number): Bound {
  const m = models.get(id);
  if (!m) throw new Error(`no model ${id} bound to the helper thread`);
  return m;
}

function step(msg: StepMessage): void {
  if (msg.type === 'mm') {
    // Rows of a product the main thread splits with this thread (the output head's S and dZᵀ).
    const { a, b, m, k, n, out } = msg;
    tf.tidy(() => readInto(tf, tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])), out));
  } else if (msg.type === 'fwd') {
    const m = model(msg.id);
    dropKept(m); // a step that failed between its passes leaves nothing behind
    m.kept = shardForward(tf, m.shard, msg.io, true);
  } else if (msg.type === 'bwd') {
    const m = model(msg.id);
    const kept = m.kept;
    m.kept = null;
    if (!kept) throw new Error(`model ${msg.id}: a backward pass without its forward pass`);
    shardBackward(tf, m.shard, msg.io, kept);
  } else {
    const m = model(msg.id);
    for (const job of msg.jobs) {
      m.kernels.adamw(...job.args);
      const t = job.mirror;
      if (!t) continue;
      if (t.rows % 4 === 0 && t.cols % 4 === 0 && t.src.byteOffset % 16 === 0 && t.dst.byteOffset % 16 === 0)
        m.kernels.transpose(t.src.byteOffset, t.dst.byteOffset, t.rows, t.cols);
      else transposeInto(t.src, t.rows, t.cols, t.dst);
    }
  }
}

port.on('message', (msg: StepMessage) => {
  if (!msg || typeof msg !== 'object' || typeof (msg as { seq?: unknown }).seq !== 'number') return;
  try {
    step(msg);
  } catch (e) {
    report(e);
  }
  done(msg.seq);
});

const tasks = defineWorker({
  /** Loads tfjs-wasm and takes the shared control block and error buffer; resolves when ready. */
  async start(ctrl: SharedArrayBuffer, errors: SharedArrayBuffer): Promise<void> {
    control = new Int32Array(ctrl);
    errorText = new Uint8Array(errors);
    await initTfBackend('wasm');
  },
  /** A model's shard 1 (views of its shared memory) and its SIMD kernels on that memory. */
  bind(id: number, module: object, memory: object, shard: ShardData): void {
    try {
      const kernels = new WA.Instance(module, { env: { mem: memory } }).exports as unknown as Kernels;
      models.set(id, { kernels, shard, kept: null });
    } catch (e) {
      // Nobody awaits a bind (steps are synchronous): the next step's wait() reports it.
      report(e);
      throw e;
    }
  },
  /** A disposed model's kernels hold its whole wasm memory: let both go. */
  forget(id: number): void {
    const m = models.get(id);
    if (m) dropKept(m);
    models.delete(id);
  },
  memory(): { numTensors: number; numBytes: number; models: number } {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes, models: models.size };
  },
});

export type ShardHelperTasks = typeof tasks;
