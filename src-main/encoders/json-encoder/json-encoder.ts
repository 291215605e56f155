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
 * - The backward pass needs each weight in the other layout too (dDᵀ = W₂ᵀ·dYᵀ). Parameters live in
 *   JS Float32Arrays; after AdamW (adamw.ts, one fused JS pass: ~12 tf ops measured no faster) a
 *   tiled JS transpose refreshes the mirror, cheaper than tf.transpose (5.6 ms for 1024×512) or
 *   XNNPACK's packing of a fresh second operand.
 * - Results leave tf.tidy through variables, never its return value: tidy walks returned typed arrays
 *   element by element looking for tensors (measured ~1 s a step).
 * - A helper thread (layer2-worker.ts, [Note: the second core]) takes half of Yᵀ, half of dDᵀ, dW₂ and
 *   W₂'s update; results are bit-identical with and without it.
 * - Lookups are a normalised multi-hot matrix M [batch, V] (gather has no gradient on wasm). Because
 *   vocabularies are small, layer 1 is factored through the tables: W₁·(M·E)ᵀ = (W₁_f·E_fᵀ)·Mᵀ per
 *   field, which costs V·128·1024 instead of batch·128·1024 and whose gradients are
 *   dW₁_f = G_f·E_f and dE_fᵀ = W₁_fᵀ·G_f with G = dHᵀ·M. Identical maths, fewer FLOPs when V < batch.
 * The symmetric InfoNCE gradient is closed-form: dS = (softmax_rows(S) + softmax_cols(S) − 2I) / 2B.
 *
 * [Note: parameter names and layouts] (PyTorch module: see the bench reference train_step_pytorch.py)
 *   field_embeddings.<field>.weight  [V_field, embedDim]   nn.Embedding(V, d, padding_idx=0); row 0 stays 0
 *   mlp.0.weight  [hiddenDim, fields·embedDim]             nn.Linear: [out, in], input = fields concatenated
 *   mlp.0.bias    [hiddenDim]                               in config order, embedDim columns each
 *   mlp.3.weight  [512, hiddenDim]                          (mlp = Sequential(Linear, ReLU|GELU, Dropout, Linear))
 *   mlp.3.bias    [512]
 * then F.normalize(dim=-1). Moments: `exp_avg.<name>` / `exp_avg_sq.<name>` in the same layouts.
 * Internally W₁ is kept per field ([hidden, d] blocks) and W₂ as [hidden, 512]; getState/setState
 * convert, so only the layouts above ever leave this file.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { FIELD_NAMES, FIELDS, type FieldName } from '../../../src-shared/fields.ts';
import { hashSeed, Rng } from '../../dataset/rng.ts';
import { type BackendChoice, type BackendInfo, describeBackend, initTfBackend } from '../tf-backend.ts';
import { type AdamWSlot, adamwUpdate, clipCoefficient, transposeInto, WasmAdamW } from './adamw.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  JsonEncoderModel,
  JsonEncoderState,
  NamedTensor,
  OptimizerSettings,
  TrainStepResult,
} from './json-encoder-types.ts';
import { Layer2Worker, sharedSlot } from './layer2-worker.ts';
import { fillDropoutMask, WasmDropout } from './wasm-kernels.ts';

export const OUTPUT_DIM = 512;
/** Rows per forward pass in `encode`, so encoding a whole gallery keeps memory bounded. */
const ENCODE_CHUNK = 1024;

export class JsonEncoderConfigError extends Error {
  override name = 'JsonEncoderConfigError';
}

/** A full config from a field list and vocabulary sizes, with the research plan's defaults. */
export function makeJsonEncoderConfig(
  vocabSizes: Record<string, number>,
  overrides: Partial<Omit<JsonEncoderConfig, 'vocabSizes' | 'fieldKinds' | 'outputDim'>> = {},
): JsonEncoderConfig {
  const fields = overrides.fields ?? ['category', 'style', 'silhouette', 'material', 'detail'];
  const config: JsonEncoderConfig = {
    fields: [...fields],
    fieldKinds: Object.fromEntries(fields.map((f) => [f, FIELDS[f]?.kind ?? 'single'])),
    vocabSizes: Object.fromEntries(fields.map((f) => [f, vocabSizes[f] ?? 0])),
    embedDim: overrides.embedDim ?? 128,
    hiddenDim: overrides.hiddenDim ?? 1024,
    outputDim: OUTPUT_DIM,
    dropout: overrides.dropout ?? 0.1,
    activation: overrides.activation ?? 'relu',
  };
  validateConfig(config);
  return config;
}

function isPositiveInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

export function validateConfig(c: JsonEncoderConfig): void {
  const bad = (msg: string) => {
    throw new JsonEncoderConfigError(`JSON encoder config: ${msg}`);
  };
  if (!Array.isArray(c.fields) || c.fields.length === 0) bad('`fields` must list at least one field');
  const seen = new Set<string>();
  for (const f of c.fields) {
    if (!(FIELD_NAMES as readonly string[]).includes(f))
      bad(`unknown field '${f}' (known fields: ${FIELD_NAMES.join(', ')})`);
    if (seen.has(f)) bad(`field '${f}' is listed twice`);
    seen.add(f);
    const kind = c.fieldKinds?.[f];
    if (kind !== FIELDS[f].kind)
      bad(`field '${f}' is ${FIELDS[f].kind}-valued, but fieldKinds says '${kind}'`);
    const v = c.vocabSizes?.[f];
    if (!isPositiveInt(v) || v < 2)
      bad(`vocabSizes.${f} must be a whole number ≥ 2 (<pad>, <unk>, ...), got ${v}`);
  }
  if (!isPositiveInt(c.embedDim)) bad(`embedDim must be a positive whole number, got ${c.embedDim}`);
  if (!isPositiveInt(c.hiddenDim)) bad(`hiddenDim must be a positive whole number, got ${c.hiddenDim}`);
  if (c.outputDim !== OUTPUT_DIM) bad(`outputDim must be ${OUTPUT_DIM} (FashionCLIP's), got ${c.outputDim}`);
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1))
    bad(`dropout must be in [0, 1), got ${c.dropout}`);
  if (c.activation !== undefined && c.activation !== 'relu' && c.activation !== 'gelu')
    bad(`activation must be 'relu' or 'gelu', got '${c.activation}'`);
}

export function validateOptimizer(o: OptimizerSettings): void {
  const bad = (msg: string) => {
    throw new JsonEncoderConfigError(`optimizer: ${msg}`);
  };
  const finite = (n: number) => typeof n === 'number' && Number.isFinite(n);
  if (!finite(o.lr) || o.lr < 0) bad(`learning rate must be ≥ 0, got ${o.lr}`);
  if (!finite(o.weightDecay) || o.weightDecay < 0) bad(`weight decay must be ≥ 0, got ${o.weightDecay}`);
  if (!finite(o.beta1) || o.beta1 < 0 || o.beta1 >= 1) bad(`beta1 must be in [0, 1), got ${o.beta1}`);
  if (!finite(o.beta2) || o.beta2 < 0 || o.beta2 >= 1) bad(`beta2 must be in [0, 1), got ${o.beta2}`);
  if (!finite(o.eps) || o.eps <= 0) bad(`eps must be > 0, got ${o.eps}`);
  if (!finite(o.clipNorm) || o.clipNorm < 0) bad(`clipNorm must be ≥ 0 (0 disables), got ${o.clipNorm}`);
}

function validateTemperature(t: number): void {
  if (!(typeof t === 'number' && Number.isFinite(t) && t > 0))
    throw new JsonEncoderConfigError(`temperature must be > 0, got ${t}`);
}

interface FieldParams {
  name: FieldName;
  vocab: number;
  /** Column offset of this field in the multi-hot matrix. */
  offset: number;
  /** E [V, d]. */
  emb: AdamWSlot;
  /** W₁'s column block for this field, [hidden, d] (PyTorch layout), with its [d, hidden] mirror. */
  w1: AdamWSlot & { pT: Float32Array };
}

interface GradArrays {
  loss: number;
  sumOfSquaresExceptW2: number;
  /** 0 while the helper thread computes dW₂ (it reports its own). */
  sumOfSquaresW2: number;
  /** dW₂ᵀ [hidden, 512]; null while the helper thread computes it. */
  w2T: Float32Array | null;
  b2: Float32Array;
  b1: Float32Array;
  /** Per field: dW₁_f [hidden, d] and dE_fᵀ [d, V]. */
  fields: { w1: Float32Array; eT: Float32Array }[];
}

/** The multi-hot matrices of one batch: M [B, ΣV] and Mᵀ [ΣV, B], rows normalised per field. */
interface MultiHot {
  m: Float32Array;
  mT: Float32Array;
  totalVocab: number;
}

