/**
 * The contract between the JSON encoder (encoders/json-encoder) and the trainer (training/).
 *
 * The model: per-field embedding tables (dim `embedDim`); a single-valued field looks its value up,
 * a multi-valued field takes the masked mean of its values' rows (padding ignored); the field vectors
 * are concatenated, then Linear(fields·embedDim → hiddenDim) + GELU/ReLU + dropout, Linear(hiddenDim →
 * 512), and L2 normalisation. Embeddings and MLP only: no attention, transformer or graph.
 * On the wasm backend gather has no gradient, so lookups run as a normalised multi-hot matrix times
 * the table (ARCHITECTURE.md).
 */
import type { FieldKind, FieldName } from '../../../src-shared/fields.ts';

export interface JsonEncoderConfig {
  /** Encoder inputs, in this order (default: category, style, silhouette, material, detail). */
  fields: FieldName[];
  fieldKinds: Record<string, FieldKind>;
  /** Rows of each field's table, including <pad> (0) and <unk> (1). */
  vocabSizes: Record<string, number>;
  embedDim: number; // 128
  hiddenDim: number; // 1024
  outputDim: 512;
  dropout: number; // 0.1
  /** Hidden activation (default 'relu': on the wasm backend GELU's erf/exp cost ~7 ms a step at B=256). */
  activation?: 'relu' | 'gelu' | 'silu';
  /**
   * The layered model's shape beyond the default (src-shared/encoder-config.ts): hidden blocks
   * (default 1), residual blocks after the first (default false), normalisation (default 'none').
   * The tfjs model (json-encoder.ts) only builds the default shape.
   */
  depth?: number;
  residual?: boolean;
  norm?: 'none' | 'layer' | 'batch';
  /**
   * Which implementation trains it: 'tfjs' (json-encoder.ts, default shape only), 'layered' (model.ts)
   * or 'ort' (model.ts's layered model, its MLP's step run by ONNX Runtime: ort-encoder.ts).
   */
  engine?: 'tfjs' | 'layered' | 'ort';
}

/**
 * One batch of encoder inputs. Per field, `slots` value indices per item (row-major [batch, slots]);
 * index 0 is padding. Single-valued fields have one slot (0 when the value is missing).
 */
export interface EncoderInputs {
  batchSize: number;
  fields: Record<string, { indices: Int32Array; slots: number }>;
}

export interface OptimizerSettings {
  lr: number;
  weightDecay: number; // AdamW, decoupled
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 disables. */
  clipNorm: number;
}

export interface TrainStepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Parameters by PyTorch-style name (e.g. `field_embeddings.category.weight`, `mlp.0.weight`). */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

export interface JsonEncoderState {
  params: Record<string, NamedTensor>;
  /** AdamW moments by the same names, prefixed `exp_avg.` / `exp_avg_sq.`; plus the step count. */
  optimizer: { step: number; moments: Record<string, NamedTensor> };
  /** Dropout RNG state, so a resumed run draws the same masks as an uninterrupted one. */
  rngState: number;
}

/**
 * Soft InfoNCE targets for MixUp ([B × B] row-major, row = JSON item i, column = image j; training/
 * mixup.ts mixTargets). Absent: the identity, i.e. plain InfoNCE ([Note: soft-target InfoNCE]).
 */
export type SoftTargets = Float64Array;

export interface JsonEncoderModel {
  readonly config: JsonEncoderConfig;
  /** Eval mode (no dropout): [batch × 512] L2-normalised vectors, row-major. */
  encode(inputs: EncoderInputs): Float32Array;
  /**
   * One optimisation step on the symmetric InfoNCE loss between this batch's JSON vectors and the
   * matching rows of `images` ([batch × 512], L2-normalised, frozen), with in-batch negatives.
   */
  trainStep(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    opt: OptimizerSettings,
    targets?: SoftTargets,
  ): TrainStepResult;
  /** The same loss in eval mode, without updating anything. */
  loss(inputs: EncoderInputs, images: Float32Array, temperature: number, targets?: SoftTargets): number;
  getState(): JsonEncoderState;
  setState(state: JsonEncoderState): void;
  dispose(): void;
}
