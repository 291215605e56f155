/** The JSON encoder's behaviour: outputs, determinism, state round trip, pooling, config errors. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  createJsonEncoder,
  JsonEncoderConfigError,
  makeJsonEncoderConfig,
} from '../../src-main/encoders/json-encoder/json-encoder.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  OptimizerSettings,
} from '../../src-main/encoders/json-encoder/json-encoder-types.ts';

const OPT: OptimizerSettings = {
  lr: 1e-3,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipNorm: 1,
};

function config(extra: Partial<Parameters<typeof makeJsonEncoderConfig>[1]> = {}): JsonEncoderConfig {
  return makeJsonEncoderConfig(
    { category: 7, style: 9, material: 6 },
    { fields: ['category', 'style', 'material'], embedDim: 8, hiddenDim: 32, dropout: 0.1, ...extra },
  );
}

function inputs(B: number, seed: number): EncoderInputs {
  const rng = new Rng(seed);
  return {
    batchSize: B,
    fields: {
      category: { indices: Int32Array.from({ length: B }, () => rng.int(1, 6)), slots: 1 },
      style: {
        indices: Int32Array.from({ length: B * 3 }, (_, i) => (i % 3 === 2 ? 0 : rng.int(1, 8))),
        slots: 3,
      },
      material: { indices: Int32Array.from({ length: B * 2 }, () => rng.int(1, 5)), slots: 2 },
    },
  };
}

function images(B: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = Float32Array.from({ length: B * 512 }, () => rng.normal());
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let k = 0; k < 512; k++) n += out[b * 512 + k]! ** 2;
    for (let k = 0; k < 512; k++) out[b * 512 + k]! /= Math.sqrt(n);
  }
  return out;
}

function row(x: Float32Array, i: number): Float32Array {
  return x.subarray(i * 512, (i + 1) * 512);
}

describe('JSON encoder', () => {
  it('outputs 512-d unit vectors', async () => {
    const model = await createJsonEncoder(config(), { seed: 1, backend: 'wasm' });
    const z = model.encode(inputs(5, 2));
    expect(z.length).toBe(5 * 512);
    expect(model.encode(inputs(0, 2)).length).toBe(0);
    for (let b = 0; b < 5; b++) {
      const n = Math.sqrt(row(z, b).reduce((a, x) => a + x * x, 0));
      expect(Math.abs(n - 1)).toBeLessThan(1e-5);
    }
  });

  it('is deterministic for a seed (init, dropout, steps) and differs across seeds', async () => {
    const run = async (seed: number) => {
      const model = await createJsonEncoder(config(), { seed, backend: 'wasm' });
      const losses = [0, 1, 2].map(() => model.trainStep(inputs(8, 3), images(8, 4), 0.1, OPT).loss);
      return { losses, z: model.encode(inputs(4, 5)) };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.losses).toEqual(b.losses);
    expect([...a.z]).toEqual([...b.z]);
    expect(a.losses).not.toEqual(c.losses);
  });

  it('getState/setState round trip gives identical next steps (weights, moments, step, dropout RNG)', async () => {
    const x = inputs(8, 3);
    const img = images(8, 4);
    const a = await createJsonEncoder(config(), { seed: 11, backend: 'wasm' });
    a.trainStep(x, img, 0.1, OPT);
    a.trainStep(x, img, 0.1, OPT);
    const saved = a.getState();
    expect(saved.optimizer.step).toBe(2);
    const b = await createJsonEncoder(config(), { seed: 99, backend: 'wasm' });
    b.setState(saved);
    for (let i = 0; i < 3; i++) {
      const ra = a.trainStep(x, img, 0.1, OPT);
      const rb = b.trainStep(x, img, 0.1, OPT);
      expect(rb).toEqual(ra);
    }
    const sa = a.getState();
    const sb = b.getState();
    for (const k of Object.keys(sa.params))
      expect([...sb.params[k]!.data], k).toEqual([...sa.params[k]!.data]);
    // The state is a copy: changing it does not touch the model.
    sa.params['mlp.0.bias']!.data.fill(123);
    expect(a.getState().params['mlp.0.bias']!.data[0]).not.toBe(123);
  });

  it('names parameters PyTorch-style with nn.Linear [out, in] layouts', async () => {
    const model = await createJsonEncoder(config(), { seed: 1, backend: 'wasm' });
    const s = model.getState();
    const shapes = Object.fromEntries(Object.entries(s.params).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      'field_embeddings.category.weight': [7, 8],
      'field_embeddings.style.weight': [9, 8],
      'field_embeddings.material.weight': [6, 8],
      'mlp.0.weight': [32, 24],
      'mlp.0.bias': [32],
      'mlp.3.weight': [512, 32],
      'mlp.3.bias': [512],
    });
    expect(Object.keys(s.optimizer.moments)).toContain('exp_avg.mlp.0.weight');
    expect(Object.keys(s.optimizer.moments)).toContain('exp_avg_sq.field_embeddings.style.weight');
    // The padding row starts at zero, as nn.Embedding(padding_idx=0).
    expect([...s.params['field_embeddings.style.weight']!.data.subarray(0, 8)].every((v) => v === 0)).toBe(
      true,
    );
  });

  it('pools multi-valued fields order-invariantly and ignores padding', async () => {
    const model = await createJsonEncoder(config(), { seed: 2, backend: 'wasm' });
    const make = (style: number[], slots: number): EncoderInputs => ({
      batchSize: 1,
      fields: {
        category: { indices: Int32Array.of(3), slots: 1 },
        style: { indices: Int32Array.from(style), slots },
        material: { indices: Int32Array.of(2, 0), slots: 2 },
      },
    });
    const base = model.encode(make([4, 7, 0], 3));
    const swapped = model.encode(make([7, 4, 0], 3));
    const padded = model.encode(make([0, 4, 0, 7, 0], 5));
    const other = model.encode(make([4, 5, 0], 3));
    for (let k = 0; k < 512; k++) {
      expect(swapped[k]).toBeCloseTo(base[k]!, 6);
      expect(padded[k]).toBeCloseTo(base[k]!, 6);
    }
    expect(Math.max(...base.map((v, k) => Math.abs(v - other[k]!)))).toBeGreaterThan(1e-4);
  });

  it('encodes more items than one forward chunk (1,024) in order', async () => {
    const model = await createJsonEncoder(config(), { seed: 4, backend: 'wasm' });
    const many = inputs(1100, 9);
    const all = model.encode(many);
    expect(all.length).toBe(1100 * 512);
    const last: EncoderInputs = {
      batchSize: 1,
      fields: Object.fromEntries(
        Object.entries(many.fields).map(([f, v]) => [
          f,
          { slots: v.slots, indices: v.indices.slice(1099 * v.slots, 1100 * v.slots) },
        ]),
      ),
    };
    const z = model.encode(last);
    for (let k = 0; k < 512; k++) expect(Math.abs(z[k]! - row(all, 1099)[k]!)).toBeLessThan(1e-5);
  });

  it('gives an item the same vector alone and inside a batch (eval mode)', async () => {
    const model = await createJsonEncoder(config(), { seed: 4, backend: 'wasm' });
    const batch = inputs(6, 9);
    const all = model.encode(batch);
    const alone: EncoderInputs = {
      batchSize: 1,
      fields: Object.fromEntries(
        Object.entries(batch.fields).map(([f, v]) => [
          f,
          { slots: v.slots, indices: v.indices.slice(3 * v.slots, 4 * v.slots) },
        ]),
      ),
    };
    const z = model.encode(alone);
    for (let k = 0; k < 512; k++) expect(Math.abs(z[k]! - row(all, 3)[k]!)).toBeLessThan(1e-5);
  });

  it('lowers the loss over a few steps and leaves the images untouched', async () => {
    const model = await createJsonEncoder(config({ dropout: 0 }), { seed: 5, backend: 'wasm' });
    const x = inputs(8, 1);
    const img = images(8, 2);
    const copy = img.slice();
    const before = model.loss(x, img, 0.1);
    for (let i = 0; i < 10; i++) model.trainStep(x, img, 0.1, { ...OPT, lr: 3e-3 });
    expect(model.loss(x, img, 0.1)).toBeLessThan(before);
    expect([...img]).toEqual([...copy]);
  });

  describe('rejects bad configs and inputs with clear errors', () => {
    it('unknown field, bad kinds and sizes', async () => {
      expect(() => makeJsonEncoderConfig({ colour: 5 }, { fields: ['colour' as never] })).toThrow(
        /unknown field 'colour'/,
      );
      expect(() => makeJsonEncoderConfig({ category: 1 }, { fields: ['category'] })).toThrow(
        /vocabSizes.category/,
      );
      expect(() => makeJsonEncoderConfig({ category: 5 }, { fields: ['category'], dropout: 1 })).toThrow(
        /dropout/,
      );
      expect(() => makeJsonEncoderConfig({ category: 5 }, { fields: [] })).toThrow(/at least one field/);
      const c = makeJsonEncoderConfig({ style: 5 }, { fields: ['style'] });
      await expect(createJsonEncoder({ ...c, fieldKinds: { style: 'single' } }, { seed: 1 })).rejects.toThrow(
        /multi-valued/,
      );
    });

    it('batch 1 for training, negative lr, temperature ≤ 0, mismatched images', async () => {
      const model = await createJsonEncoder(config(), { seed: 1, backend: 'wasm' });
      const x1 = inputs(1, 1);
      expect(() => model.trainStep(x1, images(1, 1), 0.1, OPT)).toThrow(/at least 2 items/);
      const x = inputs(4, 1);
      const img = images(4, 1);
      expect(() => model.trainStep(x, img, 0.1, { ...OPT, lr: -1e-3 })).toThrow(/learning rate must be ≥ 0/);
      expect(() => model.trainStep(x, img, 0, OPT)).toThrow(/temperature must be > 0/);
      expect(() => model.trainStep(x, img, -0.1, OPT)).toThrow(/temperature must be > 0/);
      expect(() => model.trainStep(x, images(3, 1), 0.1, OPT)).toThrow(/expected 4×512 = 2048 values/);
      expect(() => model.loss(x, images(5, 1), 0.1)).toThrow(JsonEncoderConfigError);
      const bad = inputs(4, 1);
      bad.fields.category!.indices[2] = 7;
      expect(() => model.encode(bad)).toThrow(/index 7 outside its vocabulary \[0, 7\)/);
      const missing: EncoderInputs = { batchSize: 4, fields: { category: x.fields.category! } };
      expect(() => model.encode(missing)).toThrow(/lack field 'style'/);
      model.dispose();
      expect(() => model.encode(x)).toThrow(/after dispose/);
    });

    it('a state of another shape', async () => {
      const model = await createJsonEncoder(config(), { seed: 1, backend: 'wasm' });
      const other = await createJsonEncoder(config({ hiddenDim: 16 }), { seed: 1, backend: 'wasm' });
      expect(() => model.setState(other.getState())).toThrow(/'mlp.0.weight' has shape \[16,24\]/);
    });
  });
});

describe('JSON encoder helper thread', () => {
  it('gives bit-identical steps and state with and without the helper thread', async () => {
    const { ShardWorker } = await import('../../src-main/encoders/json-encoder/shard-worker.ts');
    const one = await createJsonEncoder(config(), { seed: 21, backend: 'wasm', helperThread: false });
    const two = await createJsonEncoder(config(), { seed: 21, backend: 'wasm', helperThread: true });
    expect(await ShardWorker.whenStarted(), String(ShardWorker.startError())).not.toBeNull();
    expect(two.threads).toBe(one.threads + 1);
    const x = inputs(8, 3);
    const img = images(8, 4);
    for (let i = 0; i < 3; i++)
      expect(two.trainStep(x, img, 0.1, OPT)).toEqual(one.trainStep(x, img, 0.1, OPT));
    const a = one.getState();
    const b = two.getState();
    for (const k of Object.keys(a.params)) expect([...b.params[k]!.data], k).toEqual([...a.params[k]!.data]);
    for (const k of Object.keys(a.optimizer.moments))
      expect([...b.optimizer.moments[k]!.data], k).toEqual([...a.optimizer.moments[k]!.data]);
    one.dispose();
    two.dispose();
  });

  it('keeps nothing per step or per disposed model on the helper thread', async () => {
    // Regression: an undisposed intermediate per step filled the helper's wasm heap after ~2,000
    // steps (a long run, or a few runs in one process) and aborted training.
    const { ShardWorker } = await import('../../src-main/encoders/json-encoder/shard-worker.ts');
    const helper = await ShardWorker.whenStarted();
    expect(helper, String(ShardWorker.startError())).not.toBeNull();
    const x = inputs(8, 3);
    const img = images(8, 4);
    const first = await createJsonEncoder(config(), { seed: 3, backend: 'wasm', helperThread: true });
    first.trainStep(x, img, 0.1, OPT);
    first.dispose();
    const before = await helper!.memory();
    const model = await createJsonEncoder(config(), { seed: 4, backend: 'wasm', helperThread: true });
    for (let i = 0; i < 20; i++) model.trainStep(x, img, 0.1, OPT);
    const during = await helper!.memory();
    expect(during.numTensors).toBe(before.numTensors);
    expect(during.numBytes).toBe(before.numBytes);
    model.dispose();
    const after = await helper!.memory();
    expect(after.models).toBe(before.models);
  });
});
