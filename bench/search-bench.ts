/**
 * `npm run bench -- search [--sizes 10000,100000,1000000] [--k 10] [--queries N] [--batch 100] [--ann-sizes N,…] [--no-ann]
 * [--ann-ef 32,64,128] [--ann-cache DIR] [--batches N] [--rounds 3] [--scan both|int8|float32] [--threads N]
 * [--thread worker|main] [--js] [--no-reference] [--build-rounds N] [--build-only]`: exact cosine top-k
 * over N synthetic unit vectors (512-d) with VectorIndex — per-query latency (one query per call,
 * p50/p95) and batched throughput (queries/s in calls of `--batch` queries). Target (PERFORMANCE.md):
 * N = 100k within 10 ms per query (p50) and ≥ 1,000 queries/s in batches of 100; N = 1M within
 * 100 ms per query — PyTorch parity or better.
 *
 * The reference is PyTorch (`mv` + `topk` for one query, `mm` + `topk` for batches;
 * bench/reference/search_pytorch.py) measured side by side when `import torch` works; otherwise
 * PERFORMANCE.md's PyTorch row, for context only (another day, another load: the machine is shared).
 * Side by side means alternating: PyTorch runs as one long-lived process (`--serve`) holding its
 * gallery, and per size `--rounds` rounds run PyTorch, then each of our indexes, each round a share
 * of the queries and batches; the figures are medians over all rounds' samples, so both sides see
 * the same load. Our indexes per size (`--scan`, default both): 'int8', what the product runs for
 * single queries from 16,384 rows up (the int8 scan plus exact re-score, on the search worker with
 * the default `--thread worker`), 'int8 calling thread' (the same engine without the message hops),
 * and 'float32', ONNX Runtime's MatMul alone (the product's scan before the int8 one). Bytes/s streamed are of the copy a single
 * query scans (int8 codes, or float32), against the memory bandwidth measured on every core.
 *
 * The index's build is measured first, per size, as the product builds it (`buildFromRows` from a
 * reader that hands out fresh copies of 8,192-row chunks, as the vector store does; backend and scan
 * 'auto'), `--build-rounds` times (default 1): its wall time, its stages (the index's `buildStages`:
 * reading rows, laying them out, quantising, opening the session, on whichever thread did each), and
 * how long the CALLING thread was held meanwhile, from a 1 ms interval timer's ticks: the longest gap
 * between two ticks, and the total of the gaps over 10 ms. `--build-only` stops there.
 *
 * Vectors: uniform in [-1, 1)^512 then L2-normalised (a fast xorshift, since 512M Gaussian draws
 * would take longer than the benchmark). The cost of an exact search does not depend on the
 * distribution; only the selection inside TopK could, and it is a small part.
 *
 * The approximate index (HNSW, retrieval/ann-index.ts) is measured beside it (`--ann-sizes`, default
 * 1,000,000; `--no-ann` skips it) on two vector sets, because a graph index depends on the
 * distribution: "clustered" vectors shaped like real image embeddings (attribute-driven, like the
 * demo generator's: a sum of one value vector per attribute field plus noise in a 16-d subspace and a
 * little everywhere, so a low intrinsic dimension) and the uniform ones above, where no graph index
 * does well. For each: build time, p50 per single query, and recall@10 against the exact index on
 * the same queries (gallery rows with noise), at each search candidate list `--ann-ef` (default 32, 64,
 * 128; the product's default is 128). `--ann-cache DIR` keeps the graphs (keyed by the vectors'
 * fingerprint) so a rerun loads instead of building. Target: 1M, p50 ≤ 2 ms at recall@10 ≥ 0.95 (clustered).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { AnnIndex, recallAt } from '../src-main/retrieval/ann-index.ts';
import { VectorIndex, type VectorIndexOptions } from '../src-main/retrieval/vector-index.ts';
import { heldWhile } from '../test/helpers/event-loop-hold.ts';
import { emit } from './machine.ts';
import { findReferenceScript, findTorchPython, NO_TORCH } from './pytorch-reference.ts';

const DIM = 512;
/** PERFORMANCE.md, "Exact cosine top-10", PyTorch mm + topk (ms per single query; q/s batched). */
const PERFORMANCE_MD_PYTORCH = {
  single: { 10000: 0.6, 100000: 9.9, 1000000: 100 } as Record<number, number>,
  batch100qps: { 100000: 1217 } as Record<number, number>,
};
/** PERFORMANCE.md's targets. */
const TARGET = {
  single: { 100000: 10, 1000000: 100 } as Record<number, number>,
  batch100qps: { 100000: 1000 } as Record<number, number>,
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function wholeNumbers(args: string[], name: string, fallback: number[]): number[] {
  const raw = option(args, name);
  if (raw === undefined) return fallback;
  const out = raw.split(',').map(Number);
  if (out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`${name} expects whole numbers ≥ 1 separated by commas, got ${raw}`);
  }
  return out;
}

