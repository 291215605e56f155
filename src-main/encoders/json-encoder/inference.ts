/**
 * The JSON encoder for inference: weights only. No gradients, no optimiser moments, no worker
 * threads: a query is one forward pass of the layered model (model.ts) in eval mode.
 * Implements JsonEncoderModel so evaluation, search and the API keep one interface; the training
 * methods say clearly that this model does not train.
 */
import { JsonEncoderConfigError, OUTPUT_DIM } from './json-encoder-config.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  JsonEncoderModel,
  JsonEncoderState,
  NamedTensor,
  TrainStepResult,
} from './json-encoder-types.ts';
import { LayeredNetwork, validateInputs } from './model.ts';
import { loadWeights, namedTensors } from './state-names.ts';

const ENCODE_CHUNK = 1024;

export class InferenceJsonEncoder implements JsonEncoderModel {
  readonly net: LayeredNetwork;

  constructor(
    readonly config: JsonEncoderConfig,
    weights?: Record<string, NamedTensor>,
  ) {
    this.net = new LayeredNetwork(config, { seed: 0, trainable: false });
    if (weights) loadWeights(this.net, weights, 'weights');
    this.net.freeze();
  }

  encode(inputs: EncoderInputs): Float32Array {
    const B = validateInputs(this.config, inputs, true);
    const out = new Float32Array(B * OUTPUT_DIM);
    for (let start = 0; start < B; start += ENCODE_CHUNK) {
      const n = Math.min(ENCODE_CHUNK, B - start);
      out.set(this.net.forward(inputs, start, n, false), start * OUTPUT_DIM);
    }
    return out;
  }

  trainStep(): TrainStepResult {
    throw new JsonEncoderConfigError(
      'this JSON encoder was loaded for inference (weights only): it cannot train',
    );
  }

  loss(inputs: EncoderInputs, images: Float32Array, temperature: number): number {
    validateInputs(this.config, inputs);
    const z = this.encode(inputs);
    // Eval-mode loss from the vectors (no gradient machinery needed).
    const B = inputs.batchSize;
    let loss = 0;
    const s = new Float64Array(B * B);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++) {
        let dot = 0;
        for (let k = 0; k < OUTPUT_DIM; k++) dot += z[i * OUTPUT_DIM + k]! * images[j * OUTPUT_DIM + k]!;
        s[i * B + j] = dot / temperature;
      }
    for (const rows of [true, false])
      for (let i = 0; i < B; i++) {
        let mx = -Infinity;
        for (let j = 0; j < B; j++) mx = Math.max(mx, rows ? s[i * B + j]! : s[j * B + i]!);
        let sum = 0;
        for (let j = 0; j < B; j++) sum += Math.exp((rows ? s[i * B + j]! : s[j * B + i]!) - mx);
        loss += (mx + Math.log(sum) - s[i * B + i]!) / (2 * B);
      }
    return loss;
  }

  getState(): JsonEncoderState {
    return { params: namedTensors(this.net), optimizer: { step: 0, moments: {} }, rngState: 0 };
  }

  /** Loads the weights of a state; its optimiser moments are ignored (inference keeps none). */
  setState(state: JsonEncoderState): void {
    loadWeights(this.net, state.params, 'weights');
    this.net.freeze();
  }

  dispose(): void {
    this.net.thaw();
  }
}
