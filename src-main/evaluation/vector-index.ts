/**
 * Exact cosine top-K over an in-memory matrix of L2-normalised vectors (ISSUE 4 part 5,
 * PERFORMANCE.md "Exact cosine top-10").
 *
 * Two paths that return the same hits:
 * - ONNX Runtime (default for galleries of a few thousand rows and up): a two-node graph built at run
 *   time with the product's ONNX writer, `scores = MatMul(queries, galleryᵀ)` → `TopK(k)`. ORT's
 *   CPU GEMM (MLAS) runs near the machine's peak on both cores, which plain JS loops cannot (≈ 4×
 *   slower here). The gallery is fed as an INPUT tensor that wraps the caller's Float32Array —
 *   onnxruntime-node does not copy input tensors on `run` (measured: a Slice over a 2 GB input runs in
 *   0.1 ms) — and never as an initializer: a 1M × 512 float32 initializer would exceed protobuf's
 *   2 GB message limit, and would be a second copy of the matrix.
 * - Plain JS (tiny galleries, or when onnxruntime-node cannot load): a dot-product loop and a
 *   bounded selection. Also the reference the ORT path is tested against.
 *
 * Ties are broken toward the lower row index on both paths (ONNX TopK's rule), so results are
 * deterministic. Scores are float32 dot products, i.e. cosines since rows and queries are unit
 * vectors; queries are re-normalised here, so callers may pass raw encoder outputs.
 */
import { availableParallelism } from 'node:os';
import type ort from 'onnxruntime-node';
import { onnxModel } from '../encoders/onnx-model-writer.ts';

export interface SearchHit {
  /** Row of the gallery matrix. */
  index: number;
  id: string;
  /** Cosine similarity (dot product of unit vectors). */
  score: number;
}

export type VectorIndexBackend = 'onnxruntime' | 'js';

export interface VectorIndexOptions {
  /** 'auto' (default): ONNX Runtime from `minOrtRows` rows up, JS below or if ORT cannot load. */
  backend?: 'auto' | VectorIndexBackend;
  /** ORT intra-op threads (default: every core). */
  threads?: number;
  /** Smallest gallery for which 'auto' uses ONNX Runtime (default 4,096). */
  minOrtRows?: number;
}

export class VectorIndexError extends Error {
  override name = 'VectorIndexError';
}

/** Rows whose norm is further than this from 1 are rejected: their dot products are not cosines. */
const NORM_TOLERANCE = 1e-3;
/** Upper bound on one score matrix (floats): bounds memory at N = 1M (32 queries per run). */
const MAX_SCORE_FLOATS = 1 << 25;

// ---- ONNX Runtime session (one per dim and thread count, shared by all indexes) -----------------

interface SharedSession {
  session: ort.InferenceSession;
  ort: typeof ort;
  refs: number;
}
const sessions = new Map<string, Promise<SharedSession>>();

function searchGraph(dim: number): Uint8Array {
  return onnxModel({
    name: 'exact_cosine_topk',
    inputs: [
      { name: 'queries', type: 'float', dims: ['Q', dim] },
      { name: 'gallery', type: 'float', dims: ['N', dim] },
      { name: 'k', type: 'int64', dims: [1] },
    ],
    outputs: [
      { name: 'scores', type: 'float', dims: ['Q', 'K'] },
      { name: 'indices', type: 'int64', dims: ['Q', 'K'] },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['queries', 'gallery'], outputs: ['all_scores'], attrs: { transB: 1 } },
      {
        op: 'TopK',
        inputs: ['all_scores', 'k'],
        outputs: ['scores', 'indices'],
        attrs: { axis: -1, largest: 1, sorted: 1 },
      },
    ],
    initializers: [],
  });
}

async function acquireSession(dim: number, threads: number): Promise<SharedSession> {
  const key = `${dim}/${threads}`;
  let p = sessions.get(key);
  if (!p) {
    p = (async () => {
      const mod = (await import('onnxruntime-node')).default;
      if (!process.env.KFASHION_DEBUG) mod.env.logLevel = 'fatal';
      const session = await mod.InferenceSession.create(searchGraph(dim), {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: process.env.KFASHION_DEBUG ? 2 : 4,
      });
      return { session, ort: mod, refs: 0 };
    })();
    sessions.set(key, p);
    // A failed load must not poison later attempts (e.g. after the user fixes the install).
    p.catch(() => sessions.delete(key));
  }
  const shared = await p;
  shared.refs++;
  return shared;
}