export interface CreateJsonEncoderOptions {
  seed: number;
  backend?: BackendChoice;
  /**
   * Use a helper thread for the output layer's gradient and update (see layer2-worker.ts). Default:
   * on the wasm backend with ≥ 2 cores. Results are bit-identical with and without it.
   */
  helperThread?: boolean;
}

export interface JsonEncoder extends JsonEncoderModel {
  readonly backend: BackendInfo;
  /** Threads a training step uses: the backend's, plus the helper thread once it runs. */
  readonly threads: number;
  /** Whether steps use the helper thread once it has started (layer2-worker.ts). */
  readonly usesHelperThread: boolean;
  /**
   * Gradients of the training loss (dropout on, no update) by parameter name in PyTorch layout, and
   * the loss. For tests and the sanity check; `trainStep` does the same work and then updates.
   */
  gradients(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
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
  if (helper) Layer2Worker.warmUp();
  return new TfJsonEncoder({ ...config, fields: [...config.fields] }, opts.seed, backend, helper);
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
  if (model.usesHelperThread) await Layer2Worker.whenStarted();
  const t = model.threads;
  const helper = t > model.backend.threads ? ' + helper thread' : '';
  return {
    model,
    backend: `${model.backend.name} (${t} thread${t === 1 ? '' : 's'})`,
    backendDetail: `${describeBackend(model.backend)}${helper}`,
  };
}

let nextWasmId = 1;

class TfJsonEncoder implements JsonEncoder {
  private readonly fieldParams: FieldParams[];
  private readonly b1: AdamWSlot;
  /**
   * W₂ kept as [hidden, 512] (the layout its gradient comes in, so AdamW runs one contiguous pass)
   * with the PyTorch-layout [512, hidden] mirror in `pT`; shared with the helper thread.
   */
  private readonly w2: ReturnType<typeof sharedSlot>;
  private readonly b2: AdamWSlot;
  private readonly totalVocab: number;
  private readonly activation: 'relu' | 'gelu';
  private step = 0;
  /** The dropout generator's state (mulberry32, wasm-kernels.ts), saved with the model for --resume. */
  private dropoutState: number;
  private readonly dropoutKernel: WasmDropout | null;
  private readonly wasm: WasmAdamW | null;
  /** dW₂ᵀ's place in the wasm memory (the helper writes it there; AdamW reads it there). */
  private gW2TBuffer: Float32Array | null = null;
  private readonly wasmId = nextWasmId++;
  private disposed = false;

