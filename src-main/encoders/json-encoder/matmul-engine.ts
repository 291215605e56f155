/**
 * Starts the float32 matrix-product engine (matmul.ts, [Note: why tfjs-wasm (XNNPACK) is the engine])
 * once per process: tfjs on its wasm backend, whatever backend the rest of the process picked for
 * other work. Without it float32 products run in plain JS loops: correct, but many times slower.
 */
import * as tf from '@tensorflow/tfjs';
import { initTfBackend } from '../tf-backend.ts';
import { matmulEngine, useTfjsEngine } from './matmul.ts';

let started: Promise<string> | null = null;

export function startMatmulEngine(): Promise<string> {
  started ??= (async () => {
    await initTfBackend('wasm');
    useTfjsEngine(tf);
    return matmulEngine();
  })();
  return started;
}