/** Rows uniform in [-1, 1)^dim, each L2-normalised (see the header comment). */
export function syntheticUnitRows(rows: number, dim: number, seed: number): Float32Array {
  const out = new Float32Array(rows * dim);
  let x = seed >>> 0 || 1;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const v = (x >>> 0) / 2147483648 - 1;
      out[o + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[o + j]! *= inv;
  }
  return out;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

const round = (x: number, d = 2) => +x.toFixed(d);

/**
 * Milliseconds for one thread to read the matrix once (one float per 64-byte line; median of 3).
 * A single query must read the whole gallery, so this says how far from the memory floor it is.
 */
function streamTime(m: Float32Array): number {
  const t: number[] = [];
  let acc = 0;
  for (let r = 0; r < 3; r++) {
    const s = performance.now();
    for (let i = 0; i < m.length; i += 16) acc += m[i]!;
    t.push(performance.now() - s);
  }
  if (Number.isNaN(acc)) throw new Error('unreachable: keeps the loop from being optimised away');
  return percentile(t, 0.5);
}

/**
 * Reader threads for `memoryBandwidth`: each reads its own slice of a shared buffer, one float per
 * 64-byte line (the line is fetched whole, so every byte crosses the memory bus), on each 'go'.
 */
const BANDWIDTH_READER = `
const { parentPort, workerData } = require('node:worker_threads');
const m = new Float32Array(workerData.sab, workerData.offset, workerData.length);
parentPort.on('message', () => {
  let acc = 0;
  for (let i = 0; i < m.length; i += 16) acc += m[i];
  parentPort.postMessage(acc);
});`;

/**
 * The machine's read bandwidth with every core streaming at once (bytes/s; median of 5 passes after
 * a warm-up): one reader thread per core over disjoint slices of a 512 MB buffer, far larger than
 * the caches. A single query reads the whole gallery once, so its bytes/s against this figure says
 * how close it is to the memory floor. Written once first: untouched pages would all map the one
 * zero page and be read from cache.
 */
async function memoryBandwidth(bytes = 512 * 2 ** 20): Promise<number> {
  const cores = availableParallelism();
  const floats = Math.floor(bytes / 4 / cores / 16) * 16;
  const sab = new SharedArrayBuffer(floats * cores * 4);
  new Float32Array(sab).fill(1);
  const workers = Array.from(
    { length: cores },
    (_, c) =>
      new Worker(BANDWIDTH_READER, {
        eval: true,
        workerData: { sab, offset: c * floats * 4, length: floats },
      }),
  );
  const pass = async () => {
    const s = performance.now();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('message', () => resolve());
            w.postMessage('go');
          }),
      ),
    );
    return performance.now() - s;
  };
  try {
    await pass();
    const t: number[] = [];
    for (let r = 0; r < 5; r++) t.push(await pass());
    return (floats * cores * 4) / (percentile(t, 0.5) / 1000);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One of our indexes in the side-by-side rounds. */
interface Engine {
  label: string;
  index: VectorIndex;
  single: number[];
  batch: number[];
  buildMs: number;
}

async function timeSingle(index: VectorIndex, q: Float32Array, count: number, offset: number, k: number) {
  const out: number[] = [];
  const nq = q.length / DIM;
  for (let i = 0; i < count; i++) {
    const r = (offset + i) % nq;
    const s = performance.now();
    await index.search(q.subarray(r * DIM, (r + 1) * DIM), k);
    out.push(performance.now() - s);
  }
  return out;
}

async function timeBatches(index: VectorIndex, qb: Float32Array, count: number, k: number) {
  const out: number[] = [];
  for (let b = 0; b < count; b++) {
    const s = performance.now();
    await index.search(qb, k);
    out.push(performance.now() - s);
  }
  return out;
}

/** One round's answer from search_pytorch.py --serve. */
interface TorchRound {
  singleMs: number[];
  batchMs: number[];
  threads: number;
  torch: string;
}

/**
 * The PyTorch reference as one long-lived process (search_pytorch.py --serve) that answers rounds,
 * so its rounds alternate with ours (A, B, A, B…) under the same machine load.
 */
class TorchRounds {
  private waiting: ((line: string) => void)[] = [];
  private failed: string | null = null;
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => {
      if (l.startsWith('{')) this.waiting.shift()?.(l);
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-300);
    });
    child.on('exit', (code) => {
      this.failed = `search_pytorch.py exited (${code}): ${err.trim()}`;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  /** The running reference, or why it cannot run. */
  static start(): TorchRounds | string {
    const script = findReferenceScript('search_pytorch.py');
    if (!script) return 'bench/reference/search_pytorch.py not found next to the bench';
    const python = findTorchPython();
    if (!python) return NO_TORCH;
    const child = spawn(python, [script, '--serve'], {
      env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
    });
    return new TorchRounds(child);
  }

  async round(req: {
    n: number;
    k: number;
    batch: number;
    single: number;
    batches: number;
  }): Promise<TorchRound> {
    if (this.failed) throw new Error(this.failed);
    const line = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    });
    if (!line) throw new Error(this.failed ?? 'search_pytorch.py gave no answer');
    return JSON.parse(line) as TorchRound;
  }

  close(): void {
    this.child.stdin.end();
  }
}

