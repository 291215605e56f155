/**
 * Part of `npm run bench -- train` (alone: `npm run bench -- train --only interleaved`): the ONNX Runtime
 * training engine (ort-encoder.ts) beside PyTorch and the tfjs model, INTERLEAVED: a PyTorch process per
 * thread count stays open (bench/reference/train_step_server_pytorch.py) and each round runs a few steps
 * of every contender in turn (PyTorch 2 threads, ort 2 threads, PyTorch 1 thread, ort 1 thread, then the
 * tfjs model on the default shape), so every ratio compares steps taken under the same machine load.
 * Medians over all rounds; the load average is printed with each line.
 *
 * Also per line: the share of an ort step spent inside the binding's run() (native graph + binding),
 * the JS side (gathers, scatter-add, gradient norm, AdamW) and the binding's costs: its fixed per-call
 * cost (a one-value graph with 20 inputs and outputs) and what the step's outputs cost it (the
 * gradients and dx: the same number of values output by a graph, minus that graph reduced to one
 * value) ([Note: no copies into ONNX Runtime] in ort-step.ts). Inputs cost nothing: they are wrapped.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ort from 'onnxruntime-node';
import { KNOWN_VALUES } from '../src-main/dataset/kfashion-values.ts';
import { makeJsonEncoderConfig } from '../src-main/encoders/json-encoder/json-encoder-config.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  JsonEncoderModel,
} from '../src-main/encoders/json-encoder/json-encoder-types.ts';
import { OrtJsonEncoder } from '../src-main/encoders/json-encoder/ort-encoder.ts';
import { loadBinding } from '../src-main/encoders/json-encoder/ort-step.ts';
import { PYTORCH_MODULE_SOURCE } from '../src-main/encoders/json-encoder/pytorch-module.ts';
import { onnxModel } from '../src-main/encoders/onnx-model-writer.ts';
import { emit } from './machine.ts';
import { findReferenceScript, findTorchPython, NO_TORCH } from './pytorch-reference.ts';

const FIELD_LIST = ['category', 'style', 'silhouette', 'material', 'detail'] as const;
const SLOTS = [1, 3, 1, 3, 3];
const OPT = { lr: 1e-4, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
/** Steps per contender per round. */
const CHUNK = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** A PyTorch reference process answering "N steps of (variant, batch)" requests. */
class TorchSteps {
  private readonly lines: AsyncIterator<string>;
  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly threads: number,
  ) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }
  static async start(
    python: string,
    script: string,
    moduleDir: string,
    threads: number,
  ): Promise<TorchSteps> {
    const proc = spawn(python, [script, '--module-dir', moduleDir, '--threads', String(threads)], {
      env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    });
    const t = new TorchSteps(proc, threads);
    await t.next();
    return t;
  }
  private async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error('PyTorch reference process ended');
      if (r.value.startsWith('{')) return JSON.parse(r.value) as Record<string, unknown>;
    }
  }
  async steps(req: { variant: string; config: string; batch: number; steps: number }): Promise<number[]> {
    this.proc.stdin.write(`${JSON.stringify({ ...req, slots: SLOTS })}\n`);
    return (await this.next()).times as number[];
  }
  stop(): void {
    this.proc.stdin.end();
  }
}

/** Per-call cost of the binding's run() with `n` one-value inputs and outputs (µs-level), ms. */
async function bindingCallMs(n: number): Promise<number> {
  const names = Array.from({ length: n }, (_, i) => `v${i}`);
  const bytes = onnxModel({
    inputs: names.map((name) => ({ name, type: 'float', dims: [1] })),
    outputs: names.map((name) => ({ name: `o${name}`, type: 'float', dims: [1] })),
    nodes: names.map((name) => ({ op: 'Identity', inputs: [name], outputs: [`o${name}`] })),
    initializers: [],
  });
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const feeds = Object.fromEntries(
    names.map((name) => [name, new ort.Tensor('float32', new Float32Array(1), [1])]),
  );
  const t: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    await s.run(feeds);
    t.push(performance.now() - t0);
  }
  await s.release();
  return median(t);
}

/**
 * What `floats` values of output cost the binding beyond the graph, through the engine's own
 * synchronous call (ort-step.ts loadBinding): a Relu over them written into a pre-allocated output (as
 * the gradients are), minus the same Relu reduced to one value, warm, ms.
 */
function outputCostMs(floats: number): number {
  const { binding, Tensor } = loadBinding();
  const session = (big: boolean) => {
    const bytes = onnxModel({
      inputs: [{ name: 'x', type: 'float', dims: [floats] }],
      outputs: [{ name: 'y', type: 'float', dims: big ? [floats] : [] }],
      nodes: big
        ? [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }]
        : [
            { op: 'Relu', inputs: ['x'], outputs: ['r'] },
            { op: 'ReduceSum', inputs: ['r'], outputs: ['y'], attrs: { keepdims: 0 } },
          ],
      initializers: [],
    });
    const s = new binding.InferenceSession();
    s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: 1 });
    return s;
  };
  const x = new Tensor('float32', new Float32Array(floats).fill(1), [floats]);
  const y = new Float32Array(floats);
  const time = (big: boolean) => {
    const s = session(big);
    const t: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t0 = performance.now();
      s.run({ x }, { y: big ? new Tensor('float32', y, [floats]) : null }, {});
      if (i >= 5) t.push(performance.now() - t0);
    }
    s.dispose();
    return median(t);
  };
  return time(true) - time(false);
}

