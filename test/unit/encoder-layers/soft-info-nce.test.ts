/**
 * Soft-target symmetric InfoNCE (MixUp's loss): the layer and the tfjs output head against the plain
 * float64 reference of training/mixup.ts, central differences in float64, and PyTorch's autograd of
 * the same loss where python3 can import torch (skipped with the reason printed elsewhere).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { findTorchPython } from '../../../bench/pytorch-reference.ts';
import { Rng } from '../../../src-main/dataset/rng.ts';
import { infoNceForwardBackward } from '../../../src-main/encoders/json-encoder/layers/info-nce.ts';
import {
  softTargetInfoNce,
  symmetricInfoNce,
  transposeTargets,
} from '../../../src-main/encoders/json-encoder/output-head.ts';
import { mixTargets, mixupImages, softInfoNce } from '../../../src-main/training/mixup.ts';
import { expectGradient } from '../../helpers/finite-diff.ts';

const B = 6;
const C = 16;
const T = 0.2;
const z = Float64Array.from(new Rng(1).unitRows(B, C));
const raw = new Rng(2).unitRows(B, C);
const mixed = mixupImages(raw, B, C, 0.7, 0.4, new Rng(5));
const img = Float64Array.from(mixed.images);
const targets = mixTargets(B, mixed.pairs);

const python = findTorchPython();
if (!python) console.log('soft-info-nce: PyTorch comparison skipped — no python3 can `import torch` here');

describe('soft-target InfoNCE', () => {
  it('the draw mixes some rows but not all (the case is a real mix)', () => {
    expect(mixed.pairs.length).toBeGreaterThan(0);
    expect(mixed.pairs.length).toBeLessThan(B);
  });

  it('with identity targets it is the hard InfoNCE, loss and gradient', () => {
    const s = new Float32Array(B * B).map(() => 0);
    const r = new Rng(3);
    for (let i = 0; i < B * B; i++) s[i] = r.normal() * 3;
    const hard = symmetricInfoNce(s, B);
    const soft = softTargetInfoNce(s, B, mixTargets(B, []), new Float32Array(B * B));
    expect(soft.loss).toBeCloseTo(hard.loss, 5);
    for (let i = 0; i < B * B; i++) expect(soft.dS[i]!).toBeCloseTo(hard.dS[i]!, 6);
  });

  it('the layer equals the float64 reference of training/mixup.ts', () => {
    const dz = new Float64Array(B * C);
    const loss = infoNceForwardBackward(dz, z, img, B, C, T, undefined, targets);
    const ref = softInfoNce(z, img, B, C, T, targets);
    expect(loss).toBeCloseTo(ref.loss, 12);
    for (let i = 0; i < B * C; i++) expect(dz[i]!).toBeCloseTo(ref.dz[i]!, 12);
  });

  it('the layer gradient matches central differences (float64)', () => {
    const dz = new Float64Array(B * C);
    infoNceForwardBackward(dz, z, img, B, C, T, undefined, targets);
    expectGradient(z, dz, () => infoNceForwardBackward(null, z, img, B, C, T, undefined, targets), {
      label: 'dz',
    });
  });

  it('the tfjs head, whose S has images as rows, takes the targets transposed and agrees', () => {
    // S_head[i][j] = image i · z j / T = S_layer[j][i].
    const sHead = new Float64Array(B * B);
    for (let i = 0; i < B; i++)
      for (let j = 0; j < B; j++) {
        let d = 0;
        for (let k = 0; k < C; k++) d += img[i * C + k]! * z[j * C + k]!;
        sHead[i * B + j] = d / T;
      }
    const head = softTargetInfoNce(sHead, B, transposeTargets(targets, B), new Float64Array(B * B));
    expect(head.loss).toBeCloseTo(softInfoNce(z, img, B, C, T, targets).loss, 12);
  });

  it.skipIf(!python)(
    'matches PyTorch autograd of the same loss (loss and dz)',
    () => {
      const script = `
import json, sys, torch
d = json.load(sys.stdin)
B, C, T = d["B"], d["C"], d["T"]
z = torch.tensor(d["z"], dtype=torch.float64).reshape(B, C).requires_grad_(True)
x = torch.tensor(d["x"], dtype=torch.float64).reshape(B, C)
y = torch.tensor(d["y"], dtype=torch.float64).reshape(B, B)
s = z @ x.T / T
yr = y / y.sum(1, keepdim=True)
yc = y / y.sum(0, keepdim=True)
loss = 0.5 * (-(yr * torch.log_softmax(s, 1)).sum(1).mean() - (yc * torch.log_softmax(s, 0)).sum(0).mean())
loss.backward()
print(json.dumps({"loss": loss.item(), "dz": z.grad.reshape(-1).tolist()}))
`;
      const run = spawnSync(python!, ['-c', script], {
        input: JSON.stringify({ B, C, T, z: [...z], x: [...img], y: [...targets] }),
        encoding: 'utf8',
        env: { ...process.env, OMP_NUM_THREADS: '1' },
      });
      expect(run.status, run.stderr).toBe(0);
      const torch = JSON.parse(run.stdout) as { loss: number; dz: number[] };
      const dz = new Float64Array(B * C);
      const loss = infoNceForwardBackward(dz, z, img, B, C, T, undefined, targets);
      expect(loss).toBeCloseTo(torch.loss, 12);
      for (let i = 0; i < B * C; i++) expect(dz[i]!).toBeCloseTo(torch.dz[i]!, 12);
    },
    60_000,
  );
});
