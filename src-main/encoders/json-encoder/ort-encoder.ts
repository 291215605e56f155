/**
 * The layered JSON encoder trained with ONNX Runtime (`--engine ort`): the same model, parameters,
 * state names, checkpoints and dropout generator as the layered engine (layered-encoder.ts), with the
 * MLP's forward and backward pass run as one ONNX graph per batch size (ort-step.ts). The field
 * embeddings (gather, scatter-add), the gradient norm and AdamW stay here, over the model's flat arenas:
 *
 *   embed (JS) → ORT: MLP, L2, InfoNCE, backward → embedding scatter-add (JS) → norm, AdamW (wasm SIMD)
 *
 * [Note: why ONNX Runtime for training] The step's cost is its six matrix products. tfjs-wasm's XNNPACK
 * reaches 25–52 GFLOP/s on this machine's two cores, PyTorch's BLAS 214–230 (the train bench's
 * gemm-peak lines); MLAS, ONNX Runtime's CPU GEMM, runs near native peak (AVX-512 here). The optimiser
 * state never enters the call: copying weights and both moments in and out costs ~10 ms a step.
 *
 * Evaluation and inference load the checkpoint with the layered model's weights-only path, as for the
 * layered engine: this class only trains.
 */

import { adamwHyper } from './adamw.ts';
import { JsonEncoderConfigError } from './json-encoder-config.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  OptimizerSettings,
  SoftTargets,
} from './json-encoder-types.ts';
import { LayeredJsonEncoder } from './layered-encoder.ts';
import { adamwStep, clipScale } from './optimizer.ts';
import { OrtTrainStep, ortCanTrain } from './ort-step.ts';

/** Sessions kept (one per batch size; the last batch of an epoch may be smaller). */
const MAX_SESSIONS = 3;

export class OrtJsonEncoder extends LayeredJsonEncoder {
  private readonly sessions = new Map<string, OrtTrainStep>();
  readonly threads: number;

  constructor(config: JsonEncoderConfig, opts: { seed: number; threads: number }) {
    // The arenas must be ordinary memory: the binding takes no SharedArrayBuffer views.
    super(config, { seed: opts.seed, sharedMemory: false });
    if (!ortCanTrain(this.net))
      throw new JsonEncoderConfigError(
        `--engine ort cannot train --norm ${this.net.shape.norm} (BatchNorm has no ONNX training graph yet); use --engine layered`,
      );
    this.threads = Math.max(1, Math.floor(opts.threads));
  }

  override get engine(): string {
    return `onnxruntime (${this.threads} thread${this.threads === 1 ? '' : 's'})`;
  }

  /** The session for this batch size and temperature, created once and kept. */
  private stepFor(B: number, temperature: number): OrtTrainStep {
    const key = `${B}/${temperature}`;
    let s = this.sessions.get(key);
    if (s) {
      // Most recently used last, so the eviction below drops the oldest.
      this.sessions.delete(key);
      this.sessions.set(key, s);
      return s;
    }
    if (this.sessions.size >= MAX_SESSIONS) {
      const [oldKey, old] = this.sessions.entries().next().value!;
      old.dispose();
      this.sessions.delete(oldKey);
    }
    s = new OrtTrainStep(this.net, B, temperature, this.threads);
    this.sessions.set(key, s);
    return s;
  }

  /** Wall time of the last native run (bench: the step minus this is the JS side). */
  get lastRunMs(): number {
    let last = 0;
    for (const s of this.sessions.values()) last = s.lastRunMs;
    return last;
  }

  protected override lossAndGrads(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    targets?: SoftTargets,
  ): number {
    const B = inputs.batchSize;
    const step = this.stepFor(B, temperature);
    const x = this.net.embed(inputs, B);
    const loss = step.run(x, images, targets);
    this.lastStep = step;
    this.net.embedBackward(inputs, step.dx, B);
    return loss;
  }

  private lastStep: OrtTrainStep | null = null;

  /** The MLP's Σ g² from the graph, plus the embedding tables' in JS (a few thousand rows at most). */
  protected override gradNorm(): number {
    let s = this.lastStep?.gradSumSquares ?? 0;
    for (const f of this.net.fields) {
      const g = f.table.grad;
      for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
    }
    return Math.sqrt(s);
  }

  /** AdamW as one SIMD pass over the whole arena when the wasm kernel is there, else the JS loop. */
  protected override update(gradNorm: number, opt: OptimizerSettings): void {
    const p = this.net.paramArena as Float32Array;
    const g = this.net.gradArena as Float32Array;
    const h = adamwHyper(opt, this.step);
    const scale = clipScale(gradNorm, opt.clipNorm);
    if (this.wasm) {
      const slot = { p, m: this.m as Float32Array, v: this.v as Float32Array, rows: 1, cols: p.length };
      this.wasm.updateFrom(slot, g, scale, h);
    } else adamwStep(p, g, this.m, this.v, this.step, scale, h);
  }

  override dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
    super.dispose();
  }
}