export async function ortTrainBench(
  opts: { steps: number; warmup: number; batches: number[]; reference: boolean },
  benchInputs: (B: number, vocab: Record<string, number>, seed: number) => EncoderInputs,
  benchImages: (B: number, seed: number) => Float32Array,
  /** The tfjs model (product configuration and one thread), stepped in the same rounds on the default shape. */
  tfjs: { label: string; model: Pick<JsonEncoderModel, 'trainStep'> }[],
): Promise<void> {
  const vocab = Object.fromEntries(FIELD_LIST.map((f) => [f, KNOWN_VALUES[f].length + 2]));
  const base = makeJsonEncoderConfig(vocab, { fields: [...FIELD_LIST] });
  const variants: { name: string; config: JsonEncoderConfig }[] = [
    { name: 'default', config: base },
    {
      name: 'residual-3x1024-layernorm-gelu-dropout0.2',
      config: { ...base, depth: 4, residual: true, norm: 'layer', activation: 'gelu', dropout: 0.2 },
    },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'kf-ort-bench-'));
  const torch: TorchSteps[] = [];
  let torchError: string | null = null;
  try {
    writeFileSync(join(dir, 'encoder_module.py'), PYTORCH_MODULE_SOURCE);
    if (opts.reference) {
      const python = findTorchPython();
      const script = findReferenceScript('train_step_server_pytorch.py');
      if (!python) torchError = NO_TORCH;
      else if (!script)
        torchError = 'bench/reference/train_step_server_pytorch.py not found next to the bench';
      else for (const threads of [2, 1]) torch.push(await TorchSteps.start(python, script, dir, threads));
    } else torchError = 'skipped (--no-reference)';
    const callMs = await bindingCallMs(20);
    const rounds = Math.max(1, Math.ceil((opts.warmup + opts.steps) / CHUNK));
    const warmRounds = Math.ceil(opts.warmup / CHUNK);
    for (const { name, config } of variants) {
      const configPath = join(dir, `${name}.json`);
      writeFileSync(configPath, JSON.stringify(config));
      const ort2 = new OrtJsonEncoder(config, { seed: 0, threads: 2 });
      const ort1 = new OrtJsonEncoder(config, { seed: 0, threads: 1 });
      const gradFloats = ort2.net.params
        .filter((p) => !p.name.startsWith('field_embeddings'))
        .reduce((a, p) => a + p.data.length, 0);
      for (const B of opts.batches) {
        const inputs = benchInputs(B, vocab, B);
        const images = benchImages(B, B + 1);
        const t = new Map<string, number[]>();
        const runMs: number[] = [];
        const push = (k: string, xs: number[]) => t.set(k, [...(t.get(k) ?? []), ...xs]);
        const ours = (label: string, m: Pick<JsonEncoderModel, 'trainStep'>, keep: boolean) => {
          const xs: number[] = [];
          for (let i = 0; i < CHUNK; i++) {
            const t0 = performance.now();
            m.trainStep(inputs, images, 0.07, OPT);
            xs.push(performance.now() - t0);
            if (keep && m === ort2) runMs.push(ort2.lastRunMs);
          }
          if (keep) push(label, xs);
        };
        const load0 = loadavg()[0]!;
        for (let r = 0; r < rounds; r++) {
          const keep = r >= warmRounds;
          const req = { variant: name, config: configPath, batch: B, steps: CHUNK };
          if (torch[0]) {
            const xs = await torch[0].steps(req);
            if (keep) push('pytorch2', xs);
          }
          ours('ort2', ort2, keep);
          if (torch[1]) {
            const xs = await torch[1].steps(req);
            if (keep) push('pytorch1', xs);
          }
          ours('ort1', ort1, keep);
          if (name === 'default') for (const x of tfjs) ours(x.label, x.model, keep);
        }
        const load1 = loadavg()[0]!;
        const med = (k: string) => (t.has(k) ? +median(t.get(k)!).toFixed(2) : null);
        const p2 = med('pytorch2');
        const p1 = med('pytorch1');
        const o2 = med('ort2')!;
        const o1 = med('ort1')!;
        const run = median(runMs);
        emit({
          bench: 'train-interleaved',
          variant: name,
          batch: B,
          stepsEach: t.get('ort2')!.length,
          loadAverage: `${load0.toFixed(2)}→${load1.toFixed(2)}`,
          ortMs: o2,
          ortOneThreadMs: o1,
          ...(p2 !== null
            ? {
                pytorchMs: p2,
                pytorchOneThreadMs: p1,
                ortVsPytorch: +(o2 / p2).toFixed(2),
                ortOneThreadVsPytorchOneThread: p1 ? +(o1 / p1).toFixed(2) : null,
                target: name === 'default' ? 0.75 : 1.0,
                meetsTarget: o2 / p2 <= (name === 'default' ? 0.75 : 1.0),
              }
            : { pytorch: torchError ?? 'no figure' }),
          ...(name === 'default'
            ? Object.fromEntries(
                tfjs.flatMap((x) => {
                  const m = med(x.label);
                  return [
                    [`${x.label}Ms`, m],
                    ...(p2 !== null && m !== null ? [[`${x.label}VsPytorch`, +(m / p2).toFixed(2)]] : []),
                  ];
                }),
              )
            : {}),
          ortRunMs: +run.toFixed(2),
          ortJsSideMs: +(o2 - run).toFixed(2),
          bindingCallMs: +callMs.toFixed(3),
          outputCostMs: +(
            await outputCostMs(gradFloats + B * config.fields.length * config.embedDim)
          ).toFixed(3),
        });
      }
      ort2.dispose();
      ort1.dispose();
    }
  } finally {
    for (const p of torch) p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
