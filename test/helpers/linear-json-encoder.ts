/**
 * A small JsonEncoderModel in plain JS for trainer tests: per-field tables straight to the output
 * dimension, mean-pooled, summed and L2-normalised; symmetric InfoNCE with hand-written gradients;
 * AdamW with decoupled weight decay and global-norm clipping; "dropout" that drops whole fields with a
 * seeded generator whose state is part of the model state — enough to show that the trainer restores
 * every piece of state a real encoder has.
 */

import { Rng } from '../../src-main/dataset/rng.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  JsonEncoderModel,
  JsonEncoderState,
  NamedTensor,
  OptimizerSettings,
  TrainStepResult,
} from '../../src-main/encoders/json-encoder/json-encoder-types.ts';
import { softInfoNce } from '../../src-main/training/mixup.ts';
import type { EncoderFactory } from '../../src-main/training/trainer.ts';

function nextRandom(state: { a: number }): number {
  state.a = (state.a + 0x6d2b79f5) >>> 0;
  let t = state.a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const name = (f: string) => `field_embeddings.${f}.weight`;

export class LinearJsonEncoder implements JsonEncoderModel {
  private params = new Map<string, NamedTensor>();
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();
  private step = 0;
  private rng = { a: 0 };
  disposed = false;
  steps = 0;

  constructor(
    readonly config: JsonEncoderConfig,
    seed: number,
  ) {
    const r = new Rng(seed);
    for (const f of config.fields) {
      const rows = config.vocabSizes[f]!;
      const data = Float32Array.from({ length: rows * config.outputDim }, () => r.normal() * 0.1);
      this.params.set(name(f), { shape: [rows, config.outputDim], data });
      this.m.set(name(f), new Float32Array(data.length));
      this.v.set(name(f), new Float32Array(data.length));
    }
    this.rng.a = seed >>> 0;
  }

  /** Pre-normalisation outputs h [B × D] and, per item and field, the pooling weights. */
  private forward(inputs: EncoderInputs, train: boolean): { h: Float32Array; keep: Float32Array } {
    const D = this.config.outputDim;
    const B = inputs.batchSize;
    const F = this.config.fields.length;
    const h = new Float32Array(B * D);
    const keep = new Float32Array(B * F).fill(1);
    this.config.fields.forEach((f, fi) => {
      const { indices, slots } = inputs.fields[f]!;
      const table = this.params.get(name(f))!.data;
      for (let b = 0; b < B; b++) {
        if (train && this.config.dropout > 0) {
          keep[b * F + fi] = nextRandom(this.rng) < this.config.dropout ? 0 : 1 / (1 - this.config.dropout);
        }
        let count = 0;
        for (let s = 0; s < slots; s++) if (indices[b * slots + s]! !== 0) count++;
        if (count === 0) continue;
        const w = keep[b * F + fi]! / count;
        for (let s = 0; s < slots; s++) {
          const idx = indices[b * slots + s]!;
          if (idx === 0) continue;
          for (let d = 0; d < D; d++) h[b * D + d]! += w * table[idx * D + d]!;
        }
      }
    });
    return { h, keep };
  }

  private static normalise(h: Float32Array, B: number, D: number): { z: Float32Array; norms: Float32Array } {
    const z = new Float32Array(B * D);
    const norms = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += h[b * D + d]! ** 2;
      const n = Math.max(Math.sqrt(s), 1e-12);
      norms[b] = n;
      for (let d = 0; d < D; d++) z[b * D + d] = h[b * D + d]! / n;
    }
    return { z, norms };
  }

  /** Loss and dL/dz of symmetric InfoNCE. */
  private static infoNce(z: Float32Array, x: Float32Array, B: number, D: number, T: number) {
    const S = new Float64Array(B * B);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += z[i * D + d]! * x[j * D + d]!;
        S[i * B + j] = s / T;
      }
    const dS = new Float64Array(B * B);
    let loss = 0;
    for (let i = 0; i < B; i++) {
      let mx = -Infinity;
      for (let j = 0; j < B; j++) mx = Math.max(mx, S[i * B + j]!);
      let sum = 0;
      for (let j = 0; j < B; j++) sum += Math.exp(S[i * B + j]! - mx);
      loss += -(S[i * B + i]! - mx - Math.log(sum)) / (2 * B);
      for (let j = 0; j < B; j++)
        dS[i * B + j]! += (Math.exp(S[i * B + j]! - mx) / sum - (i === j ? 1 : 0)) / (2 * B);
    }
    for (let j = 0; j < B; j++) {
      let mx = -Infinity;
      for (let i = 0; i < B; i++) mx = Math.max(mx, S[i * B + j]!);
      let sum = 0;
      for (let i = 0; i < B; i++) sum += Math.exp(S[i * B + j]! - mx);
      loss += -(S[j * B + j]! - mx - Math.log(sum)) / (2 * B);
      for (let i = 0; i < B; i++)
        dS[i * B + j]! += (Math.exp(S[i * B + j]! - mx) / sum - (i === j ? 1 : 0)) / (2 * B);
    }
    const dz = new Float32Array(B * D);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++) {
        const g = dS[i * B + j]! / T;
        for (let d = 0; d < D; d++) dz[i * D + d]! += g * x[j * D + d]!;
      }
    return { loss, dz };
  }

  encode(inputs: EncoderInputs): Float32Array {
    const { h } = this.forward(inputs, false);
    return LinearJsonEncoder.normalise(h, inputs.batchSize, this.config.outputDim).z;
  }

  loss(inputs: EncoderInputs, images: Float32Array, temperature: number, targets?: Float64Array): number {
    const z = this.encode(inputs);
    if (targets)
      return softInfoNce(z, images, inputs.batchSize, this.config.outputDim, temperature, targets).loss;
    return LinearJsonEncoder.infoNce(z, images, inputs.batchSize, this.config.outputDim, temperature).loss;
  }

  trainStep(
    inputs: EncoderInputs,
    images: Float32Array,
    temperature: number,
    opt: OptimizerSettings,
    targets?: Float64Array,
  ): TrainStepResult {
    const D = this.config.outputDim;
    const B = inputs.batchSize;
    const F = this.config.fields.length;
    const { h, keep } = this.forward(inputs, true);
    const { z, norms } = LinearJsonEncoder.normalise(h, B, D);
    // MixUp's soft targets: the float64 reference loss of training/mixup.ts.
    const { loss, dz } = targets
      ? softInfoNce(z, images, B, D, temperature, targets)
      : LinearJsonEncoder.infoNce(z, images, B, D, temperature);
    const dh = new Float32Array(B * D);
    for (let b = 0; b < B; b++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += z[b * D + d]! * dz[b * D + d]!;
      for (let d = 0; d < D; d++) dh[b * D + d] = (dz[b * D + d]! - z[b * D + d]! * dot) / norms[b]!;
    }
    const grads = new Map<string, Float32Array>();
    this.config.fields.forEach((f, fi) => {
      const { indices, slots } = inputs.fields[f]!;
      const g = new Float32Array(this.params.get(name(f))!.data.length);
      for (let b = 0; b < B; b++) {
        let count = 0;
        for (let s = 0; s < slots; s++) if (indices[b * slots + s]! !== 0) count++;
        if (count === 0) continue;
        const w = keep[b * F + fi]! / count;
        for (let s = 0; s < slots; s++) {
          const idx = indices[b * slots + s]!;
          if (idx === 0) continue;
          for (let d = 0; d < D; d++) g[idx * D + d]! += w * dh[b * D + d]!;
        }
      }
      grads.set(name(f), g);
    });
    let sq = 0;
    for (const g of grads.values()) for (const x of g) sq += x * x;
    const gradNorm = Math.sqrt(sq);
    const scale = opt.clipNorm > 0 && gradNorm > opt.clipNorm ? opt.clipNorm / gradNorm : 1;
    this.step++;
    const bc1 = 1 - opt.beta1 ** this.step;
    const bc2 = 1 - opt.beta2 ** this.step;
    for (const [n, g] of grads) {
      const p = this.params.get(n)!.data;
      const m = this.m.get(n)!;
      const v = this.v.get(n)!;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * scale;
        m[i] = opt.beta1 * m[i]! + (1 - opt.beta1) * gi;
        v[i] = opt.beta2 * v[i]! + (1 - opt.beta2) * gi * gi;
        p[i] =
          p[i]! * (1 - opt.lr * opt.weightDecay) -
          (opt.lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + opt.eps);
      }
    }
    this.steps++;
    return { loss, gradNorm };
  }

  getState(): JsonEncoderState {
    const params: Record<string, NamedTensor> = {};
    const moments: Record<string, NamedTensor> = {};
    for (const [n, t] of this.params) {
      params[n] = { shape: [...t.shape], data: t.data.slice() };
      moments[`exp_avg.${n}`] = { shape: [...t.shape], data: this.m.get(n)!.slice() };
      moments[`exp_avg_sq.${n}`] = { shape: [...t.shape], data: this.v.get(n)!.slice() };
    }
    return { params, optimizer: { step: this.step, moments }, rngState: this.rng.a };
  }

  setState(state: JsonEncoderState): void {
    for (const [n, t] of this.params) {
      const p = state.params[n];
      if (!p || p.data.length !== t.data.length)
        throw new Error(`setState: ${n} missing or of the wrong size`);
      t.data.set(p.data);
      const m = state.optimizer.moments[`exp_avg.${n}`];
      const v = state.optimizer.moments[`exp_avg_sq.${n}`];
      this.m.get(n)!.set(m ? m.data : new Float32Array(t.data.length));
      this.v.get(n)!.set(v ? v.data : new Float32Array(t.data.length));
    }
    this.step = state.optimizer.step;
    this.rng.a = state.rngState >>> 0;
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** An EncoderFactory for the trainer that records the models it made. */
export function linearEncoderFactory(made: LinearJsonEncoder[] = []): EncoderFactory {
  return async (config, opts) => {
    const model = new LinearJsonEncoder(config, opts.seed);
    made.push(model);
    return { model, backend: 'js-linear (test)' };
  };
}
