import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { mixTargets, mixupImages, sampleBeta, softInfoNce } from '../../src-main/training/mixup.ts';

const B = 6;
const dim = 8;
const rng = new Rng(1);
const z = rng.unitRows(B, dim);
const x = rng.unitRows(B, dim);
const T = 0.2;

function hardInfoNce(): number {
  // CLIP's loss written out plainly.
  let loss = 0;
  const s = (i: number, j: number) => {
    let d = 0;
    for (let k = 0; k < dim; k++) d += z[i * dim + k]! * x[j * dim + k]!;
    return d / T;
  };
  for (let i = 0; i < B; i++) {
    let r = 0;
    let c = 0;
    for (let j = 0; j < B; j++) {
      r += Math.exp(s(i, j));
      c += Math.exp(s(j, i));
    }
    loss += (Math.log(r) - s(i, i) + Math.log(c) - s(i, i)) / (2 * B);
  }
  return loss;
}

describe('MixUp and soft-target InfoNCE', () => {
  it('equals InfoNCE with identity targets', () => {
    expect(softInfoNce(z, x, B, dim, T, mixTargets(B, [])).loss).toBeCloseTo(hardInfoNce(), 10);
  });

  it('has the gradient finite differences give', () => {
    const y = mixTargets(B, [
      { row: 1, partner: 4, lambda: 0.7 },
      { row: 3, partner: 0, lambda: 0.55 },
    ]);
    const z64 = Float64Array.from(z);
    const { dz } = softInfoNce(z64, x, B, dim, T, y);
    const h = 1e-6;
    for (const at of [0, 9, 23, 40, 47]) {
      const up = Float64Array.from(z64);
      const down = Float64Array.from(z64);
      up[at]! += h;
      down[at]! -= h;
      const fd = (softInfoNce(up, x, B, dim, T, y).loss - softInfoNce(down, x, B, dim, T, y).loss) / (2 * h);
      expect(dz[at]!).toBeCloseTo(fd, 6);
    }
  });

  it('mixes rows with λ ≥ 0.5, keeps them unit-length and leaves the input alone', () => {
    const copy = Float32Array.from(x);
    const { images, pairs } = mixupImages(x, B, dim, 1, 0.4, new Rng(3));
    expect(Array.from(x)).toEqual(Array.from(copy));
    expect(pairs).toHaveLength(B);
    for (const p of pairs) {
      expect(p.lambda).toBeGreaterThanOrEqual(0.5);
      expect(p.partner).not.toBe(p.row);
      expect(Math.hypot(...images.subarray(p.row * dim, (p.row + 1) * dim))).toBeCloseTo(1, 5);
    }
    expect(mixupImages(x, B, dim, 1, 0.4, new Rng(3)).images).toEqual(images);
    expect(mixupImages(x, B, dim, 0, 0.4, new Rng(3)).pairs).toEqual([]);
    const y = mixTargets(B, pairs.slice(0, 1));
    const { row, partner, lambda } = pairs[0]!;
    expect(y[row * B + row]).toBeCloseTo(lambda);
    expect(y[partner * B + row]).toBeCloseTo(1 - lambda);
  });

  it('draws Beta(α, α) with mean ½ and the right spread', () => {
    const r = new Rng(9);
    const xs = Array.from({ length: 20000 }, () => sampleBeta(r, 0.4));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 1);
    // Var of Beta(α, α) = 1 / (4(2α + 1)) = 0.1389 for α = 0.4.
    expect(Math.abs(variance - 1 / (4 * 1.8))).toBeLessThan(0.01);
  });
});
