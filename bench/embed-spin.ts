/**
 * `npm run bench -- embed --spin-check [--batches 8] [--repeat 5]`: bare ONNX Runtime on the
 * ViT-B/32-shaped graph with its default thread pool (threads spin between operators and after a run)
 * against the image encoder's (no spinning: [Note: image encoder without spinning]), in alternating
 * 3 s rounds in one process, so the pipeline's reference is known not to have been slowed by the
 * setting: the ratio per round and its median.
 */
import * as ort from 'onnxruntime-node';
import { emit } from './machine.ts';

export async function embedSpinCheck(model: Uint8Array, threads: number, batch: number, rounds: number) {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  const spinning = await ort.InferenceSession.create(model, base);
  const still = await ort.InferenceSession.create(model, {
    ...base,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  try {
    const px = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
    const feeds = { pixel_values: new ort.Tensor('float32', px, [batch, 3, 224, 224]) };
    const run = async (s: ort.InferenceSession) => {
      await s.run(feeds);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 3000) {
        await s.run(feeds);
        n += batch;
      }
      const u = process.cpuUsage(c0);
      return {
        imgPerSec: n / ((performance.now() - t0) / 1000),
        cpuMsPerImage: (u.user + u.system) / 1000 / n,
      };
    };
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // A, B then B, A: neither side always runs first.
      const [a, b] =
        r % 2 ? [await run(still), await run(spinning)].reverse() : [await run(spinning), await run(still)];
      ratios.push(b!.imgPerSec / a!.imgPerSec);
      emit({
        bench: 'embed',
        kind: 'spin-check-round',
        batch,
        spinning: a,
        noSpinning: b,
        ratio: b!.imgPerSec / a!.imgPerSec,
      });
    }
    const sorted = [...ratios].sort((x, y) => x - y);
    const m = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
    emit({
      bench: 'embed',
      kind: 'spin-check',
      batch,
      threads,
      noSpinningOverSpinning: Math.round(median * 1000) / 1000,
    });
  } finally {
    await spinning.release();
    await still.release();
  }
}
