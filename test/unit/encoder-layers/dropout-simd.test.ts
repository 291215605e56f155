/**
 * The layered model's dropout mask from the SIMD kernel (wasm-kernels.ts dropout32) is bit-identical to
 * the scalar generator it replaces: same mask values, same generator state after, for any p (0, tiny,
 * near 1, with p·2³² whole or not), lengths not a multiple of 4, and states near 2³² (wrap-around).
 */
import { describe, expect, it } from 'vitest';
import { dropoutMask } from '../../../src-main/encoders/json-encoder/layers/dropout.ts';
import { WasmDropout } from '../../../src-main/encoders/json-encoder/wasm-kernels.ts';

/** The scalar generator as it was before the kernel (the reference). */
function scalarMask(mask: Float32Array, n: number, p: number, state: number): number {
  const keep = 1 / (1 - p);
  let s = state >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    mask[i] = u < p ? 0 : keep;
  }
  return s;
}

describe('dropout mask: SIMD kernel = scalar generator', () => {
  it('the kernel is there (Node has WebAssembly SIMD), so the cases below test it', () => {
    expect(WasmDropout.create()).not.toBeNull();
  });
  const ps = [0, 1e-9, 0.15, 0.2, 0.25, 0.5, 0.3, 0.999999, 1 - 2 ** -30];
  const states = [0, 1, 12345, 0xffffffff, 0xfffffff0, 0x9e3779b9];
  for (const p of ps)
    it(`p = ${p}`, () => {
      for (const state of states)
        for (const n of [64, 67, 1024, 4099, 65536]) {
          const a = new Float32Array(n);
          const b = new Float32Array(n);
          const sa = dropoutMask(a, n, p, state);
          const sb = scalarMask(b, n, p, state);
          expect(sa).toBe(sb);
          expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
        }
    });
  it('keeps about 1 − p of the values', () => {
    const m = new Float32Array(100_000);
    dropoutMask(m, m.length, 0.2, 7);
    const kept = m.reduce((k, x) => k + (x > 0 ? 1 : 0), 0) / m.length;
    expect(Math.abs(kept - 0.8)).toBeLessThan(0.01);
  });
});
