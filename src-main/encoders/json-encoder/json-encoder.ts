/**
 * The JSON encoder (json-encoder-types.ts is the contract): per-field embedding tables, masked-mean
 * pooling, MLP, L2 normalisation, trained with symmetric InfoNCE and AdamW.
 *
 * [Note: a fast training step on the wasm backend]
 * PERFORMANCE.md: on tfjs-wasm a plain matMul runs at ~25 GFLOP/s, but transposeA/transposeB fall to a
 * naive loop at 0.4-2 GFLOP/s, and matMul's built-in gradient uses them. So this file computes the
 * gradients by hand and every product is a plain matMul. Three more facts shape it:
 * - XNNPACK packs (and transposes) matMul's *second* operand on every call whose tensor is new, which is
 *   every step for a weight that was just updated (~2.3 ms for 1024×512). Weights therefore appear as
 *   the *first* operand wherever possible, which means the hidden layer runs feature-major
 *   ([features, batch], suffix `T` below): Hᵀ = W₁·Xᵀ, Yᵀ = W₂·Dᵀ use PyTorch's [out, in] layout as is.
 * - The backward pass needs each weight in the other layout too (dDᵀ = W₂ᵀ·dYᵀ). Parameters live
 *   outside tfjs, in one shared WebAssembly.Memory; after AdamW (wasm-kernels.ts, one fused SIMD pass:
 *   ~12 tf ops measured slower) a SIMD transpose refreshes the mirror, cheaper than tf.transpose
 *   (5.6 ms for 1024×512) or XNNPACK's packing of a fresh second operand.
 * - Results leave tf.tidy through variables, never its return value: tidy walks returned typed arrays
 *   element by element looking for tensors (measured ~1 s a step).
 * - The hidden layer is kept in two shards of hidden units (hidden-shard.ts), and a helper thread
 *   (shard-worker.ts, [Note: the second core]) computes and updates one while this thread does the
 *   other; results are bit-identical with and without it.
 * - Lookups are a normalised multi-hot matrix M [batch, V] (gather has no gradient on wasm). Because
 *   vocabularies are small, layer 1 is factored through the tables: W₁·(M·E)ᵀ = (W₁_f·E_fᵀ)·Mᵀ per
 *   field, which costs V·128·1024 instead of batch·128·1024 and whose gradients are
 *   dW₁_f = G_f·E_f and dE_fᵀ = W₁_fᵀ·G_f with G = dHᵀ·M. Identical maths, fewer FLOPs when V < batch.
 * The symmetric InfoNCE gradient is closed-form: dS = (softmax_rows(S) + softmax_cols(S) − 2I) / 2B;
 *   it and the normalisation run as fused loops (output-head.ts), not as ~20 tf ops.
 *
 * [Note: parameter names and layouts] (PyTorch module: see the bench reference train_step_pytorch.py)
 *   field_embeddings.<field>.weight  [V_field, embedDim]   nn.Embedding(V, d, padding_idx=0); row 0 stays 0
 *   mlp.0.weight  [hiddenDim, fields·embedDim]             nn.Linear: [out, in], input = fields concatenated
 *   mlp.0.bias    [hiddenDim]                               in config order, embedDim columns each
 *   mlp.3.weight  [512, hiddenDim]                          (mlp = Sequential(Linear, ReLU|GELU, Dropout, Linear))
 *   mlp.3.bias    [512]
 * then F.normalize(dim=-1). Moments: `exp_avg.<name>` / `exp_avg_sq.<name>` in the same layouts.
 * Internally W₁ is kept per shard and field ([rows, d] blocks) and W₂ as [rows, 512] per shard;
 * getState/setState convert, so only the layouts above ever leave this file.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { FieldName } from '../../../src-shared/fields.ts';
import { hashSeed, Rng } from '../../dataset/rng.ts';
import { type BackendChoice, type BackendInfo, describeBackend, initTfBackend } from '../tf-backend.ts';
import { type AdamWSlot, adamwHyper, adamwUpdate, transposeInto, WasmAdamW } from './adamw.ts';
import {
  readInto,
  type ShardData,
  type ShardIo,
  type ShardKept,
  shardBackward,
  shardForward,
  sumOfSquares,
} from './hidden-shard.ts';
import {
  JsonEncoderConfigError,
  OUTPUT_DIM,
  validateConfig,
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
import { clipScale } from './optimizer.ts';
import {
  normalisationBackward,
  normalisedOutput,
  softTargetInfoNce,
  symmetricInfoNce,
  transposeTargets,
} from './output-head.ts';
import { ShardWorker } from './shard-worker.ts';
import { headBuffers, SharedShardIo } from './step-buffers.ts';
import { fillDropoutMask, WasmDropout } from './wasm-kernels.ts';

export {
  JsonEncoderConfigError,
  makeJsonEncoderConfig,
  OUTPUT_DIM,
  validateConfig,
  validateOptimizer,
} from './json-encoder-config.ts';

/** Rows per forward pass in `encode`, so encoding a whole gallery keeps memory bounded. */
const ENCODE_CHUNK = 1024;