const median = (xs: number[]) => percentile(xs, 0.5);

/** The product's build of an index over `gallery` (see the header), timed and watched. */
async function measureBuild(ids: string[], gallery: Float32Array, n: number, opts: VectorIndexOptions) {
  let readMs = 0;
  const readRows = (start: number, count: number) => {
    const t = performance.now();
    const rows = gallery.slice(start * DIM, (start + count) * DIM);
    readMs += performance.now() - t;
    return rows;
  };
  const t0 = performance.now();
  const watched = await heldWhile(() => VectorIndex.buildFromRows(ids, DIM, readRows, opts));
  const wallMs = performance.now() - t0;
  const index = watched.value;
  // A first query after the build: what "ready" means for a caller.
  const q = syntheticUnitRows(1, DIM, 4242);
  const t1 = performance.now();
  await index.search(q, 10);
  const firstQueryMs = performance.now() - t1;
  const stages = (index as { buildStages?: Record<string, number> }).buildStages;
  const out = {
    n,
    backend: index.backend,
    scan: index.scan,
    thread: index.thread,
    buildMs: wallMs,
    readerMs: readMs,
    ...(stages ?? {}),
    callingThreadLongestHoldMs: watched.longestMs,
    callingThreadHeldMs: watched.heldMs,
    timerTicks: watched.ticks,
    firstQueryMs,
  };
  await index.close();
  return out;
}

