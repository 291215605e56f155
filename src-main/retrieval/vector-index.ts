/**
 * Exact cosine top-K over an in-memory matrix of L2-normalised vectors: the similarity search and the
 * recommendations (PERFORMANCE.md "Exact cosine top-10").
 *
 * Two paths that return the same hits:
 * - ONNX Runtime (default from a few thousand rows up): a two-node graph built at run time with the
 *   product's ONNX writer, `scores = MatMul(queries [Q, d], galleryᵀ [d, N])` → `TopK(k)`. ORT's CPU
 *   GEMM (MLAS) runs near the machine's peak on both cores; plain JS loops are ≈ 4× slower here.
 *   The gallery is an INPUT tensor, never an initializer: a 1M × 512 float32 initializer would
 *   exceed protobuf's 2 GB message limit. onnxruntime-node does not copy input tensors on `run`
 *   (measured: a Slice of a 2 GB input runs in 0.1 ms), so feeding it per query costs nothing.
 * - Plain JS (tiny galleries, or when onnxruntime-node cannot load): the product's one JS scorer
 *   (score-matrix.ts, as training validation and evaluation use) and a bounded selection. Also the
 *   reference the ORT path is tested against.
 * - On top of the ORT path, for single queries on large galleries: an int8 scan for candidates and
 *   an exact float32 re-score of them ([Note: int8 scan switch], int8-scan.ts), whose hits and scores
 *   are the JS path's, bit for bit.
 *
 * [Note: gallery layout] The ORT path keeps ONE copy of the gallery, in column blocks, and does not
 * hold on to the caller's matrix (which the caller may then drop). Rows are cut into NB blocks of B
 * rows, each stored transposed ([NB, d, B]); the graph is `MatMul(queries [Q, d], gallery) →
 * [NB, Q, B]` → `TopK(k)` per block, and the NB × k candidates per query are merged here. Why:
 * - with one query the product only streams the gallery from memory. MLAS streams a transposed
 *   right-hand side ([d, N]) 1.5–2× faster than the row-major one with transB (which it packs on
 *   every call: N = 1M, 1 query took 54 ms against 103 ms side by side);
 * - at N = 1M one transposed [d, N] matrix has a 4 MB stride between its rows and the product reads
 *   512 far-apart streams at once; blocks of 8,192 rows (16 MB each, read one after the other) took
 *   ~65 ms against ~100 ms (medians of runs in separate processes; the machine is shared and noisy);
 * - per-block TopK needs no transpose of the scores, and blocks may overlap: the last block is the
 *   last B rows, so nothing is padded (a padded zero row could outrank real rows with negative
 *   scores). Up to ~256k rows the gallery is one block ([1, d, N]), i.e. the plain transposed layout,
 *   which is as fast there.
 * The copy is built on the search worker from rows moved there a chunk at a time ([Note: build on the
 * search worker]), or on the calling thread and moved there when no worker runs. (A SharedArrayBuffer would
 * let both threads see it, but onnxruntime-node rejects tensors over one: N-API cannot read a
 * SharedArrayBuffer's memory, "Invalid argument".)
 *
 * [Note: reduced-precision scan] A single query only streams the gallery, so a float16 or int8 copy
 * (2-4x fewer bytes) scanned for candidates and re-scored exactly in float32 beats the float32
 * GEMV. ONNX Runtime cannot do that scan here: one query against 100k x 512 rows, 2 threads, TopK 256,
 * 40 interleaved runs on this machine (2-core Zen 4, load average 5-7) took p50 36 ms (min 18) with
 * float32 MatMul, 185 ms (min 124) with int8 MatMulInteger over a gallery input, 209 ms (min 43)
 * with the int8 gallery as an initializer (prepacked by MLAS) against 39 ms (min 15) float32 in the
 * same run, and 87 ms (min 48) with float16 MatMul. MLAS's integer GEMM is built for many rows of A,
 * not one. usearch's `exactSearch` over an Int8Array does it (int8-scan.ts: VNNI kernels on both
 * cores, and the proof that the re-scored top k is exact). Side by side with PyTorch in alternating
 * rounds (`npm run bench -- search --sizes 100000,1000000 --no-ann`, load average ~7):
 * 100k: int8 7.9 ms, float32 MatMul 33.7 ms, PyTorch 20.0 ms p50; 1M: int8 38.4 ms, float32 154.7 ms,
 * PyTorch 107.6 ms (about 25 rows re-scored per query on these uniform vectors, no retry). The int8
 * scan streams 13 GB/s of codes at 1M there, 0.62 of the bandwidth measured on both cores. usearch
 * supports float16 too, but its Node binding's `exactSearch` takes only Float32/Float64/Int8 arrays,
 * and a hand-written WASM int8 kernel would have to build its own threads to use both cores; so usearch.
 *
 * [Note: int8 scan switch] The int8 copy (a quarter of the float32 gallery's bytes: 0.5 KB a row at
 * 512 dims, 488 MB at 1M) is built once per vector set, when the index is built or loaded, from
 * `minInt8Rows` (16,384) rows up, when usearch loads (scan 'auto'). It serves calls of up to
 * INT8_MAX_QUERIES (4) queries with k ≤ INT8_MAX_K: a batch is compute-bound, and there ORT's GEMM
 * reads the float32 gallery once for all queries, where the int8 scan would stream the codes once per
 * query. The threshold was measured on the worker path, int8 against float32 in alternating rounds
 * (`npm run bench -- search --sizes 8192,16384,32768,65536 --no-ann --no-reference --rounds 5`, load
 * average ~10): p50 0.59 / 1.03 ms at 8,192 rows, 0.84 / 2.44 at 16,384, 1.25 / 7.95 at 32,768,
 * 2.66 / 16.82 at 65,536 (and 0.56 / 0.50 at 10,000 in another run, load ~5). From 16,384 rows the
 * int8 scan wins by ~3x; below, it saves a fraction of a millisecond for a quarter more memory and
 * a longer load, so smaller galleries keep the float32 scan. A query whose bound is not met within
 * `int8MaxCandidates` candidates (near-duplicates by the thousand) is answered by the float32 scan
 * instead, exactly as before (ORT's scores, which may differ from the JS sum in the last bit).
 * The re-score reads the blocked float32 copy, so the scan runs where that copy is: on the search
 * worker by default (retrieval/search-worker.ts serves ORT's session and the int8 scan on one thread;
 * the int8 codes are quantised there at build time, so the gallery is held once, by the worker, and a
 * 1M-row query holds no other request), or on the calling thread with `thread: 'main'` (benchmarks,
 * and where no worker bundle exists).
 *
 * [Note: search thread] onnxruntime-node runs a session synchronously on the calling thread (a
 * 300k-row batch held the event loop for 0.5 s: one timer tick), and so does usearch's exactSearch.
 * Both scans therefore run in a worker thread of their own by default, so the server and the desktop
 * app stay responsive while a 1M-row search computes; `thread: 'main'` runs them inline (no message
 * hop, for benchmarks). The hop costs one message each way per call (the query in, the hits out).
 *
 * Ties are broken toward the lower row index on both paths (ONNX TopK's rule), so results are
 * deterministic. Scores are float32 dot products, i.e. cosines, since rows and queries are unit
 * vectors; queries are re-normalised here, so callers may pass raw encoder outputs.
 */