interface FieldParams {
  name: FieldName;
  vocab: number;
  /** Column offset of this field in the multi-hot matrix. */
  offset: number;
  /** E [V, d]. */
  emb: AdamWSlot;
}

type MirroredSlot = AdamWSlot & { pT: Float32Array };

/** Hidden units [from, from + rows): their parameters, gradient buffers and the views shards compute on. */
interface Shard {
  from: number;
  rows: number;
  /** Per field: W₁_f rows [rows, d] (PyTorch layout) with the [d, rows] mirror. */
  w1: MirroredSlot[];
  b1: AdamWSlot;
  /** W₂ᵀ rows [rows, 512] (the layout its gradient comes in) with the PyTorch-layout [512, rows] mirror. */
  w2: MirroredSlot;
  data: ShardData;
}

/** The multi-hot matrices of one batch: M [B, ΣV] and Mᵀ [ΣV, B], rows normalised per field. */
interface MultiHot {
  m: Float32Array;
  mT: Float32Array;
  totalVocab: number;
}

/** Loss and the gradients that are not in the shards' buffers. */
interface StepGrads {
  loss: number;
  /** Sum of squares of every gradient (for the global norm). */
  sumOfSquares: number;
  b2: Float32Array;
  /** Per field: dE_fᵀ [d, V] (both shards' parts summed). */
  eT: Float32Array[];
}

export interface CreateJsonEncoderOptions {
  seed: number;
  backend?: BackendChoice;
  /**
   * Compute one of the hidden layer's two shards on a helper thread (shard-worker.ts). Default: on
   * the wasm backend with ≥ 2 cores. Results are bit-identical with and without it.
   */
  helperThread?: boolean;
}

export interface JsonEncoder extends JsonEncoderModel {
  readonly backend: BackendInfo;
  /** Threads a training step uses: the backend's, plus the helper thread once it runs. */
  readonly threads: number;
  /** Whether steps use the helper thread once it has started (shard-worker.ts). */
  readonly usesHelperThread: boolean;
  /**
   * Gradients of the training loss (dropout on, no update) by parameter name in PyTorch layout, and
   * the loss. For tests and the sanity check; `trainStep` does the same work and then updates.
   */
  gradients(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    targets?: SoftTargets,
  ): { loss: number; grads: Record<string, NamedTensor> };
}

export async function createJsonEncoder(
  config: JsonEncoderConfig,
  opts: CreateJsonEncoderOptions,
): Promise<JsonEncoder> {
  validateConfig(config);
  if (!Number.isInteger(opts.seed))
    throw new JsonEncoderConfigError(`seed must be a whole number, got ${opts.seed}`);
  const backend = await initTfBackend(opts.backend ?? 'auto');
  // KFASHION_HELPER_THREAD=0 turns the helper off without a code change (e.g. on a busy shared
  // machine, where a second thread measured no faster: there is no idle core to run it on).
  const helper =
    opts.helperThread ??
    (backend.name === 'wasm' && availableParallelism() > 1 && process.env.KFASHION_HELPER_THREAD !== '0');
  const model = new TfJsonEncoder({ ...config, fields: [...config.fields] }, opts.seed, backend, helper);
  if (model.usesHelperThread) ShardWorker.warmUp();
  return model;
}

/**
 * The shape training/trainer.ts's EncoderFactory expects: the model, a short backend label with the
 * threads a step really uses (e.g. `wasm (2 threads)` with the helper), and the long description.
 */
export async function jsonEncoderFactory(
  config: JsonEncoderConfig,
  opts: { seed: number; backend?: string },
): Promise<{ model: JsonEncoder; backend: string; backendDetail: string }> {
  const model = await createJsonEncoder(config, {
    seed: opts.seed,
    backend: (opts.backend ?? 'auto') as BackendChoice,
  });
  // A training run is long: wait for the helper (≈ 0.3-1 s) so every step uses it from the start.
  if (model.usesHelperThread) await ShardWorker.whenStarted();
  const t = model.threads;
  const helper = t > model.backend.threads ? ' + helper thread' : '';
  return {
    model,
    backend: `${model.backend.name} (${t} thread${t === 1 ? '' : 's'})`,
    backendDetail: `${describeBackend(model.backend)}${helper}`,
  };
}

let nextModelId = 1;

class TfJsonEncoder implements JsonEncoder {
  private readonly fieldParams: FieldParams[];
  /** The hidden layer's shards ([Note: the hidden layer in two shards]): one, or two from 8 units. */
  private readonly shards: Shard[];
  private readonly b2: AdamWSlot;
  private readonly totalVocab: number;
  private step = 0;
  /** The dropout generator's state (mulberry32, wasm-kernels.ts), saved with the model for --resume. */
  private dropoutState: number;
  private readonly dropoutKernel: WasmDropout | null;
  private readonly wasm: WasmAdamW | null;
  /** Where the summed dE_fᵀ go (in the wasm memory when there is one, for the update). */
  private readonly eTSums: Float32Array[];
  private readonly remoteIo: SharedShardIo | null;
  private readonly id = nextModelId++;
  private bound = false;
  private disposed = false;
  readonly usesHelperThread: boolean;