export async function searchBench(args: string[]): Promise<void> {
  const sizes = wholeNumbers(args, '--sizes', [10_000, 100_000, 1_000_000]);
  const [k] = wholeNumbers(args, '--k', [10]);
  const [batch] = wholeNumbers(args, '--batch', [100]);
  const threads = option(args, '--threads');
  const thread = (option(args, '--thread') ?? 'worker') as 'worker' | 'main';
  if (thread !== 'worker' && thread !== 'main') throw new Error('--thread expects worker or main');
  const queriesArg = option(args, '--queries');
  const batchesArg = option(args, '--batches');
  const roundsArg = option(args, '--rounds');

  const scanArg = option(args, '--scan') ?? 'both';
  if (!['int8', 'float32', 'both'].includes(scanArg)) throw new Error('--scan expects int8, float32 or both');
  const buildOnly = args.includes('--build-only');
  const torch: TorchRounds | string =
    args.includes('--no-reference') || buildOnly ? 'skipped (--no-reference)' : TorchRounds.start();

  // Measured once, before the indexes exist, so that only the readers use memory meanwhile.
  const bandwidth = await memoryBandwidth();
  emit({
    bench: 'search',
    engine: 'memory bandwidth',
    threads: availableParallelism(),
    GBps: round(bandwidth / 1e9),
  });

  try {
    for (const n of sizes) {
      // Enough repetitions for a stable median without spending minutes at 1M.
      const queries = queriesArg ? Number(queriesArg) : n >= 1_000_000 ? 15 : n >= 100_000 ? 60 : 200;
      const batches = batchesArg ? Number(batchesArg) : n >= 1_000_000 ? 2 : n >= 100_000 ? 7 : 20;
      const rounds = roundsArg ? Number(roundsArg) : 3;
      const perRound = Math.max(1, Math.ceil(queries / rounds));
      const batchesPerRound = Math.max(1, Math.ceil(batches / rounds));
      const common: VectorIndexOptions = {
        backend: 'onnxruntime',
        thread,
        ...(threads ? { threads: Number(threads) } : {}),
      };
      const variants: [string, VectorIndexOptions][] = [];
      // 'int8' is the int8 scan and its exact re-score on the chosen thread: on the search worker
      // (the default) that is the product's path, message hops and all. 'int8 calling thread' is the
      // same engine without the hops, beside it. 'float32' is ORT's float32 MatMul on the chosen thread.
      if (scanArg !== 'float32') variants.push(['int8', { ...common, scan: 'int8' }]);
      if (scanArg !== 'float32' && thread === 'worker')
        variants.push(['int8 calling thread', { ...common, thread: 'main', scan: 'int8' }]);
      if (scanArg !== 'int8') variants.push(['float32', { ...common, scan: 'float32' }]);
      if (args.includes('--js')) variants.push(['js', { backend: 'js' }]);
      const ids = Array.from({ length: n }, (_, i) => `v${i}`);
      const gallery = syntheticUnitRows(n, DIM, 12345 + n);
      const buildRounds = Number(option(args, '--build-rounds') ?? 1);
      const builds = [];
      for (let r = 0; r < buildRounds; r++)
        builds.push(
          await measureBuild(ids, gallery, n, { thread, ...(threads ? { threads: Number(threads) } : {}) }),
        );
      for (const b of builds)
        emit({
          bench: 'search',
          engine: 'index build (buildFromRows, backend and scan auto)',
          ...Object.fromEntries(
            Object.entries(b).map(([key, v]) => [key, typeof v === 'number' ? round(v) : v]),
          ),
          loadAverage: loadavg().map((x) => round(x, 1)),
        });
      if (buildOnly) continue;
      const streamMs = streamTime(gallery);
      const engines: Engine[] = [];
      for (const [label, opts] of variants) {
        const t0 = performance.now();
        const index = await VectorIndex.build(ids, gallery, DIM, opts);
        engines.push({ label, index, single: [], batch: [], buildMs: performance.now() - t0 });
      }
      const q = syntheticUnitRows(Math.max(perRound * rounds, batch!), DIM, 777);
      const qb = q.subarray(0, batch! * DIM);
      const torchSingle: number[] = [];
      const torchBatch: number[] = [];
      let torchInfo: { threads: number; torch: string } | null = null;
      let torchError = typeof torch === 'string' ? torch : null;
      try {
        for (const e of engines) {
          await e.index.search(q.subarray(0, DIM), k!); // warm-up: first-run allocations
          await e.index.search(qb, k!);
        }
        // Rounds: PyTorch, then each of ours, repeated; medians over all rounds' samples.
        for (let r = 0; r < rounds; r++) {
          if (typeof torch !== 'string' && !torchError) {
            try {
              const t = await torch.round({
                n,
                k: k!,
                batch: batch!,
                single: perRound,
                batches: batchesPerRound,
              });
              torchSingle.push(...t.singleMs);
              torchBatch.push(...t.batchMs);
              torchInfo = { threads: t.threads, torch: t.torch };
            } catch (err) {
              torchError = err instanceof Error ? err.message : String(err);
            }
          }
          for (const e of engines) {
            e.single.push(...(await timeSingle(e.index, q, perRound, r * perRound, k!)));
            e.batch.push(...(await timeBatches(e.index, qb, batchesPerRound, k!)));
          }
        }
        const load = loadavg().map((x) => round(x, 1));
        const torchP50 = torchSingle.length ? median(torchSingle) : undefined;
        const torchQps = torchBatch.length ? (batch! * 1000) / median(torchBatch) : undefined;
        for (const e of engines) {
          const p50 = median(e.single);
          const qps = (batch! * 1000) / median(e.batch);
          const int8 = e.index.scan === 'int8';
          // One query reads the whole scanned copy once: int8 codes (1 byte a value) or float32.
          const bytes = n * DIM * (int8 ? 1 : 4);
          const refSingle = torchP50 ?? PERFORMANCE_MD_PYTORCH.single[n];
          const refQps = torchQps ?? PERFORMANCE_MD_PYTORCH.batch100qps[n];
          const stats = e.index.int8Stats;
          emit({
            bench: 'search',
            engine:
              e.index.backend === 'js'
                ? 'plain JS'
                : int8
                  ? 'int8 scan (usearch) + exact float32 re-score; batches: onnxruntime MatMul+TopK'
                  : 'onnxruntime MatMul+TopK (float32)',
            scanOption: e.label,
            scan: e.index.scan,
            thread: e.index.thread,
            threads: e.index.threads,
            n,
            dim: DIM,
            k,
            msPerQueryP50: round(p50),
            msPerQueryP95: round(percentile(e.single, 0.95)),
            singleQueries: e.single.length,
            batch,
            batchQueriesPerSecond: Math.round(qps),
            batches: e.batch.length,
            rounds,
            loadAverage: load,
            buildMs: Math.round(e.buildMs),
            galleryMB: Math.round((n * DIM * 4) / 2 ** 20),
            ...(int8 ? { int8CopyMB: Math.round((n * DIM) / 2 ** 20) } : {}),
            ...(stats
              ? {
                  int8RescoredPerQuery: round(stats.rescored / Math.max(1, stats.queries), 1),
                  int8Retries: stats.retries,
                  int8Fallbacks: stats.fallbacks,
                }
              : {}),
            oneThreadStreamMs: round(streamMs),
            // One query reads the scanned copy once: its bytes/s against the all-core bandwidth.
            streamedGBpsP50: round(bytes / (p50 / 1000) / 1e9),
            memoryBandwidthGBps: round(bandwidth / 1e9),
            shareOfBandwidthP50: round(bytes / (p50 / 1000) / bandwidth),
            reference:
              torchP50 !== undefined && torchInfo
                ? `PyTorch ${torchInfo.torch}, ${torchInfo.threads} threads, alternating rounds (${torchSingle.length} single queries, ${torchBatch.length} batches)`
                : `PERFORMANCE.md PyTorch row (not side by side: ${torchError ?? 'no figure'})`,
            ...(refSingle !== undefined
              ? { pytorchMsPerQuery: round(refSingle), latencyVsPytorch: round(p50 / refSingle) }
              : {}),
            ...(refQps !== undefined && batch === 100
              ? { pytorchBatchQps: Math.round(refQps), throughputVsPytorch: round(qps / refQps) }
              : {}),
            ...(TARGET.single[n] !== undefined
              ? { targetMsPerQuery: TARGET.single[n], meetsLatencyTarget: p50 <= TARGET.single[n]! }
              : {}),
            ...(TARGET.batch100qps[n] !== undefined && batch === 100
              ? {
                  targetBatchQps: TARGET.batch100qps[n],
                  meetsThroughputTarget: qps >= TARGET.batch100qps[n]!,
                }
              : {}),
          });
        }
      } finally {
        for (const e of engines) await e.index.close();
      }
    }
  } finally {
    if (typeof torch !== 'string') torch.close();
  }
  if (!args.includes('--no-ann')) {
    for (const n of wholeNumbers(args, '--ann-sizes', [1_000_000])) {
      for (const set of ['clustered', 'uniform'] as const)
        await annBench(n, set, 200, {
          efs: wholeNumbers(args, '--ann-ef', [32, 64, 128]),
          cacheDir: option(args, '--ann-cache'),
        });
    }
  }
}

