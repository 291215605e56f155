/**
 * A network's tensors by PyTorch state_dict name (parameters and buffers), out and in. Used by
 * training state, inference loading and .pt import, so every face checks names and shapes alike.
 */
import { JsonEncoderConfigError } from './json-encoder-config.ts';
import type { NamedTensor } from './json-encoder-types.ts';
import type { LayeredNetwork } from './model.ts';

/** Every parameter and buffer as float32 copies, in state_dict order. */
export function namedTensors(net: LayeredNetwork): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const t of [...net.params, ...net.buffers])
    out[t.name] = { shape: [...t.shape], data: Float32Array.from(t.data) };
  return out;
}

/** The names and shapes the network expects. */
export function expectedTensors(net: LayeredNetwork): { name: string; shape: number[] }[] {
  return [...net.params, ...net.buffers].map((t) => ({ name: t.name, shape: [...t.shape] }));
}

/**
 * Copies weights into the network. Every expected tensor must be present with its shape; an unknown
 * name is an error too (PyTorch's strict loading), so a file for another shape never half-loads.
 */
export function loadWeights(
  net: LayeredNetwork,
  params: Record<string, NamedTensor>,
  source = 'state',
): void {
  const expected = [...net.params, ...net.buffers];
  const known = new Set(expected.map((t) => t.name));
  const unexpected = Object.keys(params).filter((k) => !known.has(k));
  if (unexpected.length > 0)
    throw new JsonEncoderConfigError(
      `${source}: unexpected tensor(s) ${unexpected.join(', ')} for this model (expects ${[...known].join(', ')})`,
    );
  for (const t of expected) {
    const src = params[t.name];
    if (!src) throw new JsonEncoderConfigError(`${source}: tensor '${t.name}' is missing`);
    const same = src.shape.length === t.shape.length && src.shape.every((s, i) => s === t.shape[i]);
    if (!same || src.data.length !== t.data.length)
      throw new JsonEncoderConfigError(
        `${source}: tensor '${t.name}' has shape [${src.shape.join(', ')}], expected [${t.shape.join(', ')}]`,
      );
  }
  for (const t of expected) t.data.set(params[t.name]!.data);
}
