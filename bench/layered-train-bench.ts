/**
 * Part of `npm run bench -- train`: the layered JSON encoder (model.ts) beside PyTorch running the same
 * layer list (pytorch-module.ts via bench/reference/train_step_layered_pytorch.py), for the default
 * shape and the residual variant (3 residual blocks after the first hidden block, hidden 1024,
 * LayerNorm, GELU, dropout 0.2), plus the step's GEMM floor (its matrix products alone at this
 * machine's fp32 peak, PERFORMANCE.md, and at the rates the engine and PyTorch's BLAS reach in this
 * run: [Note: GEMM floors]), single-thread step times and inference latency (one query, a batch of
 * 1,000).
 * Steps of the two sides alternate per batch size, not per step (PyTorch runs in its own process
 * before), so compare ratios from one run on a quiet machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KNOWN_VALUES } from '../src-main/dataset/kfashion-values.ts';
import { InferenceJsonEncoder } from '../src-main/encoders/json-encoder/inference.ts';
import { makeJsonEncoderConfig } from '../src-main/encoders/json-encoder/json-encoder-config.ts';
import type { JsonEncoderConfig } from '../src-main/encoders/json-encoder/json-encoder-types.ts';
import { LayeredJsonEncoder } from '../src-main/encoders/json-encoder/layered-encoder.ts';
import { useMatmulThreads } from '../src-main/encoders/json-encoder/layered-factory.ts';
import { matmul } from '../src-main/encoders/json-encoder/matmul.ts';
import { startMatmulEngine } from '../src-main/encoders/json-encoder/matmul-engine.ts';
import { buildMlp, resolveShape } from '../src-main/encoders/json-encoder/model.ts';
import { PYTORCH_MODULE_SOURCE } from '../src-main/encoders/json-encoder/pytorch-module.ts';
import { emit } from './machine.ts';
import { runReference } from './pytorch-reference.ts';

const FIELD_LIST = ['category', 'style', 'silhouette', 'material', 'detail'] as const;
const SLOTS = [1, 3, 1, 3, 3];
/** fp32 FMA peak of this machine kind, 2 cores (PERFORMANCE.md). */
const PEAK_GFLOPS = 232;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** FLOPs of a step's matrix products: each Linear forward + two backward products, and InfoNCE's. */
function gemmFlops(config: JsonEncoderConfig, B: number): number {
  const shape = resolveShape(config);
  const linears = buildMlp(shape, config.fields.length * shape.embedDim)
    .flatMap((m) => m.params)
    .filter((p) => p.shape.length === 2);
  const lin = linears.reduce((a, p) => a + 3 * 2 * B * p.shape[0]! * p.shape[1]!, 0);
  return lin + 2 * 2 * B * B * 512;
}

/** The step's GEMM floor in ms at the measured rates ([Note: GEMM floors]). */
function floors(
  flops: number,
  p: { engine2: number; engine1: number; pytorch?: number } | undefined,
): Record<string, number> {
  if (!p) return {};
  const ms = (gflops: number) => +((flops / (gflops * 1e9)) * 1000).toFixed(2);
  return {
    gemmFloorAtEngineMs: ms(p.engine2),
    gemmFloorAtEngineOneThreadMs: ms(p.engine1),
    ...(p.pytorch ? { gemmFloorAtPytorchMs: ms(p.pytorch) } : {}),
  };
}

/**
 * The float32 product rate of this process's engine (matmul.ts) on the step's largest product
 * (B × fields·embed × hidden, default 64|256 × 640 × 1024), in GFLOP/s: median of a few timed runs.
 */
async function enginePeak(B: number, K: number, N: number, threads: number): Promise<number> {
  await useMatmulThreads(threads);
  const a = new Float32Array(B * K).map((_, i) => Math.sin(i));
  const b = new Float32Array(K * N).map((_, i) => Math.cos(i));
  const out = new Float32Array(B * N);
  const t: number[] = [];
  for (let i = 0; i < 23; i++) {
    const t0 = performance.now();
    matmul(out, a, b, B, K, N);
    if (i >= 3) t.push(performance.now() - t0);
  }
  return (2 * B * K * N) / (median(t) / 1000) / 1e9;
}

