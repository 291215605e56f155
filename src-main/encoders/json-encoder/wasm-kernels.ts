/**
 * [Note: hand-assembled WebAssembly kernels] The training step's few loops that are not matrix
 * products, written as WebAssembly SIMD (f32x4 / i32x4) because the JS versions cost as much as the
 * products at B=64:
 *   adamw      the AdamW update (JS: ~5.6 ns per parameter, 7-16 ms a step for 1.2M parameters);
 *   transpose  the [rows, cols] → [cols, rows] mirrors the backward pass reads (JS: ~6 ns per value,
 *              ~4 ms a step on the main thread and ~3 ms on the helper, measured with --cpu-prof);
 *   dropout    the dropout mask: mulberry32 draws, bit-identical to the JS generator (JS: ~2.7 ms a
 *              step at B=256).
 * Each is a few dozen instructions, assembled here from their opcodes: a toolchain (wat2wasm, clang)
 * would be a build dependency for a few hundred bytes. Every kernel has a JS twin that computes the
 * same values (tests compare them); the JS runs where WebAssembly SIMD is missing.
 */

// ---- a tiny assembler ---------------------------------------------------------------------------

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const str = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

// Instructions (https://webassembly.github.io/spec/core/binary/instructions.html).
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const [add, mul, shl, ltU, eqz] = [[0x6a], [0x6c], [0x74], [0x49], [0x45]];
const simd = (op: number) => [0xfd, ...uleb(op)];
const load = [...simd(0x00), 2, 0]; // v128.load align=4 offset=0
const store = [...simd(0x0b), 2, 0];
const v = {
  i32splat: simd(0x11),
  f32splat: simd(0x13),
  and: simd(0x4e),
  or: simd(0x50),
  xor: simd(0x51),
  geU: simd(0x40),
  shrU: simd(0xad),
  iadd: simd(0xae),
  imul: simd(0xb5),
  sqrt: simd(0xe3),
  fadd: simd(0xe4),
  fsub: simd(0xe5),
  fmul: simd(0xe6),
  fdiv: simd(0xe7),
};
/** i8x16.shuffle picking four f32 lanes: 0-3 from the first operand, 4-7 from the second. */
const shuffle = (lanes: [number, number, number, number]) => [
  ...simd(0x0d),
  ...lanes.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]),
];
/** `block; loop; <body>; end; end`: the body ends with a br_if 0 that continues the loop. */
const loop = (body: number[]) => [0x03, 0x40, ...body, 0x0b];
const block = (body: number[]) => [0x02, 0x40, ...body, 0x0b];

interface WasmFunction {
  name: string;
  params: number[];
  /** Local groups after the params: [count, type]. */
  locals: [number, number][];
  body: number[];
}

function moduleBytes(memory: { shared: boolean; minPages: number; maxPages?: number }, fns: WasmFunction[]) {
  const limits = memory.shared
    ? [0x03, ...uleb(memory.minPages), ...uleb(memory.maxPages ?? memory.minPages)]
    : [0x00, ...uleb(memory.minPages)];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]))),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, ...limits]),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(
      10,
      vec(
        fns.map((f) => {
          const code = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, 0x0b];
          return [...uleb(code.length), ...code];
        }),
      ),
    ),
  ]);
}

// ---- kernels ------------------------------------------------------------------------------------

/**
 * adamw(p, m, v, g: byte offsets, n: floats (multiple of 4), decay, b1, b2, c1, c2, stepSize,
 * invBc2Sqrt, eps: f32): adamw.ts's updateRange as one f32x4 loop, in float32 like PyTorch's kernel.
 */