  constructor(
    readonly config: JsonEncoderConfig,
    seed: number,
    readonly backend: BackendInfo,
    helper: boolean,
  ) {
    const { embedDim: d, hiddenDim: h, fields } = config;
    const activation = config.activation ?? 'relu';
    const inDim = fields.length * d;
    const vocabs = fields.map((f) => config.vocabSizes[f]!);
    const totalVocab = vocabs.reduce((a, b) => a + b, 0);
    // Shard 1 (the helper's) has a multiple of 4 units, so its updates need no scalar tail and its
    // mirrors take the SIMD transpose; shard 0 takes the rest. Below 8 units: one shard.
    const rows1 = Math.floor(h / 8) * 4;
    const split = rows1 > 0 ? [h - rows1, rows1] : [h];
    // Every parameter, moment, mirror and gradient lives in one shared wasm memory when WebAssembly
    // SIMD is available (wasm-kernels.ts); plain arrays otherwise. Each view is padded to 16 bytes.
    const pad = (n: number) => n + 4;
    const floats =
      vocabs.reduce((a, v) => a + 3 * pad(v * d) + pad(v * d), 0) +
      split.reduce(
        (a, r) =>
          a + fields.length * (5 * pad(r * d)) + vocabs.reduce((s, v) => s + pad(d * v), 0) + 4 * pad(r),
        0,
      ) +
      split.reduce((a, r) => a + 5 * pad(r * OUTPUT_DIM), 0) +
      3 * pad(OUTPUT_DIM) +
      pad(Math.max(OUTPUT_DIM, ...vocabs.map((v) => v * d))) +
      64;
    // KFASHION_WASM_ADAMW=0 keeps the JS kernels (for comparisons; results agree to float32 rounding).
    this.wasm = process.env.KFASHION_WASM_ADAMW === '0' ? null : WasmAdamW.create(floats);
    const wasm = this.wasm;
    const alloc = (n: number) => (wasm ? wasm.alloc(n) : new Float32Array(n));
    const slot = (rows: number, cols: number) => ({
      p: alloc(rows * cols),
      m: alloc(rows * cols),
      v: alloc(rows * cols),
      rows,
      cols,
    });
    const mirrored = (rows: number, cols: number): MirroredSlot => ({
      ...slot(rows, cols),
      pT: alloc(rows * cols),
    });
    let offset = 0;
    this.fieldParams = fields.map((name, i) => {
      const fp: FieldParams = { name, vocab: vocabs[i]!, offset, emb: slot(vocabs[i]!, d) };
      offset += vocabs[i]!;
      return fp;
    });
    this.totalVocab = totalVocab;
    this.eTSums = vocabs.map((v) => alloc(d * v));
    let from = 0;
    this.shards = split.map((rows) => {
      const w1 = fields.map(() => mirrored(rows, d));
      const b1 = slot(1, rows);
      const w2 = mirrored(rows, OUTPUT_DIM);
      const data: ShardData = {
        rows,
        embedDim: d,
        // validateConfig admits only relu and gelu for this model.
        activation: activation as 'relu' | 'gelu',
        totalVocab,
        fields: this.fieldParams.map((fp, i) => ({
          vocab: fp.vocab,
          offset: fp.offset,
          emb: fp.emb.p,
          w1: w1[i]!.p,
          w1T: w1[i]!.pT,
          gW1: alloc(rows * d),
          gET: alloc(d * fp.vocab),
        })),
        b1: b1.p,
        gB1: alloc(rows),
        w2: w2.p,
        w2T: w2.pT,
        gW2: alloc(rows * OUTPUT_DIM),
      };
      const shard: Shard = { from, rows, w1, b1, w2, data };
      from += rows;
      return shard;
    });
    this.b2 = slot(1, OUTPUT_DIM);
    // Staging for the gradients that arrive from outside the memory: dE_fᵀ (transposed there) and db₂.
    if (wasm) wasm.reserveStaging(Math.max(OUTPUT_DIM, ...vocabs.map((v) => v * d)));
    // The helper needs the shared memory (and its SIMD kernels) and a second shard.
    this.usesHelperThread = helper && wasm !== null && this.shards.length === 2;
    this.remoteIo = this.usesHelperThread ? new SharedShardIo(this.shards[1]!.rows, totalVocab) : null;

    // PyTorch's default initialisation: nn.Embedding N(0, 1) with the padding row zero; nn.Linear
    // weight and bias U(±1/sqrt(in)). Drawn in a fixed order (PyTorch's layouts) from one seeded stream.
    const rng = Rng.derive(seed, 'json-encoder-init');
    for (const fp of this.fieldParams) {
      const e = fp.emb.p;
      for (let i = d; i < e.length; i++) e[i] = rng.normal();
    }
    const bound1 = 1 / Math.sqrt(inDim);
    for (const s of this.shards)
      for (let r = 0; r < s.rows; r++)
        for (const w of s.w1) for (let c = 0; c < d; c++) w.p[r * d + c] = rng.range(-bound1, bound1);
    for (const s of this.shards) for (let r = 0; r < s.rows; r++) s.b1.p[r] = rng.range(-bound1, bound1);
    const bound2 = 1 / Math.sqrt(h);
    const w2 = Float32Array.from({ length: OUTPUT_DIM * h }, () => rng.range(-bound2, bound2)); // [512, hidden]
    this.setW2(transposeInto(w2, OUTPUT_DIM, h, new Float32Array(h * OUTPUT_DIM)), 'p');
    for (let i = 0; i < OUTPUT_DIM; i++) this.b2.p[i] = rng.range(-bound2, bound2);
    this.refreshMirrors();
    this.dropoutState = hashSeed(seed, 'json-encoder-dropout') >>> 0;
    this.dropoutKernel = this.wasm ? WasmDropout.create() : null;
  }

