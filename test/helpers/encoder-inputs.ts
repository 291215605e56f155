/** Small random encoder batches for the layered model's tests (multi-valued fields: 0-3 values of 3 slots). */
import { Rng } from '../../src-main/dataset/rng.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
} from '../../src-main/encoders/json-encoder/json-encoder-types.ts';

export function tinyInputs(config: JsonEncoderConfig, B: number, seed: number): EncoderInputs {
  const rng = new Rng(seed);
  const fields: EncoderInputs['fields'] = {};
  for (const f of config.fields) {
    const slots = config.fieldKinds[f] === 'single' ? 1 : 3;
    const indices = new Int32Array(B * slots);
    for (let b = 0; b < B; b++) {
      const n = slots === 1 ? 1 : rng.int(0, 3);
      for (let s = 0; s < n; s++) indices[b * slots + s] = rng.int(1, config.vocabSizes[f]! - 1);
    }
    fields[f] = { indices, slots };
  }
  return { batchSize: B, fields };
}