const ADAMW: WasmFunction = (() => {
  // params 0 p, 1 m, 2 v, 3 g, 4 n, 5 decay, 6 b1, 7 b2, 8 c1, 9 c2, 10 step, 11 invBc2, 12 eps;
  // locals 13 off, 14 end (i32); 15..22 the constants splatted; 23 g, 24 m', 25 v' (v128).
  const at = (base: number) => [...get(base), ...get(13), ...add]; // base + off
  return {
    name: 'adamw',
    params: [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32],
    locals: [
      [2, I32],
      [11, V128],
    ],
    body: [
      ...get(4),
      ...i32(2),
      ...shl,
      ...set(14), // end = n << 2
      ...[5, 6, 7, 8, 9, 10, 11, 12].flatMap((k) => [...get(k), ...v.f32splat, ...set(k + 10)]),
      ...block([
        ...get(14),
        ...eqz,
        0x0d,
        0, // if end == 0 break
        ...loop([
          ...at(3),
          ...load,
          ...set(23), // g
          ...at(1),
          ...load,
          ...get(16),
          ...v.fmul,
          ...get(18),
          ...get(23),
          ...v.fmul,
          ...v.fadd,
          ...set(24), // m' = b1·m + c1·g
          ...at(2),
          ...load,
          ...get(17),
          ...v.fmul,
          ...get(19),
          ...get(23),
          ...v.fmul,
          ...get(23),
          ...v.fmul,
          ...v.fadd,
          ...set(25), // v' = b2·v + c2·g·g
          ...at(1),
          ...get(24),
          ...store,
          ...at(2),
          ...get(25),
          ...store,
          ...at(0), // p's address for the store
          ...at(0),
          ...load,
          ...get(15),
          ...v.fmul, // p·decay
          ...get(20),
          ...get(24),
          ...v.fmul, // step·m'
          ...get(25),
          ...v.sqrt,
          ...get(21),
          ...v.fmul,
          ...get(22),
          ...v.fadd, // sqrt(v')·invBc2 + eps
          ...v.fdiv,
          ...v.fsub,
          ...store,
          ...get(13),
          ...i32(16),
          ...add,
          0x22,
          13, // off += 16 (tee)
          ...get(14),
          ...ltU,
          0x0d,
          0, // loop while off < end
        ]),
      ]),
    ],
  };
})();

/**
 * transpose(src, dst: byte offsets, rows, cols: multiples of 4): row-major [rows, cols] → [cols, rows],
 * one 4×4 block at a time (four loads, eight shuffles, four stores). Going along a block row, the
 * reads are sequential and the writes touch `cols` destination lines, each reused by the next three
 * block rows while still in cache (cols ≤ 1024 here: 64 KB of lines).
 */
const TRANSPOSE: WasmFunction = (() => {
  // params 0 src, 1 dst, 2 rows, 3 cols; locals 4 r, 5 c, 6 rowBytes, 7 colBytes, 8 sp, 9 dp (i32);
  // 10..13 four source rows, 14..17 their pairwise interleavings (v128).
  const rowAt = (k: number) => (k === 0 ? get(8) : [...get(8), ...get(6), ...i32(k), ...mul, ...add]);
  const colAt = (k: number) => (k === 0 ? get(9) : [...get(9), ...get(7), ...i32(k), ...mul, ...add]);
  return {
    name: 'transpose',
    params: [I32, I32, I32, I32],
    locals: [
      [6, I32],
      [8, V128],
    ],
    body: [
      ...get(3),
      ...i32(2),
      ...shl,
      ...set(6),
      ...get(2),
      ...i32(2),
      ...shl,
      ...set(7),
      ...block([
        ...get(2),
        ...eqz,
        0x0d,
        0,
        ...get(3),
        ...eqz,
        0x0d,
        0,
        ...loop([
          ...i32(0),
          ...set(5),
          ...loop([
            // sp = src + (r·cols + c)·4, dp = dst + (c·rows + r)·4
            ...get(0),
            ...get(4),
            ...get(3),
            ...mul,
            ...get(5),
            ...add,
            ...i32(2),
            ...shl,
            ...add,
            ...set(8),
            ...get(1),
            ...get(5),
            ...get(2),
            ...mul,
            ...get(4),
            ...add,
            ...i32(2),
            ...shl,
            ...add,
            ...set(9),
            ...[0, 1, 2, 3].flatMap((k) => [...rowAt(k), ...load, ...set(10 + k)]),
            // a0 b0 a1 b1 | a2 b2 a3 b3 | c0 d0 c1 d1 | c2 d2 c3 d3
            ...[get(10), get(11), shuffle([0, 4, 1, 5]), set(14)].flat(),
            ...[get(10), get(11), shuffle([2, 6, 3, 7]), set(15)].flat(),
            ...[get(12), get(13), shuffle([0, 4, 1, 5]), set(16)].flat(),
            ...[get(12), get(13), shuffle([2, 6, 3, 7]), set(17)].flat(),
            // columns 0..3: a_k b_k c_k d_k
            ...[colAt(0), get(14), get(16), shuffle([0, 1, 4, 5]), store].flat(),
            ...[colAt(1), get(14), get(16), shuffle([2, 3, 6, 7]), store].flat(),
            ...[colAt(2), get(15), get(17), shuffle([0, 1, 4, 5]), store].flat(),
            ...[colAt(3), get(15), get(17), shuffle([2, 3, 6, 7]), store].flat(),
            ...get(5),
            ...i32(4),
            ...add,
            0x22,
            5,
            ...get(3),
            ...ltU,
            0x0d,
            0, // c += 4 while c < cols
          ]),
          ...get(4),
          ...i32(4),
          ...add,
          0x22,
          4,
          ...get(2),
          ...ltU,
          0x0d,
          0, // r += 4 while r < rows
        ]),
      ]),
    ],
  };
})();