  get threads(): number {
    return this.backend.threads + (this.usesHelperThread && ShardWorker.ready() ? 1 : 0);
  }

  private transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): Float32Array {
    return this.wasm ? this.wasm.transpose(src, rows, cols, dst) : transposeInto(src, rows, cols, dst);
  }

  private refreshMirrors(): void {
    for (const s of this.shards) {
      for (const w of s.w1) this.transpose(w.p, w.rows, w.cols, w.pT);
      this.transpose(s.w2.p, s.w2.rows, s.w2.cols, s.w2.pT);
    }
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('JSON encoder: used after dispose()');
  }

  /** The helper, once it has started (and this model's shard 1 bound to it), else null. */
  private helper(): ShardWorker | null {
    if (!this.usesHelperThread) return null;
    const w = ShardWorker.ready();
    if (w && !this.bound) {
      w.bind(this.id, this.wasm!.module, this.wasm!.memory, this.shards[1]!.data);
      this.bound = true;
    }
    return w;
  }

  // ---- inputs ---------------------------------------------------------------------------------

  private multiHot(inputs: EncoderInputs, start: number, count: number): MultiHot {
    const V = this.totalVocab;
    const m = new Float32Array(count * V);
    const mT = new Float32Array(V * count);
    for (const fp of this.fieldParams) {
      const { indices, slots } = inputs.fields[fp.name]!;
      for (let b = 0; b < count; b++) {
        const base = (start + b) * slots;
        let n = 0;
        for (let s = 0; s < slots; s++) if (indices[base + s] !== 0) n++;
        if (n === 0) continue; // no value: the field contributes a zero vector (masked mean over nothing)
        const w = 1 / n;
        for (let s = 0; s < slots; s++) {
          const idx = indices[base + s]!;
          if (idx === 0) continue;
          const col = fp.offset + idx;
          m[b * V + col]! += w;
          mT[col * count + b]! += w;
        }
      }
    }
    return { m, mT, totalVocab: V };
  }

  private validateInputs(inputs: EncoderInputs, allowEmpty = false): number {
    const B = inputs?.batchSize;
    if (!Number.isInteger(B) || B < (allowEmpty ? 0 : 1))
      throw new JsonEncoderConfigError(`batchSize must be ≥ ${allowEmpty ? 0 : 1}, got ${B}`);
    for (const fp of this.fieldParams) {
      const f = inputs.fields?.[fp.name];
      if (!f)
        throw new JsonEncoderConfigError(
          `inputs lack field '${fp.name}' (the encoder reads ${this.config.fields.join(', ')})`,
        );
      if (!Number.isInteger(f.slots) || f.slots < 1)
        throw new JsonEncoderConfigError(`field '${fp.name}': slots must be ≥ 1, got ${f.slots}`);
      if (this.config.fieldKinds[fp.name] === 'single' && f.slots !== 1)
        throw new JsonEncoderConfigError(`field '${fp.name}' is single-valued but has ${f.slots} slots`);
      if (!(f.indices instanceof Int32Array) || f.indices.length !== B * f.slots)
        throw new JsonEncoderConfigError(
          `field '${fp.name}': expected ${B}×${f.slots} = ${B * f.slots} indices (Int32Array), got ${f.indices?.length}`,
        );
      for (let i = 0; i < f.indices.length; i++) {
        const x = f.indices[i]!;
        if (x < 0 || x >= fp.vocab)
          throw new JsonEncoderConfigError(
            `field '${fp.name}': index ${x} outside its vocabulary [0, ${fp.vocab}) at item ${Math.floor(i / f.slots)}`,
          );
      }
    }
    return B;
  }

  private validateImages(images: Float32Array, B: number): void {
    if (!(images instanceof Float32Array) || images.length !== B * OUTPUT_DIM)
      throw new JsonEncoderConfigError(
        `images: expected ${B}×${OUTPUT_DIM} = ${B * OUTPUT_DIM} values for a batch of ${B}, got ${images?.length}`,
      );
  }

  // ---- forward and backward -------------------------------------------------------------------

  /** The dropout mask [hidden, B] (shard rows are contiguous), or null without dropout. */
  private dropoutMaskT(B: number): Float32Array | null {
    const p = this.config.dropout;
    if (p === 0) return null;
    const h = this.config.hiddenDim;
    const keep = 1 / (1 - p);
    // Drawn in memory order (unit by unit, then item): sequential writes. The SIMD kernel and its JS
    // twin give the same mask (wasm-kernels.ts).
    const threshold = Math.round(p * 65536);
    if (this.dropoutKernel) {
      const r = this.dropoutKernel.fill(h * B, this.dropoutState, threshold, keep);
      this.dropoutState = r.state;
      return r.mask;
    }
    const mask = new Float32Array(h * B);
    this.dropoutState = fillDropoutMask(mask, this.dropoutState, threshold, keep);
    return mask;
  }

  /** Plain (unshared) views for a shard computed on this thread. */
  private localIo(s: Shard, hot: MultiHot, B: number, mask: Float32Array | null): ShardIo {
    return {
      batch: B,
      mT: hot.mT,
      m: hot.m,
      maskT: mask ? mask.subarray(s.from * B, (s.from + s.rows) * B) : null,
      yPart: new Float32Array(OUTPUT_DIM * B),
      dyT: new Float32Array(0),
      dy: new Float32Array(0),
      sums: new Float64Array(1),
    };
  }

  /**
   * Both shards' forward passes (shard 1 on the helper when there is one): each shard's io with its
   * partial output, and what each keeps for the backward pass when `keep`.
   */
  private forwardShards(
    hot: MultiHot,
    B: number,
    mask: Float32Array | null,
    keep: boolean,
    helper: ShardWorker | null,
  ): { ios: ShardIo[]; kept: (ShardKept | null)[] } {
    const ios = this.shards.map((s) => this.localIo(s, hot, B, mask));
    if (helper) {
      const s1 = this.shards[1]!;
      const io = this.remoteIo!.at(B);
      io.mT.set(hot.mT);
      io.m.set(hot.m);
      if (mask) io.maskT!.set(mask.subarray(s1.from * B, (s1.from + s1.rows) * B));
      else io.maskT = null;
      ios[1] = io;
      helper.startForward(this.id, io);
    }
    const kept = this.shards.map((s, i) =>
      helper && i === 1 ? null : shardForward(tf, s.data, ios[i]!, keep),
    );
    helper?.wait();
    return { ios, kept };
  }

  /** Images scaled by 1/T as [B, 512] and transposed [512, B] (both first operands, see the Note). */
  private imageArrays(
    images: Float32Array,
    B: number,
    temperature: number,
    s: Float32Array = new Float32Array(images.length),
    sT: Float32Array = new Float32Array(images.length),
  ) {
    const inv = 1 / temperature;
    for (let b = 0; b < B; b++)
      for (let k = 0; k < OUTPUT_DIM; k++) {
        const x = images[b * OUTPUT_DIM + k]! * inv;
        s[b * OUTPUT_DIM + k] = x;
        sT[k * B + b] = x;
      }
    return { iS: s, iST: sT };
  }

  /**
   * out [m, n] = a [m, k] · b [k, n], its rows in two blocks: the second on the helper when it runs
   * (a, b and out must then be shared buffers), else here. Same blocks either way, so same results.
   */
  private rowProduct(
    a: Float32Array,
    b: Float32Array,
    m: number,
    k: number,
    n: number,
    out: Float32Array,
    helper: ShardWorker | null,
  ): Float32Array {
    const m1 = m >> 1;
    const block = (r0: number, r1: number) =>
      tf.tidy(() =>
        readInto(
          tf,
          tf.matMul(tf.tensor2d(a.subarray(r0 * k, r1 * k), [r1 - r0, k]), tf.tensor2d(b, [k, n])),
          out.subarray(r0 * n, r1 * n),
        ),
      );
    if (helper) helper.startProduct(a.subarray(m1 * k, m * k), b, m - m1, k, n, out.subarray(m1 * n, m * n));
    if (m1 > 0) block(0, m1);
    if (helper) helper.wait();
    else block(m1, m);
    return out;
  }

  /**
   * Loss and gradients of one batch: shard gradients land in the shards' buffers, the rest is
   * returned. With a helper, shard 1 runs there.
   */
  private lossAndGrads(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    helper: ShardWorker | null,
    targets?: SoftTargets,
  ): StepGrads {
    const B = this.validateInputs(inputs);
    if (B < 2)
      throw new JsonEncoderConfigError(
        'a training batch needs at least 2 items: InfoNCE uses the other items of the batch as negatives',
      );
    this.validateImages(images, B);
    validateTemperature(temperature);
    const hot = this.multiHot(inputs, 0, B);
    const mask = this.dropoutMaskT(B);
    const { ios, kept } = this.forwardShards(hot, B, mask, true, helper);
    let loss = Number.NaN;
    let sqB2 = 0;
    let gB2: Float32Array = new Float32Array(0);
    try {
      // The head (output-head.ts): fused loops, and two products whose rows both threads share.
      const buf = helper ? this.remoteIo!.head(B) : headBuffers(B);
      const { zT, norm } = normalisedOutput(
        ios.map((io) => io.yPart),
        this.b2.p,
        OUTPUT_DIM,
        B,
        buf.zT,
      );
      const { iS, iST } = this.imageArrays(images, B, temperature, buf.iS, buf.iST);
      const s = this.rowProduct(iS, zT, B, OUTPUT_DIM, B, buf.s, helper);
      // S has the images as rows, the targets the JSON items: the soft targets go in transposed.
      const info = targets
        ? softTargetInfoNce(s, B, transposeTargets(this.checkTargets(targets, B), B), buf.dS)
        : symmetricInfoNce(s, B, buf.dS);
      const dzT = this.rowProduct(iST, info.dS, OUTPUT_DIM, B, B, buf.dzT, helper);
      // dYᵀ and dY go where every shard reads them: the helper's shared buffers when it runs.
      const dyT = helper ? ios[1]!.dyT : new Float32Array(OUTPUT_DIM * B);
      const dy = helper ? ios[1]!.dy : new Float32Array(B * OUTPUT_DIM);
      const back = normalisationBackward(dzT, zT, norm, OUTPUT_DIM, B, dyT, dy);
      for (const io of ios) {
        io.dyT = dyT;
        io.dy = dy;
      }
      loss = info.loss;
      sqB2 = back.sumOfSquares;
      gB2 = back.gB2;
      if (helper) helper.startBackward(this.id, ios[1]!);
      this.shards.forEach((s, i) => {
        if (!(helper && i === 1)) shardBackward(tf, s.data, ios[i]!, kept[i]!);
        kept[i] = null;
      });
      helper?.wait();
    } finally {
      // Freed here only if a pass failed before its backward ran (shardBackward frees on success).
      for (const k of kept) if (k) for (const t of [k.hT, k.dT, k.maskT, k.dAct]) t?.dispose();
    }
    // dE_fᵀ = the shards' parts summed (in shard order), then every sum of squares in a fixed order,
    // so the result does not depend on which thread computed what.
    let total = 0;
    for (const io of ios) total += io.sums[0]!;
    total += sqB2;
    const eT = this.fieldParams.map((_, f) => {
      const out = this.eTSums[f]!;
      out.set(this.shards[0]!.data.fields[f]!.gET);
      for (const s of this.shards.slice(1)) {
        const part = s.data.fields[f]!.gET;
        for (let i = 0; i < out.length; i++) out[i]! += part[i]!;
      }
      total += sumOfSquares(out);
      return out;
    });
    return { loss, sumOfSquares: total, b2: gB2, eT };
  }

  encode(inputs: EncoderInputs): Float32Array {
    this.checkAlive();
    const B = this.validateInputs(inputs, true); // an empty gallery encodes to nothing
    const out = new Float32Array(B * OUTPUT_DIM);
    for (let start = 0; start < B; start += ENCODE_CHUNK) {
      const n = Math.min(ENCODE_CHUNK, B - start);
      const { ios } = this.forwardShards(this.multiHot(inputs, start, n), n, null, false, null);
      const { zT } = normalisedOutput(
        ios.map((io) => io.yPart),
        this.b2.p,
        OUTPUT_DIM,
        n,
      );
      transposeInto(zT, OUTPUT_DIM, n, out.subarray(start * OUTPUT_DIM, (start + n) * OUTPUT_DIM));
    }
    return out;
  }

  loss(inputs: EncoderInputs, images: Float32Array, temperature: number, targets?: SoftTargets): number {
    this.checkAlive();
    const B = this.validateInputs(inputs);
    if (B < 2) throw new JsonEncoderConfigError('the InfoNCE loss needs a batch of at least 2 items');
    this.validateImages(images, B);
    validateTemperature(temperature);
    const { ios } = this.forwardShards(this.multiHot(inputs, 0, B), B, null, false, null);
    const { zT } = normalisedOutput(
      ios.map((io) => io.yPart),
      this.b2.p,
      OUTPUT_DIM,
      B,
    );
    const iS = this.imageArrays(images, B, temperature).iS;
    const s = this.rowProduct(iS, zT, B, OUTPUT_DIM, B, new Float32Array(B * B), null);
    if (targets)
      return softTargetInfoNce(
        s,
        B,
        transposeTargets(this.checkTargets(targets, B), B),
        new Float32Array(B * B),
      ).loss;
    return symmetricInfoNce(s, B).loss;
  }

  private checkTargets(targets: SoftTargets, B: number): SoftTargets {
    if (targets.length !== B * B)
      throw new JsonEncoderConfigError(
        `soft InfoNCE targets must be ${B}×${B} (one row per JSON item, one column per image), got ${targets.length} values`,
      );
    return targets;
  }

  trainStep(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    opt: OptimizerSettings,
    targets?: SoftTargets,
  ): TrainStepResult {
    this.checkAlive();
    validateOptimizer(opt);
    const helper = this.helper();
    const g = this.lossAndGrads(inputs, images, temperature, helper, targets);
    if (!Number.isFinite(g.loss)) throw new Error(`training loss is not finite (${g.loss}); no update made`);
    const gradNorm = Math.sqrt(g.sumOfSquares);
    const scale = clipScale(gradNorm, opt.clipNorm);
    this.step++;
    const h = adamwHyper(opt, this.step);
    const wasm = this.wasm;
    // A shard's gradients are already in its buffers (the wasm memory, when there is one).
    const updateInPlace = (slot: AdamWSlot, grad: Float32Array) => {
      if (wasm) wasm.updateFrom(slot, grad, scale, h);
      else adamwUpdate(slot, grad, false, scale, h);
    };
    const shardSlots = (s: Shard) => [
      ...s.w1.map((w, f) => ({ slot: w as AdamWSlot, grad: s.data.fields[f]!.gW1 })),
      { slot: s.b1, grad: s.data.gB1 },
      { slot: s.w2 as AdamWSlot, grad: s.data.gW2 },
    ];
    if (helper) {
      // Shard 1 on the helper: the same SIMD kernel and mirror transpose as updateFrom (its sizes are
      // multiples of 4, so there is no scalar tail to do).
      helper.startAdam(
        this.id,
        shardSlots(this.shards[1]!).map(({ slot, grad }) => ({
          args: WasmAdamW.args(slot, grad, scale, h),
          mirror: slot.pT ? { src: slot.p, dst: slot.pT, rows: slot.rows, cols: slot.cols } : null,
        })),
      );
    }
    this.shards.forEach((s, i) => {
      if (!(helper && i === 1)) for (const { slot, grad } of shardSlots(s)) updateInPlace(slot, grad);
    });
    this.fieldParams.forEach((fp, i) => {
      if (wasm) wasm.update(fp.emb, g.eT[i]!, true, scale, h);
      else adamwUpdate(fp.emb, g.eT[i]!, true, scale, h);
    });
    if (wasm) wasm.update(this.b2, g.b2, false, scale, h);
    else adamwUpdate(this.b2, g.b2, false, scale, h);
    helper?.wait();
    return { loss: g.loss, gradNorm };
  }

  gradients(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    targets?: SoftTargets,
  ): { loss: number; grads: Record<string, NamedTensor> } {
    this.checkAlive();
    const g = this.lossAndGrads(inputs, images, temperature, null, targets);
    const d = this.config.embedDim;
    const h = this.config.hiddenDim;
    const grads: Record<string, NamedTensor> = {};
    this.fieldParams.forEach((fp, i) => {
      grads[`field_embeddings.${fp.name}.weight`] = {
        shape: [fp.vocab, d],
        data: transposeInto(g.eT[i]!, d, fp.vocab, new Float32Array(fp.vocab * d)),
      };
    });
    grads['mlp.0.weight'] = {
      shape: [h, this.fieldParams.length * d],
      data: this.joinW1((s, f) => s.data.fields[f]!.gW1),
    };
    grads['mlp.0.bias'] = { shape: [h], data: this.joinRows((s) => s.data.gB1) };
    grads['mlp.3.weight'] = {
      shape: [OUTPUT_DIM, h],
      data: transposeInto(
        this.joinRows((s) => s.data.gW2),
        h,
        OUTPUT_DIM,
        new Float32Array(h * OUTPUT_DIM),
      ),
    };
    grads['mlp.3.bias'] = { shape: [OUTPUT_DIM], data: g.b2.slice() };
    return { loss: g.loss, grads };
  }

  // ---- state ----------------------------------------------------------------------------------

  /** The shards' row blocks stacked in hidden-unit order (a copy). */
  private joinRows(part: (s: Shard) => Float32Array): Float32Array {
    const parts = this.shards.map(part);
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Per shard and field [rows, d] blocks → PyTorch's [hidden, fields·d]. */
  private joinW1(block: (s: Shard, field: number) => Float32Array): Float32Array {
    const d = this.config.embedDim;
    const n = this.fieldParams.length;
    const out = new Float32Array(this.config.hiddenDim * n * d);
    for (const s of this.shards)
      for (let f = 0; f < n; f++) {
        const b = block(s, f);
        for (let r = 0; r < s.rows; r++)
          out.set(b.subarray(r * d, (r + 1) * d), (s.from + r) * n * d + f * d);
      }
    return out;
  }

  private splitW1(full: Float32Array, block: (s: Shard, field: number) => Float32Array): void {
    const d = this.config.embedDim;
    const n = this.fieldParams.length;
    for (const s of this.shards)
      for (let f = 0; f < n; f++) {
        const b = block(s, f);
        for (let r = 0; r < s.rows; r++)
          b.set(full.subarray((s.from + r) * n * d + f * d, (s.from + r) * n * d + (f + 1) * d), r * d);
      }
  }

  /** Sets W₂ᵀ (or a moment) from [hidden, 512], shard by shard. */
  private setW2(full: Float32Array, k: 'p' | 'm' | 'v'): void {
    for (const s of this.shards)
      s.w2[k].set(full.subarray(s.from * OUTPUT_DIM, (s.from + s.rows) * OUTPUT_DIM));
  }

  /** Name → (shape, get, set); `mlp.*` are joined from and split into the shards. */
  private namedSlots(): {
    name: string;
    shape: number[];
    get: (k: 'p' | 'm' | 'v') => Float32Array;
    set: (k: 'p' | 'm' | 'v', x: Float32Array) => void;
  }[] {
    const d = this.config.embedDim;
    const h = this.config.hiddenDim;
    const plain = (name: string, slot: AdamWSlot, shape: number[]) => ({
      name,
      shape,
      get: (k: 'p' | 'm' | 'v') => slot[k].slice(),
      set: (k: 'p' | 'm' | 'v', x: Float32Array) => slot[k].set(x),
    });
    return [
      ...this.fieldParams.map((fp) => plain(`field_embeddings.${fp.name}.weight`, fp.emb, [fp.vocab, d])),
      {
        name: 'mlp.0.weight',
        shape: [h, this.fieldParams.length * d],
        get: (k) => this.joinW1((s, f) => s.w1[f]![k]),
        set: (k, x) => this.splitW1(x, (s, f) => s.w1[f]![k]),
      },
      {
        name: 'mlp.0.bias',
        shape: [h],
        get: (k) => this.joinRows((s) => s.b1[k]),
        set: (k, x) => {
          for (const s of this.shards) s.b1[k].set(x.subarray(s.from, s.from + s.rows));
        },
      },
      {
        // Kept as [hidden, 512] row blocks; PyTorch's nn.Linear layout is [512, hidden].
        name: 'mlp.3.weight',
        shape: [OUTPUT_DIM, h],
        get: (k) =>
          transposeInto(
            this.joinRows((s) => s.w2[k]),
            h,
            OUTPUT_DIM,
            new Float32Array(h * OUTPUT_DIM),
          ),
        set: (k, x) => this.setW2(transposeInto(x, OUTPUT_DIM, h, new Float32Array(h * OUTPUT_DIM)), k),
      },
      plain('mlp.3.bias', this.b2, [OUTPUT_DIM]),
    ];
  }

  getState(): JsonEncoderState {
    this.checkAlive();
    const params: Record<string, NamedTensor> = {};
    const moments: Record<string, NamedTensor> = {};
    for (const s of this.namedSlots()) {
      params[s.name] = { shape: [...s.shape], data: s.get('p') };
      moments[`exp_avg.${s.name}`] = { shape: [...s.shape], data: s.get('m') };
      moments[`exp_avg_sq.${s.name}`] = { shape: [...s.shape], data: s.get('v') };
    }
    return { params, optimizer: { step: this.step, moments }, rngState: this.dropoutState };
  }

  setState(state: JsonEncoderState): void {
    this.checkAlive();
    const slots = this.namedSlots();
    const check = (what: string, t: NamedTensor | undefined, shape: number[]) => {
      if (!t) throw new JsonEncoderConfigError(`state: missing tensor '${what}'`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (t.shape.length !== shape.length || t.shape.some((x, i) => x !== shape[i]) || t.data.length !== n)
        throw new JsonEncoderConfigError(
          `state: '${what}' has shape [${t.shape}] (${t.data?.length} values), this encoder needs [${shape}]`,
        );
      return t.data;
    };
    const hasMoments = state.optimizer && Object.keys(state.optimizer.moments ?? {}).length > 0;
    // Validate everything before changing anything, so a bad state leaves the model as it was.
    const plan = slots.map((s) => ({
      s,
      p: check(s.name, state.params[s.name], s.shape),
      m: hasMoments
        ? check(`exp_avg.${s.name}`, state.optimizer.moments[`exp_avg.${s.name}`], s.shape)
        : null,
      v: hasMoments
        ? check(`exp_avg_sq.${s.name}`, state.optimizer.moments[`exp_avg_sq.${s.name}`], s.shape)
        : null,
    }));
    const known = new Set(slots.map((s) => s.name));
    const extra = Object.keys(state.params).filter((k) => !known.has(k));
    if (extra.length) throw new JsonEncoderConfigError(`state: unexpected tensors ${extra.join(', ')}`);
    for (const { s, p, m, v } of plan) {
      s.set('p', p);
      s.set('m', m ?? new Float32Array(p.length));
      s.set('v', v ?? new Float32Array(p.length));
    }
    this.step = hasMoments ? state.optimizer.step : 0;
    if (Number.isInteger(state.rngState)) this.dropoutState = state.rngState >>> 0;
    this.refreshMirrors();
  }

  dispose(): void {
    // Parameters live in JS arrays and every tensor is made and freed within one call: nothing on the
    // backend to free. The helper thread keeps this model's kernels (and so its wasm memory) until
    // told. The flag turns later use into a clear error.
    if (!this.disposed && this.bound) ShardWorker.ready()?.forget(this.id);
    this.disposed = true;
  }
}
