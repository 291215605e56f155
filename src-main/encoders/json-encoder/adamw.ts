/**
 * AdamW and global-norm clipping over plain Float32Arrays, exactly as PyTorch computes them
 * (torch.optim.AdamW, torch.nn.utils.clip_grad_norm_).
 *
 * Written by hand, not with tf ops, on purpose: on the wasm backend every elementwise op is a full pass
 * over memory, and AdamW as ~12 tf ops over 1.2M parameters measured ~15 ms a step (a third of the
 * step budget). One fused JS loop reads each value once. The loop also writes a transposed copy of a
 * weight when the model keeps one (see json-encoder.ts: the backward pass needs both layouts and
 * transposing inside tfjs costs more than doing it here, where the data is already in cache).
 */
import {
  parameterKernelBytes,
  WA,
  type WasmMemory,
  type WasmTranspose,
  wasmTransposeApplies,
} from './wasm-kernels.ts';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The step number after incrementing (1 on the first step): drives bias correction. */
  step: number;
}

/** The hyper-parameters of step `step` (counted from 1) from the trainer's optimiser settings. */
export function adamwHyper(
  opt: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number },
  step: number,
): AdamWHyper {
  return { lr: opt.lr, beta1: opt.beta1, beta2: opt.beta2, eps: opt.eps, weightDecay: opt.weightDecay, step };
}

/** A parameter with its moments. Row-major [rows, cols]; `pT` (optional) mirrors p as [cols, rows]. */
export interface AdamWSlot {
  p: Float32Array;
  m: Float32Array;
  v: Float32Array;
  rows: number;
  cols: number;
  pT?: Float32Array;
}

/**
 * One AdamW update of `slot` with gradient `g` times `scale` (the clip coefficient).
 * `gTransposed`: g is stored as [cols, rows] (the backward pass produced it in that layout).
 * PyTorch order: decay the weight, update the moments, p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps).
 */
export function adamwUpdate(
  slot: AdamWSlot,
  g: Float32Array,
  gTransposed: boolean,
  scale: number,
  h: AdamWHyper,
): void {
  const { p, m, v, rows, cols, pT } = slot;
  if (g.length !== p.length) throw new Error(`AdamW: gradient has ${g.length} values, parameter ${p.length}`);
  const k = adamwConstants(h, scale);
  if (!gTransposed) {
    // The common case: one contiguous pass, then the mirror as a separate transpose (measured faster
    // than writing it from inside a tiled update: 4.2 vs 7 ms for 512×1024).
    updateRange(p, m, v, g, 0, p.length, k);
    if (pT) transposeInto(p, rows, cols, pT);
    return;
  }
  // A transposed gradient (the small embedding tables): tiled, so the strided reads stay in cache.
  // The gradient is first gathered into a row-major tile buffer, so the update loop is the plain one.
  const tile = 32;
  const buf = new Float32Array(tile);
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        if (gTransposed) {
          for (let c = c0; c < c1; c++) buf[c - c0] = g[c * rows + r]!;
          updateRange(p, m, v, buf, base + c0, base + c1, k, base + c0);
        } else updateRange(p, m, v, g, base + c0, base + c1, k);
        if (pT) for (let c = c0; c < c1; c++) pT[c * rows + r] = p[base + c]!;
      }
    }
  }
}

interface AdamWConstants {
  decay: number;
  b1: number;
  b2: number;
  c1: number;
  c2: number;
  stepSize: number;
  invBc2Sqrt: number;
  eps: number;
}

/** The update of p[from..to) with g[from..to) (scale folded into c1, c2). */
/** The step's constants, shared by the JS loops and the wasm kernel. `scale` is the clip coefficient. */
function adamwConstants(h: AdamWHyper, scale: number): AdamWConstants {
  return {
    decay: 1 - h.lr * h.weightDecay,
    b1: h.beta1,
    b2: h.beta2,
    c1: (1 - h.beta1) * scale,
    c2: (1 - h.beta2) * scale * scale,
    stepSize: h.lr / (1 - h.beta1 ** h.step),
    // PyTorch divides sqrt(v) by sqrt(bc2) and then adds eps; a multiply is cheaper than a divide.
    invBc2Sqrt: 1 / Math.sqrt(1 - h.beta2 ** h.step),
    eps: h.eps,
  };
}

/** Updates p[from..to); the gradient of p[i] is g[i - gShift] (gShift = from for a tile buffer). */
function updateRange(
  p: Float32Array,
  m: Float32Array,
  v: Float32Array,
  g: Float32Array,
  from: number,
  to: number,
  k: AdamWConstants,
  gShift = 0,
): void {
  const { decay, b1, b2, c1, c2, stepSize, invBc2Sqrt, eps } = k;
  for (let i = from; i < to; i++) {
    const gi = g[i - gShift]!;
    const mi = b1 * m[i]! + c1 * gi;
    const vi = b2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * invBc2Sqrt + eps);
  }
}

/** Row-major [rows, cols] → [cols, rows], tiled. */
export function transposeInto(
  src: Float32Array,
  rows: number,
  cols: number,
  dst: Float32Array,
): Float32Array {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(rows, r0 + tile);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(cols, c0 + tile);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[base + c]!;
      }
    }
  }
  return dst;
}

/**
 * [Note: AdamW in WebAssembly SIMD] The JS loop above costs ~5.6 ns per parameter (~7-16 ms a step
 * for 1.2M parameters, as much as all the step's matrix products at B=64). WasmAdamW runs the same
 * update as one f32x4 loop (wasm-kernels.ts) on parameters that live in a shared WebAssembly.Memory
 * (the helper thread gets views of the same memory), in float32 like PyTorch's own CPU kernel, and
 * refreshes the transposed mirrors with the SIMD transpose of the same module.
 */
