/**
 * The layered JSON encoder as a whole: the default config's PyTorch names (the earlier model's), the
 * layer list of a deep residual variant, a whole-model gradient check in float64, AdamW and the
 * schedules, inference without optimiser state, determinism.
 */

import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { InferenceJsonEncoder } from '../../src-main/encoders/json-encoder/inference.ts';
import { makeJsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-config.ts';
import { LayeredJsonEncoder } from '../../src-main/encoders/json-encoder/layered-encoder.ts';
import { planLrSchedule, scheduledLr } from '../../src-main/encoders/json-encoder/lr-schedulers.ts';
import { adamwStep, clipScale } from '../../src-main/encoders/json-encoder/optimizer.ts';
import { mixTargets, mixupImages } from '../../src-main/training/mixup.ts';
import { tinyInputs } from '../helpers/encoder-inputs.ts';
import { expectGradient } from '../helpers/finite-diff.ts';

const VOCAB = { category: 5, style: 6, silhouette: 4, material: 7, detail: 5 };

const OPT = { lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };

describe('layered JSON encoder', () => {
  it('the default config has the earlier model’s tensor names and shapes', () => {
    const config = makeJsonEncoderConfig(VOCAB);
    const m = new LayeredJsonEncoder(config, { seed: 1 });
    const shapes = Object.fromEntries(Object.entries(m.getState().params).map(([k, v]) => [k, v.shape]));
    expect(shapes).toEqual({
      'field_embeddings.category.weight': [5, 128],
      'field_embeddings.style.weight': [6, 128],
      'field_embeddings.silhouette.weight': [4, 128],
      'field_embeddings.material.weight': [7, 128],
      'field_embeddings.detail.weight': [5, 128],
      'mlp.0.weight': [1024, 640],
      'mlp.0.bias': [1024],
      'mlp.3.weight': [512, 1024],
      'mlp.3.bias': [512],
    });
    expect(Object.keys(m.getState().optimizer.moments)).toContain('exp_avg_sq.mlp.3.bias');
  });

  it('a deep residual LayerNorm GELU config lists its layers in nn.Sequential numbering', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 8 }),
      depth: 3,
      residual: true,
      norm: 'layer' as const,
      activation: 'gelu' as const,
    };
    const names = Object.keys(new LayeredJsonEncoder(config, { seed: 1 }).getState().params).filter((n) =>
      n.startsWith('mlp'),
    );
    expect(names).toEqual([
      'mlp.0.weight',
      'mlp.0.bias',
      'mlp.1.weight',
      'mlp.1.bias',
      'mlp.4.linear.weight',
      'mlp.4.linear.bias',
      'mlp.4.norm.weight',
      'mlp.4.norm.bias',
      'mlp.5.linear.weight',
      'mlp.5.linear.bias',
      'mlp.5.norm.weight',
      'mlp.5.norm.bias',
      'mlp.6.weight',
      'mlp.6.bias',
    ]);
  });

  it('whole-model gradient of a deep residual LayerNorm GELU variant matches central differences (float64)', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 3, hiddenDim: 6, dropout: 0.2 }),
      depth: 3,
      residual: true,
      norm: 'layer' as const,
      activation: 'gelu' as const,
    };
    const m = new LayeredJsonEncoder(config, { seed: 5, dtype: 'float64' });
    const net = m.net;
    // LayerNorm weights away from 1, so their gradients are checked at a general point.
    const rng = new Rng(9);
    for (const p of net.params)
      if (p.name.includes('norm')) for (let i = 0; i < p.data.length; i++) p.data[i] = 1 + 0.3 * rng.normal();
    const B = 5;
    const inputs = tinyInputs(config, B, 3);
    const images = new Rng(4).unitRows(B, 512);
    const imgs = Float64Array.from(images);
    const state = net.dropoutState;
    const loss = () => {
      net.dropoutState = state; // same dropout masks
      return net.lossAndGrads(inputs, imgs, 0.1);
    };
    loss();
    const grads = Float64Array.from(net.gradArena);
    expectGradient(net.paramArena as Float64Array, grads, loss, {
      sample: 400,
      tol: 1e-5,
      label: 'all parameters',
    });
  });

  it('whole-model gradient with MixUp soft targets matches central differences (float64)', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 3, hiddenDim: 6, dropout: 0.2 }),
      depth: 2,
      residual: true,
      norm: 'layer' as const,
      activation: 'gelu' as const,
    };
    const m = new LayeredJsonEncoder(config, { seed: 6, dtype: 'float64' });
    const net = m.net;
    const B = 5;
    const inputs = tinyInputs(config, B, 3);
    const raw = new Rng(4).unitRows(B, 512);
    const { images, pairs } = mixupImages(raw, B, 512, 0.6, 0.4, new Rng(8));
    expect(pairs.length).toBeGreaterThan(0);
    const targets = mixTargets(B, pairs);
    const imgs = Float64Array.from(images);
    const state = net.dropoutState;
    const loss = () => {
      net.dropoutState = state;
      return net.lossAndGrads(inputs, imgs, 0.1, true, targets);
    };
    loss();
    const grads = Float64Array.from(net.gradArena);
    expectGradient(net.paramArena as Float64Array, grads, loss, {
      sample: 300,
      tol: 1e-5,
      label: 'all parameters (soft targets)',
    });
    // The soft loss differs from the hard one on the same images (the targets matter).
    net.dropoutState = state;
    expect(loss()).not.toBeCloseTo(
      (() => {
        net.dropoutState = state;
        return net.lossAndGrads(inputs, imgs, 0.1, true);
      })(),
      6,
    );
  });

  it('trains: the loss falls over steps of a float32 model with BatchNorm and SiLU', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 32 }),
      depth: 2,
      norm: 'batch' as const,
      activation: 'silu' as const,
    };
    const m = new LayeredJsonEncoder(config, { seed: 2 });
    const inputs = tinyInputs(config, 16, 1);
    const images = new Rng(2).unitRows(16, 512);
    const first = m.loss(inputs, images, 0.1);
    for (let i = 0; i < 60; i++) m.trainStep(inputs, images, 0.1, OPT);
    expect(m.loss(inputs, images, 0.1)).toBeLessThan(first * 0.7);
    expect(m.getState().params['mlp.1.num_batches_tracked']!.data[0]).toBe(60);
  });

  it('getState/setState round-trips: a restored model continues exactly like the original', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 16 }),
      depth: 2,
      residual: true,
    };
    const inputs = tinyInputs(config, 8, 1);
    const images = new Rng(2).unitRows(8, 512);
    const a = new LayeredJsonEncoder(config, { seed: 3 });
    for (let i = 0; i < 3; i++) a.trainStep(inputs, images, 0.1, OPT);
    const b = new LayeredJsonEncoder(config, { seed: 99 });
    b.setState(a.getState());
    const ra = a.trainStep(inputs, images, 0.1, OPT);
    const rb = b.trainStep(inputs, images, 0.1, OPT);
    expect(rb.loss).toBe(ra.loss);
    expect(b.encode(inputs)).toEqual(a.encode(inputs));
  });

  it('inference loads weights only (no optimiser state, no gradients) and encodes like the trained model', () => {
    const config = {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 16 }),
      norm: 'batch' as const,
    };
    const inputs = tinyInputs(config, 8, 1);
    const images = new Rng(2).unitRows(8, 512);
    const a = new LayeredJsonEncoder(config, { seed: 3 });
    for (let i = 0; i < 3; i++) a.trainStep(inputs, images, 0.1, OPT);
    const inf = new InferenceJsonEncoder(config, a.getState().params);
    expect(inf.net.gradArena.length).toBe(0);
    expect(inf.getState().optimizer.moments).toEqual({});
    // The first Linear is folded into the tables for inference: same maths, other rounding order.
    const ia = inf.encode(inputs);
    const ta = a.encode(inputs);
    expect(Math.max(...ia.map((v, i) => Math.abs(v - ta[i]!)))).toBeLessThan(1e-5);
    expect(inf.loss(inputs, images, 0.1)).toBeCloseTo(a.loss(inputs, images, 0.1), 5);
    expect(() => inf.trainStep()).toThrow(/inference/);
    const bad = { ...a.getState().params };
    delete bad['mlp.0.bias'];
    expect(() => new InferenceJsonEncoder(config, bad)).toThrow(/'mlp.0.bias' is missing/);
  });

  it('the same seed gives the same run (dropout masks included)', () => {
    const config = makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 16, dropout: 0.3 });
    const inputs = tinyInputs(config, 8, 1);
    const images = new Rng(2).unitRows(8, 512);
    const run = () => {
      const m = new LayeredJsonEncoder(config, { seed: 7 });
      return [0, 1, 2].map(() => m.trainStep(inputs, images, 0.1, OPT).loss);
    };
    expect(run()).toEqual(run());
  });

  it('bad input is named: unknown index, wrong images size, a shape setting out of range', () => {
    const config = makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 16 });
    const m = new LayeredJsonEncoder(config, { seed: 7 });
    const inputs = tinyInputs(config, 4, 1);
    inputs.fields.style!.indices[2] = 99;
    expect(() => m.encode(inputs)).toThrow(/field 'style': index 99 outside its vocabulary/);
    expect(() => m.trainStep(tinyInputs(config, 4, 1), new Float32Array(3), 0.1, OPT)).toThrow(
      /images: expected 4×512/,
    );
    expect(() => new LayeredJsonEncoder({ ...config, depth: 0 }, { seed: 1 })).toThrow(
      /depth must be at least 1/,
    );
  });
});