/** mulberry32's increment: draw j after state s hashes s + (j+1)·K. */
export const MULBERRY_INCREMENT = 0x6d2b79f5;

/**
 * One mulberry32 draw in each of four lanes: from the states in v128 local `state`, the output words
 * left in v128 local `out` (the states themselves are stepped by the caller). Shared by both dropout
 * kernels, whose masks must be the scalar generator's numbers.
 */
function mulberryDraw(state: number, out: number): number[] {
  const t = get(out);
  return [
    // t = imul(s ^ s >>> 15, s | 1)
    ...[
      get(state),
      get(state),
      i32(15),
      v.shrU,
      v.xor,
      get(state),
      i32(1),
      v.i32splat,
      v.or,
      v.imul,
      set(out),
    ].flat(),
    // t ^= t + imul(t ^ t >>> 7, t | 61)
    ...[
      t,
      t,
      t,
      t,
      i32(7),
      v.shrU,
      v.xor,
      t,
      i32(61),
      v.i32splat,
      v.or,
      v.imul,
      v.iadd,
      v.xor,
      set(out),
    ].flat(),
    // r = t ^ t >>> 14 (left in t)
    ...[t, t, i32(14), v.shrU, v.xor, set(out)].flat(),
  ];
}

/**
 * dropout(dst: byte offset, n: floats (multiple of 8), state0..state3: the generator's state after
 * draws 1..4 (i32), threshold (i32, 16-bit), keep (f32)): the mask of the JS twin `fillDropoutMask`
 * below — draw j decides values 2j (its low 16 bits) and 2j+1 (its high 16 bits): keep
 * if the bits are ≥ threshold, else 0. mulberry32's state only ever grows by K, so four consecutive
 * draws are four independent lanes, each stepping by 4K: the same numbers as the scalar generator.
 */
