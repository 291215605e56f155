/**
 * The layered encoder's products on two threads (the helper from dist/matmul-worker.js, built by the
 * global setup) give bit-identical training to one thread: same seed, same parameters after steps.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { makeJsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-config.ts';
import { LayeredJsonEncoder } from '../../src-main/encoders/json-encoder/layered-encoder.ts';
import { setRowBlockRunner } from '../../src-main/encoders/json-encoder/matmul.ts';
import { startMatmulEngine } from '../../src-main/encoders/json-encoder/matmul-engine.ts';
import { RowBlockThreads } from '../../src-main/encoders/json-encoder/matmul-threads.ts';
import { tinyInputs } from '../helpers/encoder-inputs.ts';

let threads: RowBlockThreads | null = null;
afterAll(async () => {
  setRowBlockRunner(null);
  await threads?.close();
});

describe('layered encoder: determinism regardless of thread count', () => {
  it('one thread and two threads train to bit-identical parameters (residual LayerNorm GELU)', async () => {
    await startMatmulEngine();
    threads = await RowBlockThreads.start(join(import.meta.dirname, '..', '..', 'dist', 'matmul-worker.js'));
    expect(threads).not.toBeNull();
    const config = {
      ...makeJsonEncoderConfig(
        { category: 20, style: 25, silhouette: 9, material: 30, detail: 40 },
        { embedDim: 64, hiddenDim: 256, dropout: 0.2 },
      ),
      depth: 2,
      residual: true,
      norm: 'layer' as const,
      activation: 'gelu' as const,
    };
    const inputs = tinyInputs(config, 64, 1);
    const images = new Rng(2).unitRows(64, 512);
    const opt = { lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
    const run = (runner: RowBlockThreads | null) => {
      setRowBlockRunner(runner);
      const m = new LayeredJsonEncoder(config, { seed: 4 });
      const losses = [0, 1, 2].map(() => m.trainStep(inputs, images, 0.07, opt).loss);
      return { losses, params: m.getState().params, vectors: m.encode(inputs) };
    };
    const one = run(null);
    const two = run(threads);
    expect(threads!.shared).toBeGreaterThan(10); // the helper really computed blocks
    expect(two.losses).toEqual(one.losses);
    for (const [name, t] of Object.entries(one.params)) expect(two.params[name]!.data, name).toEqual(t.data);
    expect(two.vectors).toEqual(one.vectors);
  }, 120_000);
});