import { availableParallelism } from 'node:os';
import type ort from 'onnxruntime-node';
import { onnxModel } from '../encoders/onnx-model-writer.ts';
import { createSessionHost } from '../encoders/onnx-session-host.ts';
import { type Remote, transfer, workerEntry } from '../workers/protocol.ts';
import {
  type BlockLayout,
  blockColumns,
  blockedChunks,
  blockedRowScorer,
  blockLayout,
  blockStart,
  placeRows,
} from './gallery-blocks.ts';
import {
  type ChunkSource,
  columnAbsMax,
  type Int8Gallery,
  Int8Scan,
  type Int8ScanStats,
  loadUsearchExact,
  quantiseGallery,
} from './int8-scan.ts';
import { scoreMatrix } from './score-matrix.ts';
import type { SearchWorkerTasks } from './search-worker.ts';
import { topK } from './top-k.ts';

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
  /** Where the ORT session runs (default 'worker'; see [Note: search thread]). */
  thread?: 'worker' | 'main';
  /** Smallest gallery for which 'auto' uses ONNX Runtime (default 4,096). */
  minOrtRows?: number;
  /** Largest score matrix (queries × rows) one ORT run may hold; more queries are split (default 2²⁵). */
  maxScoreFloats?: number;
  /** Where to load onnxruntime-node from (tests point it at a missing module to exercise the fallback). */
  onnxruntimePath?: string;
  /**
   * Rows per gallery block (see [Note: gallery layout]); default: the whole gallery up to 262,144
   * rows, 8,192 rows per block above. Tests set it to exercise the block merge on small data.
   */
  blockRows?: number;
  /**
   * How a query of a small call (up to 4 queries) scans the gallery; see [Note: int8 scan switch].
   * 'auto' (default): an int8 copy plus an exact float32 re-score from `minInt8Rows` rows up when
   * usearch loads; 'float32': always ONNX Runtime's float32 MatMul; 'int8': the int8 scan whenever
   * ONNX Runtime serves the index (tests, benchmarks).
   */
  scan?: 'auto' | 'int8' | 'float32';
  /** Smallest gallery for which 'auto' adds the int8 scan (default 16,384). */
  minInt8Rows?: number;
  /** Largest int8 candidate list before a query falls back to the float32 scan (tests lower it). */
  int8MaxCandidates?: number;
}