describe('AdamW and schedules', () => {
  it('AdamW matches torch.optim.AdamW’s first step by hand; the clip scale is PyTorch’s', () => {
    const p = Float64Array.from([1]);
    const g = Float64Array.from([0.5]);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    adamwStep(p, g, m, v, 1, 1, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    // decay: 1·(1 − 0.01) = 0.99; m̂ = 0.5, v̂ = 0.25 → update 0.1 · 0.5/(0.5 + 1e-8)
    expect(p[0]).toBeCloseTo(0.99 - 0.1 * (0.5 / (0.5 + 1e-8)), 12);
    expect(clipScale(4, 1)).toBeCloseTo(1 / (4 + 1e-6), 12);
    expect(clipScale(0.5, 1)).toBe(1);
    expect(clipScale(10, 0)).toBe(1);
  });

  it('cosine, step and exponential after a linear warm-up', () => {
    const base = { warmup: 0.1, lrFloor: 0, stepEvery: 2, gamma: 0.5 };
    const cos = planLrSchedule({ ...base, scheduler: 'cosine' }, 1, 10, 10);
    expect(cos.warmupSteps).toBe(10);
    expect(scheduledLr(cos, 0)).toBeCloseTo(0.1, 12);
    expect(scheduledLr(cos, 10)).toBeCloseTo(1, 12);
    expect(scheduledLr(cos, 99)).toBeLessThan(0.01);
    const step = planLrSchedule({ ...base, scheduler: 'step' }, 1, 10, 10);
    expect(scheduledLr(step, 10 + 19)).toBe(1);
    expect(scheduledLr(step, 10 + 20)).toBe(0.5);
    expect(scheduledLr(step, 10 + 40)).toBe(0.25);
    const exp = planLrSchedule({ ...base, scheduler: 'exponential' }, 1, 10, 10);
    expect(scheduledLr(exp, 10 + 9)).toBe(1);
    expect(scheduledLr(exp, 10 + 30)).toBe(0.125);
  });
});