const DROPOUT: WasmFunction = (() => {
  // params 0 dst, 1 n, 2 s0, 3 s1, 4 s2, 5 s3, 6 threshold, 7 keep; locals 8 off, 9 end (i32);
  // 10 states, 11 step, 12 t, 13 thresholds, 14 keeps, 15 low, 16 high (v128).
  const lanesFrom = [
    ...get(2),
    ...v.i32splat,
    ...[3, 4, 5].flatMap((p, k) => [...get(p), ...simd(0x1c), k + 1]),
  ];
  const t = get(12);
  return {
    name: 'dropout',
    params: [I32, I32, I32, I32, I32, I32, I32, F32],
    locals: [
      [2, I32],
      [7, V128],
    ],
    body: [
      ...get(1),
      ...i32(2),
      ...shl,
      ...set(9),
      ...lanesFrom,
      ...set(10),
      ...i32(Math.imul(4, MULBERRY_INCREMENT)),
      ...v.i32splat,
      ...set(11),
      ...get(6),
      ...v.i32splat,
      ...set(13),
      ...get(7),
      ...v.f32splat,
      ...set(14),
      ...block([
        ...get(9),
        ...eqz,
        0x0d,
        0,
        ...loop([
          ...mulberryDraw(10, 12),
          // low 16 bits, high 16 bits → keep where ≥ threshold
          ...[t, i32(0xffff), v.i32splat, v.and, get(13), v.geU, get(14), v.and, set(15)].flat(),
          ...[t, i32(16), v.shrU, get(13), v.geU, get(14), v.and, set(16)].flat(),
          // values 2j, 2j+1 for the four draws: low0 high0 low1 high1 | low2 high2 low3 high3
          ...[get(0), get(8), add, get(15), get(16), shuffle([0, 4, 1, 5]), store].flat(),
          ...[get(0), get(8), add, i32(16), add, get(15), get(16), shuffle([2, 6, 3, 7]), store].flat(),
          ...[get(10), get(11), v.iadd, set(10)].flat(),
          ...get(8),
          ...i32(32),
          ...add,
          0x22,
          8,
          ...get(9),
          ...ltU,
          0x0d,
          0, // off += 32 while off < end
        ]),
      ]),
    ],
  };
})();

/**
 * dropout32(dst: byte offset, n: floats (multiple of 4), state0..state3: the generator's state after
 * draws 1..4 (i32), threshold (u32 as i32), keep (f32)): the layered model's mask (layers/dropout.ts
 * `dropoutMask`): one 32-bit draw per value, kept (keep) where the draw is ≥ threshold as an unsigned
 * number, else 0. Four lanes step by 4K as in `dropout` below; one f32x4 store per four draws.
 */
const DROPOUT32: WasmFunction = (() => {
  // params 0 dst, 1 n, 2 s0, 3 s1, 4 s2, 5 s3, 6 threshold, 7 keep; locals 8 off, 9 end (i32);
  // 10 states, 11 step, 12 t, 13 thresholds, 14 keeps (v128).
  const t = get(12);
  return {
    name: 'dropout32',
    params: [I32, I32, I32, I32, I32, I32, I32, F32],
    locals: [
      [2, I32],
      [5, V128],
    ],
    body: [
      ...[get(1), i32(2), shl, set(9)].flat(),
      ...get(2),
      ...v.i32splat,
      ...[3, 4, 5].flatMap((p, k) => [...get(p), ...simd(0x1c), k + 1]),
      ...set(10),
      ...[i32(Math.imul(4, MULBERRY_INCREMENT)), v.i32splat, set(11)].flat(),
      ...[get(6), v.i32splat, set(13), get(7), v.f32splat, set(14)].flat(),
      ...block([
        ...get(9),
        ...eqz,
        0x0d,
        0,
        ...loop([
          ...mulberryDraw(10, 12),
          ...[get(0), get(8), add, t, get(13), v.geU, get(14), v.and, store].flat(),
          ...[get(10), get(11), v.iadd, set(10)].flat(),
          ...get(8),
          ...i32(16),
          ...add,
          0x22,
          8,
          ...get(9),
          ...ltU,
          0x0d,
          0, // off += 16 while off < end
        ]),
      ]),
    ],
  };
})();

/** The kernels that work on a model's shared parameter memory (adamw.ts's WasmAdamW). */
export function parameterKernelBytes(pages: number, shared = true): Uint8Array {
  return moduleBytes({ shared, minPages: pages, maxPages: pages }, [ADAMW, TRANSPOSE]);
}

/** The dropout kernel, on a private memory of its own (grown by the caller as batches grow). */
export function dropoutKernelBytes(): Uint8Array {
  return moduleBytes({ shared: false, minPages: 1 }, [DROPOUT, DROPOUT32]);
}

// The project's TypeScript libs (ES2023 + @types/node) do not declare WebAssembly's JS API.
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** 4×4-block transpose in `memory` (both arrays must be views of it; dims multiples of 4). */
export type WasmTranspose = (src: number, dst: number, rows: number, cols: number) => void;

