/**
 * The JSON encoder's configuration: the research plan's defaults and the checks that turn a bad
 * config, optimizer setting or temperature into an error naming the field and what was expected.
 */
import { DEFAULT_ENCODER_FIELDS, FIELD_NAMES, FIELDS } from '../../../src-shared/fields.ts';
import type { JsonEncoderConfig, OptimizerSettings } from './json-encoder-types.ts';

/** FashionCLIP's embedding size: the encoder's output is fixed to it. */
export const OUTPUT_DIM = 512;

export class JsonEncoderConfigError extends Error {
  override name = 'JsonEncoderConfigError';
}

/** A full config from a field list and vocabulary sizes, with the research plan's defaults. */
export function makeJsonEncoderConfig(
  vocabSizes: Record<string, number>,
  overrides: Partial<Omit<JsonEncoderConfig, 'vocabSizes' | 'fieldKinds' | 'outputDim'>> = {},
): JsonEncoderConfig {
  const fields = overrides.fields ?? [...DEFAULT_ENCODER_FIELDS];
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

/**
 * What both models ask of a config's fields: known, each once, of its own kind, with a vocabulary of
 * at least <pad> and <unk>; and the output width fixed at FashionCLIP's.
 */
export function validateFields(c: JsonEncoderConfig): void {
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
  if (c.outputDim !== OUTPUT_DIM) bad(`outputDim must be ${OUTPUT_DIM} (FashionCLIP's), got ${c.outputDim}`);
}

/** The tfjs model's config: the fields, and its one shape. */
export function validateConfig(c: JsonEncoderConfig): void {
  const bad = (msg: string) => {
    throw new JsonEncoderConfigError(`JSON encoder config: ${msg}`);
  };
  validateFields(c);
  if (!isPositiveInt(c.embedDim)) bad(`embedDim must be a positive whole number, got ${c.embedDim}`);
  if (!isPositiveInt(c.hiddenDim)) bad(`hiddenDim must be a positive whole number, got ${c.hiddenDim}`);
  if (!(typeof c.dropout === 'number' && c.dropout >= 0 && c.dropout < 1))
    bad(`dropout must be in [0, 1), got ${c.dropout}`);
  if (c.activation !== undefined && c.activation !== 'relu' && c.activation !== 'gelu')
    bad(
      `activation must be 'relu' or 'gelu' on the tfjs model, got '${c.activation}' (the layered model has silu)`,
    );
  if ((c.depth ?? 1) !== 1 || c.residual === true || (c.norm ?? 'none') !== 'none')
    bad(
      'the tfjs model builds only the default shape (depth 1, no residual, no norm); use the layered model',
    );
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

export function validateTemperature(t: number): void {
  if (!(typeof t === 'number' && Number.isFinite(t) && t > 0))
    throw new JsonEncoderConfigError(`temperature must be > 0, got ${t}`);
}