async function releaseSession(dim: number, threads: number, shared: SharedSession): Promise<void> {
  shared.refs--;
  if (shared.refs > 0) return;
  sessions.delete(`${dim}/${threads}`);
  await shared.session.release();
}

// ---- the index -----------------------------------------------------------------------------------

export class VectorIndex {
  readonly size: number;
  readonly dim: number;
  readonly backend: VectorIndexBackend;
  readonly threads: number;
  /** Why the JS path was chosen when ORT was asked for or expected (e.g. ORT failed to load). */
  readonly fallbackReason: string | null;
  private closed = false;
  private galleryTensor: ort.Tensor | null = null;

  private constructor(
    readonly ids: readonly string[],
    private readonly vectors: Float32Array,
    dim: number,
    private readonly shared: SharedSession | null,
    threads: number,
    fallbackReason: string | null,
  ) {
    this.size = ids.length;
    this.dim = dim;
    this.backend = shared ? 'onnxruntime' : 'js';
    this.threads = shared ? threads : 1;
    this.fallbackReason = fallbackReason;
    if (shared && this.size > 0) {
      this.galleryTensor = new shared.ort.Tensor('float32', vectors, [this.size, dim]);
    }
  }

  /** Rows of `vectors` are L2-normalised [ids.length × dim] float32; the matrix is kept, not copied. */
  static async build(
    ids: readonly string[],
    vectors: Float32Array,
    dim = 512,
    opts: VectorIndexOptions = {},
  ): Promise<VectorIndex> {
    if (!Number.isInteger(dim) || dim < 1) {
      throw new VectorIndexError(`dim must be a positive integer, got ${dim}`);
    }
    if (vectors.length !== ids.length * dim) {
      throw new VectorIndexError(
        `${ids.length} ids × ${dim} dims need ${ids.length * dim} floats, got ${vectors.length}`,
      );
    }
    checkUnitRows(ids, vectors, dim);
    const backend = opts.backend ?? 'auto';
    const threads = opts.threads ?? availableParallelism();
    const minOrtRows = opts.minOrtRows ?? 4096;
    const wantOrt = backend === 'onnxruntime' || (backend === 'auto' && ids.length >= minOrtRows);
    if (!wantOrt) return new VectorIndex(ids, vectors, dim, null, 1, null);
    try {
      const shared = await acquireSession(dim, threads);
      return new VectorIndex(ids, vectors, dim, shared, threads, null);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (backend === 'onnxruntime') {
        throw new VectorIndexError(`ONNX Runtime is not available for search: ${msg}`);
      }
      return new VectorIndex(ids, vectors, dim, null, 1, `ONNX Runtime unavailable (${msg}); plain JS`);
    }
  }

  /** Exact cosine top-k for each query row ([q × dim]); k is clamped to size; best first. */
  async search(queries: Float32Array, k: number): Promise<SearchHit[][]> {
    if (this.closed) throw new VectorIndexError('search on a closed VectorIndex');
    if (queries.length % this.dim !== 0) {
      throw new VectorIndexError(
        `queries hold ${queries.length} floats, not a multiple of the index's ${this.dim} dims`,
      );
    }
    if (!Number.isInteger(k) || k < 1) throw new VectorIndexError(`k must be a positive integer, got ${k}`);
    const q = queries.length / this.dim;
    const kk = Math.min(k, this.size);
    if (q === 0) return [];
    if (kk === 0) return Array.from({ length: q }, () => []);
    const unit = normaliseQueries(queries, this.dim);
    return this.shared ? this.searchOrt(unit, q, kk) : this.searchJs(unit, q, kk);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.galleryTensor = null;
    if (this.shared) await releaseSession(this.dim, this.threads, this.shared);
  }

