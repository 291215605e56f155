/**
 * The training configuration: one validated object, recorded with every run and checkpoint.
 *
 * Precedence, lowest first: defaults → `--stage` preset → `--quick` → explicit values. The defaults are
 * chosen for the quality bar, not copied from the research plan: the earlier PyTorch pipeline
 * (lr 1e-4, 10 epochs, batch 64, T 0.07) overfitted when trained longer, so a default run is long but
 * ends by early stopping on the validation loss (patience 10, best weights kept), with warm-up +
 * cosine decay, decoupled weight decay and gradient clipping keeping the late epochs harmless.
 *
 * Measured on the seed-scale demo data (3,099 train / 800 val garments, whole-gallery Top-1 / Top-5 /
 * MRR at the best epoch): the earlier pipeline's recipe (constant lr 1e-4, 10 epochs) 50.4 / 89.0 /
 * 0.664; these defaults 52.3 / 90.3 / 0.679 (best epoch 14, stopped at 24). A higher peak rate
 * overfits sooner and ends lower (3e-4: 51.0 / 89.4 / 0.670; 1e-3: 49.0 / 88.8 / 0.652); more
 * dropout (0.3) or weight decay (0.1) did not help; T 0.1 was far worse on these embeddings
 * (43.5 / 84.0 / 0.600), so T stays at the research plan's 0.07.
 */
import { z } from 'zod';
import { augmentationSchema } from '../../src-shared/augmentation-config.ts';
import { ENCODER_TRAIN_KEYS, encoderTrainOverrides, settingFlag } from '../../src-shared/encoder-config.ts';
import { DEFAULT_ENCODER_FIELDS, FIELD_NAMES, isFieldName } from '../../src-shared/fields.ts';

export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
}

/** The CLI flag of each setting, so errors name what the user typed. */
export const CONFIG_FLAGS: Readonly<Record<string, string>> = {
  epochs: '--epochs',
  batchSize: '--batch-size',
  lr: '--lr',
  temperature: '--temperature',
  weightDecay: '--weight-decay',
  seed: '--seed',
  fields: '--fields',
  backend: '--backend',
  model: '--model',
  augmentation: '--json-aug / --image-views',
  ...Object.fromEntries(ENCODER_TRAIN_KEYS.map((k) => [k, settingFlag(k)])),
};

/**
 * What --backend accepts: encoders/tf-backend.ts BACKEND_CHOICES, repeated here because importing that
 * module loads tfjs, which the CLI should not do just to parse flags. A test keeps the two equal.
 */
export const BACKEND_NAMES = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;

const positive = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .refine((v) => Number.isFinite(v) && v > 0, { error: `${what} must be a positive number` });

export const trainConfigSchema = z
  .object({
    /** Upper bound on epochs; early stopping usually ends the run first. */
    epochs: z.number().int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }),
    batchSize: z
      .number()
      .int({ error: 'must be a whole number' })
      .min(2, { error: 'must be at least 2: InfoNCE needs in-batch negatives' }),
    /** Peak AdamW learning rate (after warm-up). */
    lr: positive('the learning rate'),
    /** Fraction of the planned steps spent warming up linearly. */
    warmupFraction: z.number().min(0).max(0.5, { error: 'must be between 0 and 0.5' }),
    /** End of the cosine decay as a fraction of `lr`. */
    lrFloorRatio: z.number().min(0).max(1, { error: 'must be between 0 and 1' }),
    /** Decoupled (AdamW) weight decay. */
    weightDecay: z.number().min(0, { error: 'must be 0 or more' }),
    beta1: z.number().min(0).lt(1, { error: 'must be in [0, 1)' }),
    beta2: z.number().min(0).lt(1, { error: 'must be in [0, 1)' }),
    eps: positive('eps'),
    /** Global gradient-norm clip; 0 disables. */
    clipNorm: z.number().min(0, { error: 'must be 0 (off) or more' }),
    /** InfoNCE temperature, fixed (not learned). */
    temperature: positive('the temperature'),
    /** Early stopping: epochs without a validation-loss improvement before the run stops. */
    patience: z.number().int().min(1, { error: 'must be at least 1' }),
    /** Early stopping: how much lower the loss must be to count as an improvement. */
    minDelta: z.number().min(0),
    seed: z.number().int({ error: 'must be a whole number' }).min(0, { error: 'must be 0 or more' }),
    fields: z
      .array(
        z.string().refine(isFieldName, {
          error: (iss) => `unknown field "${String(iss.input)}"; valid fields: ${FIELD_NAMES.join(', ')}`,
        }),
      )
      .min(1, { error: 'needs at least one field' })
      .refine((f) => new Set(f).size === f.length, { error: 'lists a field twice' }),
    embedDim: z.number().int().min(1),
    hiddenDim: z.number().int().min(1),
    dropout: z.number().min(0).lt(1, { error: 'must be in [0, 1)' }),
    /** tfjs backend to force; automatic (node-gpu → node → wasm → cpu) when absent. */
    backend: z.enum(BACKEND_NAMES, { error: `must be one of ${BACKEND_NAMES.join(', ')}` }).optional(),
    /** Image-embedding model id in the workspace; the only one present when absent. */
    model: z.string().min(1).optional(),
    /**
     * JSON and image augmentation (src-shared/augmentation-config.ts). Absent = none, so configs
     * written before augmentation existed replay unchanged.
     */
    augmentation: augmentationSchema.optional(),
    /** The layered encoder's shape and schedule (src-shared/encoder-config.ts); absent = the default model. */
    ...encoderTrainOverrides,
  })
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 60,
  batchSize: 64,
  lr: 1e-4,
  warmupFraction: 0.05,
  lrFloorRatio: 0.01,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipNorm: 1,
  temperature: 0.07,
  patience: 10,
  minDelta: 0,
  seed: 42,
  fields: [...DEFAULT_ENCODER_FIELDS],
  embedDim: 128,
  hiddenDim: 1024,
  dropout: 0.1,
};

