/**
 * `npm run bench -- search [--sizes 10000,100000,1000000] [--k 10] [--queries N] [--batch 100] [--ann-sizes N,…] [--no-ann]
 * [--ann-ef 32,64,128] [--ann-cache DIR] [--batches N] [--threads N] [--thread worker|main] [--js] [--no-reference]`: exact cosine top-k
 * over N synthetic unit vectors (512-d) with VectorIndex — per-query latency (one query per call,
 * p50/p95) and batched throughput (queries/s in calls of `--batch` queries). Target (PERFORMANCE.md):
 * N = 100k within 10 ms per query (p50) and ≥ 1,000 queries/s in batches of 100; N = 1M within
 * 100 ms per query — PyTorch parity or better.
 *
 * The reference is PyTorch (`mv` + `topk` for one query, `mm` + `topk` for batches;
 * bench/reference/search_pytorch.py) measured side by side when `import torch` works; otherwise
 * PERFORMANCE.md's PyTorch row, for context only (another day, another load: the machine is shared).
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
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AnnIndex, recallAt } from '../src-main/retrieval/ann-index.ts';
import { VectorIndex, type VectorIndexOptions } from '../src-main/retrieval/vector-index.ts';
import { emit } from './machine.ts';
import { runReference } from './pytorch-reference.ts';

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

interface Figures {
  p50: number;
  p95: number;
  batchQps: number;
  buildMs: number;
  /** One JS thread touching every cache line of the gallery once: the memory-bandwidth floor of one query. */
  streamMs: number;
}

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

async function measure(
  n: number,
  k: number,
  queries: number,
  batch: number,
  batches: number,
  opts: VectorIndexOptions,
): Promise<Figures & { index: { backend: string; threads: number; thread: string } }> {
  const ids = Array.from({ length: n }, (_, i) => `v${i}`);
  let gallery: Float32Array | null = syntheticUnitRows(n, DIM, 12345 + n);
  const streamMs = streamTime(gallery);
  const t0 = performance.now();
  const index = await VectorIndex.build(ids, gallery, DIM, opts);
  const buildMs = performance.now() - t0;
  // The ORT path keeps its own transposed copy; let the original go (as a service would).
  if (index.backend === 'onnxruntime') gallery = null;
  try {
    const q = syntheticUnitRows(Math.max(queries, batch), DIM, 777);
    await index.search(q.subarray(0, DIM), k); // warm-up: first-run allocations
    const single: number[] = [];
    for (let i = 0; i < queries; i++) {
      const s = performance.now();
      await index.search(q.subarray(i * DIM, (i + 1) * DIM), k);
      single.push(performance.now() - s);
    }
    const qb = q.subarray(0, batch * DIM);
    await index.search(qb, k);
    const perBatch: number[] = [];
    for (let b = 0; b < batches; b++) {
      const s = performance.now();
      await index.search(qb, k);
      perBatch.push(performance.now() - s);
    }
    return {
      p50: percentile(single, 0.5),
      p95: percentile(single, 0.95),
      batchQps: (batch * 1000) / percentile(perBatch, 0.5),
      buildMs,
      streamMs,
      index: { backend: index.backend, threads: index.threads, thread: index.thread },
    };
  } finally {
    await index.close();
  }
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

  let reference: Map<number, { single: number; batchQps: number; torch: string; threads: number }> | string =
    'skipped (--no-reference)';
  if (!args.includes('--no-reference')) {
    const run = runReference('search_pytorch.py', [
      '--sizes',
      sizes.join(','),
      '--k',
      String(k),
      '--batch',
      String(batch),
    ]);
    if ('error' in run) reference = run.error;
    else {
      reference = new Map();
      for (const l of run.lines) {
        reference.set(l.n as number, {
          single: l.msPerQuery as number,
          batchQps: l.batchQps as number,
          torch: l.torch as string,
          threads: l.threads as number,
        });
        emit({ bench: 'search', engine: 'pytorch-reference', python: run.python, ...l });
      }
    }
  }

  // Measured once, before the indexes exist, so that only the readers use memory meanwhile.
  const bandwidth = await memoryBandwidth();
  emit({
    bench: 'search',
    engine: 'memory bandwidth',
    threads: availableParallelism(),
    GBps: round(bandwidth / 1e9),
  });

  for (const n of sizes) {
    // Enough repetitions for a stable median without spending minutes at 1M.
    const queries = queriesArg ? Number(queriesArg) : n >= 1_000_000 ? 15 : n >= 100_000 ? 60 : 200;
    const batches = batchesArg ? Number(batchesArg) : n >= 1_000_000 ? 2 : n >= 100_000 ? 7 : 20;
    const engines: VectorIndexOptions[] = [
      { backend: 'onnxruntime', thread, ...(threads ? { threads: Number(threads) } : {}) },
    ];
    if (args.includes('--js')) engines.push({ backend: 'js' });
    for (const opts of engines) {
      const f = await measure(n, k!, queries, batch!, batches, opts);
      const ref = typeof reference === 'string' ? undefined : reference.get(n);
      const refSingle = ref?.single ?? PERFORMANCE_MD_PYTORCH.single[n];
      const refQps = ref?.batchQps ?? PERFORMANCE_MD_PYTORCH.batch100qps[n];
      emit({
        bench: 'search',
        engine: f.index.backend === 'onnxruntime' ? 'onnxruntime MatMul+TopK' : 'plain JS',
        thread: f.index.thread,
        threads: f.index.threads,
        n,
        dim: DIM,
        k,
        msPerQueryP50: round(f.p50),
        msPerQueryP95: round(f.p95),
        singleQueries: queries,
        batch,
        batchQueriesPerSecond: Math.round(f.batchQps),
        batches,
        buildMs: Math.round(f.buildMs),
        galleryMB: Math.round((n * DIM * 4) / 2 ** 20),
        oneThreadStreamMs: round(f.streamMs),
        // One query reads the whole float32 gallery once: its bytes/s against the all-core bandwidth.
        streamedGBpsP50: round((n * DIM * 4) / (f.p50 / 1000) / 1e9),
        memoryBandwidthGBps: round(bandwidth / 1e9),
        shareOfBandwidthP50: round((n * DIM * 4) / (f.p50 / 1000) / bandwidth),
        reference: ref
          ? `PyTorch ${ref.torch}, ${ref.threads} threads, side by side`
          : `PERFORMANCE.md PyTorch row (not side by side: ${typeof reference === 'string' ? reference : 'no figure'})`,
        ...(refSingle !== undefined
          ? { pytorchMsPerQuery: refSingle, latencyVsPytorch: round(f.p50 / refSingle) }
          : {}),
        ...(refQps !== undefined && batch === 100
          ? { pytorchBatchQps: refQps, throughputVsPytorch: round(f.batchQps / refQps) }
          : {}),
        ...(TARGET.single[n] !== undefined
          ? { targetMsPerQuery: TARGET.single[n], meetsLatencyTarget: f.p50 <= TARGET.single[n]! }
          : {}),
        ...(TARGET.batch100qps[n] !== undefined && batch === 100
          ? {
              targetBatchQps: TARGET.batch100qps[n],
              meetsThroughputTarget: f.batchQps >= TARGET.batch100qps[n]!,
            }
          : {}),
      });
    }
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
