/**
 * `npm run bench -- train [--steps N] [--warmup N] [--batch 64,256] [--backend B] [--no-reference] [--only interleaved]`:
 * ms per training step of the JSON encoder (5 fields × 128-d → 1024 → 512, symmetric InfoNCE, AdamW,
 * clipping) at each batch size, the median of N steps after a warm-up, with backend and threads.
 * Target (PERFORMANCE.md): within 2× of PyTorch CPU measured side by side; the PyTorch reference
 * (bench/reference/train_step_pytorch.py, same model and step) runs when `import torch` works.
 *
 * Vocabulary sizes are K-Fashion's published values + <pad>/<unk> per field: the step's cost depends on
 * them (layer 1 is factored through the tables, see json-encoder.ts), so both sides use the same.
 */
import { KNOWN_VALUES } from '../src-main/dataset/kfashion-values.ts';
import { Rng } from '../src-main/dataset/rng.ts';
import { createJsonEncoder, makeJsonEncoderConfig } from '../src-main/encoders/json-encoder/json-encoder.ts';
import type { EncoderInputs } from '../src-main/encoders/json-encoder/json-encoder-types.ts';
import { LayeredJsonEncoder } from '../src-main/encoders/json-encoder/layered-encoder.ts';
import { useMatmulThreads } from '../src-main/encoders/json-encoder/layered-factory.ts';
import { startMatmulEngine } from '../src-main/encoders/json-encoder/matmul-engine.ts';
import { OrtJsonEncoder } from '../src-main/encoders/json-encoder/ort-encoder.ts';
import { ShardWorker } from '../src-main/encoders/json-encoder/shard-worker.ts';
import { BACKEND_CHOICES, type BackendChoice } from '../src-main/encoders/tf-backend.ts';
import { FIELDS } from '../src-shared/fields.ts';
import { layeredTrainBench } from './layered-train-bench.ts';
import { emit } from './machine.ts';
import { ortTrainBench } from './ort-train-bench.ts';
import { runReference } from './pytorch-reference.ts';
import { trainMemoryBench } from './train-memory-bench.ts';