  constructor(
    readonly config: JsonEncoderConfig,
    seed: number,
    readonly backend: BackendInfo,
    readonly usesHelperThread: boolean,
  ) {
    const { embedDim: d, hiddenDim: h, fields } = config;
    this.activation = config.activation ?? 'relu';
    const inDim = fields.length * d;
    // Every parameter, moment and mirror lives in one shared wasm memory when WebAssembly SIMD is
    // available (adamw.ts, [Note: AdamW in WebAssembly SIMD]); plain arrays otherwise.
    const sizes = fields.map((f) => config.vocabSizes[f]! * d);
    const floats =
      sizes.reduce((a, n) => a + 3 * n + 4, 0) +
      fields.length * 4 * (h * d + 4) +
      3 * (h + 4) +
      5 * (h * OUTPUT_DIM + 4) +
      3 * (OUTPUT_DIM + 4) +
      Math.max(h * OUTPUT_DIM, h * d, ...sizes) +
      16;
    // KFASHION_WASM_ADAMW=0 keeps the JS update (for comparisons; results agree to float32 rounding).
    this.wasm = process.env.KFASHION_WASM_ADAMW === '0' ? null : WasmAdamW.create(floats);
    const wasm = this.wasm;
    const alloc = (n: number) => (wasm ? wasm.alloc(n) : new Float32Array(n));
    const slot = (rows: number, cols: number, withT = false) => ({
      p: alloc(rows * cols),
      m: alloc(rows * cols),
      v: alloc(rows * cols),
      rows,
      cols,
      ...(withT ? { pT: alloc(rows * cols) } : {}),
    });
    let offset = 0;
    this.fieldParams = fields.map((name) => {
      const vocab = config.vocabSizes[name]!;
      const fp: FieldParams = {
        name,
        vocab,
        offset,
        emb: slot(vocab, d),
        w1: slot(h, d, true) as AdamWSlot & { pT: Float32Array },
      };
      offset += vocab;
      return fp;
    });
    this.totalVocab = offset;
    this.b1 = slot(1, h);
    // W₂ must be shared memory (the helper thread updates it): the wasm memory is; else SABs.
    this.w2 = wasm ? (slot(h, OUTPUT_DIM, true) as ReturnType<typeof sharedSlot>) : sharedSlot(h, OUTPUT_DIM);
    this.b2 = slot(1, OUTPUT_DIM);
    if (wasm) {
      this.gW2TBuffer = wasm.alloc(h * OUTPUT_DIM);
      wasm.reserveStaging(Math.max(h * OUTPUT_DIM, h * d, ...sizes));
    }

    // PyTorch's default initialisation: nn.Embedding N(0, 1) with the padding row zero; nn.Linear
    // weight and bias U(±1/sqrt(in)). Drawn in a fixed order from one seeded stream.
    const rng = Rng.derive(seed, 'json-encoder-init');
    for (const fp of this.fieldParams) {
      const e = fp.emb.p;
      for (let i = d; i < e.length; i++) e[i] = rng.normal();
    }
    const bound1 = 1 / Math.sqrt(inDim);
    for (let r = 0; r < h; r++)
      for (const fp of this.fieldParams)
        for (let c = 0; c < d; c++) fp.w1.p[r * d + c] = rng.range(-bound1, bound1);
    for (let i = 0; i < h; i++) this.b1.p[i] = rng.range(-bound1, bound1);
    const bound2 = 1 / Math.sqrt(h);
    // Drawn in PyTorch's [512, hidden] order into the mirror, then transposed into the primary.
    for (let i = 0; i < this.w2.pT.length; i++) this.w2.pT[i] = rng.range(-bound2, bound2);
    transposeInto(this.w2.pT, OUTPUT_DIM, h, this.w2.p);
    for (let i = 0; i < OUTPUT_DIM; i++) this.b2.p[i] = rng.range(-bound2, bound2);
    this.refreshMirrors();
    this.dropoutState = hashSeed(seed, 'json-encoder-dropout') >>> 0;
    this.dropoutKernel = this.wasm ? WasmDropout.create() : null;
  }

  get threads(): number {
    return this.backend.threads + (this.usesHelperThread && Layer2Worker.ready() ? 1 : 0);
  }

