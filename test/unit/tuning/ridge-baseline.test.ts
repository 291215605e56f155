import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/dataset/rng.ts';
import { multiHot, predictRidge, ridgeBaseline } from '../../../src-main/evaluation/ridge-baseline.ts';

const FIELDS = ['category', 'style', 'silhouette', 'material'];
const V = 5;
const DIM = 32;

/** F·V orthonormal vectors in DIM dimensions (Gram–Schmidt of Gaussian rows). */
function orthonormal(rows: number, dim: number, rng: Rng): Float64Array[] {
  const out: Float64Array[] = [];
  while (out.length < rows) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    for (const u of out) {
      let d = 0;
      for (let k = 0; k < dim; k++) d += v[k]! * u[k]!;
      for (let k = 0; k < dim; k++) v[k]! -= d * u[k]!;
    }
    const n = Math.hypot(...v);
    out.push(v.map((x) => x / n));
  }
  return out;
}

/**
 * Items whose image vector is an exact linear map of their one-hot fields: y = ½ Σ_f e(f, value), unit
 * length by construction. Validation combinations are distinct, so the ceiling is 1 at every K.
 */
function workspace(seed: number) {
  const rng = new Rng(seed);
  const basis = orthonormal(FIELDS.length * V, DIM, rng);
  const combos = rng.shuffle(Array.from({ length: V ** FIELDS.length }, (_, i) => i));
  const make = (codes: number[]) => {
    const n = codes.length;
    const indices: Record<string, Int32Array[]> = {};
    FIELDS.forEach((f, fi) => {
      indices[f] = codes.map((c) => Int32Array.of(Math.floor(c / V ** fi) % V));
    });
    const images = new Float32Array(n * DIM);
    codes.forEach((c, i) => {
      FIELDS.forEach((_, fi) => {
        const v = Math.floor(c / V ** fi) % V;
        const e = basis[fi * V + v]!;
        for (let k = 0; k < DIM; k++) images[i * DIM + k]! += e[k]! / 2;
      });
    });
    const { x, p } = multiHot(indices, FIELDS, Object.fromEntries(FIELDS.map((f) => [f, V])), n);
    return { x, p, images, n, ids: codes.map((c) => `item-${c}`) };
  };
  // Training items repeat combinations (a skewed draw: some values far more common).
  const train = make(Array.from({ length: 400 }, () => combos[Math.floor(rng.float() ** 2 * 300)]!));
  const val = make(combos.slice(300, 420));
  return { train, val };
}

describe('ridge baseline', () => {
  it('reaches the ceiling when the image vectors are an exact linear map of the fields', () => {
    const { train, val } = workspace(1);
    const r = ridgeBaseline({ train, val, p: train.p, dim: DIM });
    expect(r.figures.ceiling.recall['1']).toBe(1);
    expect(r.figures.recall['1']).toBe(1);
    expect(r.figures.recall['5']).toBe(r.figures.ceiling.recall['5']);
    expect(r.figures.mrr).toBeCloseTo(r.figures.ceiling.mrr, 12);
    expect(r.tried).toHaveLength(6);
    expect(r.figures.queries).toBe(120);
  });

  it('projects the mean image direction out of every query and picks λ on validation', () => {
    const { train, val } = workspace(2);
    const r = ridgeBaseline({ train, val, p: train.p, dim: DIM, lambdas: [1e-3, 1e3], metric: 'top1' });
    const q = predictRidge(r.fit, val.x, val.n);
    for (let i = 0; i < val.n; i++) {
      let along = 0;
      let norm = 0;
      for (let k = 0; k < DIM; k++) {
        along += q[i * DIM + k]! * r.fit.meanDirection[k]!;
        norm += q[i * DIM + k]! ** 2;
      }
      expect(Math.abs(along)).toBeLessThan(1e-5);
      expect(norm).toBeCloseTo(1, 5);
    }
    // The kept λ is the best of those tried on validation.
    const best = Math.max(...r.tried.map((t) => t.value));
    expect(r.tried.find((t) => t.relativeLambda === r.fit.relativeLambda)!.value).toBe(best);
    expect(r.fit.lambda).toBeCloseTo(
      r.fit.relativeLambda * (r.tried[0]!.lambda / r.tried[0]!.relativeLambda),
      9,
    );
  });

  it('refuses mismatched shapes', () => {
    const { train, val } = workspace(3);
    expect(() =>
      ridgeBaseline({ train, val: { ...val, ids: val.ids.slice(1) }, p: train.p, dim: DIM }),
    ).toThrow(/validation X\/Y sizes/);
  });
});