const FIELD_LIST = ['category', 'style', 'silhouette', 'material', 'detail'] as const;
/** Slots per field in the benchmark batch (multi-valued fields: up to 3 values, some padding). */
const SLOTS = { category: 1, style: 3, silhouette: 1, material: 3, detail: 3 } as const;
const PYTORCH_REFERENCE = { 64: 12.9, 256: 24.8 } as const; // PERFORMANCE.md, for context only

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function wholeNumber(args: string[], name: string, fallback: number): number {
  const raw = option(args, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} expects a whole number ≥ 1, got ${raw}`);
  return n;
}

export function benchInputs(B: number, vocab: Record<string, number>, seed: number): EncoderInputs {
  const rng = new Rng(seed);
  const fields: EncoderInputs['fields'] = {};
  for (const f of FIELD_LIST) {
    const slots = SLOTS[f];
    const indices = new Int32Array(B * slots);
    for (let b = 0; b < B; b++) {
      const n = FIELDS[f].kind === 'single' ? 1 : rng.int(1, slots);
      for (let s = 0; s < n; s++) indices[b * slots + s] = rng.int(2, vocab[f]! - 1);
    }
    fields[f] = { indices, slots };
  }
  return { batchSize: B, fields };
}

export function benchImages(B: number, seed: number): Float32Array {
  return new Rng(seed).unitRows(B, 512);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface ReferenceResult {
  batch: number;
  msPerStep: number;
  samplesPerSecond: number;
  threads: number;
  torch: string;
}

/** Runs the PyTorch reference if some python3 can import torch; the reason otherwise. */
function runPytorchReference(
  batches: number[],
  vocab: number[],
  steps: number,
): { results: ReferenceResult[]; python: string } | { error: string } {
  const run = runReference('train_step_pytorch.py', [
    '--vocab',
    vocab.join(','),
    '--slots',
    FIELD_LIST.map((f) => SLOTS[f]).join(','),
    '--batch',
    ...batches.map(String),
    '--steps',
    String(steps),
  ]);
  if ('error' in run) return run;
  return { results: run.lines as unknown as ReferenceResult[], python: run.python };
}

export async function trainBench(args: string[]): Promise<void> {
  const steps = wholeNumber(args, '--steps', 30);
  const warmup = wholeNumber(args, '--warmup', 5);
  const batches = (option(args, '--batch') ?? '64,256').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 2) throw new Error(`--batch expects whole numbers ≥ 2, got ${s}`);
    return n;
  });
  const backendChoice = (option(args, '--backend') ?? 'auto') as BackendChoice;
  if (!(BACKEND_CHOICES as readonly string[]).includes(backendChoice))
    throw new Error(`--backend expects one of ${BACKEND_CHOICES.join(', ')}`);

  const vocab = Object.fromEntries(FIELD_LIST.map((f) => [f, KNOWN_VALUES[f].length + 2]));
  const config = makeJsonEncoderConfig(vocab, { fields: [...FIELD_LIST] });
  if (option(args, '--memory-epochs') !== undefined) {
    // Memory over a long run instead of step times (train-memory-bench.ts).
    await trainMemoryBench(
      {
        epochs: wholeNumber(args, '--memory-epochs', 100),
        epochItems: wholeNumber(args, '--epoch-items', 2048),
        batch: batches[0]!,
      },
      [
        {
          name: 'tfjs (hand-fused, product threads)',
          make: () => createJsonEncoder(config, { seed: 0, backend: backendChoice }),
        },
        {
          name: 'layered',
          make: async () => {
            await startMatmulEngine();
            await useMatmulThreads(2);
            return new LayeredJsonEncoder(config, { seed: 0 });
          },
        },
        {
          name: 'ort (layered model, ONNX Runtime step)',
          make: async () => new OrtJsonEncoder(config, { seed: 0, threads: 2 }),
        },
      ],
      (B, seed) => benchInputs(B, vocab, seed),
      benchImages,
    );
    return;
  }
  // The product's configuration (helper thread on wasm with ≥ 2 cores) and the same model on one
  // thread, stepped alternately so that both see the same machine load.
  const product = await createJsonEncoder(config, { seed: 0, backend: backendChoice });
  const helperReady = await ShardWorker.whenStarted();
  const models =
    product.threads > product.backend.threads && helperReady
      ? [
          { mode: 'helper-thread', model: product },
          {
            mode: 'one-thread',
            model: await createJsonEncoder(config, { seed: 0, backend: backendChoice, helperThread: false }),
          },
        ]
      : [{ mode: 'one-thread', model: product }];
  const opt = { lr: 1e-4, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
  const tfjsAlongside = models.map(({ mode, model }) => ({
    label: mode === 'helper-thread' ? 'tfjs' : 'tfjsOneThread',
    model,
  }));
  const benchOpts = { steps, warmup, batches, reference: !args.includes('--no-reference') };
  if (option(args, '--only') === 'interleaved') {
    // The ONNX Runtime engine beside PyTorch and the tfjs model, interleaved (ort-train-bench.ts).
    await ortTrainBench(benchOpts, benchInputs, benchImages, tfjsAlongside);
    for (const { model } of models) model.dispose();
    return;
  }

  const reference = args.includes('--no-reference')
    ? { error: 'skipped (--no-reference)' }
    : runPytorchReference(
        batches,
        FIELD_LIST.map((f) => vocab[f]!),
        steps,
      );

  for (const B of batches) {
    const inputs = benchInputs(B, vocab, B);
    const images = benchImages(B, B + 1);
    const times = models.map(() => [] as number[]);
    for (let i = 0; i < warmup + steps; i++) {
      models.forEach(({ model }, k) => {
        const t0 = performance.now();
        model.trainStep(inputs, images, 0.07, opt);
        if (i >= warmup) times[k]!.push(performance.now() - t0);
      });
    }
    const ref = 'results' in reference ? reference.results.find((r) => r.batch === B) : undefined;
    models.forEach(({ mode, model }, k) => {
      const ms = median(times[k]!);
      emit({
        bench: 'train',
        engine: 'tfjs',
        mode,
        backend: model.backend.name,
        threads: model.threads,
        batch: B,
        msPerStep: +ms.toFixed(2),
        samplesPerSecond: Math.round((B / ms) * 1000),
        steps,
        warmup,
        model: `${FIELD_LIST.length} fields × ${config.embedDim} → ${config.hiddenDim} → 512, ${config.activation}, dropout ${config.dropout}; symmetric InfoNCE; AdamW; clip 1`,
        vocab: FIELD_LIST.map((f) => vocab[f]).join(','),
        ...(ref
          ? {
              pytorchMsPerStep: ref.msPerStep,
              pytorchThreads: ref.threads,
              vsPytorch: +(ms / ref.msPerStep).toFixed(2),
              meetsTarget: ms <= 2 * ref.msPerStep,
            }
          : {
              pytorch: 'error' in reference ? reference.error : 'no figure for this batch size',
              vsPerformanceMdPytorch:
                B in PYTORCH_REFERENCE
                  ? +(ms / PYTORCH_REFERENCE[B as keyof typeof PYTORCH_REFERENCE]).toFixed(2)
                  : undefined,
            }),
      });
    });
  }
  if ('results' in reference) {
    for (const r of reference.results)
      emit({
        bench: 'train',
        engine: 'pytorch-reference',
        python: reference.python,
        torch: r.torch,
        threads: r.threads,
        batch: r.batch,
        msPerStep: r.msPerStep,
        samplesPerSecond: r.samplesPerSecond,
        steps,
      });
  }
  const oneThread = models.find((m) => m.mode === 'one-thread')?.model;
  await layeredTrainBench(benchOpts, benchInputs, benchImages, oneThread);
  await ortTrainBench(benchOpts, benchInputs, benchImages, tfjsAlongside);
  for (const { model } of models) model.dispose();
}
