/**
 * The JSON encoder as a list of layers built from its config (src-shared/encoder-config.ts):
 *
 *   field_embeddings.<field>  nn.Embedding(V, embedDim, padding_idx=0), masked mean over values
 *   concatenation             fields in config order
 *   mlp                       nn.Sequential: `depth` hidden blocks, then Linear(hiddenDim → 512)
 *                               block 1:  Linear(in → hidden) [, LayerNorm|BatchNorm1d], act, Dropout
 *                               block k:  the same with Linear(hidden → hidden); with `residual`,
 *                                         a ResidualBlock (x + f(x), children `linear`, `norm`)
 *   L2 normalisation
 *
 * The default config (depth 1, no norm, relu) gives exactly the earlier model's PyTorch names:
 * mlp.0 Linear, mlp.1 ReLU, mlp.2 Dropout, mlp.3 Linear — so its checkpoints load unchanged.
 * Module indices follow nn.Sequential's numbering (parameterless modules count too), so a PyTorch
 * module built from the same config (checkpoint-module.ts writes it) loads the file with strict=True.
 *
 * Memory (llm.c style): one parameter arena (and, for training, one gradient arena of the same
 * layout, so AdamW and the gradient norm are single loops); activations in one arena sized for the
 * largest batch seen so far, re-taken only when a larger batch arrives.
 */

import {
  DEFAULT_ENCODER_SHAPE,
  type EncoderShape,
  encoderShapeSchema,
} from '../../../src-shared/encoder-config.ts';
import { hashSeed, Rng } from '../../dataset/rng.ts';
import { JsonEncoderConfigError, OUTPUT_DIM, validateFields } from './json-encoder-config.ts';
import type { EncoderInputs, JsonEncoderConfig } from './json-encoder-types.ts';
import type { Arr } from './layers/arrays.ts';
import { concatBackward, concatForward } from './layers/concat.ts';
import { dropoutMask } from './layers/dropout.ts';
import {
  fieldEmbeddingAccumulate,
  fieldEmbeddingBackward,
  fieldEmbeddingForward,
} from './layers/field-embedding.ts';
import { infoNceForwardBackward } from './layers/info-nce.ts';
import { l2NormaliseBackward, l2NormaliseForward } from './layers/l2-normalise.ts';
import {
  type Buffer,
  carve,
  countingTake,
  type Module,
  type Param,
  param,
  type StepContext,
  type Take,
} from './layers/module.ts';
import { chainBackward, chainForward, DropoutModule, LinearModule } from './layers/modules.ts';
import { hiddenBody, ResidualBlock } from './layers/residual-block.ts';
import { FrozenWeight, matmul } from './matmul.ts';

export type Dtype = 'float32' | 'float64';