  private refreshMirrors(): void {
    const t = (src: Float32Array, rows: number, cols: number, dst: Float32Array) =>
      this.wasm ? this.wasm.transpose(src, rows, cols, dst) : transposeInto(src, rows, cols, dst);
    for (const fp of this.fieldParams) t(fp.w1.p, fp.w1.rows, fp.w1.cols, fp.w1.pT);
    t(this.w2.p, this.w2.rows, this.w2.cols, this.w2.pT);
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error('JSON encoder: used after dispose()');
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

  /** Uploads the parameters as fresh tensors (inside the caller's tidy). */
  /** The weights as tensors (inside the caller's tidy); mirrors and W₂ only when asked for. */
  private uploadParams() {
    const d = this.config.embedDim;
    const h = this.config.hiddenDim;
    return {
      fields: this.fieldParams.map((fp) => ({
        e: tf.tensor2d(fp.emb.p, [fp.vocab, d]),
        w1: tf.tensor2d(fp.w1.p, [h, d]),
        w1T: () => tf.tensor2d(fp.w1.pT, [d, h]),
      })),
      b1: tf.tensor2d(this.b1.p, [h, 1]),
      w2: () => tf.tensor2d(this.w2.pT, [OUTPUT_DIM, h]),
      w2T: () => tf.tensor2d(this.w2.p, [h, OUTPUT_DIM]),
      b2: tf.tensor2d(this.b2.p, [OUTPUT_DIM, 1]),
    };
  }

  /** Hᵀ [hidden, B] = Σ_f (W₁_f·E_fᵀ)·M_fᵀ + b₁, as one product over the concatenated tables. */
  private hiddenPre(params: ReturnType<TfJsonEncoder['uploadParams']>, mT: tf.Tensor2D): tf.Tensor2D {
    const projected = params.fields.map((f) => tf.matMul(f.w1, tf.transpose(f.e))); // [hidden, V_f]
    const pT = projected.length === 1 ? projected[0]! : tf.concat(projected, 1);
    return tf.add(tf.matMul(pT, mT), params.b1);
  }

  /** Forward pass to the normalised outputs Zᵀ [512, B], keeping what the backward pass needs. */
  private forward(
    params: ReturnType<TfJsonEncoder['uploadParams']>,
    mT: tf.Tensor2D,
    maskT: tf.Tensor2D | null,
    helper: Layer2Worker | null = null,
  ) {
    const hT = this.hiddenPre(params, mT);
    let aT: tf.Tensor2D;
    let dAct: tf.Tensor2D | null = null; // activation'(H), for GELU
    if (this.activation === 'gelu') {
      // Exact GELU, as nn.GELU(): x·Φ(x); Φ'(x) = φ(x).
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(hT, Math.SQRT1_2)))) as tf.Tensor2D;
      aT = tf.mul(hT, cdf);
      dAct = tf.add(
        cdf,
        tf.mul(hT, tf.mul(tf.exp(tf.mul(tf.square(hT), -0.5)), 1 / Math.sqrt(2 * Math.PI))),
      ) as tf.Tensor2D;
    } else {
      aT = tf.relu(hT);
    }
    const dT = maskT ? tf.mul(aT, maskT) : aT;
    let yT: tf.Tensor2D; // [512, B]
    if (helper) {
      // Rows [half, 512) on the helper thread, rows [0, half) here, at the same time.
      const B = dT.shape[1]!;
      const half = OUTPUT_DIM / 2;
      const h = this.config.hiddenDim;
      helper.startForward(this.w2, half, dT.dataSync() as Float32Array, B);
      const top = tf.matMul(tf.tensor2d(this.w2.pT.subarray(0, half * h), [half, h]), dT);
      const bottom = tf.tensor2d(helper.finishForward(OUTPUT_DIM - half, B), [OUTPUT_DIM - half, B]);
      yT = tf.add(tf.concat([top, bottom], 0), params.b2);
    } else yT = tf.add(tf.matMul(params.w2(), dT), params.b2) as tf.Tensor2D;
    const norm = tf.sqrt(tf.sum(tf.square(yT), 0, true)) as tf.Tensor2D; // [1, B]
    const zT = tf.div(yT, norm) as tf.Tensor2D;
    return { hT, dT, dAct, norm, zT };
  }

  private dropoutMaskT(B: number): tf.Tensor2D | null {
    const p = this.config.dropout;
    if (p === 0) return null;
    const h = this.config.hiddenDim;
    const keep = 1 / (1 - p);
    // Drawn in memory order (unit by unit, then item): sequential writes. The SIMD kernel and its JS
    // twin give the same mask (wasm-kernels.ts).
    const threshold = Math.round(p * 65536);
    let mask: Float32Array;
    if (this.dropoutKernel) {
      const r = this.dropoutKernel.fill(h * B, this.dropoutState, threshold, keep);
      mask = r.mask;
      this.dropoutState = r.state;
    } else {
      mask = new Float32Array(h * B);
      this.dropoutState = fillDropoutMask(mask, this.dropoutState, threshold, keep);
    }
    return tf.tensor2d(mask, [h, B]);
  }

  /** Images scaled by 1/T as [B, 512] and transposed [512, B] (both first operands, see the Note). */
  private imageTensors(images: Float32Array, B: number, temperature: number) {
    const s = new Float32Array(images.length);
    const sT = new Float32Array(images.length);
    const inv = 1 / temperature;
    for (let b = 0; b < B; b++)
      for (let k = 0; k < OUTPUT_DIM; k++) {
        const x = images[b * OUTPUT_DIM + k]! * inv;
        s[b * OUTPUT_DIM + k] = x;
        sT[k * B + b] = x;
      }
    return { iS: tf.tensor2d(s, [B, OUTPUT_DIM]), iST: tf.tensor2d(sT, [OUTPUT_DIM, B]) };
  }

  /**
   * Loss and gradients of one batch, in the layouts AdamW reads (dW₂ and dE transposed). With a
   * helper, dW₂ᵀ is left to it (phase 1 started here) and `w2T` is null.
   */
  private lossAndGrads(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    helper: Layer2Worker | null = null,
  ): GradArrays {
    const B = this.validateInputs(inputs);
    if (B < 2)
      throw new JsonEncoderConfigError(
        'a training batch needs at least 2 items: InfoNCE uses the other items of the batch as negatives',
      );
    this.validateImages(images, B);
    validateTemperature(temperature);
    const hot = this.multiHot(inputs, 0, B);
    // Results leave the tidy through this variable, not its return value: tidy walks whatever it
    // returns looking for tensors, element by element through typed arrays (~1 s for these).
    let out: GradArrays | null = null;
    tf.tidy(() => {
      const params = this.uploadParams();
      const mT = tf.tensor2d(hot.mT, [hot.totalVocab, B]);
      const maskT = this.dropoutMaskT(B);
      const { hT, dT, dAct, norm, zT } = this.forward(params, mT, maskT, helper);
      const { iS, iST } = this.imageTensors(images, B, temperature);
      const s = tf.matMul(iS, zT) as tf.Tensor2D; // [B_image, B_json] similarities / T
      const { loss, dS } = symmetricInfoNce(s);
      // Backward, all plain products (see the Note at the top).
      const dzT = tf.matMul(iST, dS); // [512, B]
      const dyT = tf.div(tf.sub(dzT, tf.mul(zT, tf.sum(tf.mul(dzT, zT), 0, true))), norm) as tf.Tensor2D;
      const gB2 = tf.sum(dyT, 1);
      const dy = tf.transpose(dyT);
      let gW2T: tf.Tensor | null = null;
      let ddT: tf.Tensor2D; // [hidden, B]
      if (helper) {
        // Rows [half, hidden) of dDᵀ on the helper (then dW₂ᵀ there), rows [0, half) here.
        const h = this.config.hiddenDim;
        const half = h >> 1;
        helper.startGrad(
          this.w2,
          half,
          dy.dataSync() as Float32Array,
          dyT.dataSync() as Float32Array,
          B,
          this.gW2TBuffer ?? undefined,
        );
        const top = tf.matMul(tf.tensor2d(this.w2.p.subarray(0, half * OUTPUT_DIM), [half, OUTPUT_DIM]), dyT);
        const bottom = tf.tensor2d(helper.finishGradInput(h - half, B), [h - half, B]);
        ddT = tf.concat([top, bottom], 0) as tf.Tensor2D;
      } else {
        gW2T = tf.matMul(dT, dy); // [hidden, 512] = dW₂ᵀ
        ddT = tf.matMul(params.w2T(), dyT);
      }
      let dhT = maskT ? tf.mul(ddT, maskT) : ddT;
      dhT = dAct ? tf.mul(dhT, dAct) : tf.mul(dhT, tf.step(hT));
      const gB1 = tf.sum(dhT, 1);
      const g = tf.matMul(dhT, tf.tensor2d(hot.m, [B, hot.totalVocab])); // [hidden, ΣV]
      const squares: tf.Tensor[] = [tf.sum(tf.square(gB2)), tf.sum(tf.square(gB1))];
      const fieldGrads = this.fieldParams.map((fp, i) => {
        const gf = tf.slice(g, [0, fp.offset], [this.config.hiddenDim, fp.vocab]) as tf.Tensor2D;
        const w1 = tf.matMul(gf, params.fields[i]!.e); // [hidden, d]
        const eT = tf.matMul(params.fields[i]!.w1T(), gf); // [d, V] = dEᵀ
        squares.push(tf.sum(tf.square(w1)), tf.sum(tf.square(eT)));
        return { w1: w1.dataSync() as Float32Array, eT: eT.dataSync() as Float32Array };
      });
      // Loss and the sum of squares of every gradient but dW₂'s in one read: summing on the backend
      // measured cheaper than a JS pass over the downloaded arrays.
      // dW₂'s own sum is the same kernel on whichever thread computed dW₂, so both paths agree bit for bit.
      const scalars = tf
        .stack([loss, tf.addN(squares), gW2T ? tf.sum(tf.square(gW2T)) : tf.scalar(0)])
        .dataSync();
      out = {
        loss: scalars[0]!,
        sumOfSquaresExceptW2: scalars[1]!,
        sumOfSquaresW2: scalars[2]!,
        w2T: gW2T ? (gW2T.dataSync() as Float32Array) : null,
        b2: gB2.dataSync() as Float32Array,
        b1: gB1.dataSync() as Float32Array,
        fields: fieldGrads,
      };
    });
    return out!;
  }

  encode(inputs: EncoderInputs): Float32Array {
    this.checkAlive();
    const B = this.validateInputs(inputs, true); // an empty gallery encodes to nothing
    const out = new Float32Array(B * OUTPUT_DIM);
    for (let start = 0; start < B; start += ENCODE_CHUNK) {
      const n = Math.min(ENCODE_CHUNK, B - start);
      const hot = this.multiHot(inputs, start, n);
      tf.tidy(() => {
        const params = this.uploadParams();
        const { zT } = this.forward(params, tf.tensor2d(hot.mT, [hot.totalVocab, n]), null);
        out.set(tf.transpose(zT).dataSync() as Float32Array, start * OUTPUT_DIM);
      });
    }
    return out;
  }

  loss(inputs: EncoderInputs, images: Float32Array, temperature: number): number {
    this.checkAlive();
    const B = this.validateInputs(inputs);
    if (B < 2) throw new JsonEncoderConfigError('the InfoNCE loss needs a batch of at least 2 items');
    this.validateImages(images, B);
    validateTemperature(temperature);
    const hot = this.multiHot(inputs, 0, B);
    let loss = Number.NaN;
    tf.tidy(() => {
      const params = this.uploadParams();
      const { zT } = this.forward(params, tf.tensor2d(hot.mT, [hot.totalVocab, B]), null);
      const { iS } = this.imageTensors(images, B, temperature);
      loss = symmetricInfoNce(tf.matMul(iS, zT) as tf.Tensor2D).loss.dataSync()[0]!;
    });
    return loss;
  }

  trainStep(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    opt: OptimizerSettings,
  ): TrainStepResult {
    this.checkAlive();
    validateOptimizer(opt);
    const helper = this.usesHelperThread ? Layer2Worker.ready() : null;
    const g = this.lossAndGrads(inputs, images, temperature, helper);
    // Same sums on both paths, so the result does not depend on the helper.
    const w2 = helper ? helper.finishGrad() : { gW2T: g.w2T!, sumOfSquares: g.sumOfSquaresW2 };
    if (!Number.isFinite(g.loss)) throw new Error(`training loss is not finite (${g.loss}); no update made`);
    const sq = w2.sumOfSquares + g.sumOfSquaresExceptW2;
    const gradNorm = Math.sqrt(sq);
    const scale = clipCoefficient(gradNorm, opt.clipNorm);
    this.step++;
    const h = {
      lr: opt.lr,
      beta1: opt.beta1,
      beta2: opt.beta2,
      eps: opt.eps,
      weightDecay: opt.weightDecay,
      step: this.step,
    };
    const wasm = this.wasm;
    const update = (slot: AdamWSlot, grad: Float32Array, transposed: boolean) => {
      if (wasm) wasm.update(slot, grad, transposed, scale, h);
      else adamwUpdate(slot, grad, transposed, scale, h);
    };
    if (helper) {
      const gW2T = w2.gW2T;
      helper.startAdam(
        this.w2,
        scale,
        h,
        wasm
          ? {
              id: this.wasmId,
              module: wasm.module,
              memory: wasm.memory,
              args: WasmAdamW.args(this.w2, gW2T, scale, h),
            }
          : undefined,
      );
    }
    this.fieldParams.forEach((fp, i) => {
      update(fp.emb, g.fields[i]!.eT, true);
      update(fp.w1, g.fields[i]!.w1, false);
    });
    update(this.b1, g.b1, false);
    if (helper) helper.finishAdam();
    else if (wasm) {
      this.gW2TBuffer!.set(w2.gW2T);
      wasm.updateFrom(this.w2, this.gW2TBuffer!, scale, h);
    } else adamwUpdate(this.w2, w2.gW2T, false, scale, h);
    update(this.b2, g.b2, false);
    return { loss: g.loss, gradNorm };
  }

  gradients(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
  ): { loss: number; grads: Record<string, NamedTensor> } {
    this.checkAlive();
    const g = this.lossAndGrads(inputs, images, temperature);
    const d = this.config.embedDim;
    const grads: Record<string, NamedTensor> = {};
    this.fieldParams.forEach((fp, i) => {
      grads[`field_embeddings.${fp.name}.weight`] = {
        shape: [fp.vocab, d],
        data: transposeInto(g.fields[i]!.eT, d, fp.vocab, new Float32Array(fp.vocab * d)),
      };
    });
    grads['mlp.0.weight'] = {
      shape: [this.config.hiddenDim, this.fieldParams.length * d],
      data: this.joinW1(g.fields.map((f) => f.w1)),
    };
    grads['mlp.0.bias'] = { shape: [this.config.hiddenDim], data: g.b1 };
    grads['mlp.3.weight'] = {
      shape: [OUTPUT_DIM, this.config.hiddenDim],
      data: transposeInto(g.w2T!, this.config.hiddenDim, OUTPUT_DIM, new Float32Array(g.w2T!.length)),
    };
    grads['mlp.3.bias'] = { shape: [OUTPUT_DIM], data: g.b2 };
    return { loss: g.loss, grads };
  }

  // ---- state ----------------------------------------------------------------------------------

  /** Per-field [hidden, d] blocks → PyTorch's [hidden, fields·d]. */
  private joinW1(blocks: Float32Array[]): Float32Array {
    const d = this.config.embedDim;
    const h = this.config.hiddenDim;
    const n = blocks.length;
    const out = new Float32Array(h * n * d);
    for (let r = 0; r < h; r++)
      for (let f = 0; f < n; f++) out.set(blocks[f]!.subarray(r * d, (r + 1) * d), r * n * d + f * d);
    return out;
  }

  private splitW1(full: Float32Array, blocks: Float32Array[]): void {
    const d = this.config.embedDim;
    const h = this.config.hiddenDim;
    const n = blocks.length;
    for (let r = 0; r < h; r++)
      for (let f = 0; f < n; f++)
        blocks[f]!.set(full.subarray(r * n * d + f * d, r * n * d + (f + 1) * d), r * d);
  }

  /** Name → (slot, shape); `mlp.0.weight` is the join of the per-field blocks. */
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
        get: (k: 'p' | 'm' | 'v') => this.joinW1(this.fieldParams.map((fp) => fp.w1[k])),
        set: (k: 'p' | 'm' | 'v', x: Float32Array) =>
          this.splitW1(
            x,
            this.fieldParams.map((fp) => fp.w1[k]),
          ),
      },
      plain('mlp.0.bias', this.b1, [h]),
      {
        // Stored [hidden, 512]; PyTorch's nn.Linear layout is [512, hidden].
        name: 'mlp.3.weight',
        shape: [OUTPUT_DIM, h],
        get: (k: 'p' | 'm' | 'v') =>
          transposeInto(this.w2[k], h, OUTPUT_DIM, new Float32Array(h * OUTPUT_DIM)),
        set: (k: 'p' | 'm' | 'v', x: Float32Array) => {
          transposeInto(x, OUTPUT_DIM, h, this.w2[k]);
        },
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
    // Parameters live in JS arrays and every tensor is made and freed inside one tidy per call:
    // nothing on the backend to free. The helper thread keeps this model's AdamW instance (and so
    // its wasm memory) until told. The flag turns later use into a clear error.
    if (!this.disposed && this.wasm && this.usesHelperThread) Layer2Worker.ready()?.forget(this.wasmId);
    this.disposed = true;
  }
}

