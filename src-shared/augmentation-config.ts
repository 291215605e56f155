/**
 * Augmentation settings, declared once: what `kfashion train --json-aug … --image-views …` accepts,
 * what a run's config.json records (so a replay applies exactly the same augmentation), and what the
 * dashboard shows beside its examples. Pure zod, no Node: the renderer and the API validate with it too.
 *
 * Every augmentation is off by default, so a run without these flags is today's run bit for bit.
 *
 * JSON augmentation works on the encoder's index inputs, per training step, from a generator seeded by
 * (run seed, epoch, step): the same run sees the same augmented batches, including after a resume.
 * Image augmentation cannot be applied per step (the image encoder is frozen and costs ~100 ms a
 * crop), so augmented views are embedded once (`kfashion embed --views N`) and training picks one
 * stored view per garment per epoch.
 */
import { z } from 'zod';

const probability = (what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .min(0, { error: `${what} must be between 0 and 1` })
    .max(1, { error: `${what} must be between 0 and 1` });

/** Field dropout probability used when `--json-aug dropout` is given without a value. */
export const DEFAULT_FIELD_DROPOUT = 0.2;
/** Synonym replacement probability used when `--json-aug synonym` is given without a value. */
export const DEFAULT_SYNONYM_PROBABILITY = 0.3;
/** Attribute mixing probability used when `--json-aug mix` is given without a value. */
export const DEFAULT_MIX_PROBABILITY = 0.2;

/** The multi-valued fields attribute mixing may swap by default (garment-level ones; see the README). */
export const DEFAULT_MIX_FIELDS = ['material', 'detail', 'print'] as const;

export const jsonAugmentationSchema = z
  .object({
    /** Each present field of a garment is masked (set to padding) with this probability; one is always kept. */
    fieldDropout: z
      .number({ error: 'field dropout must be a number' })
      .min(0, { error: 'field dropout must be between 0 and 0.9' })
      .max(0.9, { error: 'field dropout must be between 0 and 0.9 (one field is always kept)' })
      .default(0),
    /** Each style/material value that has synonyms is replaced by one of them with this probability. */
    synonym: probability('synonym replacement').default(0),
    /** Per garment, the probability of swapping one multi-valued field with a same-category garment of the batch. */
    mix: probability('attribute mixing').default(0),
    /** The fields attribute mixing may swap (multi-valued encoder fields only). */
    mixFields: z.array(z.string()).default([...DEFAULT_MIX_FIELDS]),
    /**
     * Per style folder, a multiplier on the three probabilities above (capped: dropout at 0.9, the
     * others at 1). E.g. {"레트로": 2} augments K-Fashion's smallest style twice as often.
     */
    styleStrength: z
      .record(
        z.string(),
        z
          .number({ error: 'a style strength must be a number' })
          .min(0, { error: 'a style strength must be 0 or more' })
          .max(10, { error: 'a style strength must be at most 10' }),
      )
      .default({}),
  })
  .strict();

export type JsonAugmentation = z.infer<typeof jsonAugmentationSchema>;

/** The parameters of one augmented view of a crop (torchvision-style ranges). */
const viewSettingsObject = z
  .object({
    /** Rotation drawn uniformly in ±degrees (corners filled black, like torchvision's fill=0). */
    rotation: z.number().min(0).max(180).default(15),
    /** Probability of a horizontal flip. */
    flip: probability('flip probability').default(0.5),
    /** Brightness, contrast and saturation factors drawn uniformly in [1 − x, 1 + x]. */
    brightness: z.number().min(0).max(1).default(0.2),
    contrast: z.number().min(0).max(1).default(0.2),
    saturation: z.number().min(0).max(1).default(0.2),
    /** RandomResizedCrop: area fraction kept, drawn in [scaleMin, scaleMax]; aspect ratio in [3/4, 4/3]. */
    scaleMin: z.number().gt(0).max(1).default(0.8),
    scaleMax: z.number().gt(0).max(1).default(1),
    /**
     * CutMix before embedding: with this probability a view pastes a box of another garment's crop of
     * the same category into this one (box area fraction uniform in [0, cutmixMaxArea]). The mixing
     * weight is stored with the view.
     */
    cutmix: probability('CutMix probability').default(0),
    cutmixMaxArea: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const viewSettingsSchema = viewSettingsObject.refine((s) => s.scaleMin <= s.scaleMax, {
  error: 'scaleMin must not exceed scaleMax',
});

export type ViewSettings = z.infer<typeof viewSettingsSchema>;

/** View settings as a request gives them: any subset, the rest take their defaults. */
export const viewSettingsInputSchema = viewSettingsObject.partial();

export const imageAugmentationSchema = z
  .object({
    /**
     * Training samples one stored view per garment per epoch from the original and its first
     * `views` augmented views (0 = originals only).
     */
    views: z.number().int({ error: 'must be a whole number' }).min(0).max(64).default(0),
    /** The view recipe the stored views must have been embedded with (its cache key). */
    viewSettings: viewSettingsSchema.default(viewSettingsSchema.parse({})),
    /** Seed the views were drawn with (`kfashion embed --views N --view-seed S`). */
    viewSeed: z.number().int().min(0).default(0),
    /**
     * MixUp of image vectors: per batch row, with this probability its image vector becomes
     * normalise(λ·own + (1−λ)·partner) and the InfoNCE target of both directions is split λ / 1−λ.
     */
    mixup: probability('MixUp probability').default(0),
    /** λ ~ Beta(α, α), folded to λ ≥ 0.5 so the garment's own image stays the main part. */
    mixupAlpha: z.number().gt(0).max(10).default(0.4),
  })
  .strict();

export type ImageAugmentation = z.infer<typeof imageAugmentationSchema>;

export const augmentationSchema = z
  .object({
    json: jsonAugmentationSchema.default(jsonAugmentationSchema.parse({})),
    image: imageAugmentationSchema.default(imageAugmentationSchema.parse({})),
  })
  .strict();

export type AugmentationSettings = z.infer<typeof augmentationSchema>;

export const NO_AUGMENTATION: AugmentationSettings = augmentationSchema.parse({});

export function jsonAugmentationActive(j: JsonAugmentation): boolean {
  return j.fieldDropout > 0 || j.synonym > 0 || j.mix > 0;
}

export function augmentationActive(a: AugmentationSettings): boolean {
  return jsonAugmentationActive(a.json) || a.image.views > 0 || a.image.mixup > 0;
}

export class AugmentationFlagError extends Error {
  override name = 'AugmentationFlagError';
}

/**
 * Parses the `--json-aug` flag: comma-separated `dropout[=p]`, `synonym[=p]`, `mix[=p]`,
 * `mix-fields=material+detail`, `strength=레트로:2+로맨틱:0.5`, or `none`. A bare name takes its
 * default probability. The result is validated by jsonAugmentationSchema; errors name the flag.
 */
export function parseJsonAugFlag(text: string): JsonAugmentation {
  const raw: Record<string, unknown> = {};
  const t = text.trim();
  if (t === '' || t === 'none') return jsonAugmentationSchema.parse({});
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) {
      throw new AugmentationFlagError(`--json-aug ${name}=${v}: expected a number`);
    }
    return n;
  };
  for (const part of t.split(',')) {
    const [key = '', ...rest] = part.split('=');
    const name = key.trim();
    const value = rest.length > 0 ? rest.join('=') : undefined;
    if (name === 'dropout') raw.fieldDropout = value === undefined ? DEFAULT_FIELD_DROPOUT : num(name, value);
    else if (name === 'synonym')
      raw.synonym = value === undefined ? DEFAULT_SYNONYM_PROBABILITY : num(name, value);
    else if (name === 'mix') raw.mix = value === undefined ? DEFAULT_MIX_PROBABILITY : num(name, value);
    else if (name === 'mix-fields') {
      if (!value) throw new AugmentationFlagError('--json-aug mix-fields=…: list fields joined by +');
      raw.mixFields = value.split('+').map((s) => s.trim());
    } else if (name === 'strength') {
      if (!value)
        throw new AugmentationFlagError('--json-aug strength=…: expected STYLE:FACTOR[+STYLE:FACTOR…]');
      const strengths: Record<string, number> = {};
      for (const pair of value.split('+')) {
        const [style = '', factor] = pair.split(':');
        if (!style.trim() || factor === undefined) {
          throw new AugmentationFlagError(
            `--json-aug strength: "${pair}" is not STYLE:FACTOR (e.g. strength=레트로:2)`,
          );
        }
        strengths[style.trim()] = num(`strength ${style.trim()}`, factor);
      }
      raw.styleStrength = strengths;
    } else {
      throw new AugmentationFlagError(
        `--json-aug: unknown part "${part}"; expected dropout[=p], synonym[=p], mix[=p], mix-fields=a+b, strength=STYLE:FACTOR or none`,
      );
    }
  }
  const r = jsonAugmentationSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const part: Record<string, string> = {
      fieldDropout: 'dropout',
      mixFields: 'mix-fields',
      styleStrength: 'strength',
    };
    const [head, ...tail] = issue.path.map(String);
    const where = [part[head ?? ''] ?? head, ...tail].join(' ');
    throw new AugmentationFlagError(`--json-aug ${where}: ${issue.message}`);
  }
  return r.data;
}