/** Calls of at most this many queries take the int8 scan (one query per scan); larger ones ORT's GEMM. */
const INT8_MAX_QUERIES = 4;
/** Larger k takes the float32 scan: re-scoring k or more rows one at a time gains nothing. */
const INT8_MAX_K = 1024;
const MIN_INT8_ROWS = 16_384;

/** Whether an index served by ONNX Runtime also gets the int8 scan ([Note: int8 scan switch]). */
function wantsInt8(n: number, opts: VectorIndexOptions): boolean {
  const scan = opts.scan ?? 'auto';
  if (scan === 'float32') return false;
  if (scan === 'auto' && n < (opts.minInt8Rows ?? MIN_INT8_ROWS)) return false;
  return loadUsearchExact() !== null;
}

/** Whether a gallery of n rows is searched with ONNX Runtime (the 'auto' backend from minOrtRows on). */
function wantsOrt(n: number, opts: VectorIndexOptions): boolean {
  const backend = opts.backend ?? 'auto';
  return n > 0 && (backend === 'onnxruntime' || (backend === 'auto' && n >= (opts.minOrtRows ?? 4096)));
}

function checkedBlockRows(opts: VectorIndexOptions): number | undefined {
  if (opts.blockRows !== undefined && !(Number.isInteger(opts.blockRows) && opts.blockRows >= 1)) {
    throw new VectorIndexError(`blockRows must be a positive integer, got ${opts.blockRows}`);
  }
  return opts.blockRows;
}

function commonOptions(opts: VectorIndexOptions) {
  return {
    threads: opts.threads ?? availableParallelism(),
    thread: opts.thread ?? ('worker' as const),
    maxScoreFloats: opts.maxScoreFloats ?? MAX_SCORE_FLOATS,
  };
}

export class VectorIndexError extends Error {
  override name = 'VectorIndexError';
}

/** Rows whose norm is further than this from 1 are rejected: their dot products are not cosines. */
const NORM_TOLERANCE = 1e-3;
/** Upper bound on one score matrix (floats): 128 MB, i.e. 32 queries per run at N = 1M. */
const MAX_SCORE_FLOATS = 1 << 25;

/** Rows read at a time by `buildFromRows` (16 MB of float32 at 512 dims). */
const READ_CHUNK_ROWS = 8192;