/** Attribute-driven unit rows (see the header comment): low intrinsic dimension, clustered. */
export function clusteredUnitRows(rows: number, dim: number, seed: number): Float32Array {
  let x = seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const fields = [24, 30, 16, 20, 12];
  const values = fields.map((n) =>
    Array.from({ length: n }, () => Float32Array.from({ length: dim }, gauss)),
  );
  const L = 16;
  const basis = Array.from({ length: L }, () => Float32Array.from({ length: dim }, gauss));
  const out = new Float32Array(rows * dim);
  const z = new Float32Array(L);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    for (const vs of values) {
      const v = vs[Math.floor(rand() * vs.length)]!;
      for (let j = 0; j < dim; j++) out[o + j]! += v[j]!;
    }
    for (let l = 0; l < L; l++) z[l] = 1.2 * gauss();
    for (let l = 0; l < L; l++) {
      const b = basis[l]!;
      const zl = z[l]!;
      for (let j = 0; j < dim; j++) out[o + j]! += zl * b[j]!;
    }
    let s = 0;
    for (let j = 0; j < dim; j++) {
      out[o + j]! += 0.3 * (rand() * 2 - 1);
      s += out[o + j]! * out[o + j]!;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[o + j]! *= inv;
  }
  return out;
}

/**
 * ANN beside exact on one vector set: build time, p50 per single query, recall@10 vs exact, for each
 * search candidate list `efs` (the graph is built once; `cacheDir` keeps it on disk between runs, so a
 * 1M graph built once on a busy machine can be timed again on a quiet one).
 */
