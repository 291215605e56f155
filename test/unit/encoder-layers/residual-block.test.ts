import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/dataset/rng.ts';
import { dropoutMask } from '../../../src-main/encoders/json-encoder/layers/dropout.ts';
import { carve, type StepContext } from '../../../src-main/encoders/json-encoder/layers/module.ts';
import { ResidualBlock } from '../../../src-main/encoders/json-encoder/layers/residual-block.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('residual MLP block (x + Dropout(act(norm(Linear(x)))))', () => {
  const B = 4;
  const W = 6;
  for (const norm of ['none', 'layer', 'batch'] as const) {
    it(`norm ${norm}: PyTorch names, and backward matches central differences`, () => {
      const block = new ResidualBlock('mlp.4', W, norm, 'gelu', 0.25);
      const names = block.params.map((p) => p.name);
      expect(names.slice(0, 2)).toEqual(['mlp.4.linear.weight', 'mlp.4.linear.bias']);
      if (norm !== 'none') expect(names.slice(2)).toEqual(['mlp.4.norm.weight', 'mlp.4.norm.bias']);
      if (norm === 'batch')
        expect(block.buffers.map((b) => b.name)).toEqual([
          'mlp.4.norm.running_mean',
          'mlp.4.norm.running_var',
          'mlp.4.norm.num_batches_tracked',
        ]);
      const rng = new Rng(3);
      for (const p of block.params) {
        p.data = new Float64Array(p.shape.reduce((a, b) => a * b, 1));
        p.grad = new Float64Array(p.data.length);
        p.init(p.data, rng);
        // Non-trivial norm weights, so their gradient is checked at a general point.
        if (p.name.includes('norm'))
          for (let i = 0; i < p.data.length; i++) p.data[i] = 1 + 0.3 * rng.normal();
      }
      for (const b of block.buffers) {
        b.data = new Float64Array(b.shape.reduce((a, c) => a * c, 1));
        b.init(b.data);
      }
      const gArena = new Float64Array(10000);
      block.bind(carve(new Float64Array(10000)), carve(gArena), B);
      let state = 77;
      const ctx: StepContext = {
        B,
        train: true,
        grads: true,
        mask: (mask, n, p) => {
          state = dropoutMask(mask, n, p, state);
        },
      };
      const x = randomArray(B * W, 5);
      const r = randomArray(B * W, 6);
      const loss = () => {
        state = 77; // the same dropout mask in every evaluation
        return dot(block.forward(x, ctx), r);
      };
      loss();
      gArena.fill(0);
      for (const p of block.params) p.grad.fill(0);
      block.dout.set(r);
      const dx = new Float64Array(B * W);
      block.backward(dx, ctx);
      expectGradient(x, dx, loss, { label: 'dx' });
      for (const p of block.params) expectGradient(p.data as Float64Array, p.grad, loss, { label: p.name });
    });
  }
});