function searchGraph(dim: number): Uint8Array {
  return onnxModel({
    name: 'exact_cosine_topk',
    inputs: [
      { name: 'queries', type: 'float', dims: ['Q', dim] },
      { name: 'gallery_blocks', type: 'float', dims: ['NB', dim, 'B'] },
      { name: 'k', type: 'int64', dims: [1] },
    ],
    outputs: [
      { name: 'scores', type: 'float', dims: ['NB', 'Q', 'K'] },
      { name: 'indices', type: 'int64', dims: ['NB', 'Q', 'K'] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['queries', 'gallery_blocks'], outputs: ['all_scores'] },
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

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: process.env.KFASHION_DEBUG ? 2 : 4,
  };
}

/** One ORT run's result: [NB, q, k] scores and row indices within each block. */
interface TopKResult {
  scores: Float32Array;
  indices: BigInt64Array;
}

/** Runs the search graph over a fixed blocked gallery. */
interface TopKRunner {
  /** Where the session runs: 'main' also when a worker was asked for but no worker bundle exists. */
  readonly thread: 'worker' | 'main';
  /** The search worker's own tasks (the int8 scan); null on the calling thread. */
  readonly worker: Remote<SearchWorkerTasks> | null;
  run(queries: Float32Array, q: number, k: number): Promise<TopKResult>;
  close(): Promise<void>;
}

/**
 * The search graph's session, with the blocked gallery as a constant input: on its own worker thread
 * by default (moved there once, not copied; [Note: search thread]), through the product's one ONNX
 * Runtime host (encoders/onnx-session-host.ts).
 */
async function sessionRunner(
  /** The blocked gallery, or (on the search worker) what lays it out there before the session opens. */
  gallery: Float32Array | ((worker: Remote<SearchWorkerTasks>) => Promise<void>),
  layout: BlockLayout,
  dim: number,
  threads: number,
  thread: 'worker' | 'main',
  ortPath?: string,
): Promise<TopKRunner> {
  const host = await createSessionHost<SearchWorkerTasks>(searchGraph(dim), sessionOptions(threads), thread, {
    entry: 'search-worker',
    ...(typeof gallery === 'function'
      ? { prepare: gallery }
      : {
          constants: {
            gallery_blocks: { type: 'float32', data: gallery, dims: [layout.blocks, dim, layout.rows] },
          },
        }),
    ...(ortPath ? { ortPath } : {}),
    // An idle search worker must not keep a CLI process alive; it is ref'd while it works.
    unrefWhenIdle: true,
    name: 'search worker thread',
  }).catch((e: unknown) => {
    throw new VectorIndexError(e instanceof Error ? e.message : String(e));
  });
  return {
    thread: host.thread,
    worker: host.tasks,
    async run(queries, q, k) {
      const out = await host
        .runMany(
          {
            queries: { type: 'float32', data: queries, dims: [q, dim] },
            k: { type: 'int64', data: BigInt64Array.of(BigInt(k)), dims: [1] },
          },
          ['scores', 'indices'],
        )
        .catch((e: unknown) => {
          throw new VectorIndexError(
            `search failed in ONNX Runtime: ${e instanceof Error ? e.message : String(e)}`,
          );
        });
      return { scores: out.scores!.data as Float32Array, indices: out.indices!.data as BigInt64Array };
    },
    close: () => host.release(),
  };
}

/** One query's exact top-k from the int8 scan, or null: not proven within the candidate limit. */
type Int8Hits = { index: number; score: number }[] | null;

/** The int8 scan wherever it runs: on the search worker (the default) or on the calling thread. */
interface Int8Searcher {
  /** The scan's counters (on the worker: as of its last answer). */
  readonly stats: Readonly<Int8ScanStats>;
  /** One answer per query of `q` unit queries ([q × dim]). */
  search(queries: Float32Array, q: number, k: number): Promise<Int8Hits[]>;
}

/** The int8 scan on this thread (no search worker bundle, or `thread: 'main'`). */
function localInt8(scan: Int8Scan): Int8Searcher {
  return {
    stats: scan.stats,
    async search(queries, q, k) {
      const dim = queries.length / q;
      return Array.from({ length: q }, (_, r) => scan.search(queries.subarray(r * dim, (r + 1) * dim), k));
    },
  };
}

/** The int8 scan on the search worker: one message per call, the answers moved back. */
function workerInt8(worker: Remote<SearchWorkerTasks>): Int8Searcher {
  let stats: Int8ScanStats = { queries: 0, rescored: 0, retries: 0, fallbacks: 0 };
  return {
    get stats() {
      return stats;
    },
    async search(queries, q, k) {
      const answer = await worker.scanInt8(queries, q, k).catch((e: unknown) => {
        throw new VectorIndexError(
          `search failed in the int8 scan: ${e instanceof Error ? e.message : String(e)}`,
        );
      });
      stats = answer.stats;
      return answer.answers.map((a) =>
        a ? Array.from(a.rows, (index, j) => ({ index, score: a.scores[j]! })) : null,
      );
    },
  };
}

// ---- the index -----------------------------------------------------------------------------------

export class VectorIndex {
  readonly size: number;
  readonly dim: number;
  readonly backend: VectorIndexBackend;
  /** ORT intra-op threads (1 on the JS path). */
  readonly threads: number;
  readonly thread: 'worker' | 'main';
  /** Why the JS path serves an index that 'auto' would have given to ORT (e.g. ORT failed to load). */
  readonly fallbackReason: string | null;
  private closed = false;

  private constructor(
    readonly ids: readonly string[],
    dim: number,
    /** Row-major gallery, kept for the JS path only. */
    private readonly vectors: Float32Array | null,
    private readonly runner: TopKRunner | null,
    opts: {
      threads: number;
      thread: 'worker' | 'main';
      fallbackReason: string | null;
      maxScoreFloats: number;
      layout: BlockLayout | null;
      int8?: Int8Searcher | null;
    },
  ) {
    this.size = ids.length;
    this.dim = dim;
    this.backend = runner ? 'onnxruntime' : 'js';
    this.threads = runner ? opts.threads : 1;
    this.thread = runner ? runner.thread : 'main';
    this.fallbackReason = opts.fallbackReason;
    this.maxScoreFloats = opts.maxScoreFloats;
    this.layout = opts.layout;
    this.int8 = opts.int8 ?? null;
    this.scan = this.int8 ? 'int8' : 'float32';
  }

  /** How a small call scans the gallery: 'int8' (plus the exact re-score) or 'float32'. */
  readonly scan: 'int8' | 'float32';
  private readonly int8: Int8Searcher | null;

  /** The int8 scan's counters (null without one); on the search worker, as of its last answer. */
  get int8Stats(): Readonly<Int8ScanStats> | null {
    return this.int8?.stats ?? null;
  }

  /** How the ORT path's gallery copy is cut into blocks (null on the JS path). */
  readonly layout: BlockLayout | null;

  private readonly maxScoreFloats: number;

  /**
   * Rows of `vectors` are L2-normalised [ids.length × dim] float32. The JS path keeps the matrix
   * (no copy); the ORT path keeps one blocked copy instead (see [Note: gallery layout]), built on
   * the search worker ([Note: build on the search worker]).
   */
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
    if (!wantsOrt(ids.length, opts)) {
      checkUnitRows(ids, vectors, dim);
      return new VectorIndex(ids, dim, vectors, null, {
        ...commonOptions(opts),
        fallbackReason: null,
        layout: null,
      });
    }
    const layout = blockLayout(ids.length, checkedBlockRows(opts));
    let checked = false;
    const checkAll = () => {
      if (!checked) checkUnitRows(ids, vectors, dim);
      checked = true;
    };
    return VectorIndex.withSession(ids, dim, layout, opts, {
      // Views of the caller's matrix, checked a chunk at a time as they go to the worker (the
      // same message for the same bad row), posted as copies (the caller keeps its matrix).
      read: (first, count) => {
        const rows = vectors.subarray(first * dim, (first + count) * dim);
        checkUnitRows(ids.slice(first, first + count), rows, dim, first);
        return rows;
      },
      movable: false,
      local: () => {
        checkAll();
        return {
          blocked: blockColumns(vectors, layout, dim),
          chunks: rowMajorChunks(vectors, ids.length, dim),
        };
      },
      // Checked here too: the worker may have failed before every chunk went through `read`.
      rowMajor: () => {
        checkAll();
        return vectors;
      },
    });
  }

  /**
   * The ORT index over the gallery `source` gives, laid out in blocks on the search worker (or here
   * when the session runs on this thread), or, when ONNX Runtime cannot start and the backend is
   * 'auto', the JS index over the row-major matrix `source.rowMajor()` gives (read only in that case).
   */
  private static async withSession(
    ids: readonly string[],
    dim: number,
    layout: BlockLayout,
    opts: VectorIndexOptions,
    source: {
      /** Rows [first, first + count), checked. */
      read: (first: number, count: number) => Float32Array;
      /** Whether `read`'s arrays may be moved to the worker (else each is copied, the copy moved). */
      movable: boolean;
      /** The blocked copy made on this thread, and its rows in row-major chunks for the int8 copy. */
      local: () => { blocked: Float32Array; chunks: ChunkSource };
      rowMajor: () => Float32Array;
    },
  ): Promise<VectorIndex> {
    const common = commonOptions(opts);
    if (opts.scan === 'int8' && !loadUsearchExact()) {
      throw new VectorIndexError("scan 'int8' needs the usearch package, which cannot load");
    }
    const int8 = wantsInt8(ids.length, opts);
    const stages: BuildStages = {
      readRowsMs: 0,
      layoutMs: 0,
      quantiseMs: 0,
      openSessionMs: 0,
      int8ScanMs: 0,
    };
    const onWorker = common.thread === 'worker' && workerEntry('search-worker') !== null;
    // The caller's own error (a bad row, a failing reader) is thrown as it is, never taken for
    // "ONNX Runtime cannot start" (which falls back to the JS path).
    let inputError: unknown = null;
    let gallery: Int8Gallery | null = null;
    let blocked: Float32Array | ((worker: Remote<SearchWorkerTasks>) => Promise<void>);
    if (onWorker) {
      blocked = async (worker) => {
        const t = performance.now();
        const read = (first: number, count: number) => {
          try {
            return source.read(first, count);
          } catch (e) {
            inputError = e;
            throw e;
          }
        };
        try {
          stages.layoutMs = await postRows(worker, layout, dim, int8, read, source.movable, stages);
        } finally {
          stages.openSessionMs -= performance.now() - t;
        }
      };
    } else {
      let t = performance.now();
      const local = source.local();
      stages.layoutMs = performance.now() - t;
      blocked = local.blocked;
      if (int8) {
        t = performance.now();
        gallery = quantiseGallery(ids.length, dim, columnAbsMax(dim, local.chunks), local.chunks);
        stages.quantiseMs = performance.now() - t;
      }
    }
    let runner: TopKRunner;
    const opened = performance.now();
    try {
      runner = await sessionRunner(blocked, layout, dim, common.threads, common.thread, opts.onnxruntimePath);
    } catch (e) {
      if (inputError) throw inputError;
      // First line only: Node appends the whole require stack to a missing-module error.
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      if ((opts.backend ?? 'auto') === 'onnxruntime') {
        throw new VectorIndexError(`ONNX Runtime is not available for search: ${msg}`);
      }
      return new VectorIndex(ids, dim, source.rowMajor(), null, {
        ...common,
        fallbackReason: `ONNX Runtime unavailable (${msg}); searching with plain JS loops`,
        layout: null,
      });
    }
    stages.openSessionMs += performance.now() - opened;
    const scanOptions = {
      threads: common.threads,
      ...(opts.int8MaxCandidates ? { maxCandidates: opts.int8MaxCandidates } : {}),
    };
    let scan: Int8Searcher | null = null;
    const scanStarted = performance.now();
    if (int8 && runner.worker) {
      try {
        // Without codes (laid out there), the worker quantises its own gallery.
        const given = gallery ? transfer(gallery, [gallery.codes.buffer as ArrayBuffer]) : null;
        const done = await runner.worker.openInt8(given, layout, scanOptions, INT8_MAX_K);
        if (!gallery) stages.quantiseMs = done.quantiseMs;
        scan = workerInt8(runner.worker);
      } catch (e) {
        // 'auto' chose the int8 scan because usearch loads here; should it not load on the worker,
        // the index keeps ONNX Runtime's float32 scan there (the same hits) rather than failing.
        // Asked for by name ('int8'), it fails, saying why.
        if (opts.scan === 'int8') {
          await runner.close();
          throw new VectorIndexError(
            `the int8 scan could not start on the search worker: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
    } else if (int8) {
      // No worker (no bundle, or the session runs here): the int8 copy was quantised above.
      const engine = loadUsearchExact()!;
      scan = localInt8(
        new Int8Scan(
          gallery!,
          blockedRowScorer(blocked as Float32Array, layout, dim),
          scanOptions,
          engine,
          INT8_MAX_K,
        ),
      );
    }
    stages.int8ScanMs = performance.now() - scanStarted - (onWorker ? stages.quantiseMs : 0);
    const index = new VectorIndex(ids, dim, null, runner, {
      ...common,
      fallbackReason: null,
      layout,
      int8: scan,
    });
    index.buildStages = stages;
    return index;
  }

  /**
   * `build` from a source of rows (e.g. the workspace's vector store) instead of one matrix: rows are
   * read a chunk at a time and laid out as they come (on the search worker by default), so the
   * gallery is in memory once. `readRows` hands out arrays the index may take: a whole-buffer array
   * is moved to the search worker (unusable afterwards), a view is copied. `build(ids, matrix)`
   * needs the caller's row-major matrix AND the blocked copy at the same moment, twice the gallery
   * (4.9 GB instead of 2.5 GB at 1.2M × 512).
   */
  static async buildFromRows(
    ids: readonly string[],
    dim: number,
    readRows: (start: number, count: number) => Float32Array,
    opts: VectorIndexOptions = {},
  ): Promise<VectorIndex> {
    const n = ids.length;
    if (!wantsOrt(n, opts) || !Number.isInteger(dim) || dim < 1)
      return VectorIndex.build(ids, readRows(0, n), dim, opts);
    const layout = blockLayout(n, checkedBlockRows(opts));
    const read = (first: number, count: number): Float32Array => {
      const src = readRows(first, count);
      if (src.length !== count * dim) {
        throw new VectorIndexError(
          `rows ${first}…: ${count} rows × ${dim} dims need ${count * dim} floats, got ${src.length}`,
        );
      }
      checkUnitRows(ids.slice(first, first + count), src, dim, first);
      return src;
    };
    return VectorIndex.withSession(ids, dim, layout, opts, {
      read,
      movable: true,
      local: () => {
        const blocked = new Float32Array(layout.blocks * dim * layout.rows);
        for (let f = 0; f < n; f += READ_CHUNK_ROWS) {
          const count = Math.min(READ_CHUNK_ROWS, n - f);
          placeRows(blocked, layout, dim, f, count, read(f, count));
        }
        return { blocked, chunks: blockedChunks(blocked, layout, dim) };
      },
      rowMajor: () => readRows(0, n),
    });
  }

  /**
   * Milliseconds the build spent per stage (the search bench prints them). On the search worker,
   * `layoutMs` and `quantiseMs` are the worker's; `readRowsMs` is this thread's reading and checking
   * of rows, which overlaps the worker's layout. On the calling thread all of it is this thread's,
   * and `layoutMs` includes reading the rows. Null on the JS path.
   */
  buildStages: Readonly<BuildStages> | null = null;

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
    if (this.int8 && q <= INT8_MAX_QUERIES && kk <= INT8_MAX_K)
      return this.searchInt8(this.int8, unit, q, kk);
    return this.runner ? this.searchOrt(this.runner, unit, q, kk) : this.searchJs(this.vectors!, unit, q, kk);
  }

  /** One int8 scan per query; a query whose bound is not met within the candidate limit scans in float32. */
  private async searchInt8(
    scan: Int8Searcher,
    queries: Float32Array,
    q: number,
    k: number,
  ): Promise<SearchHit[][]> {
    const answers = await scan.search(queries, q, k);
    const out: SearchHit[][] = [];
    for (let r = 0; r < q; r++) {
      const hits = answers[r];
      if (hits) out.push(hits.map((h) => ({ index: h.index, id: this.ids[h.index]!, score: h.score })));
      else {
        const one = queries.slice(r * this.dim, (r + 1) * this.dim);
        out.push((await this.searchOrt(this.runner!, one, 1, k))[0]!);
      }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner?.close();
  }

  private async searchOrt(
    runner: TopKRunner,
    queries: Float32Array,
    q: number,
    k: number,
  ): Promise<SearchHit[][]> {
    const layout = this.layout!;
    const kb = Math.min(k, layout.rows); // per block
    const perRun = Math.max(1, Math.floor(this.maxScoreFloats / (layout.blocks * layout.rows)));
    const runs: Promise<TopKResult>[] = [];
    const sizes: number[] = [];
    for (let start = 0; start < q; start += perRun) {
      const n = Math.min(perRun, q - start);
      sizes.push(n);
      // The normalised queries are already this call's own copy: one run takes them whole. A part is
      // sliced, not a subarray: a view would carry (and clone to the worker) the whole buffer.
      const part = n === q ? queries : queries.slice(start * this.dim, (start + n) * this.dim);
      runs.push(runner.run(part, n, kb));
    }
    const out: SearchHit[][] = [];
    const results = await Promise.all(runs);
    results.forEach(({ scores, indices }, i) => {
      for (let r = 0; r < sizes[i]!; r++) out.push(this.mergeBlocks(scores, indices, sizes[i]!, r, kb, k));
    });
    return out;
  }

  /**
   * Query r's top-k from its per-block top-kb lists ([NB, q, kb], indices within the block): the
   * global top-k is among them. Best first, ties to the lower row; a row that two overlapping blocks
   * both hold is counted once.
   */
  private mergeBlocks(
    scores: Float32Array,
    indices: BigInt64Array,
    q: number,
    r: number,
    kb: number,
    k: number,
  ): SearchHit[] {
    const layout = this.layout!;
    const hit = (b: number, j: number): SearchHit => {
      const o = (b * q + r) * kb + j;
      const index = blockStart(layout, b) + Number(indices[o]);
      return { index, id: this.ids[index]!, score: scores[o]! };
    };
    if (layout.blocks === 1) return Array.from({ length: kb }, (_, j) => hit(0, j));
    const all: SearchHit[] = [];
    for (let b = 0; b < layout.blocks; b++) for (let j = 0; j < kb; j++) all.push(hit(b, j));
    all.sort((x, y) => y.score - x.score || x.index - y.index);
    const out: SearchHit[] = [];
    const seen = new Set<number>();
    for (const h of all) {
      if (out.length === k) break;
      if (seen.has(h.index)) continue;
      seen.add(h.index);
      out.push(h);
    }
    return out;
  }

  private searchJs(vectors: Float32Array, queries: Float32Array, q: number, k: number): SearchHit[][] {
    const out: SearchHit[][] = [];
    const n = this.size;
    // Queries a block at a time (score-matrix.ts scores 4 query rows per pass over the gallery), the
    // block's scores bounded to 16 MB or the ORT path's bound if that is smaller.
    const perBlock = Math.max(1, Math.floor(Math.min(this.maxScoreFloats, 1 << 22) / n));
    for (let start = 0; start < q; start += perBlock) {
      const rows = Math.min(perBlock, q - start);
      const block = queries.subarray(start * this.dim, (start + rows) * this.dim);
      const { scores } = scoreMatrix(block, vectors, this.dim);
      for (let r = 0; r < rows; r++) {
        const row = scores.subarray(r * n, (r + 1) * n);
        out.push(topK(row, k).map((index) => ({ index, id: this.ids[index]!, score: row[index]! })));
      }
    }
    return out;
  }
}

/** What a build spent on its stages (see `VectorIndex.buildStages`). */
export interface BuildStages {
  readRowsMs: number;
  layoutMs: number;
  quantiseMs: number;
  openSessionMs: number;
  int8ScanMs: number;
}

/** Chunks of rows in flight to the search worker at once: one being laid out, one on its way. */
const ROWS_IN_FLIGHT = 2;

/**
 * [Note: build on the search worker] Laying out 1M × 512 rows in blocks and quantising them held the
 * calling thread (the job thread of the app and the server) for seconds. Instead this thread only
 * reads rows and moves them to the search worker a chunk (8,192 rows, 16 MB) at a time; the worker
 * lays each out as it comes and keeps each dimension's maximum, then quantises the int8 copy from its
 * blocked copy once the session is open. A chunk that `buildFromRows`' reader hands out is moved
 * (transferred, so the reader must not keep it) when it is a whole buffer; a view into a larger
 * buffer, or a chunk of `build`'s matrix (the caller keeps it), is copied first and the copy moved.
 * Two chunks are in flight at most, so the reader and the worker overlap and the chunks do not pile
 * up in memory.
 * The blocked copy and the int8 codes are the same values as when both were made here (the layout
 * is a copy; the maxima do not depend on the order rows come in), so the index answers the same.
 * Returns the worker's layout time.
 */
async function postRows(
  worker: Remote<SearchWorkerTasks>,
  layout: BlockLayout,
  dim: number,
  int8: boolean,
  read: (first: number, count: number) => Float32Array,
  movable: boolean,
  stages: BuildStages,
): Promise<number> {
  await worker.stageBegin(layout, dim, int8);
  const inFlight: Promise<void>[] = [];
  try {
    for (let f = 0; f < layout.n; f += READ_CHUNK_ROWS) {
      const count = Math.min(READ_CHUNK_ROWS, layout.n - f);
      const t = performance.now();
      const src = read(f, count);
      const rows = movable ? ownBuffer(src) : src.slice();
      stages.readRowsMs += performance.now() - t;
      const posted = worker.stageRows(f, transfer(rows, [rows.buffer as ArrayBuffer]));
      // Handled at once (it is awaited below): a chunk failing while an earlier one is awaited is
      // not an unhandled rejection.
      posted.catch(() => {});
      inFlight.push(posted);
      if (inFlight.length >= ROWS_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } catch (e) {
    await Promise.allSettled(inFlight);
    throw e;
  }
  return (await worker.stageEnd('gallery_blocks')).layoutMs;
}

/** `rows` if it is a whole buffer of its own (it can be moved), else a copy that is. */
function ownBuffer(rows: Float32Array): Float32Array {
  const whole =
    rows.byteOffset === 0 &&
    rows.byteLength === rows.buffer.byteLength &&
    !(typeof SharedArrayBuffer !== 'undefined' && rows.buffer instanceof SharedArrayBuffer);
  return whole ? rows : rows.slice();
}

/** A row-major matrix as chunks of 8,192 rows (views, no copy). */
function rowMajorChunks(m: Float32Array, n: number, dim: number): ChunkSource {
  return (visit) => {
    for (let f = 0; f < n; f += READ_CHUNK_ROWS) {
      const count = Math.min(READ_CHUNK_ROWS, n - f);
      visit(f, count, m.subarray(f * dim, (f + count) * dim));
    }
  };
}

// ---- helpers (exported for tests and the benchmark) ----------------------------------------------

function checkUnitRows(ids: readonly string[], v: Float32Array, dim: number, firstRow = 0): void {
  for (let i = 0; i < ids.length; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += v[o + j]! * v[o + j]!;
    const norm = Math.sqrt(s);
    if (!(Math.abs(norm - 1) <= NORM_TOLERANCE)) {
      throw new VectorIndexError(
        `row ${firstRow + i} (${ids[i]}) has L2 norm ${norm.toPrecision(6)}; the index needs L2-normalised rows (norm 1 ± ${NORM_TOLERANCE})`,
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