/**
 * Symmetric InfoNCE over a similarity matrix S [B, B] already divided by the temperature, matching
 * pairs on the diagonal: loss = ½·(CE over rows + CE over columns), each a mean over the batch
 * (PyTorch: (F.cross_entropy(S, arange) + F.cross_entropy(S.T, arange)) / 2). Which side is rows does
 * not matter: the loss is symmetric. Returns dS = (softmax_rows + softmax_cols − 2I) / 2B.
 */
export function symmetricInfoNce(s: tf.Tensor2D): { loss: tf.Scalar; dS: tf.Tensor2D } {
  return tf.tidy(() => {
    const B = s.shape[0];
    if (s.shape[1] !== B) throw new Error(`InfoNCE: similarity matrix must be square, got [${s.shape}]`);
    const lseRows = tf.logSumExp(s, 1, true); // [B, 1]
    const lseCols = tf.logSumExp(s, 0, true); // [1, B]
    const eye = tf.eye(B);
    const diag = tf.sum(tf.mul(s, eye));
    const loss = tf.sub(
      tf.div(tf.add(tf.sum(lseRows), tf.sum(lseCols)), 2 * B),
      tf.div(diag, B),
    ) as tf.Scalar;
    const dS = tf.div(
      tf.sub(tf.add(tf.exp(tf.sub(s, lseRows)), tf.exp(tf.sub(s, lseCols))), tf.mul(eye, 2)),
      2 * B,
    ) as tf.Tensor2D;
    return { loss, dS };
  });
}
