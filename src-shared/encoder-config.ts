/**
 * The JSON encoder's shape and its optimisation settings, declared once. The CLI flags of
 * `kfashion train` (src-main/cli/zod-options.ts derives them), the API's train input, the UI's Train
 * form and the run's config.json all come from these schemas, with these defaults and descriptions.
 *
 * The model built from a shape (src-main/encoders/json-encoder/model.ts):
 *   per field an embedding table (embedDim) → concatenation → `depth` hidden blocks
 *   [Linear → norm → activation → dropout] → Linear(hiddenDim → 512) → L2 normalisation.
 * With `residual`, every hidden block after the first (which changes the width to hiddenDim) is a
 * residual block x + f(x). Defaults: the original model's shape (5 fields × 128 → 1024 → 512, ReLU) with
 * the dropout tuning studies chose (0.15; see [Note: Why these defaults] in training/train-config.ts).
 */
import { z } from 'zod';

export const NORMS = ['none', 'layer', 'batch'] as const;
export const ACTIVATION_NAMES = ['relu', 'gelu', 'silu'] as const;
export const SCHEDULERS = ['cosine', 'step', 'exponential', 'constant'] as const;

const whole = (min: number, max: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

/** The model's shape. Every key is a CLI flag (camelCase → --kebab-case). */
export const encoderShapeSchema = z.object({
  embedDim: whole(1, 4096).default(128).describe('field-embedding size (per field)'),
  hiddenDim: whole(1, 16384).default(1024).describe('width of the hidden layers'),
  depth: whole(1, 32)
    .default(1)
    .describe('hidden blocks (Linear → norm → activation → dropout); 1 is the default model'),
  residual: z
    .boolean({ error: 'must be true or false' })
    .default(false)
    .describe('hidden blocks after the first are residual: x + f(x)'),
  norm: z
    .enum(NORMS, { error: `must be one of ${NORMS.join(', ')}` })
    .default('none')
    .describe('normalisation after each hidden Linear (batch: see the BatchNorm caveat in the README)'),
  activation: z
    .enum(ACTIVATION_NAMES, { error: `must be one of ${ACTIVATION_NAMES.join(', ')}` })
    .default('relu')
    .describe('hidden activation (silu is Swish)'),
  dropout: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be in [0, 1)' })
    .lt(1, { error: 'must be in [0, 1)' })
    .default(0.15)
    .describe('dropout probability after each hidden activation'),
});

/** Optimiser and schedule settings of the encoder's training. */
export const encoderOptimSchema = z.object({
  weightDecay: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be 0 or more' })
    .default(0.01)
    .describe('AdamW decoupled weight decay'),
  gradClip: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be 0 (off) or more' })
    .default(1)
    .describe('global gradient-norm clip (0 turns it off)'),
  scheduler: z
    .enum(SCHEDULERS, { error: `must be one of ${SCHEDULERS.join(', ')}` })
    .default('cosine')
    .describe('learning-rate schedule after the warm-up'),
  warmup: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be between 0 and 0.5' })
    .max(0.5, { error: 'must be between 0 and 0.5' })
    .default(0.05)
    .describe('fraction of the planned steps spent warming up linearly'),
  lrFloor: z
    .number({ error: 'must be a number' })
    .min(0, { error: 'must be between 0 and 1' })
    .max(1, { error: 'must be between 0 and 1' })
    .default(0.01)
    .describe('cosine: the final rate as a fraction of --lr'),
  stepEvery: whole(1, 1_000_000).default(10).describe('step: epochs between decays'),
  gamma: z
    .number({ error: 'must be a number' })
    .gt(0, { error: 'must be in (0, 1]' })
    .max(1, { error: 'must be in (0, 1]' })
    .default(0.5)
    .describe('step / exponential: factor per decay (step) or per epoch (exponential)'),
});

export const ENGINES = ['tfjs', 'layered', 'ort'] as const;

export const encoderSettingsSchema = encoderShapeSchema.extend(encoderOptimSchema.shape).extend({
  engine: z
    .enum(ENGINES, { error: `must be one of ${ENGINES.join(', ')}` })
    .default('tfjs')
    .describe(
      "JSON encoder implementation: ort (the layered model trained in ONNX Runtime; every shape but --norm batch; a new run's default, recorded in its config), tfjs (the earlier fixed-shape model; the default when --backend is given, e.g. the GPU path, and for configs recorded without an engine) or layered (every shape, in JS/wasm; chosen for --norm batch)",
    ),
});

const S = encoderSettingsSchema.shape;
/**
 * The encoder settings a training config carries beyond its older keys (embedDim, hiddenDim, dropout,
 * weightDecay, clipNorm, warmupFraction, lrFloorRatio), with the same validators, no defaults and
 * optional: absent means "the default model / the cosine schedule".
 */
export const encoderTrainOverrides = {
  engine: S.engine.unwrap().optional(),
  depth: S.depth.unwrap().optional(),
  residual: S.residual.unwrap().optional(),
  norm: S.norm.unwrap().optional(),
  activation: S.activation.unwrap().optional(),
  scheduler: S.scheduler.unwrap().optional(),
  stepEvery: S.stepEvery.unwrap().optional(),
  gamma: S.gamma.unwrap().optional(),
};
export const ENCODER_TRAIN_KEYS = Object.keys(
  encoderTrainOverrides,
) as (keyof typeof encoderTrainOverrides)[];

/** `gradClip` → `--grad-clip`: a setting's CLI flag. */
export function settingFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export type EncoderShape = z.infer<typeof encoderShapeSchema>;
export type EncoderOptim = z.infer<typeof encoderOptimSchema>;
export type EncoderSettings = z.infer<typeof encoderSettingsSchema>;

export const DEFAULT_ENCODER_SHAPE: EncoderShape = encoderShapeSchema.parse({});
export const DEFAULT_ENCODER_SETTINGS: EncoderSettings = encoderSettingsSchema.parse({});