/** Whether the wasm transpose applies: both views in `buffer`, 16-byte aligned, dims multiples of 4. */
export function wasmTransposeApplies(
  buffer: ArrayBufferLike,
  src: Float32Array,
  dst: Float32Array,
  rows: number,
  cols: number,
): boolean {
  return (
    src.buffer === buffer &&
    dst.buffer === buffer &&
    rows % 4 === 0 &&
    cols % 4 === 0 &&
    src.byteOffset % 16 === 0 &&
    dst.byteOffset % 16 === 0 &&
    src.length >= rows * cols &&
    dst.length >= rows * cols
  );
}

/**
 * Dropout masks from the SIMD kernel, in a private memory that grows with the largest mask asked
 * for. `create` returns null where WebAssembly SIMD is missing (callers use the JS twin).
 */
export class WasmDropout {
  private constructor(
    private readonly memory: WasmMemory,
    private readonly fn: (...args: number[]) => void,
    private readonly fn32: (...args: number[]) => void,
  ) {}

  static create(): WasmDropout | null {
    try {
      const bytes = dropoutKernelBytes();
      if (!WA.validate(bytes)) return null;
      const memory = new WA.Memory({ initial: 1 });
      const inst = new WA.Instance(new WA.Module(bytes), { env: { mem: memory } });
      return new WasmDropout(
        memory,
        inst.exports.dropout as (...args: number[]) => void,
        inst.exports.dropout32 as (...args: number[]) => void,
      );
    } catch {
      return null;
    }
  }

  /** dropout32's first `n4` values (a multiple of 4) copied into `dst`. */
  fill32Into(dst: Float32Array, n4: number, state: number, threshold: number, keep: number): void {
    const bytes = n4 * 4;
    const have = this.memory.buffer.byteLength;
    if (have < bytes) this.memory.grow(Math.ceil((bytes - have) / 65536));
    const s = (j: number) => (state + Math.imul(j, MULBERRY_INCREMENT)) | 0;
    this.fn32(0, n4, s(1), s(2), s(3), s(4), threshold | 0, keep);
    dst.set(new Float32Array(this.memory.buffer, 0, n4));
  }

  /**
   * A mask of `n` values from generator state `state` (as `fillDropoutMask`), as a view valid until
   * the next call, and the generator's state after it.
   */
  fill(n: number, state: number, threshold: number, keep: number): { mask: Float32Array; state: number } {
    const bytes = n * 4;
    const have = this.memory.buffer.byteLength;
    if (have < bytes) this.memory.grow(Math.ceil((bytes - have) / 65536));
    const n8 = n - (n % 8);
    const s = (j: number) => (state + Math.imul(j, MULBERRY_INCREMENT)) | 0;
    this.fn(0, n8, s(1), s(2), s(3), s(4), threshold, keep);
    const mask = new Float32Array(this.memory.buffer, 0, n);
    // The last n mod 8 values (and the state after all draws) in JS.
    const after = fillDropoutMask(
      mask,
      (state + Math.imul(n8 / 2, MULBERRY_INCREMENT)) >>> 0,
      threshold,
      keep,
      n8,
    );
    return { mask, state: after };
  }
}

/**
 * The dropout mask in JS: mask[from..) from mulberry32 with state `state`; returns the state after.
 * Each 32-bit draw decides two values with 16 bits each (halves the generator's cost; the drop
 * probability is honoured to 1/65,536): keep where the bits are ≥ threshold, else 0.
 */
export function fillDropoutMask(
  mask: Float32Array,
  state: number,
  threshold: number,
  keep: number,
  from = 0,
): number {
  let s = state >>> 0;
  for (let i = from; i < mask.length; i += 2) {
    s = (s + MULBERRY_INCREMENT) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = (t ^ (t >>> 14)) >>> 0;
    mask[i] = (r & 0xffff) >= threshold ? keep : 0;
    if (i + 1 < mask.length) mask[i + 1] = r >>> 16 >= threshold ? keep : 0;
  }
  return s;
}
