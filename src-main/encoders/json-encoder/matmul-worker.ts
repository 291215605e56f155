/**
 * Entry point of the matrix-product helper thread (bundled as matmul-worker.js; matmul-threads.ts
 * starts it and explains the hand-off). It runs the same engine call as the main thread on the
 * second row block of each product it is given, in a loop blocked on Atomics between products.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initTfBackend } from '../tf-backend.ts';
import { tfBlockProduct, useTfjsEngine } from './matmul.ts';
import { CTRL, OP } from './matmul-threads.ts';

const port = parentPort;
if (!port) throw new Error('matmul-worker.js runs as a worker thread of the JSON encoder, not on its own');

port.once('message', async (msg: { ctrl: SharedArrayBuffer }) => {
  const ctrl = new Int32Array(msg.ctrl);
  await initTfBackend('wasm');
  useTfjsEngine(tf);
  let mem: Float32Array<ArrayBufferLike> = new Float32Array(0);
  let seen = 0;
  port.postMessage('ready');
  for (;;) {
    Atomics.wait(ctrl, CTRL.seq, seen);
    seen = Atomics.load(ctrl, CTRL.seq);
    const op = ctrl[CTRL.op];
    if (op === OP.exit) break;
    if (op === OP.memory) {
      const m = receiveMessageOnPort(port);
      if (m) mem = new Float32Array((m.message as { mem: SharedArrayBuffer }).mem);
    } else if (op === OP.product) {
      const m = ctrl[CTRL.m]!;
      const k = ctrl[CTRL.k]!;
      const n = ctrl[CTRL.n]!;
      const a = ctrl[CTRL.aOff]!;
      const b = ctrl[CTRL.bOff]!;
      const o = ctrl[CTRL.oOff]!;
      tfBlockProduct(
        mem.subarray(a, a + m * k),
        mem.subarray(b, b + k * n),
        m,
        k,
        n,
        mem.subarray(o, o + m * n),
      );
    }
    Atomics.store(ctrl, CTRL.done, seen);
    Atomics.notify(ctrl, CTRL.done);
  }
});
