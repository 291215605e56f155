/**
 * The one matrix product under every layer: out [M, N] (=|+=) op(a) · op(b), op = optional transpose.
 *
 * [Note: why tfjs-wasm (XNNPACK) is the engine]
 * (This is the `layered` engine's product. Training's default engine, `ort`, runs the whole step as one
 * ONNX Runtime graph instead, through the binding's synchronous run: see ort-step.ts and ort-encoder.ts.
 * The reasons below hold for a product called one at a time from JS, which is what this file serves.)
 * Figures from PERFORMANCE.md (measured on this machine kind): a plain XNNPACK product runs at ~25-28
 * GFLOP/s on one core and is synchronous; ONNX Runtime's CPU GEMM reaches 80-130 GFLOP/s, but
 * onnxruntime-node only offers an asynchronous `run` (a training step would become a chain of awaits,
 * while the trainer's model interface is synchronous) and needs a session per graph; pure JS (tfjs's
 * cpu backend) is 20-60x slower than wasm there. Hand-written wasm SIMD GEMM would be a project of its
 * own. So the float32 path is tfjs-wasm's matMul, and its quirks stay in this file: XNNPACK's
 * transposed variants fall to a naive loop (0.6-2 GFLOP/s), so a transposed operand is transposed
 * here first (a cheap cache-blocked copy) and every product handed to XNNPACK is a plain one.
 * Measured side by side in `npm run bench -- train` on a heavily loaded machine, the layered model on
 * this engine is ~2.5x slower per step than the hand-fused tfjs model (json-encoder.ts), which is why
 * that one stays the default engine; see the bench for the current ratio.
 *
 * [Note: fixed row blocks]
 * A product is split into row blocks whose boundaries depend only on M (never on how many threads
 * run or how fast they are), and each block is computed by the same engine call whichever thread
 * runs it: results are bit-identical with one thread or two. See matmul-threads.ts.
 *
 * Float64 arrays (the gradient tests) take plain JS loops: exact enough to compare against central
 * differences, and nothing in training runs in float64.
 */
import type * as TfNamespace from '@tensorflow/tfjs';
import type { Arr } from './layers/arrays.ts';

export interface MatmulOptions {
  /** a is stored [K, M] (use its transpose). */
  transA?: boolean;
  /** b is stored [N, K] (use its transpose). */
  transB?: boolean;
  /** out += product instead of out = product. */
  accumulate?: boolean;
}

/** A float32 engine: out [m, n] = a [m, k] · b [k, n] for one row block (plain operands, row-major). */
export type BlockProduct = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  out: Float32Array,
) => void;

let tf: typeof TfNamespace | null = null;
/** Splits a product's row blocks over threads (matmul-threads.ts); null: all blocks here. */
let rowBlockRunner: RowBlockRunner | null = null;

export interface RowBlockRunner {
  /** Runs the two fixed row blocks of one product, the second on the helper; returns when both are done. */
  run(a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): boolean;
}

/** Use tfjs (already on its wasm backend, see encoders/tf-backend.ts) for float32 products. */
export function useTfjsEngine(tfjs: typeof TfNamespace | null): void {
  tf = tfjs;
}

export function setRowBlockRunner(r: RowBlockRunner | null): void {
  rowBlockRunner = r;
}

export function matmulEngine(): string {
  return tf ? `tfjs-${tf.getBackend()}` : 'js';
}

/** Rows of the first block of an M-row product: half, rounded down to a multiple of 4. */
export function firstBlockRows(m: number): number {
  return m < 8 ? m : (m >> 3) << 2;
}

/** out [m, n] = a [m, k] · b [k, n] on tfjs (plain operands only: see the Note). */
export const tfBlockProduct: BlockProduct = (a, b, m, k, n, out) => {
  const t = tf!;
  const r = t.tidy(() => t.matMul(t.tensor2d(a, [m, k]), t.tensor2d(b, [k, n])));
  out.set(r.dataSync() as Float32Array);
  r.dispose();
};

/** out [m, n] = a [m, k] · b [k, n] in plain JS (i-k-j order: rows of b stream through cache). */
export function jsBlockProduct(a: Arr, b: Arr, m: number, k: number, n: number, out: Arr): void {
  out.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      if (x === 0) continue;
      const r = p * n;
      for (let j = 0; j < n; j++) out[o + j]! += x * b[r + j]!;
    }
  }
}