  private async searchOrt(queries: Float32Array, q: number, k: number): Promise<SearchHit[][]> {
    const { ort: mod, session } = this.shared!;
    const gallery = this.galleryTensor!;
    const kTensor = new mod.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]);
    const perRun = Math.max(1, Math.floor(MAX_SCORE_FLOATS / this.size));
    const out: SearchHit[][] = [];
    for (let start = 0; start < q; start += perRun) {
      const n = Math.min(perRun, q - start);
      const qt = new mod.Tensor('float32', queries.subarray(start * this.dim, (start + n) * this.dim), [
        n,
        this.dim,
      ]);
      const res = await session.run({ queries: qt, gallery, k: kTensor });
      const scores = res.scores!.data as Float32Array;
      const indices = res.indices!.data as BigInt64Array;
      for (let r = 0; r < n; r++) {
        const hits: SearchHit[] = [];
        for (let j = 0; j < k; j++) {
          const index = Number(indices[r * k + j]);
          hits.push({ index, id: this.ids[index]!, score: scores[r * k + j]! });
        }
        out.push(hits);
      }
      for (const t of Object.values(res)) t.dispose();
    }
    return out;
  }

  private searchJs(queries: Float32Array, q: number, k: number): SearchHit[][] {
    const out: SearchHit[][] = [];
    const scores = new Float32Array(this.size);
    for (let r = 0; r < q; r++) {
      dotAll(this.vectors, this.size, this.dim, queries, r * this.dim, scores);
      out.push(topK(scores, k).map((index) => ({ index, id: this.ids[index]!, score: scores[index]! })));
    }
    return out;
  }
}

// ---- helpers (exported for tests and the benchmark) ----------------------------------------------

function checkUnitRows(ids: readonly string[], v: Float32Array, dim: number): void {
  for (let i = 0; i < ids.length; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += v[o + j]! * v[o + j]!;
    const norm = Math.sqrt(s);
    if (!(Math.abs(norm - 1) <= NORM_TOLERANCE)) {
      throw new VectorIndexError(
        `row ${i} (${ids[i]}) has L2 norm ${norm.toPrecision(6)}; the index needs L2-normalised rows (norm 1 ± ${NORM_TOLERANCE})`,
      );
    }
  }
}

/** Unit-length copy of each query row; a zero or non-finite query is an error, not a silent 0 score. */
function normaliseQueries(queries: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(queries.length);
  for (let o = 0, r = 0; o < queries.length; o += dim, r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += queries[o + j]! * queries[o + j]!;
    if (!(s > 0) || !Number.isFinite(s)) {
      throw new VectorIndexError(`query ${r} has L2 norm ${Math.sqrt(s)}; it cannot be compared by cosine`);
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[o + j] = queries[o + j]! * inv;
  }
  return out;
}

/** scores[i] = gallery row i · query (float32 result, accumulated in float64). */
function dotAll(
  g: Float32Array,
  n: number,
  dim: number,
  q: Float32Array,
  qo: number,
  scores: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let j = 0;
    for (; j + 3 < dim; j += 4) {
      a0 += g[o + j]! * q[qo + j]!;
      a1 += g[o + j + 1]! * q[qo + j + 1]!;
      a2 += g[o + j + 2]! * q[qo + j + 2]!;
      a3 += g[o + j + 3]! * q[qo + j + 3]!;
    }
    for (; j < dim; j++) a0 += g[o + j]! * q[qo + j]!;
    scores[i] = a0 + a1 + a2 + a3;
  }
}

/** Indices of the k largest scores, best first; ties → lower index first (ONNX TopK's rule). */
export function topK(scores: Float32Array, k: number): number[] {
  const n = scores.length;
  const kk = Math.min(k, n);
  if (kk <= 0) return [];
  const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b);
  if (kk * 8 > n) {
    // Large k: sort everything.
    const all = Array.from({ length: n }, (_, i) => i);
    all.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    return all.slice(0, kk);
  }
  // Small k: keep a sorted buffer of the best kk; most rows fail the threshold test in one compare.
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (best.length === kk && !better(i, best[kk - 1]!)) continue;
    let p = best.length === kk ? kk - 1 : best.length;
    if (best.length < kk) best.push(i);
    while (p > 0 && better(i, best[p - 1]!)) {
      best[p] = best[p - 1]!;
      p--;
    }
    best[p] = i;
  }
  return best;
}
