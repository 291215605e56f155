/**
 * The ONNX Runtime training engine (ort-step.ts, ort-encoder.ts) against the layered JS engine: every
 * layer's emitted forward/backward against its JS pair (float32, 1e-5), whole training steps of the
 * default model and of a residual LayerNorm GELU dropout variant, bitwise determinism across thread
 * counts and seeds, and resume from a saved state.
 */

import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { makeJsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-config.ts';
import type { JsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-types.ts';
import { LayeredJsonEncoder } from '../../src-main/encoders/json-encoder/layered-encoder.ts';
import { dropoutMask } from '../../src-main/encoders/json-encoder/layers/dropout.ts';
import {
  carve,
  countingTake,
  type EmitContext,
  type Module,
  type StepContext,
} from '../../src-main/encoders/json-encoder/layers/module.ts';
import {
  ActivationModule,
  DropoutModule,
  LayerNormModule,
  LinearModule,
} from '../../src-main/encoders/json-encoder/layers/modules.ts';
import { ResidualBlock } from '../../src-main/encoders/json-encoder/layers/residual-block.ts';
import { OnnxGraph } from '../../src-main/encoders/json-encoder/onnx-graph.ts';
import { OrtJsonEncoder } from '../../src-main/encoders/json-encoder/ort-encoder.ts';
import { tinyInputs } from '../helpers/encoder-inputs.ts';

const VOCAB = { category: 5, style: 6, silhouette: 4, material: 7, detail: 5 };
const OPT = { lr: 1e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** One module: JS forward/backward against its emitted graph run by ONNX Runtime. */
async function compareModule(m: Module, inWidth: number, B: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  for (const p of m.params) {
    p.data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    p.grad = new Float32Array(p.data.length);
    for (let i = 0; i < p.data.length; i++)
      p.data[i] = rng.normal() * 0.5 + (p.name.includes('norm.weight') ? 1 : 0);
  }
  const sizes = { act: countingTake(), grad: countingTake() };
  m.bind(sizes.act.take, sizes.grad.take, B);
  m.bind(carve(new Float32Array(sizes.act.total())), carve(new Float32Array(sizes.grad.total())), B);
  const x = Float32Array.from({ length: B * inWidth }, () => rng.normal());
  const dout = Float32Array.from({ length: B * m.outWidth }, () => rng.normal());
  const masks: Float32Array[] = [];
  let state = 7;
  const ctx: StepContext = {
    B,
    train: true,
    grads: true,
    mask: (mask, n, p) => {
      state = dropoutMask(mask, n, p, state);
      masks.push(Float32Array.from(mask.subarray(0, n)));
    },
  };
  const y = Float32Array.from(m.forward(x, ctx).subarray(0, B * m.outWidth));
  m.dout.set(dout);
  const dx = new Float32Array(B * inWidth);
  m.backward(dx, ctx);

  const g = new OnnxGraph();
  g.input('x', [B, inWidth]);
  g.input('dout', [B, m.outWidth]);
  const feeds: Record<string, ort.Tensor> = {
    x: new ort.Tensor('float32', x, [B, inWidth]),
    dout: new ort.Tensor('float32', dout, [B, m.outWidth]),
  };
  const grads = new Map<string, Float32Array>();
  let k = 0;
  const ectx: EmitContext = {
    B,
    param: (p) => {
      if (!feeds[p.name]) {
        g.input(p.name, p.shape);
        feeds[p.name] = new ort.Tensor('float32', p.data as Float32Array, p.shape);
      }
      return p.name;
    },
    grad: (p, v) => {
      g.output(v, `grad.${p.name}`, p.shape);
      grads.set(`grad.${p.name}`, p.grad as Float32Array);
    },
    mask: (width) => {
      const name = `mask${k}`;
      g.input(name, [B, width]);
      feeds[name] = new ort.Tensor('float32', masks[k++]!, [B, width]);
      return name;
    },
  };
  const yName = m.emitForward!(g, 'x', ectx);
  const dxName = m.emitBackward!(g, 'dout', true, ectx)!;
  g.output(yName, 'y', [B, m.outWidth]);
  g.output(dxName, 'dx', [B, inWidth]);
  const session = await ort.InferenceSession.create(g.model('layer-test'), { intraOpNumThreads: 1 });
  const out = await session.run(feeds);
  expect(maxAbsDiff(out.y!.data as Float32Array, y)).toBeLessThan(1e-5);
  expect(maxAbsDiff(out.dx!.data as Float32Array, dx)).toBeLessThan(1e-5);
  for (const [name, js] of grads)
    expect(maxAbsDiff(out[name]!.data as Float32Array, js), name).toBeLessThan(1e-5);
  expect(grads.size).toBe(m.params.length);
  await session.release();
}

describe('ONNX Runtime training engine: each layer’s emission equals its JS pair (float32, 1e-5)', () => {
  it('Linear', async () => compareModule(new LinearModule('l', 6, 5), 6, 4, 1));
  for (const kind of ['relu', 'gelu', 'silu'] as const)
    it(`activation ${kind}`, async () => compareModule(new ActivationModule(7, kind), 7, 5, 2));
  it('Dropout (mask from the model’s generator)', async () =>
    compareModule(new DropoutModule(8, 0.3), 8, 4, 3));
  it('LayerNorm', async () => compareModule(new LayerNormModule('n', 9), 9, 4, 4));
  it('residual block (LayerNorm, GELU, dropout)', async () =>
    compareModule(new ResidualBlock('r', 8, 'layer', 'gelu', 0.2), 8, 4, 5));
});

const residualConfig = (base: JsonEncoderConfig): JsonEncoderConfig => ({
  ...base,
  depth: 3,
  residual: true,
  norm: 'layer',
  activation: 'gelu',
  dropout: 0.2,
});

describe('ONNX Runtime training engine: whole steps', () => {
  const cases: [string, JsonEncoderConfig][] = [
    ['default model (640 → 1024 → 512, ReLU, dropout)', makeJsonEncoderConfig(VOCAB)],
    [
      'residual LayerNorm GELU dropout 0.2',
      residualConfig(makeJsonEncoderConfig(VOCAB, { embedDim: 16, hiddenDim: 64 })),
    ],
  ];
  for (const [label, config] of cases)
    it(`${label}: gradients and 3 AdamW steps equal the layered JS engine’s`, () => {
      const B = 16;
      const inputs = tinyInputs(config, B, 3);
      const images = new Rng(2).unitRows(B, 512);
      const js = new LayeredJsonEncoder(config, { seed: 11 });
      const onnx = new OrtJsonEncoder(config, { seed: 11, threads: 1 });
      // Gradients at the same weights, with the same dropout masks (same generator, same order).
      const a = js.gradients(inputs, images, 0.07);
      const b = onnx.gradients(inputs, images, 0.07);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(a.loss)));
      for (const [name, t] of Object.entries(a.grads)) {
        const scale = t.data.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
        expect(maxAbsDiff(t.data, b.grads[name]!.data) / scale, name).toBeLessThan(1e-4);
      }
      expect(onnx.net.dropoutState).toBe(js.net.dropoutState);
      // Training steps: the updates agree to float32 rounding (AdamW divides by √v, so a parameter
      // whose gradient is ~0 can move by up to lr differently: the tolerance is a fraction of lr).
      for (let s = 0; s < 3; s++) {
        const ra = js.trainStep(inputs, images, 0.07, OPT);
        const rb = onnx.trainStep(inputs, images, 0.07, OPT);
        expect(Math.abs(ra.loss - rb.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ra.loss)));
        expect(Math.abs(ra.gradNorm - rb.gradNorm) / ra.gradNorm).toBeLessThan(1e-4);
      }
      const pa = js.getState().params;
      const pb = onnx.getState().params;
      for (const name of Object.keys(pa))
        expect(maxAbsDiff(pa[name]!.data, pb[name]!.data), name).toBeLessThan(0.1 * OPT.lr);
      onnx.dispose();
    });

  it('soft targets (MixUp), then hard ones, give the layered engine’s loss and gradients', () => {
    const config = makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 32 });
    const B = 8;
    const inputs = tinyInputs(config, B, 4);
    const images = new Rng(5).unitRows(B, 512);
    const targets = new Float64Array(B * B);
    for (let i = 0; i < B; i++) {
      targets[i * B + i] = 0.7;
      targets[i * B + ((i + 1) % B)] = 0.3;
    }
    targets.fill(0, 2 * B, 3 * B); // a row without any target is skipped by both
    const js = new LayeredJsonEncoder(config, { seed: 3 });
    const onnx = new OrtJsonEncoder(config, { seed: 3, threads: 1 });
    // Soft, then hard targets again: the hard-target inputs are refilled after a soft step.
    for (const t of [targets, undefined, targets]) {
      const a = js.gradients(inputs, images, 0.1, t);
      const b = onnx.gradients(inputs, images, 0.1, t);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5);
      for (const [name, g] of Object.entries(a.grads))
        expect(maxAbsDiff(g.data, b.grads[name]!.data), name).toBeLessThan(1e-5);
    }
    onnx.dispose();
  });

  it('is bitwise the same with 1 and 2 threads, and with the same seed; another seed differs', () => {
    const config = residualConfig(makeJsonEncoderConfig(VOCAB, { embedDim: 32, hiddenDim: 256 }));
    const B = 32;
    const inputs = tinyInputs(config, B, 6);
    const images = new Rng(7).unitRows(B, 512);
    const run = (seed: number, threads: number) => {
      const m = new OrtJsonEncoder(config, { seed, threads });
      const losses = [0, 1, 2].map(() => m.trainStep(inputs, images, 0.07, OPT).loss);
      const state = m.getState();
      m.dispose();
      return { losses, state };
    };
    const one = run(21, 1);
    const two = run(21, 2);
    const again = run(21, 2);
    expect(two.losses).toEqual(one.losses);
    expect(again.losses).toEqual(two.losses);
    for (const name of Object.keys(one.state.params)) {
      expect(
        Buffer.from(two.state.params[name]!.data.buffer).equals(
          Buffer.from(one.state.params[name]!.data.buffer),
        ),
        name,
      ).toBe(true);
    }
    expect(run(22, 2).losses).not.toEqual(one.losses);
  });

  it('a run resumed from its saved state continues exactly as the uninterrupted run', () => {
    const config = residualConfig(makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 32 }));
    const inputs = tinyInputs(config, 8, 1);
    const images = new Rng(2).unitRows(8, 512);
    const a = new OrtJsonEncoder(config, { seed: 4, threads: 2 });
    for (let i = 0; i < 2; i++) a.trainStep(inputs, images, 0.1, OPT);
    const saved = a.getState();
    const b = new OrtJsonEncoder(config, { seed: 99, threads: 2 });
    b.setState(saved);
    const ra = a.trainStep(inputs, images, 0.1, OPT);
    const rb = b.trainStep(inputs, images, 0.1, OPT);
    expect(rb).toEqual(ra);
    expect(b.getState().params['mlp.0.weight']!.data).toEqual(a.getState().params['mlp.0.weight']!.data);
    a.dispose();
    b.dispose();
  });

  it('refuses BatchNorm with an error naming the flags', () => {
    const config = { ...makeJsonEncoderConfig(VOCAB, { embedDim: 4, hiddenDim: 8 }), norm: 'batch' as const };
    expect(() => new OrtJsonEncoder(config, { seed: 1, threads: 1 })).toThrow(
      /--engine ort.*--norm batch.*--engine layered/,
    );
  });
});
