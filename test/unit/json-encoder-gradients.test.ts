/**
 * The hand-written backward pass of the JSON encoder against central differences of a float64 model
 * written independently here in plain JS (PyTorch layouts, the maths of the contract), on a tiny config.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  createJsonEncoder,
  makeJsonEncoderConfig,
} from '../../src-main/encoders/json-encoder/json-encoder.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  NamedTensor,
} from '../../src-main/encoders/json-encoder/json-encoder-types.ts';

const erf = (x: number) => {
  // Abramowitz–Stegun 7.1.26 is too coarse for a float64 check: use a series / continued fraction.
  const t = Math.abs(x);
  let r: number;
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 60; n++) {
      term *= (-t * t) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else r = 1;
  return x < 0 ? -r : r;
};

/** Float64 loss of the model in `params` (PyTorch names and layouts). */
function referenceLoss(
  config: JsonEncoderConfig,
  params: Record<string, { shape: number[]; data: ArrayLike<number> }>,
  inputs: EncoderInputs,
  images: Float32Array,
  temperature: number,
  /** MixUp's soft targets, row = JSON item, column = image; absent = the identity. */
  targets?: Float64Array,
): number {
  const B = inputs.batchSize;
  const d = config.embedDim;
  const H = config.hiddenDim;
  const F = config.fields.length;
  const w1 = params['mlp.0.weight']!.data;
  const b1 = params['mlp.0.bias']!.data;
  const w2 = params['mlp.3.weight']!.data;
  const b2 = params['mlp.3.bias']!.data;
  const z: number[][] = [];
  for (let b = 0; b < B; b++) {
    const x = new Float64Array(F * d);
    config.fields.forEach((f, fi) => {
      const { indices, slots } = inputs.fields[f]!;
      const e = params[`field_embeddings.${f}.weight`]!.data;
      const vals = [...indices.subarray(b * slots, (b + 1) * slots)].filter((v) => v !== 0);
      for (const v of vals) for (let k = 0; k < d; k++) x[fi * d + k]! += e[v * d + k]! / vals.length;
    });
    const a = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      let h = b1[j]!;
      for (let i = 0; i < F * d; i++) h += w1[j * F * d + i]! * x[i]!;
      a[j] = config.activation === 'gelu' ? 0.5 * h * (1 + erf(h / Math.SQRT2)) : Math.max(0, h);
    }
    const y = new Float64Array(512);
    let n2 = 0;
    for (let o = 0; o < 512; o++) {
      let s = b2[o]!;
      for (let j = 0; j < H; j++) s += w2[o * H + j]! * a[j]!;
      y[o] = s;
      n2 += s * s;
    }
    z.push([...y].map((v) => v / Math.sqrt(n2)));
  }
  const S = Array.from({ length: B }, (_, i) =>
    Array.from({ length: B }, (_, j) => {
      let s = 0;
      for (let k = 0; k < 512; k++) s += images[i * 512 + k]! * z[j]![k]!;
      return s / temperature;
    }),
  );
  const lse = (xs: number[]) => {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  };
  let rows = 0;
  let cols = 0;
  if (targets) {
    // S[i][j] = image i · JSON j; target of (JSON j, image i) is targets[j·B + i], normalised per image
    // (over the JSONs, S's row) and per JSON (over the images, S's column).
    const y = (i: number, j: number) => targets[j * B + i]!;
    for (let i = 0; i < B; i++) {
      let ys = 0;
      for (let j = 0; j < B; j++) ys += y(i, j);
      const l = lse(S[i]!);
      for (let j = 0; j < B; j++) rows -= (y(i, j) / ys) * (S[i]![j]! - l);
    }
    for (let j = 0; j < B; j++) {
      let ys = 0;
      for (let i = 0; i < B; i++) ys += y(i, j);
      const l = lse(S.map((r) => r[j]!));
      for (let i = 0; i < B; i++) cols -= (y(i, j) / ys) * (S[i]![j]! - l);
    }
    return (rows / B + cols / B) / 2;
  }
  for (let i = 0; i < B; i++) {
    rows += lse(S[i]!) - S[i]![i]!;
    cols += lse(S.map((r) => r[i]!)) - S[i]![i]!;
  }
  return (rows / B + cols / B) / 2;
}

