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