/** Presets from the research plan. */
export const STAGE_PRESETS: Readonly<Record<1 | 2, Partial<TrainConfig>>> = {
  /** Stage 1: the standalone sanity training. */
  1: { epochs: 5, batchSize: 64 },
  /** Stage 2: the earlier pipeline's settings. */
  2: { epochs: 10, batchSize: 64, lr: 1e-4, temperature: 0.07 },
};

/** `--quick`: a smoke run in seconds. */
export const QUICK_PRESET: Partial<TrainConfig> = { batchSize: 4, epochs: 2 };

export interface TrainConfigOptions {
  stage?: 1 | 2;
  quick?: boolean;
  /** Explicit values (flags, API); win over every preset. Undefined entries are ignored. */
  overrides?: Partial<TrainConfig>;
  /** Start from this instead of the defaults (a saved run's config, for --resume). */
  base?: TrainConfig;
}

export function resolveTrainConfig(opts: TrainConfigOptions = {}): TrainConfig {
  const merged: Record<string, unknown> = { ...(opts.base ?? DEFAULT_TRAIN_CONFIG) };
  if (opts.stage !== undefined) {
    const preset = STAGE_PRESETS[opts.stage];
    if (!preset) throw new TrainConfigError(`--stage must be 1 or 2, got ${opts.stage}`);
    Object.assign(merged, preset);
  }
  if (opts.quick) Object.assign(merged, QUICK_PRESET);
  for (const [k, v] of Object.entries(opts.overrides ?? {})) if (v !== undefined) merged[k] = v;
  return parseTrainConfig(merged);
}

/** Validates a config (from code, a flag set or a saved JSON); the error lists every problem. */
export function parseTrainConfig(raw: unknown, source = 'training config'): TrainConfig {
  const r = trainConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const lines = r.error.issues.map((iss) => {
    if (iss.code === 'unrecognized_keys') return `unknown setting(s) ${iss.keys.join(', ')}`;
    const key = String(iss.path[0] ?? '');
    const flag = CONFIG_FLAGS[key];
    const name = flag ? `${key} (${flag})` : key;
    let value: unknown = raw;
    for (const p of iss.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
    return `${name}: ${iss.message}, got ${JSON.stringify(value)}`;
  });
  throw new TrainConfigError(`Invalid ${source}:\n  ${lines.join('\n  ')}`);
}

/**
 * Settings a resumed run may change; anything else would make it a different run. A larger `epochs`
 * extends a finished run: the cosine is then re-planned over the new total from the current step (so
 * the rate jumps up once), which is why only an unchanged `epochs` reproduces an uninterrupted run.
 */
export const RESUMABLE_CHANGES: readonly (keyof TrainConfig)[] = ['epochs', 'backend'];

/** Names the settings where `next` differs from `saved`, except the ones a resume may change. */
export function configDifferences(saved: TrainConfig, next: TrainConfig): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(next)]) as Set<keyof TrainConfig>;
  const out: string[] = [];
  for (const k of keys) {
    if (RESUMABLE_CHANGES.includes(k)) continue;
    if (JSON.stringify(saved[k]) !== JSON.stringify(next[k])) {
      out.push(
        `${CONFIG_FLAGS[k] ?? k} (saved ${JSON.stringify(saved[k])}, given ${JSON.stringify(next[k])})`,
      );
    }
  }
  return out;
}
