/**
 * The trainable JSON encoder on the layered model (model.ts): JsonEncoderModel for the trainer, with
 * AdamW moments in two arenas of the parameter layout. Inference uses inference.ts instead (weights
 * only). State names are PyTorch's: parameters and buffers by state_dict name, moments as
 * `exp_avg.<name>` / `exp_avg_sq.<name>`, exactly the earlier tfjs model's for the default config.
 */

import { WasmAdamW } from './adamw.ts';
import {
  JsonEncoderConfigError,
  OUTPUT_DIM,
  validateOptimizer,
  validateTemperature,
} from './json-encoder-config.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  JsonEncoderModel,
  JsonEncoderState,
  NamedTensor,
  OptimizerSettings,
  SoftTargets,
  TrainStepResult,
} from './json-encoder-types.ts';
import type { Arr } from './layers/arrays.ts';
import { matmulEngine } from './matmul.ts';
import { type Dtype, LayeredNetwork, parameterCount, validateInputs } from './model.ts';
import { adamwStep, clipScale, globalNorm } from './optimizer.ts';
import { loadWeights, namedTensors } from './state-names.ts';

/** Rows per forward pass in `encode`. */
const ENCODE_CHUNK = 1024;

export class LayeredJsonEncoder implements JsonEncoderModel {
  readonly net: LayeredNetwork;
  protected readonly m: Arr;
  protected readonly v: Arr;
  protected step = 0;
  private disposed = false;
  protected readonly wasm: WasmAdamW | null;

  /** `sharedMemory` false: the arenas live in an unshared wasm memory (see adamw.ts WasmAdamW.create). */
  constructor(
    readonly config: JsonEncoderConfig,
    opts: { seed: number; dtype?: Dtype; sharedMemory?: boolean },
  ) {
    if (!Number.isInteger(opts.seed))
      throw new JsonEncoderConfigError(`seed must be a whole number, got ${opts.seed}`);
    this.config = { ...config, fields: [...config.fields] };
    // Parameters, gradients and both moments in the SIMD AdamW kernel's memory when it is available
    // (adamw.ts [Note: AdamW in WebAssembly SIMD]): the update is then one f32x4 pass over the arena.
    const count = parameterCount(this.config);
    this.wasm =
      opts.dtype === 'float64'
        ? null
        : WasmAdamW.create(4 * count + 64, { shared: opts.sharedMemory ?? true });
    const wasm = this.wasm;
    const alloc = wasm ? (n: number) => wasm.alloc(n) : undefined;
    this.net = new LayeredNetwork(this.config, {
      seed: opts.seed,
      dtype: opts.dtype,
      trainable: true,
      alloc,
    });
    const n = this.net.paramArena.length;
    this.m = opts.dtype === 'float64' ? new Float64Array(n) : (alloc ?? ((k) => new Float32Array(k)))(n);
    this.v = opts.dtype === 'float64' ? new Float64Array(n) : (alloc ?? ((k) => new Float32Array(k)))(n);
  }

  get engine(): string {
    return matmulEngine();
  }

  protected alive(): void {
    if (this.disposed) throw new Error('JSON encoder: used after dispose()');
  }

  protected checkBatch(inputs: EncoderInputs, images: Float32Array, temperature: number): number {
    const B = validateInputs(this.config, inputs);
    if (B < 2)
      throw new JsonEncoderConfigError(
        'a training batch needs at least 2 items: InfoNCE uses the other items of the batch as negatives',
      );
    if (!(images instanceof Float32Array) || images.length !== B * OUTPUT_DIM)
      throw new JsonEncoderConfigError(
        `images: expected ${B}×${OUTPUT_DIM} = ${B * OUTPUT_DIM} values for a batch of ${B}, got ${images?.length}`,
      );
    validateTemperature(temperature);
    return B;
  }

  encode(inputs: EncoderInputs): Float32Array {
    this.alive();
    const B = validateInputs(this.config, inputs, true);
    const out = new Float32Array(B * OUTPUT_DIM);
    for (let start = 0; start < B; start += ENCODE_CHUNK) {
      const n = Math.min(ENCODE_CHUNK, B - start);
      out.set(this.net.forward(inputs, start, n, false), start * OUTPUT_DIM);
    }
    return out;
  }

