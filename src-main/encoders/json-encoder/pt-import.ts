/**
 * A PyTorch state_dict (torch-checkpoint.ts) onto the layered model: tensors are matched by name —
 * ours, which are PyTorch's module names — or through an explicit mapping, the model's shape is read
 * off the tensors (fields and vocabularies from the embedding tables, widths from the Linears, depth,
 * residual blocks and the norm kind from the `mlp.<i>` names), and the weights are loaded strictly:
 * every tensor the shape needs, nothing else, every shape checked. What a state_dict cannot say
 * (the activation, the dropout) comes from the mapping file's `encoder` section, else the defaults.
 *
 * Mapping file (`--config map.json`):
 *   { "tensors": { "<our name>": "<name in the .pt>", ... },   // only the ones that differ
 *     "encoder": { "activation": "gelu", "dropout": 0.1 } }
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ACTIVATION_NAMES } from '../../../src-shared/encoder-config.ts';
import { FIELDS, isFieldName } from '../../../src-shared/fields.ts';
import { InferenceJsonEncoder } from './inference.ts';
import { OUTPUT_DIM } from './json-encoder-config.ts';
import type { JsonEncoderConfig, NamedTensor } from './json-encoder-types.ts';
import { TorchCheckpointError } from './torch-checkpoint.ts';

export const importMapSchema = z
  .object({
    tensors: z.record(z.string(), z.string()).optional(),
    encoder: z
      .object({
        activation: z.enum(ACTIVATION_NAMES).optional(),
        dropout: z.number().min(0).lt(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ImportMap = z.infer<typeof importMapSchema>;

export function readImportMap(path: string): ImportMap {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TorchCheckpointError(`--config ${path}: not readable JSON (${(e as Error).message})`);
  }
  const r = importMapSchema.safeParse(raw);
  if (!r.success)
    throw new TorchCheckpointError(
      `--config ${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Renames the .pt's tensors to ours: `map.tensors` entries first, every other name as it is. */
function applyMap(tensors: Record<string, NamedTensor>, map: ImportMap): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  const taken = new Set<string>();
  for (const [ours, theirs] of Object.entries(map.tensors ?? {})) {
    const t = tensors[theirs];
    if (!t)
      throw new TorchCheckpointError(
        `mapping: '${ours}' ← '${theirs}', but the .pt has no tensor '${theirs}'`,
      );
    out[ours] = t;
    taken.add(theirs);
  }
  for (const [name, t] of Object.entries(tensors)) if (!taken.has(name) && !(name in out)) out[name] = t;
  return out;
}

/** The config a state_dict describes (see the header). */
export function inferConfig(tensors: Record<string, NamedTensor>, map: ImportMap = {}): JsonEncoderConfig {
  const fields: string[] = [];
  const vocabSizes: Record<string, number> = {};
  let embedDim = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const m = /^field_embeddings\.([^.]+)\.weight$/.exec(name);
    if (!m) continue;
    const f = m[1]!;
    if (!isFieldName(f)) throw new TorchCheckpointError(`tensor '${name}': '${f}' is not a known field`);
    if (t.shape.length !== 2)
      throw new TorchCheckpointError(`tensor '${name}' has shape [${t.shape}], expected [rows, dim]`);
    fields.push(f);
    vocabSizes[f] = t.shape[0]!;
    embedDim = t.shape[1]!;
  }
  if (fields.length === 0)
    throw new TorchCheckpointError(
      `no field_embeddings.<field>.weight tensors (found: ${Object.keys(tensors).slice(0, 8).join(', ')}…); map them with --config`,
    );
  const first = tensors['mlp.0.weight'];
  if (first?.shape.length !== 2)
    throw new TorchCheckpointError(
      `tensor 'mlp.0.weight' (the first Linear) is missing; map it with --config`,
    );
  const hiddenDim = first.shape[0]!;
  // Walk the Sequential: count hidden blocks, see residual blocks and the norm kind.
  let depth = 0;
  let residual = false;
  let norm: 'none' | 'layer' | 'batch' = 'none';
  const indices = [
    ...new Set(
      Object.keys(tensors)
        .map((n) => /^mlp\.(\d+)\./.exec(n)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number),
    ),
  ].sort((a, b) => a - b);
  for (const i of indices) {
    if (tensors[`mlp.${i}.linear.weight`]) {
      depth++;
      residual = true;
      if (tensors[`mlp.${i}.norm.running_mean`]) norm = 'batch';
      else if (tensors[`mlp.${i}.norm.weight`]) norm = 'layer';
      continue;
    }
    const w = tensors[`mlp.${i}.weight`];
    if (!w) continue;
    if (w.shape.length === 2) {
      if (w.shape[0] !== OUTPUT_DIM || i !== indices[indices.length - 1]) depth++;
    } else norm = tensors[`mlp.${i}.running_mean`] ? 'batch' : 'layer';
  }
  return {
    fields: fields as JsonEncoderConfig['fields'],
    fieldKinds: Object.fromEntries(fields.map((f) => [f, FIELDS[f as keyof typeof FIELDS].kind])),
    vocabSizes,
    embedDim,
    hiddenDim,
    outputDim: OUTPUT_DIM,
    dropout: map.encoder?.dropout ?? 0.1,
    activation: map.encoder?.activation ?? 'relu',
    depth: Math.max(1, depth),
    residual,
    norm,
  };
}

/** The config and the weights of a state_dict, checked by loading them into the model (strict). */
export function importStateDict(
  raw: Record<string, NamedTensor>,
  map: ImportMap = {},
): { config: JsonEncoderConfig; params: Record<string, NamedTensor>; model: InferenceJsonEncoder } {
  const tensors = applyMap(raw, map);
  const config = inferConfig(tensors, map);
  // Buffers PyTorch keeps but we do not need to be told about are still required by strict loading,
  // so a BatchNorm state_dict without running statistics is reported, not silently zeroed.
  try {
    const model = new InferenceJsonEncoder(config, tensors);
    return { config, params: tensors, model };
  } catch (e) {
    throw new TorchCheckpointError(
      `the state_dict does not fit the model it describes: ${(e as Error).message}`,
    );
  }
}