let wasmModule: object | null | undefined;

/** Parameters, moments and gradients of one model in a shared wasm memory, updated by the SIMD loop. */
export class WasmAdamW {
  readonly memory: WasmMemory;
  /** The compiled module, for the helper thread to instantiate on the same memory. */
  readonly module: object;
  private readonly fn: (...args: number[]) => void;
  private readonly transposeFn: WasmTranspose;
  private used = 0;
  private staging: Float32Array | null = null;

  private constructor(memory: WasmMemory, module: object) {
    this.memory = memory;
    this.module = module;
    const inst = new WA.Instance(module, { env: { mem: memory } });
    this.fn = inst.exports.adamw as (...args: number[]) => void;
    this.transposeFn = inst.exports.transpose as WasmTranspose;
  }

  /** [rows, cols] → [cols, rows]: the SIMD kernel when both arrays live here, else the JS loop. */
  transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): Float32Array {
    if (wasmTransposeApplies(this.memory.buffer, src, dst, rows, cols))
      this.transposeFn(src.byteOffset, dst.byteOffset, rows, cols);
    else transposeInto(src, rows, cols, dst);
    return dst;
  }

  /**
   * A memory for `floats` values (plus alignment), or null where wasm SIMD or shared memory is missing.
   * `shared: false` gives an ordinary (unshared) memory: no helper thread can see it, but its views are
   * plain ArrayBuffer views that native code (ONNX Runtime's binding) accepts without a copy.
   */
  static create(floats: number, opts: { shared?: boolean } = {}): WasmAdamW | null {
    const pages = Math.ceil((floats * 4 + 64 * 1024) / 65536);
    const shared = opts.shared ?? true;
    try {
      // The module declares its memory's size, so it is compiled per size (cached for the common one).
      const bytes = parameterKernelBytes(pages, shared);
      if (wasmModule === undefined || WasmAdamW.modulePages !== pages || WasmAdamW.moduleShared !== shared) {
        wasmModule = WA.validate(bytes) ? new WA.Module(bytes) : null;
        WasmAdamW.modulePages = pages;
        WasmAdamW.moduleShared = shared;
      }
      if (!wasmModule) return null;
      const memory = new WA.Memory({ initial: pages, maximum: pages, shared });
      return new WasmAdamW(memory, wasmModule);
    } catch {
      return null;
    }
  }

  private static modulePages = 0;
  private static moduleShared = true;

  /** A zeroed view of `n` floats in the memory, 16-byte aligned. */
  alloc(n: number): Float32Array {
    const off = Math.ceil(this.used / 16) * 16;
    if (off + n * 4 > this.memory.buffer.byteLength) throw new Error('WasmAdamW: memory exhausted');
    this.used = off + n * 4;
    return new Float32Array(this.memory.buffer, off, n);
  }

  /** Reserves the gradient staging area (the largest parameter's size). */
  reserveStaging(n: number): void {
    this.staging = this.alloc(n);
  }

  /** The staging area, for a producer that can write a gradient straight into it. */
  stagingView(n: number): Float32Array {
    if (!this.staging || this.staging.length < n) throw new Error('WasmAdamW: staging area too small');
    return this.staging.subarray(0, n);
  }

  /** The arguments of the wasm function for `slot` with its gradient already in `g` (in this memory). */
  static args(slot: AdamWSlot, g: Float32Array, scale: number, h: AdamWHyper): number[] {
    const n4 = slot.p.length & ~3;
    const k = adamwConstants(h, scale);
    return [
      slot.p.byteOffset,
      slot.m.byteOffset,
      slot.v.byteOffset,
      g.byteOffset,
      n4,
      k.decay,
      k.b1,
      k.b2,
      k.c1,
      k.c2,
      k.stepSize,
      k.invBc2Sqrt,
      k.eps,
    ];
  }

  /** The update with a gradient already in this memory (not the staging area's user). */
  updateFrom(slot: AdamWSlot, g: Float32Array, scale: number, h: AdamWHyper): void {
    this.fn(...WasmAdamW.args(slot, g, scale, h));
    finishUpdate(slot, g, scale, h, this);
  }

  /**
   * One AdamW update of a slot allocated here. `g` may be anywhere; `gTransposed` as in adamwUpdate.
   * The last (length mod 4) values and the mirror are done in JS.
   */
  update(slot: AdamWSlot, g: Float32Array, gTransposed: boolean, scale: number, h: AdamWHyper): void {
    const n = slot.p.length;
    const staged = this.stagingView(n);
    if (gTransposed) transposeInto(g, slot.cols, slot.rows, staged);
    else if (g !== staged) staged.set(g);
    this.fn(...WasmAdamW.args(slot, staged, scale, h));
    finishUpdate(slot, staged, scale, h, this);
  }
}

/** The JS tail of a wasm update (values past the last multiple of 4) and the mirror refresh. */
export function finishUpdate(
  slot: AdamWSlot,
  g: Float32Array,
  scale: number,
  h: AdamWHyper,
  wasm: WasmAdamW | null = null,
): void {
  const n = slot.p.length;
  const n4 = n & ~3;
  if (n4 < n) {
    updateRange(slot.p, slot.m, slot.v, g, n4, n, adamwConstants(h, scale));
  }
  if (slot.pT) {
    if (wasm) wasm.transpose(slot.p, slot.rows, slot.cols, slot.pT);
    else transposeInto(slot.p, slot.rows, slot.cols, slot.pT);
  }
}