  trainStep(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    opt: OptimizerSettings,
    targets?: SoftTargets,
  ): TrainStepResult {
    this.alive();
    this.checkBatch(inputs, images, temperature);
    validateOptimizer(opt);
    const loss = this.lossAndGrads(inputs, images, temperature, targets);
    const gradNorm = this.gradNorm();
    this.step++;
    this.update(gradNorm, opt);
    return { loss, gradNorm };
  }

  /** The training-mode loss with every gradient in the network's gradient arena. */
  protected lossAndGrads(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    targets?: SoftTargets,
  ): number {
    return this.net.lossAndGrads(inputs, this.imagesIn(images), temperature, true, targets);
  }

  /** The global gradient norm of the last lossAndGrads (clip_grad_norm_'s total norm). */
  protected gradNorm(): number {
    return globalNorm(this.net.gradArena);
  }

  /** One AdamW step (this.step already counts it) with the gradients clipped to `opt.clipNorm`. */
  protected update(gradNorm: number, opt: OptimizerSettings): void {
    adamwStep(
      this.net.paramArena,
      this.net.gradArena,
      this.m,
      this.v,
      this.step,
      clipScale(gradNorm, opt.clipNorm),
      {
        lr: opt.lr,
        beta1: opt.beta1,
        beta2: opt.beta2,
        eps: opt.eps,
        weightDecay: opt.weightDecay,
      },
    );
  }

  /** Images in the network's precision (float64 models take a float64 copy). */
  protected imagesIn(images: Float32Array): Arr {
    return this.net.dtype === 'float64' ? Float64Array.from(images) : images;
  }

  /** Training-mode loss and gradients by parameter name, without an update (tests, sanity check). */
  gradients(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    targets?: SoftTargets,
  ): { loss: number; grads: Record<string, NamedTensor> } {
    this.alive();
    this.checkBatch(inputs, images, temperature);
    const loss = this.lossAndGrads(inputs, images, temperature, targets);
    const grads: Record<string, NamedTensor> = {};
    for (const p of this.net.params) grads[p.name] = { shape: [...p.shape], data: Float32Array.from(p.grad) };
    return { loss, grads };
  }

  loss(inputs: EncoderInputs, images: Float32Array, temperature: number, targets?: SoftTargets): number {
    this.alive();
    this.checkBatch(inputs, images, temperature);
    return this.net.loss(inputs, this.imagesIn(images), temperature, targets);
  }

  getState(): JsonEncoderState {
    this.alive();
    const moments: Record<string, NamedTensor> = {};
    let off = 0;
    for (const p of this.net.params) {
      const n = p.data.length;
      moments[`exp_avg.${p.name}`] = {
        shape: [...p.shape],
        data: Float32Array.from(this.m.subarray(off, off + n)),
      };
      moments[`exp_avg_sq.${p.name}`] = {
        shape: [...p.shape],
        data: Float32Array.from(this.v.subarray(off, off + n)),
      };
      off += n;
    }
    return {
      params: namedTensors(this.net),
      optimizer: { step: this.step, moments },
      rngState: this.net.dropoutState,
    };
  }

  setState(state: JsonEncoderState): void {
    this.alive();
    loadWeights(this.net, state.params);
    const moments = state.optimizer?.moments ?? {};
    let off = 0;
    for (const p of this.net.params) {
      const n = p.data.length;
      for (const [prefix, arena] of [
        ['exp_avg', this.m],
        ['exp_avg_sq', this.v],
      ] as const) {
        const t = moments[`${prefix}.${p.name}`];
        if (!t) throw new JsonEncoderConfigError(`state: optimizer moment '${prefix}.${p.name}' is missing`);
        if (t.data.length !== n)
          throw new JsonEncoderConfigError(
            `state: optimizer moment '${prefix}.${p.name}' has ${t.data.length} values, expected ${n} [${p.shape.join(', ')}]`,
          );
        arena.set(t.data, off);
      }
      off += n;
    }
    this.step = state.optimizer?.step ?? 0;
    this.net.dropoutState = state.rngState >>> 0;
  }

  dispose(): void {
    this.disposed = true;
  }
}