export async function annBench(
  n: number,
  set: 'clustered' | 'uniform',
  queries: number,
  opts: { efs?: number[]; cacheDir?: string } = {},
): Promise<void> {
  const vectors = set === 'clustered' ? clusteredUnitRows(n, DIM, 7) : syntheticUnitRows(n, DIM, 7);
  const ids = Array.from({ length: n }, (_, i) => String(i));
  // Queries: gallery rows with noise (the same recipe the build-time recall check uses).
  const { sampleQueries } = await import('../src-main/retrieval/ann-index.ts');
  const q = sampleQueries(vectors, n, DIM, queries, 3);
  const exact = await VectorIndex.build(ids, vectors, DIM);
  const truth = await exact.search(q, 10);
  await exact.close();
  for (const ef of opts.efs ?? [128]) {
    const t0 = performance.now();
    const ann = await AnnIndex.build(ids, vectors, DIM, {
      recallQueries: 0,
      expansionSearch: ef,
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir, model: `bench-${set}` } : {}),
    });
    const buildMs = performance.now() - t0;
    // A few warm-up queries (page in the graph), then the timed ones.
    for (let i = 0; i < Math.min(20, queries); i++) await ann.search(q.subarray(i * DIM, (i + 1) * DIM), 10);
    const times: number[] = [];
    const approx = [];
    for (let i = 0; i < queries; i++) {
      const one = q.subarray(i * DIM, (i + 1) * DIM);
      const t = performance.now();
      const [hits] = await ann.search(one, 10);
      times.push(performance.now() - t);
      approx.push(hits!);
    }
    const recall = recallAt(approx, truth);
    const p50 = percentile(times, 0.5);
    emit({
      bench: 'search',
      engine: `ann: ${ann.figures.library} HNSW`,
      vectors: set,
      n,
      dim: DIM,
      k: 10,
      connectivity: ann.figures.connectivity,
      expansionAdd: ann.figures.expansionAdd,
      expansionSearch: ef,
      ...(ann.fromCache
        ? { loadMs: Math.round(buildMs), graphBuiltMs: ann.figures.buildMs, graphFromCache: true }
        : { buildMs: Math.round(buildMs) }),
      msPerQueryP50: round(p50),
      msPerQueryP95: round(percentile(times, 0.95)),
      queries,
      recallAt10: round(recall),
      ...(set === 'clustered' && n >= 1_000_000
        ? { target: 'p50 ≤ 2 ms at recall@10 ≥ 0.95', meetsTarget: p50 <= 2 && recall >= 0.95 }
        : {}),
    });
    await ann.close();
  }
}