/** dst [cols, rows] = src [rows, cols]ᵀ, in 32×32 tiles so both sides stay in cache. */
export function transpose<T extends Arr>(src: Arr, rows: number, cols: number, dst: T): T {
  const T = 32;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c]!;
    }
  }
  return dst;
}

/** Scratch buffers reused between calls (grown, never shrunk), so a step allocates nothing here. */
type Scratch = 'a' | 'b' | 'o' | 't';
const scratch: Record<Scratch, Float32Array> = {
  a: new Float32Array(0),
  b: new Float32Array(0),
  o: new Float32Array(0),
  t: new Float32Array(0),
};
function take(which: Scratch, n: number): Float32Array {
  if (scratch[which].length < n) scratch[which] = new Float32Array(n);
  return scratch[which].subarray(0, n);
}

/** out [M, N] (=|+=) op(a) · op(b), where op(a) is [M, K] and op(b) is [K, N]. */
export function matmul(
  out: Arr,
  a: Arr,
  b: Arr,
  M: number,
  K: number,
  N: number,
  opts: MatmulOptions = {},
): void {
  if (M === 0 || N === 0) return;
  const f32 = out instanceof Float32Array && a instanceof Float32Array && b instanceof Float32Array;
  if (!f32 || !tf) {
    const like = out instanceof Float64Array ? Float64Array : Float32Array;
    const A = opts.transA ? transpose(a, K, M, new like(M * K)) : a;
    const B = opts.transB ? transpose(b, N, K, new like(K * N)) : b;
    if (!opts.accumulate) jsBlockProduct(A, B, M, K, N, out);
    else {
      const tmp = new like(M * N);
      jsBlockProduct(A, B, M, K, N, tmp);
      for (let i = 0; i < M * N; i++) out[i]! += tmp[i]!;
    }
    return;
  }
  const target = opts.accumulate ? take('o', M * N) : out.subarray(0, M * N);
  if (opts.transB && !opts.transA && M * K + M * N < N * K) {
    // out = a·bᵀ with a big b [N, K] (a weight in PyTorch layout) and few rows of a: compute
    // outᵀ = b·aᵀ instead, so the big operand is XNNPACK's first one (used in place, never packed or
    // transposed) and only the small aᵀ and outᵀ are transposed here.
    const aT = transpose(a, M, K, take('a', K * M));
    const outT = take('t', N * M);
    blocks(b.subarray(0, N * K), aT, N, K, M, outT);
    transpose(outT, N, M, target);
  } else {
    const A = opts.transA ? transpose(a, K, M, take('a', M * K)) : a.subarray(0, M * K);
    const B = opts.transB ? transpose(b, N, K, take('b', K * N)) : b.subarray(0, K * N);
    blocks(A, B, M, K, N, target);
  }
  if (opts.accumulate) for (let i = 0; i < M * N; i++) out[i]! += target[i]!;
}

/** out [m, n] = a · b as the two fixed row blocks ([Note: fixed row blocks]), threaded when a runner is set. */
function blocks(
  A: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
  target: Float32Array,
): void {
  if (rowBlockRunner?.run(A, B, M, K, N, target)) return;
  const m1 = firstBlockRows(M);
  if (m1 > 0) tfBlockProduct(A.subarray(0, m1 * K), B, m1, K, N, target.subarray(0, m1 * N));
  if (m1 < M) tfBlockProduct(A.subarray(m1 * K), B, M - m1, K, N, target.subarray(m1 * N));
}

/**
 * A weight that no longer changes (inference), kept by the engine as Wᵀ [C, OC]: XNNPACK packs a
 * second operand once per tensor, so a frozen weight is packed on first use and every later query
 * skips both the upload and the packing (what makes a one-item query cheap).
 */
export class FrozenWeight {
  private tensor: TfNamespace.Tensor2D | null;
  constructor(
    weight: Float32Array,
    readonly outDim: number,
    readonly inDim: number,
  ) {
    const t = tf;
    this.tensor = t
      ? t.tensor2d(transpose(weight, outDim, inDim, new Float32Array(weight.length)), [inDim, outDim])
      : null;
  }
  /** out [M, OC] = a [M, C] · Wᵀ; false when no engine holds the weight (the caller uses matmul). */
  apply(out: Float32Array, a: Float32Array, M: number): boolean {
    const t = tf;
    const w = this.tensor;
    if (!t || !w || M === 0) return false;
    const r = t.tidy(() => t.matMul(t.tensor2d(a.subarray(0, M * this.inDim), [M, this.inDim]), w));
    out.set(r.dataSync() as Float32Array);
    r.dispose();
    return true;
  }
  dispose(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }
}
