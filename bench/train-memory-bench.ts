/**
 * `npm run bench -- train --memory-epochs 100 [--epoch-items 2048] [--batch 64]`: memory over a long
 * run of each JSON encoder engine (the hand-fused tfjs model and the layered model), one after the
 * other in this process. An epoch is `--epoch-items` items in batches of the first `--batch` size
 * (a quick-size split), every step on another of eight fixed batches, followed by encoding one
 * batch of 1,000 items in eval mode, as a training run's validation does. RSS, V8 heap and (tfjs)
 * live tensors are read after epoch 1 and after the last epoch, after a GC when node runs with
 * --expose-gc; growth between the two is what a leak would show. Absolute RSS includes everything
 * this process loaded (tfjs, wasm heaps), so the difference is the figure to read.
 */
import * as tf from '@tensorflow/tfjs';
import type {
  EncoderInputs,
  JsonEncoderModel,
} from '../src-main/encoders/json-encoder/json-encoder-types.ts';
import { emit } from './machine.ts';

const MB = 1024 * 1024;

function snapshot(): {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  arrayBuffersMB: number;
  tfTensors: number;
} {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return {
    rssMB: +(m.rss / MB).toFixed(1),
    heapUsedMB: +(m.heapUsed / MB).toFixed(1),
    externalMB: +(m.external / MB).toFixed(1),
    arrayBuffersMB: +(m.arrayBuffers / MB).toFixed(1),
    tfTensors: tf.memory().numTensors,
  };
}

export async function trainMemoryBench(
  opts: { epochs: number; epochItems: number; batch: number },
  engines: { name: string; make: () => Promise<JsonEncoderModel> }[],
  inputsOf: (B: number, seed: number) => EncoderInputs,
  imagesOf: (B: number, seed: number) => Float32Array,
): Promise<void> {
  const { epochs, epochItems, batch: B } = opts;
  const batches = Array.from({ length: 8 }, (_, i) => ({
    inputs: inputsOf(B, 100 + i),
    images: imagesOf(B, 200 + i),
  }));
  const val = inputsOf(1000, 999);
  const stepsPerEpoch = Math.max(1, Math.ceil(epochItems / B));
  const opt = { lr: 1e-4, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
  for (const { name, make } of engines) {
    const model = await make();
    const before = snapshot();
    let first: ReturnType<typeof snapshot> | null = null;
    const t0 = performance.now();
    let step = 0;
    const every = Math.max(1, Math.round(epochs / 10));
    const rssTrajectory: Record<number, number> = {};
    for (let e = 1; e <= epochs; e++) {
      for (let s = 0; s < stepsPerEpoch; s++, step++) {
        const b = batches[step % batches.length]!;
        model.trainStep(b.inputs, b.images, 0.07, opt);
      }
      model.encode(val);
      if (e === 1) first = snapshot();
      // A trajectory, so a one-time growth (a wasm heap that grew once) reads apart from a leak.
      if (e % every === 0) rssTrajectory[e] = snapshot().rssMB;
    }
    const last = snapshot();
    model.dispose();
    emit({
      bench: 'train-memory',
      engine: name,
      batch: B,
      epochs,
      stepsPerEpoch,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      beforeRssMB: before.rssMB,
      epoch1: first,
      [`epoch${epochs}`]: last,
      rssMBByEpoch: rssTrajectory,
      rssGrowthMB: +(last.rssMB - first!.rssMB).toFixed(1),
      heapGrowthMB: +(last.heapUsedMB - first!.heapUsedMB).toFixed(1),
      externalGrowthMB: +(last.externalMB - first!.externalMB).toFixed(1),
      tfTensorGrowth: last.tfTensors - first!.tfTensors,
    });
  }
}