function randomImages(B: number, seed: number): Float32Array {
  return new Rng(seed).unitRows(B, 512);
}

function tinyConfig(extra: Partial<JsonEncoderConfig> = {}): JsonEncoderConfig {
  return {
    ...makeJsonEncoderConfig(
      { category: 5, style: 6, material: 4 },
      { fields: ['category', 'style', 'material'], embedDim: 4, hiddenDim: 8, dropout: 0 },
    ),
    ...extra,
  };
}

/** Inputs with a padded multi-valued slot, a missing single value and a repeated value. */
function tinyInputs(B: number, seed: number): EncoderInputs {
  const rng = new Rng(seed);
  const single = new Int32Array(B).map((_, b) => (b === 1 ? 0 : rng.int(1, 4)));
  const multi = (vocab: number, slots: number) =>
    new Int32Array(B * slots).map((_, i) => (i % slots === slots - 1 && i % 2 ? 0 : rng.int(1, vocab - 1)));
  return {
    batchSize: B,
    fields: {
      category: { indices: single, slots: 1 },
      style: { indices: multi(6, 3), slots: 3 },
      material: { indices: multi(4, 2), slots: 2 },
    },
  };
}

/** Max |analytic − numeric| over the checked entries, relative to the largest numeric entry. */
function maxRelError(analytic: Float32Array, numeric: Map<number, number>): number {
  let num = 0;
  let den = 0;
  for (const [i, v] of numeric) {
    num = Math.max(num, Math.abs(analytic[i]! - v));
    den = Math.max(den, Math.abs(v));
  }
  return num / Math.max(den, 1e-12);
}

/** Every entry of a small tensor; a fixed sample of 256 of a large one (mlp.3 has 4,096). */
function entriesToCheck(n: number, rng: Rng): number[] {
  if (n <= 256) return Array.from({ length: n }, (_, i) => i);
  return rng.sampleIndices(n, 256);
}

describe('JSON encoder gradients', () => {
  // The last case trains with MixUp's soft targets: row 1's image is 0.7 its own garment, 0.3 row 3's.
  const mixed = new Float64Array(16);
  for (let i = 0; i < 4; i++) mixed[i * 4 + i] = 1;
  mixed[1 * 4 + 1] = 0.7;
  mixed[3 * 4 + 1] = 0.3;
  for (const [activation, targets] of [
    ['relu', undefined],
    ['gelu', undefined],
    ['relu', mixed],
  ] as const) {
    it(`match central differences of a float64 reference (${activation}${targets ? ', soft MixUp targets' : ''})`, async () => {
      const config = tinyConfig({ activation });
      const model = await createJsonEncoder(config, { seed: 3, backend: 'wasm', helperThread: false });
      const B = 4;
      const T = 0.5;
      const inputs = tinyInputs(B, 11);
      const images = randomImages(B, 5);
      const state = model.getState();
      const params: Record<string, { shape: number[]; data: Float64Array }> = {};
      for (const [k, v] of Object.entries(state.params))
        params[k] = { shape: v.shape, data: Float64Array.from(v.data) };
      const { loss, grads } = model.gradients(inputs, images, T, targets);
      expect(loss).toBeCloseTo(referenceLoss(config, params, inputs, images, T, targets), 4);
      if (targets) expect(model.loss(inputs, images, T, targets)).toBeCloseTo(loss, 4);

      const h = 1e-5;
      const pick = new Rng(17);
      for (const [name, g] of Object.entries(grads) as [string, NamedTensor][]) {
        const p = params[name]!.data;
        const numeric = new Map<number, number>();
        for (const i of entriesToCheck(p.length, pick)) {
          const x = p[i]!;
          p[i] = x + h;
          const up = referenceLoss(config, params, inputs, images, T, targets);
          p[i] = x - h;
          const down = referenceLoss(config, params, inputs, images, T, targets);
          p[i] = x;
          numeric.set(i, (up - down) / (2 * h));
        }
        expect(maxRelError(g.data, numeric), name).toBeLessThan(2e-3);
        // The padding row of a table never receives gradient.
        if (name.startsWith('field_embeddings.')) {
          const d = config.embedDim;
          expect(
            [...g.data.subarray(0, d)].every((v) => v === 0),
            `${name} pad row`,
          ).toBe(true);
        }
      }
      model.dispose();
    }, 60_000);
  }
});