/** The shape part of a config with defaults filled in, validated (errors name the setting). */
export function resolveShape(config: JsonEncoderConfig): EncoderShape {
  const raw = {
    embedDim: config.embedDim,
    hiddenDim: config.hiddenDim,
    depth: config.depth ?? DEFAULT_ENCODER_SHAPE.depth,
    residual: config.residual ?? DEFAULT_ENCODER_SHAPE.residual,
    norm: config.norm ?? DEFAULT_ENCODER_SHAPE.norm,
    activation: config.activation ?? DEFAULT_ENCODER_SHAPE.activation,
    dropout: config.dropout,
  };
  const r = encoderShapeSchema.safeParse(raw);
  if (!r.success)
    throw new JsonEncoderConfigError(
      `JSON encoder config: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** The MLP's modules from the shape, named like an nn.Sequential called `mlp`. */
export function buildMlp(shape: EncoderShape, inWidth: number): Module[] {
  const mods: Module[] = [];
  const { hiddenDim: h, norm, activation, dropout } = shape;
  const at = () => `mlp.${mods.length}`;
  for (let k = 0; k < shape.depth; k++) {
    if (k > 0 && shape.residual) {
      mods.push(new ResidualBlock(at(), h, norm, activation, dropout));
      continue;
    }
    // A plain block is flat in the Sequential: Linear, [norm], act, Dropout take consecutive indices.
    const i = mods.length;
    const normAt = `mlp.${i + 1}`;
    mods.push(...hiddenBody(`mlp.${i}`, normAt, k === 0 ? inWidth : h, h, norm, activation, dropout));
  }
  mods.push(new LinearModule(at(), h, OUTPUT_DIM));
  return mods;
}

/** Parameter values of the model a config builds (nothing allocated). */
export function parameterCount(config: JsonEncoderConfig): number {
  const shape = resolveShape(config);
  const tables = config.fields.reduce((a, f) => a + (config.vocabSizes[f] ?? 0) * shape.embedDim, 0);
  const mlp = buildMlp(shape, config.fields.length * shape.embedDim)
    .flatMap((m) => m.params)
    .reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  return tables + mlp;
}

interface FieldSlot {
  name: string;
  vocab: number;
  table: Param;
  out: Arr;
  dout: Arr;
}

const none = new Float32Array(0);

export interface NetworkOptions {
  seed: number;
  dtype?: Dtype;
  /** Allocate gradients (training, gradient checks). Inference leaves them out. */
  trainable: boolean;
  /** Where the parameter and gradient arenas live (float32 only; e.g. the SIMD AdamW's memory). */
  alloc?: (n: number) => Float32Array;
}

export class LayeredNetwork {
  readonly shape: EncoderShape;
  readonly dtype: Dtype;
  readonly trainable: boolean;
  readonly fields: FieldSlot[];
  readonly mlp: Module[];
  /** Every parameter in PyTorch state_dict order (embeddings, then mlp). */
  readonly params: Param[];
  readonly buffers: Buffer[];
  /** All parameters, one after the other in `params` order; `grads` in the same layout. */
  readonly paramArena: Arr;
  readonly gradArena: Arr;
  readonly bufferArena: Arr;
  /** The dropout generator's 32-bit state (saved with checkpoints). */
  dropoutState: number;
  private cap = 0;
  private actGrads: Arr = none;
  private concatOut: Arr = none;
  private concatDout: Arr = none;
  private z: Arr = none;
  private dz: Arr = none;
  private norms: Arr = none;
  private sim: Arr = none;
  private lastB = 0;
  /** Inference only: the first Linear folded into each field's table ([Note: the first Linear folded into the tables]). */
  private projected: Arr[] | null = null;

  constructor(
    readonly config: JsonEncoderConfig,
    opts: NetworkOptions,
  ) {
    validateFields(config);
    this.shape = resolveShape(config);
    this.dtype = opts.dtype ?? 'float32';
    this.trainable = opts.trainable;
    const d = this.shape.embedDim;
    this.fields = config.fields.map((name) => {
      const vocab = config.vocabSizes[name]!;
      const table = param(`field_embeddings.${name}.weight`, [vocab, d], (data, rng) => {
        // nn.Embedding: N(0, 1), the padding row 0 zero.
        for (let i = d; i < data.length; i++) data[i] = rng.normal();
      });
      return { name, vocab, table, out: none, dout: none };
    });
    this.mlp = buildMlp(this.shape, config.fields.length * d);
    this.params = [...this.fields.map((f) => f.table), ...this.mlp.flatMap((m) => m.params)];
    this.buffers = this.mlp.flatMap((m) => m.buffers);
    const count = (t: { shape: number[] }) => t.shape.reduce((a, b) => a * b, 1);
    const total = this.params.reduce((a, p) => a + count(p), 0);
    const arena = (n: number) => (opts.alloc && this.dtype === 'float32' ? opts.alloc(n) : this.alloc(n));
    this.paramArena = arena(total);
    this.gradArena = this.trainable ? arena(total) : none;
    let off = 0;
    const rng = Rng.derive(opts.seed, 'json-encoder-init');
    for (const p of this.params) {
      const n = count(p);
      p.data = this.paramArena.subarray(off, off + n);
      if (this.trainable) p.grad = this.gradArena.subarray(off, off + n);
      p.init(p.data, rng);
      off += n;
    }
    this.bufferArena = this.alloc(this.buffers.reduce((a, b) => a + count(b), 0));
    off = 0;
    for (const b of this.buffers) {
      const n = count(b);
      b.data = this.bufferArena.subarray(off, off + n);
      b.init(b.data);
      off += n;
    }
    this.dropoutState = hashSeed(opts.seed, 'json-encoder-dropout') >>> 0;
  }

  private alloc(n: number): Arr {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  /** (Re)takes the activation arenas for `cap` items: sizes counted by a dry run of the same binds. */
  private ensureCapacity(B: number): void {
    if (B <= this.cap) return;
    const cap = Math.max(B, this.cap * 2 > B ? this.cap * 2 : B);
    const bindAll = (take: Take, takeGrad: Take | null) => {
      const d = this.shape.embedDim;
      for (const f of this.fields) {
        f.out = take(cap * d);
        f.dout = takeGrad ? takeGrad(cap * d) : none;
      }
      this.concatOut = take(cap * d * this.fields.length);
      this.concatDout = takeGrad ? takeGrad(cap * d * this.fields.length) : none;
      for (const m of this.mlp) m.bind(take, takeGrad, cap);
      this.z = take(cap * OUTPUT_DIM);
      this.norms = take(cap);
      this.dz = takeGrad ? takeGrad(cap * OUTPUT_DIM) : none;
      this.sim = takeGrad ? take(cap * cap) : none;
    };
    const actCount = countingTake();
    const gradCount = countingTake();
    bindAll(actCount.take, this.trainable ? gradCount.take : null);
    const acts = this.alloc(actCount.total());
    const grads = this.trainable ? this.alloc(gradCount.total()) : none;
    bindAll(carve(acts), this.trainable ? carve(grads) : null);
    this.actGrads = grads;
    this.cap = cap;
  }

  private context(B: number, train: boolean): StepContext {
    return {
      B,
      train,
      grads: train && this.trainable,
      mask: (mask, n, p) => {
        this.dropoutState = dropoutMask(mask, n, p, this.dropoutState);
      },
    };
  }

  /**
   * Forward pass of items [start, start + B) of `inputs` (already validated): the L2-normalised
   * vectors [B, 512], a view valid until the next call.
   */
  forward(inputs: EncoderInputs, start: number, B: number, train: boolean): Arr {
    this.ensureCapacity(B);
    this.lastB = B;
    const ctx = this.context(B, train);
    if (this.projected && !train) return this.forwardProjected(inputs, start, B, ctx);
    const y = chainForward(this.mlp, this.embedRows(inputs, start, B), ctx);
    l2NormaliseForward(this.z, this.norms, y, B, OUTPUT_DIM);
    return this.z.subarray(0, B * OUTPUT_DIM);
  }

  /**
   * Training loss of the batch (symmetric InfoNCE against `images`) with every parameter's gradient
   * in `gradArena` (zeroed first). `train` false: eval mode (no dropout, running BatchNorm statistics).
   */
  lossAndGrads(
    inputs: EncoderInputs,
    images: Arr,
    temperature: number,
    train = true,
    targets?: Float64Array,
  ): number {
    if (!this.trainable) throw new Error('JSON encoder: this model was built for inference (no gradients)');
    const B = inputs.batchSize;
    const z = this.forward(inputs, 0, B, train);
    this.gradArena.fill(0);
    this.actGrads.fill(0);
    const ctx = this.context(B, train);
    const loss = infoNceForwardBackward(
      this.dz,
      z,
      images,
      B,
      OUTPUT_DIM,
      temperature,
      { s: this.sim },
      targets,
    );
    const last = this.mlp[this.mlp.length - 1]!;
    l2NormaliseBackward(last.dout, this.dz, this.z, this.norms, B, OUTPUT_DIM);
    chainBackward(this.mlp, this.concatDout, ctx);
    const d = this.shape.embedDim;
    concatBackward(
      this.fields.map((f) => f.dout),
      this.concatDout,
      this.fields.map(() => d),
      B,
    );
    for (const f of this.fields) {
      const { indices, slots } = inputs.fields[f.name]!;
      fieldEmbeddingBackward(f.table.grad, f.dout, indices, slots, B, d);
    }
    return loss;
  }

  /** The loss alone (eval mode, nothing updated, no gradients). */
  loss(inputs: EncoderInputs, images: Arr, temperature: number, targets?: Float64Array): number {
    const B = inputs.batchSize;
    const z = this.forward(inputs, 0, B, false);
    return infoNceForwardBackward(null, z, images, B, OUTPUT_DIM, temperature, undefined, targets);
  }

  private embedRows(inputs: EncoderInputs, start: number, B: number): Arr {
    const d = this.shape.embedDim;
    for (const f of this.fields) {
      const { indices, slots } = inputs.fields[f.name]!;
      fieldEmbeddingForward(f.out, f.table.data, indices.subarray(start * slots), slots, B, d);
    }
    concatForward(
      this.concatOut,
      this.fields.map((f) => f.out),
      this.fields.map(() => d),
      B,
    );
    return this.concatOut;
  }

  /**
   * The MLP's input for items [0, B): the field embeddings, concatenated [B, fields·embedDim] (a view
   * valid until the next call). The ONNX Runtime engine (ort-encoder.ts) runs the MLP itself.
   */
  embed(inputs: EncoderInputs, B: number): Arr {
    this.ensureCapacity(B);
    this.lastB = B;
    return this.embedRows(inputs, 0, B);
  }

  /** The tables' gradients (written, not added) from the MLP input's gradient `dx` [B, fields·embedDim]. */
  embedBackward(inputs: EncoderInputs, dx: Arr, B: number): void {
    const d = this.shape.embedDim;
    for (const f of this.fields) {
      f.table.grad.fill(0);
      f.dout.fill(0, 0, B * d);
    }
    concatBackward(
      this.fields.map((f) => f.dout),
      dx,
      this.fields.map(() => d),
      B,
    );
    for (const f of this.fields) {
      const { indices, slots } = inputs.fields[f.name]!;
      fieldEmbeddingBackward(f.table.grad, f.dout, indices, slots, B, d);
    }
  }

  /** Draws a dropout mask from the model's generator (what the JS engine's Dropout layers do). */
  dropMask(mask: Arr, n: number, p: number): void {
    this.dropoutState = dropoutMask(mask, n, p, this.dropoutState);
  }

  get batchInLastForward(): number {
    return this.lastB;
  }

  /**
   * [Note: the first Linear folded into the tables] Pooling is a mean and the first Linear is linear,
   * so W₁·concat_f(mean E_f[values]) = Σ_f mean (E_f·W₁_fᵀ)[values], W₁_f being field f's columns.
   * Inference precomputes the projected tables P_f = E_f·W₁_fᵀ [V_f, hidden] once (vocabularies are
   * small) and replaces the largest product of a query by a few row additions. Same maths; the sums
   * are rounded in another order, so vectors agree with the unfolded forward to ~1e-6, not bitwise.
   */
  private forwardProjected(inputs: EncoderInputs, start: number, B: number, ctx: StepContext): Arr {
    const first = this.mlp[0] as LinearModule;
    const H = first.outWidth;
    const out = first.out;
    const bias = first.bias.data;
    for (let b = 0; b < B; b++) out.set(bias, b * H);
    if (out instanceof Float32Array) {
      // Straight into the first layer's output (fieldEmbeddingAccumulate), a few items at a time
      // with every field, so their rows stay in cache; the per-element order of sums is unchanged.
      const row = this.projectedScratch(H) as Float32Array;
      const fields = this.fields.map((f, i) => {
        const { indices, slots } = inputs.fields[f.name]!;
        return {
          indices: indices.subarray(start * slots),
          slots,
          table: this.projected![i]! as Float32Array,
        };
      });
      for (let b = 0; b < B; b += 8)
        for (const f of fields)
          fieldEmbeddingAccumulate(out, f.table, f.indices, f.slots, b, Math.min(B, b + 8), H, row);
    } else {
      const tmp = this.projectedScratch(B * H);
      this.fields.forEach((f, i) => {
        const { indices, slots } = inputs.fields[f.name]!;
        fieldEmbeddingForward(tmp, this.projected![i]!, indices.subarray(start * slots), slots, B, H);
        for (let k = 0; k < B * H; k++) out[k]! += tmp[k]!;
      });
    }
    // Eval-mode dropout is the identity: the frozen chain skips its copy (nothing runs backward here).
    this.evalChain ??= this.mlp.slice(1).filter((m) => !(m instanceof DropoutModule));
    const y = chainForward(this.evalChain, out, ctx);
    l2NormaliseForward(this.z, this.norms, y, B, OUTPUT_DIM);
    return this.z.subarray(0, B * OUTPUT_DIM);
  }

  private scratchRows: Arr = none;
  private evalChain: Module[] | null = null;
  private projectedScratch(n: number): Arr {
    if (this.scratchRows.length < n) this.scratchRows = this.alloc(n);
    return this.scratchRows;
  }

  /** Every Linear of the MLP, residual blocks included. */
  linears(): LinearModule[] {
    return this.mlp
      .flatMap((m) => (m instanceof ResidualBlock ? m.body : [m]))
      .filter((m): m is LinearModule => m instanceof LinearModule);
  }

  /**
   * Inference: hand each Linear's weight to the matrix engine once (matmul.ts FrozenWeight). Call
   * after the weights are final; `thaw` releases them.
   */
  freeze(): void {
    if (this.trainable || this.dtype !== 'float32') return;
    for (const l of this.linears()) {
      l.frozen?.dispose();
      l.frozen = new FrozenWeight(l.weight.data as Float32Array, l.outWidth, l.inWidth);
    }
    const first = this.mlp[0] as LinearModule;
    const d = this.shape.embedDim;
    const H = first.outWidth;
    const C = first.inWidth;
    this.projected = this.fields.map((f, i) => {
      const wf = new Float32Array(H * d);
      for (let r = 0; r < H; r++)
        wf.set(first.weight.data.subarray(r * C + i * d, r * C + (i + 1) * d), r * d);
      const p = new Float32Array(f.vocab * H);
      matmul(p, f.table.data, wf, f.vocab, d, H, { transB: true });
      return p;
    });
  }

  thaw(): void {
    this.projected = null;
    for (const l of this.linears()) {
      l.frozen?.dispose();
      l.frozen = null;
    }
  }
}

/** Checks a batch against the config; returns its size. Errors name the field and what was expected. */
export function validateInputs(config: JsonEncoderConfig, inputs: EncoderInputs, allowEmpty = false): number {
  const B = inputs?.batchSize;
  if (!Number.isInteger(B) || B < (allowEmpty ? 0 : 1))
    throw new JsonEncoderConfigError(`batchSize must be ≥ ${allowEmpty ? 0 : 1}, got ${B}`);
  for (const name of config.fields) {
    const f = inputs.fields?.[name];
    const vocab = config.vocabSizes[name]!;
    if (!f)
      throw new JsonEncoderConfigError(
        `inputs lack field '${name}' (the encoder reads ${config.fields.join(', ')})`,
      );
    if (!Number.isInteger(f.slots) || f.slots < 1)
      throw new JsonEncoderConfigError(`field '${name}': slots must be ≥ 1, got ${f.slots}`);
    if (config.fieldKinds[name] === 'single' && f.slots !== 1)
      throw new JsonEncoderConfigError(`field '${name}' is single-valued but has ${f.slots} slots`);
    if (!(f.indices instanceof Int32Array) || f.indices.length !== B * f.slots)
      throw new JsonEncoderConfigError(
        `field '${name}': expected ${B}×${f.slots} = ${B * f.slots} indices (Int32Array), got ${f.indices?.length}`,
      );
    for (let i = 0; i < f.indices.length; i++) {
      const x = f.indices[i]!;
      if (x < 0 || x >= vocab)
        throw new JsonEncoderConfigError(
          `field '${name}': index ${x} outside its vocabulary [0, ${vocab}) at item ${Math.floor(i / f.slots)}`,
        );
    }
  }
  return B;
}
