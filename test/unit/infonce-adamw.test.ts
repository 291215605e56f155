/** Symmetric InfoNCE against hand-computed values; AdamW and clipping against hand-computed steps. */
import { describe, expect, it } from 'vitest';
import { adamwUpdate, transposeInto, WasmAdamW } from '../../src-main/encoders/json-encoder/adamw.ts';
import {
  normalisationBackward,
  normalisedOutput,
  symmetricInfoNce,
  symmetricInfoNceShifted,
} from '../../src-main/encoders/json-encoder/output-head.ts';

describe('symmetric InfoNCE', () => {
  it('equals the hand-computed 2×2 case', () => {
    // S = [[2, 0], [1, 3]] (already divided by T). Rows: CE(row0, 0) = log(e²+1) − 2,
    // CE(row1, 1) = log(e+e³) − 3. Columns: CE(col0, 0) = log(e²+e) − 2, CE(col1, 1) = log(1+e³) − 3.
    const e = Math.E;
    const rows = (Math.log(e ** 2 + 1) - 2 + Math.log(e + e ** 3) - 3) / 2;
    const cols = (Math.log(e ** 2 + e) - 2 + Math.log(1 + e ** 3) - 3) / 2;
    const { loss, dS } = symmetricInfoNce(Float32Array.of(2, 0, 1, 3), 2);
    expect(loss).toBeCloseTo((rows + cols) / 2, 6);
    // dS = (softmax_rows + softmax_cols − 2I) / 2B.
    const sr = [e ** 2 / (e ** 2 + 1), 1 / (e ** 2 + 1), e / (e + e ** 3), e ** 3 / (e + e ** 3)];
    const sc = [e ** 2 / (e ** 2 + e), 1 / (1 + e ** 3), e / (e ** 2 + e), e ** 3 / (1 + e ** 3)];
    const eye = [1, 0, 0, 1];
    const want = sr.map((x, i) => (x + sc[i]! - 2 * eye[i]!) / 4);
    want.forEach((w, i) => {
      expect(dS[i]).toBeCloseTo(w, 6);
    });
  });

  it('equals the hand-computed 3×3 case and is symmetric in rows and columns', () => {
    const S = [0.5, -1, 2, 1.5, 0, -0.5, 0.25, 1, 3];
    const B = 3;
    const at = (i: number, j: number) => S[i * B + j]!;
    let rows = 0;
    let cols = 0;
    for (let i = 0; i < B; i++) {
      rows += Math.log([0, 1, 2].reduce((a, j) => a + Math.exp(at(i, j)), 0)) - at(i, i);
      cols += Math.log([0, 1, 2].reduce((a, j) => a + Math.exp(at(j, i)), 0)) - at(i, i);
    }
    const want = (rows / B + cols / B) / 2;
    const a = symmetricInfoNce(Float32Array.from(S), B);
    const b = symmetricInfoNce(
      Float32Array.from({ length: 9 }, (_, k) => at(k % 3, Math.floor(k / 3))),
      B,
    );
    expect(a.loss).toBeCloseTo(want, 6);
    expect(b.loss).toBeCloseTo(want, 6);
    // The gradient sums to zero over the whole matrix (softmaxes sum to 1 per row/column).
    expect(a.dS.reduce((x, y) => x + y, 0)).toBeCloseTo(0, 6);
  });

  it('gives the same loss and gradient with one global shift as with per-row and per-column shifts', () => {
    const B = 8;
    const S = Float32Array.from({ length: B * B }, (_, k) => Math.sin(k * 1.7) * 14);
    const a = symmetricInfoNce(S, B);
    const b = symmetricInfoNceShifted(S, B);
    expect(a.loss).toBeCloseTo(b.loss, 9);
    a.dS.forEach((x, k) => {
      expect(x).toBeCloseTo(b.dS[k]!, 7);
    });
  });

  it('stays finite at a tiny temperature (each log-sum-exp against its own maximum)', () => {
    // Similarities / T for T = 0.0005: values of ±2,000 would overflow exp() without the shifts.
    const S = Float32Array.of(2000, -2000, -1500, 1999);
    const { loss, dS } = symmetricInfoNce(S, 2);
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThanOrEqual(0);
    expect([...dS].every(Number.isFinite)).toBe(true);
  });
});

