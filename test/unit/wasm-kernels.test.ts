import { describe, expect, it } from 'vitest';
import { transposeInto, WasmAdamW } from '../../src-main/encoders/json-encoder/adamw.ts';
import { fillDropoutMask, WasmDropout } from '../../src-main/encoders/json-encoder/wasm-kernels.ts';

function filled(a: Float32Array, seed: number): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 0.731 + seed) * 100;
  return a;
}

describe('SIMD transpose', () => {
  it('equals the JS transpose for block-aligned shapes, and falls back to it for the rest', () => {
    const wasm = WasmAdamW.create(1_000_000);
    expect(wasm, 'WebAssembly SIMD with shared memory is available in Node 20').not.toBeNull();
    for (const [rows, cols] of [
      [4, 4],
      [8, 12],
      [1024, 128],
      [128, 1024],
      [7, 9], // not multiples of 4: the JS loop
    ] as const) {
      const n = rows * cols;
      const src = filled(wasm!.alloc(n), rows + cols);
      const dst = wasm!.alloc(n);
      wasm!.transpose(src, rows, cols, dst);
      expect([...dst]).toEqual([...transposeInto(src, rows, cols, new Float32Array(n))]);
      // And back again.
      expect([...wasm!.transpose(dst, cols, rows, wasm!.alloc(n))]).toEqual([...src]);
    }
  });

  it('uses the JS loop for arrays outside its memory', () => {
    const wasm = WasmAdamW.create(1000)!;
    const src = filled(new Float32Array(32), 1);
    const out = wasm.transpose(src, 4, 8, new Float32Array(32));
    expect([...out]).toEqual([...transposeInto(src, 4, 8, new Float32Array(32))]);
  });
});

describe('dropout mask kernel', () => {
  it('gives the JS generator’s mask and final state, for any length', () => {
    const kernel = WasmDropout.create();
    expect(kernel).not.toBeNull();
    const keep = 1 / 0.9;
    const threshold = Math.round(0.1 * 65536);
    let state = 123456789;
    for (const n of [8, 16, 1024 * 3, 1024 * 64 + 6, 13, 1]) {
      const js = new Float32Array(n);
      const jsState = fillDropoutMask(js, state, threshold, keep);
      // The kernel's memory is reused: earlier, longer masks must not leak into this one.
      const r = kernel!.fill(n, state, threshold, keep);
      expect(r.state).toBe(jsState);
      expect([...r.mask]).toEqual([...js]);
      state = jsState;
    }
  });

  it('drops about the requested fraction and scales the kept values', () => {
    const n = 1024 * 256;
    const r = WasmDropout.create()!.fill(n, 42, Math.round(0.3 * 65536), 1 / 0.7);
    const values = new Set(r.mask);
    expect([...values].sort()).toEqual([0, Math.fround(1 / 0.7)]);
    const kept = r.mask.reduce((a, x) => a + (x !== 0 ? 1 : 0), 0);
    expect(Math.abs(kept / n - 0.7)).toBeLessThan(0.005);
  });
});