export async function layeredTrainBench(
  opts: { steps: number; warmup: number; batches: number[]; reference: boolean },
  benchInputs: (
    B: number,
    vocab: Record<string, number>,
    seed: number,
  ) => import('../src-main/encoders/json-encoder/json-encoder-types.ts').EncoderInputs,
  benchImages: (B: number, seed: number) => Float32Array,
  /** The earlier tfjs model (one thread), stepped alternately with the default variant for a side-by-side ratio. */
  companion?: { trainStep: LayeredJsonEncoder['trainStep'] },
): Promise<void> {
  const engine = await startMatmulEngine();
  const threads = await useMatmulThreads(2);
  const vocab = Object.fromEntries(FIELD_LIST.map((f) => [f, KNOWN_VALUES[f].length + 2]));
  const base = makeJsonEncoderConfig(vocab, { fields: [...FIELD_LIST] });
  const variants: { name: string; config: JsonEncoderConfig }[] = [
    { name: 'default', config: base },
    {
      name: 'residual-3x1024-layernorm-gelu-dropout0.2',
      config: { ...base, depth: 4, residual: true, norm: 'layer', activation: 'gelu', dropout: 0.2 },
    },
  ];
  // [Note: GEMM floors] The step's matrix products alone at three rates: this machine kind's fp32 FMA
  // peak (PEAK_GFLOPS, theory), the rate this engine reaches here on the step's largest product (two
  // threads and one), and the rate PyTorch's native BLAS reaches on the same product in this run.
  const K = FIELD_LIST.length * base.embedDim;
  const N = base.hiddenDim;
  const peaks = new Map<number, { engine2: number; engine1: number; pytorch?: number }>();
  const torchPeak = opts.reference
    ? runReference('gemm_peak_pytorch.py', ['--shapes', opts.batches.map((B) => `${B}x${K}x${N}`).join(',')])
    : { error: 'skipped (--no-reference)' };
  for (const B of opts.batches) {
    const t = 'lines' in torchPeak ? torchPeak.lines.find((l) => l.m === B) : undefined;
    peaks.set(B, {
      engine2: await enginePeak(B, K, N, threads),
      engine1: await enginePeak(B, K, N, 1),
      ...(t ? { pytorch: t.gflops as number } : {}),
    });
    emit({
      bench: 'gemm-peak',
      engine,
      product: `${B}x${K}x${N}`,
      engineGflops: +peaks.get(B)!.engine2.toFixed(1),
      engineThreads: threads,
      engineOneThreadGflops: +peaks.get(B)!.engine1.toFixed(1),
      ...(t
        ? { pytorchGflops: t.gflops, pytorchThreads: t.threads }
        : { pytorch: 'error' in torchPeak ? torchPeak.error : 'no figure' }),
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'kf-bench-'));
  try {
    writeFileSync(join(dir, 'encoder_module.py'), PYTORCH_MODULE_SOURCE);
    const opt = { lr: 1e-4, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
    for (const { name, config } of variants) {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(config));
      const ref = opts.reference
        ? runReference('train_step_layered_pytorch.py', [
            '--module-dir',
            dir,
            '--config',
            join(dir, `${name}.json`),
            '--variant',
            name,
            '--slots',
            SLOTS.join(','),
            '--batch',
            ...opts.batches.map(String),
            '--steps',
            String(opts.steps),
          ])
        : { error: 'skipped (--no-reference)' };
      const model = new LayeredJsonEncoder(config, { seed: 0 });
      const single = new LayeredJsonEncoder(config, { seed: 0 });
      for (const B of opts.batches) {
        const inputs = benchInputs(B, vocab, B);
        const images = benchImages(B, B + 1);
        const times: number[] = [];
        const oneThread: number[] = [];
        const other: number[] = [];
        const alongside = name === 'default' ? companion : undefined;
        for (let i = 0; i < opts.warmup + opts.steps; i++) {
          await useMatmulThreads(threads);
          const t0 = performance.now();
          model.trainStep(inputs, images, 0.07, opt);
          const t1 = performance.now();
          await useMatmulThreads(1);
          const t2 = performance.now();
          single.trainStep(inputs, images, 0.07, opt);
          const t3 = performance.now();
          alongside?.trainStep(inputs, images, 0.07, opt);
          if (i >= opts.warmup) {
            times.push(t1 - t0);
            oneThread.push(t3 - t2);
            other.push(performance.now() - t3);
          }
        }
        const ms = median(times);
        const r = 'lines' in ref ? ref.lines.find((l) => l.batch === B) : undefined;
        const floorMs = (gemmFlops(config, B) / (PEAK_GFLOPS * 1e9)) * 1000;
        emit({
          bench: 'train',
          engine: `layered (${engine})`,
          variant: name,
          threads,
          batch: B,
          msPerStep: +ms.toFixed(2),
          oneThreadMsPerStep: +median(oneThread).toFixed(2),
          gemmFloorMs: +floorMs.toFixed(2),
          ...floors(gemmFlops(config, B), peaks.get(B)),
          ...(alongside
            ? {
                tfjsModelOneThreadMs: +median(other).toFixed(2),
                vsTfjsModel: +(ms / median(other)).toFixed(2),
              }
            : {}),
          ...(r
            ? {
                pytorchMsPerStep: r.msPerStep,
                pytorchThreads: r.threads,
                vsPytorch: +(ms / (r.msPerStep as number)).toFixed(2),
                oneThreadVsPytorch: +(median(oneThread) / (r.msPerStep as number)).toFixed(2),
              }
            : { pytorch: 'error' in ref ? ref.error : 'no figure for this batch size' }),
        });
      }
      // Inference: weights only, one query and a batch of 1,000, on one thread (no helper).
      await useMatmulThreads(1);
      const inf = new InferenceJsonEncoder(config, model.getState().params);
      model.dispose();
      single.dispose();
      for (const n of [1, 1000]) {
        const inputs = benchInputs(n, vocab, 7);
        const t: number[] = [];
        for (let i = 0; i < 20; i++) {
          const t0 = performance.now();
          inf.encode(inputs);
          t.push(performance.now() - t0);
        }
        emit({
          bench: 'encode',
          engine: `layered inference (${engine})`,
          variant: name,
          items: n,
          ms: +median(t).toFixed(3),
        });
      }
      inf.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
