/**
 * The layered encoder the way the trainer makes encoders (training/trainer.ts EncoderFactory): the
 * float32 engine started (matmul-engine.ts) and, with ≥ 2 cores, the matrix-product helper thread
 * (matmul-threads.ts). Results are identical with and without the helper, so `threads` only changes
 * speed; KFASHION_THREADS=1 or `threads: 1` keeps everything on one thread.
 */
import { availableParallelism } from 'node:os';
import type { JsonEncoderConfig } from './json-encoder-types.ts';
import { LayeredJsonEncoder } from './layered-encoder.ts';
import { setRowBlockRunner } from './matmul.ts';
import { startMatmulEngine } from './matmul-engine.ts';
import { RowBlockThreads } from './matmul-threads.ts';
import { OrtJsonEncoder } from './ort-encoder.ts';

let helper: Promise<RowBlockThreads | null> | null = null;

/** Starts (once) or stops the helper thread; returns the threads products now run on. */
export async function useMatmulThreads(threads: number): Promise<number> {
  if (threads <= 1) {
    setRowBlockRunner(null);
    return 1;
  }
  helper ??= RowBlockThreads.start();
  const h = await helper;
  setRowBlockRunner(h);
  return h ? 2 : 1;
}

export async function layeredEncoderFactory(
  config: JsonEncoderConfig,
  opts: { seed: number; threads?: number },
): Promise<{ model: LayeredJsonEncoder; backend: string; backendDetail: string }> {
  const engine = await startMatmulEngine();
  const wanted =
    opts.threads ?? (process.env.KFASHION_THREADS === '1' ? 1 : Math.min(2, availableParallelism()));
  const threads = await useMatmulThreads(wanted);
  const model = new LayeredJsonEncoder(config, { seed: opts.seed });
  return {
    model,
    backend: `layered ${engine} (${threads} thread${threads === 1 ? '' : 's'})`,
    backendDetail: `layered model (model.ts) on ${engine}${threads > 1 ? ', products split in two fixed row blocks with a helper thread' : wanted > 1 ? '; helper thread not available (matmul-worker.js not found beside the bundle)' : ''}`,
  };
}

/**
 * The layered model trained by ONNX Runtime (ort-encoder.ts). Threads: ONNX Runtime's intra-op pool,
 * fixed per session (results are bitwise the same with 1 or 2); KFASHION_THREADS=1 or `threads: 1`
 * keeps it to one. No helper thread: the products all run inside ONNX Runtime.
 */
export async function ortEncoderFactory(
  config: JsonEncoderConfig,
  opts: { seed: number; threads?: number },
): Promise<{ model: OrtJsonEncoder; backend: string; backendDetail: string }> {
  const threads =
    opts.threads ?? (process.env.KFASHION_THREADS === '1' ? 1 : Math.min(2, availableParallelism()));
  const model = new OrtJsonEncoder(config, { seed: opts.seed, threads });
  return {
    model,
    backend: `layered onnxruntime (${threads} thread${threads === 1 ? '' : 's'})`,
    backendDetail:
      'layered model (model.ts), its MLP step (forward, InfoNCE, backward) one ONNX Runtime graph per batch size; embeddings and AdamW in JS/wasm',
  };
}