describe('AdamW', () => {
  it('one step equals the hand-computed PyTorch update', () => {
    const p = new Float32Array([1, -2, 0.5, 0]);
    const g = new Float32Array([0.1, -0.2, 0, 3]);
    const slot = { p, m: new Float32Array(4), v: new Float32Array(4), rows: 1, cols: 4 };
    const h = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: 1 };
    const p0 = [1, -2, 0.5, 0];
    adamwUpdate(slot, g, false, 1, h);
    p0.forEach((x, i) => {
      const gi = g[i]!;
      const m = 0.1 * gi;
      const v = 0.001 * gi * gi;
      const mHat = m / (1 - 0.9);
      const denom = Math.sqrt(v) / Math.sqrt(1 - 0.999) + 1e-8;
      const want = x * (1 - 0.01 * 0.1) - (0.01 * mHat) / denom;
      expect(p[i]).toBeCloseTo(want, 6);
      expect(slot.m[i]).toBeCloseTo(m, 7);
      expect(slot.v[i]).toBeCloseTo(v, 9);
    });
    // First step of Adam moves each weight by ≈ lr·sign(g) (plus decay): a quick independent check.
    expect(p[0]).toBeCloseTo(1 * 0.999 - 0.01, 5);
    expect(p[2]).toBeCloseTo(0.5 * 0.999, 6); // zero gradient: decay only
  });

  it('second step uses bias correction with step 2, and the tiled paths agree with the plain one', () => {
    const rows = 37;
    const cols = 45;
    const n = rows * cols;
    const init = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const grads = [0, 1].map((s) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7 + s)));
    const plain = { p: init.slice(), m: new Float32Array(n), v: new Float32Array(n), rows, cols };
    const tiled = {
      ...plain,
      p: init.slice(),
      m: new Float32Array(n),
      v: new Float32Array(n),
      pT: new Float32Array(n),
    };
    for (let step = 1; step <= 2; step++) {
      const h = { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, step };
      const g = grads[step - 1]!;
      adamwUpdate(plain, g, false, 0.5, h);
      adamwUpdate(tiled, transposeInto(g, rows, cols, new Float32Array(n)), true, 0.5, h);
    }
    expect([...tiled.p]).toEqual([...plain.p]);
    expect([...tiled.pT]).toEqual([...transposeInto(plain.p, rows, cols, new Float32Array(n))]);
    // Hand-check one element over two steps.
    const i = 7;
    let m = 0;
    let v = 0;
    let p = init[i]!;
    for (let step = 1; step <= 2; step++) {
      const g = grads[step - 1]![i]! * 0.5;
      p *= 1 - 1e-3 * 0.01;
      m = 0.9 * m + 0.1 * g;
      v = 0.99 * v + 0.01 * g * g;
      p -= ((1e-3 / (1 - 0.9 ** step)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.99 ** step) + 1e-8);
    }
    expect(plain.p[i]).toBeCloseTo(p, 6);
  });
});

describe('AdamW in WebAssembly SIMD', () => {
  it('matches the JS update to float32 rounding, including the tail, a transposed gradient and the mirror', () => {
    const wasm = WasmAdamW.create(10_000);
    expect(wasm, 'WebAssembly SIMD with shared memory is available in Node 20').not.toBeNull();
    const rows = 7;
    const cols = 9; // 63 values: 60 through SIMD, a tail of 3 in JS
    const n = rows * cols;
    const a = {
      p: wasm!.alloc(n),
      m: wasm!.alloc(n),
      v: wasm!.alloc(n),
      pT: wasm!.alloc(n),
      rows,
      cols,
    };
    wasm!.reserveStaging(n);
    const b = {
      p: new Float32Array(n),
      m: new Float32Array(n),
      v: new Float32Array(n),
      pT: new Float32Array(n),
      rows,
      cols,
    };
    for (let i = 0; i < n; i++) a.p[i] = b.p[i] = Math.sin(i);
    for (let step = 1; step <= 3; step++) {
      const h = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.05, step };
      const g = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.37 + step));
      const gT = transposeInto(g, rows, cols, new Float32Array(n));
      wasm!.update(a, step === 2 ? gT : g, step === 2, 0.8, h);
      adamwUpdate(b, g, false, 0.8, h);
    }
    for (let i = 0; i < n; i++) {
      expect(Math.abs(a.p[i]! - b.p[i]!)).toBeLessThan(1e-6);
      expect(Math.abs(a.m[i]! - b.m[i]!)).toBeLessThan(1e-6);
    }
    expect([...a.pT]).toEqual([...transposeInto(a.p, rows, cols, new Float32Array(n))]);
  });
});

describe('output normalisation', () => {
  it('sums the shards’ partial outputs with the bias, normalises columns, and back-propagates like the formula', () => {
    const out = 3;
    const B = 2;
    // Feature-major [out, B]: columns are items.
    const p0 = Float32Array.of(1, 0, 2, 1, 0, 0);
    const p1 = Float32Array.of(0, 1, 0, 1, 2, 0);
    const b2 = Float32Array.of(0, 0, 0.5);
    const { zT, norm } = normalisedOutput([p0, p1], b2, out, B);
    // y₀ = (1, 2, 2.5), y₁ = (1, 2, 0.5)
    expect(norm[0]).toBeCloseTo(Math.sqrt(1 + 4 + 6.25), 6);
    expect(norm[1]).toBeCloseTo(Math.sqrt(1 + 4 + 0.25), 6);
    expect(zT[2 * B]).toBeCloseTo(2.5 / norm[0]!, 6);
    const dzT = Float32Array.of(0.3, -1, 0.2, 0.5, -0.4, 2);
    const dyT = new Float32Array(out * B);
    const dy = new Float32Array(B * out);
    const { gB2 } = normalisationBackward(dzT, zT, norm, out, B, dyT, dy);
    for (let b = 0; b < B; b++) {
      let dot = 0;
      for (let k = 0; k < out; k++) dot += dzT[k * B + b]! * zT[k * B + b]!;
      for (let k = 0; k < out; k++) {
        const want = (dzT[k * B + b]! - zT[k * B + b]! * dot) / norm[b]!;
        expect(dyT[k * B + b]).toBeCloseTo(want, 6);
        expect(dy[b * out + k]).toBe(dyT[k * B + b]);
      }
    }
    for (let k = 0; k < out; k++) expect(gB2[k]).toBeCloseTo(dyT[k * B]! + dyT[k * B + 1]!, 6);
  });
});
