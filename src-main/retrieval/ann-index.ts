/**
 * An approximate (HNSW) cosine index, an OPTION beside the exact index (vector-index.ts) for big
 * galleries: `--index ann` in search, recommend and serve. Never used by evaluation: a metric from an
 * approximate index would not be honest.
 *
 * [Note: Which HNSW library]
 * usearch (npm `usearch`, Unum) over hnswlib-node, by measurement here (50k × 512 clustered vectors,
 * M = 16, build candidate list 128, 200 queries, the shared 2-core machine under load):
 *   usearch      build 113–121 s (both cores), p50 0.30 / 0.41 ms at ef 64 / 128, recall@10 0.997 / 0.999
 *   hnswlib-node build 283–335 s (one core),   p50 0.23 / 0.34 ms at ef 64 / 128, recall@10 0.998 / 0.9995
 * Search is alike; usearch builds ~2.5× faster (a whole Float32Array batch on every core, where
 * hnswlib-node adds one JS array per call), ships prebuilt binaries (hnswlib-node's install runs
 * `node-gyp rebuild`, which also downloads Node's headers — not possible here without --nodedir),
 * and saves/loads its graph as one file, which the cache below needs.
 *
 * [Note: search candidate list] 64 by default: at 1M × 512 clustered vectors (the search bench,
 * quiet machine, 200 queries) ef 32 / 64 / 128 gave p50 0.66 / 1.15 / 2.03 ms at recall@10 0.95 /
 * 0.97 / 0.99; 64 is the smallest that keeps recall clearly above 0.95 within 2 ms. The recall of
 * the graph actually serving is measured at build and shown with every answer either way.
 *
 * [Note: Recall shown with every answer]
 * Every build measures recall@10 against the exact index on a seeded sample of queries (gallery rows
 * with a little noise, so that the query itself is not trivially rank 1), and the figure travels with
 * the index: `recallAt10` is shown wherever an answer it served is shown. A cached graph carries the
 * figure measured when it was built, with the fingerprint of the vectors it was built on.
 *
 * [Note: ANN cache]
 * The graph is cached on disk per (model, vector set): `<dir>/<model-slug>-<fingerprint>.usearch`
 * plus a `.json` with the figures. The fingerprint is a SHA-256 over the ids and the vector bytes, so
 * any change of vectors gives another file and the graph is rebuilt; an unchanged set loads it (much
 * faster than a build). Both files are written to temporary names and renamed, the graph first, so a
 * visible `.json` always describes a complete graph.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { tempPathFor, writeFileAtomic } from '../store/atomic-file.ts';
import type { SearchHit } from './vector-index.ts';

/** See [Note: search candidate list]. */
export const DEFAULT_EXPANSION_SEARCH = 64;
export class AnnIndexError extends Error {
  override name = 'AnnIndexError';
}

export interface AnnOptions {
  /** HNSW graph degree M (default 16). */
  connectivity?: number;
  /** Candidate list while building (default 128). */
  expansionAdd?: number;
  /** Candidate list while searching (default 64, see [Note: search candidate list]); more = better recall, slower. */
  expansionSearch?: number;
  /** Queries the recall is measured on at build (default 200; 0 skips it, for benchmarks that measure it themselves). */
  recallQueries?: number;
  /** Folder of the on-disk cache (see [Note: ANN cache]); none = no cache. */
  cacheDir?: string;
  /** Model name, for the cache file's name. */
  model?: string;
  /** Threads for the build and batched searches (default every core). */
  threads?: number;
  seed?: number;
  /** The exact top-k for the recall check (given by the caller, normally a VectorIndex). */
  exact?: (queries: Float32Array, k: number) => Promise<SearchHit[][]>;
}

export interface AnnFigures {
  kind: 'hnsw';
  library: string;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  /** recall@10 against the exact index on `recallQueries` queries (null when not measured). */
  recallAt10: number | null;
  recallQueries: number;
  buildMs: number;
  builtAt: string;
  fingerprint: string;
}

interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(
    vectors: Float32Array,
    k: number,
    threads?: number,
  ): { keys: BigUint64Array; distances: Float32Array; counts?: BigUint64Array };
  save(path: string): void;
  load(path: string): void;
  size(): number;
  changeExpansionSearch?(n: number): void;
}
interface UsearchModule {
  Index: new (opts: Record<string, unknown>) => UsearchIndex;
}

function loadUsearch(): UsearchModule {
  try {
    return createRequire(import.meta.url)('usearch') as UsearchModule;
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new AnnIndexError(`the approximate index needs the usearch package, which cannot load: ${msg}`);
  }
}

/** SHA-256 over the ids and the vector bytes (see [Note: ANN cache]). */
export function vectorFingerprint(ids: readonly string[], vectors: Float32Array, dim: number): string {
  const h = createHash('sha256');
  h.update(`${ids.length}x${dim}\n`);
  for (const id of ids) h.update(`${id}\n`);
  h.update(new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  return h.digest('hex').slice(0, 24);
}

const slug = (s: string) => s.replace(/[^\w.-]+/g, '_').slice(0, 60) || 'model';

export class AnnIndex {
  readonly size: number;
  private closed = false;

  private constructor(
    readonly ids: readonly string[],
    readonly dim: number,
    private readonly index: UsearchIndex,
    readonly figures: AnnFigures,
    /** Whether the graph came from the on-disk cache. */
    readonly fromCache: boolean,
    private readonly threads: number,
  ) {
    this.size = ids.length;
  }

  /** A one-line description for answers: what served them and how good it is. */
  get engine(): string {
    const f = this.figures;
    const recall =
      f.recallAt10 === null
        ? 'recall not measured'
        : `recall@10 ${f.recallAt10.toFixed(3)} vs exact on ${f.recallQueries} queries`;
    return `approximate: ${f.library} HNSW (M ${f.connectivity}, ef ${f.expansionSearch}), ${recall}${this.fromCache ? ' (graph from cache)' : ''}`;
  }

  get recallAt10(): number | null {
    return this.figures.recallAt10;
  }

  /** Rows of `vectors` are L2-normalised [ids.length × dim] float32 (the exact index checks that). */
  static async build(
    ids: readonly string[],
    vectors: Float32Array,
    dim: number,
    opts: AnnOptions = {},
  ): Promise<AnnIndex> {
    if (vectors.length !== ids.length * dim) {
      throw new AnnIndexError(
        `${ids.length} ids × ${dim} dims need ${ids.length * dim} floats, got ${vectors.length}`,
      );
    }
    if (ids.length === 0) throw new AnnIndexError('the approximate index needs at least one vector');
    const usearch = loadUsearch();
    const connectivity = opts.connectivity ?? 16;
    const expansionAdd = opts.expansionAdd ?? 128;
    const expansionSearch = opts.expansionSearch ?? DEFAULT_EXPANSION_SEARCH;
    const threads = opts.threads ?? availableParallelism();
    const make = () =>
      new usearch.Index({
        metric: 'ip',
        dimensions: dim,
        connectivity,
        expansion_add: expansionAdd,
        expansion_search: expansionSearch,
        quantization: 'f32',
        multi: false,
      });
    const fingerprint = vectorFingerprint(ids, vectors, dim);
    const base =
      opts.cacheDir !== undefined
        ? join(
            opts.cacheDir,
            `${slug(opts.model ?? 'vectors')}-${fingerprint}-m${connectivity}-e${expansionAdd}`,
          )
        : null;
    if (base && existsSync(`${base}.json`) && existsSync(`${base}.usearch`)) {
      try {
        const figures = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as AnnFigures;
        const index = make();
        index.load(`${base}.usearch`);
        if (index.size() === ids.length && figures.fingerprint === fingerprint) {
          return new AnnIndex(ids, dim, index, { ...figures, expansionSearch }, true, threads);
        }
      } catch {
        // A damaged cache entry is rebuilt below (and replaced).
      }
    }
    const t0 = performance.now();
    const index = make();
    const keys = new BigUint64Array(ids.length);
    for (let i = 0; i < ids.length; i++) keys[i] = BigInt(i);
    index.add(keys, vectors, threads);
    const buildMs = Math.round(performance.now() - t0);
    const figures: AnnFigures = {
      kind: 'hnsw',
      library: 'usearch',
      connectivity,
      expansionAdd,
      expansionSearch,
      recallAt10: null,
      recallQueries: 0,
      buildMs,
      builtAt: new Date().toISOString(),
      fingerprint,
    };
    const ann = new AnnIndex(ids, dim, index, figures, false, threads);
    const nq = Math.min(opts.recallQueries ?? 200, ids.length);
    if (nq > 0 && opts.exact) {
      const queries = sampleQueries(vectors, ids.length, dim, nq, opts.seed ?? 1);
      figures.recallAt10 = recallAt(await ann.search(queries, 10), await opts.exact(queries, 10));
      figures.recallQueries = nq;
    }
    if (base && opts.cacheDir !== undefined) {
      mkdirSync(opts.cacheDir, { recursive: true });
      // usearch writes its own file: saved under the product's temporary name, then renamed.
      const tmp = tempPathFor(`${base}.usearch`);
      try {
        index.save(tmp);
        renameSync(tmp, `${base}.usearch`);
        writeFileAtomic(`${base}.json`, JSON.stringify(figures, null, 2));
      } catch {
        // The cache is an optimisation: a failed write leaves no partial file and costs a rebuild.
        rmSync(tmp, { force: true });
      }
    }
    return ann;
  }

  /** Approximate cosine top-k per query row ([q × dim]); best first, like VectorIndex.search. */
  async search(queries: Float32Array, k: number): Promise<SearchHit[][]> {
    if (this.closed) throw new AnnIndexError('search on a closed approximate index');
    if (queries.length % this.dim !== 0) {
      throw new AnnIndexError(
        `queries hold ${queries.length} floats, not a multiple of the index's ${this.dim} dims`,
      );
    }
    if (!Number.isInteger(k) || k < 1) throw new AnnIndexError(`k must be a positive integer, got ${k}`);
    const q = queries.length / this.dim;
    if (q === 0) return [];
    const kk = Math.min(k, this.size);
    const unit = new Float32Array(queries.length);
    for (let o = 0, r = 0; o < queries.length; o += this.dim, r++) {
      let s = 0;
      for (let j = 0; j < this.dim; j++) s += queries[o + j]! * queries[o + j]!;
      if (!(s > 0) || !Number.isFinite(s)) {
        throw new AnnIndexError(`query ${r} has L2 norm ${Math.sqrt(s)}; it cannot be compared by cosine`);
      }
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < this.dim; j++) unit[o + j] = queries[o + j]! * inv;
    }
    const res = this.index.search(unit, kk, q > 1 ? this.threads : 1);
    const out: SearchHit[][] = [];
    for (let r = 0; r < q; r++) {
      const found = res.counts ? Number(res.counts[r]) : kk;
      const hits: SearchHit[] = [];
      for (let j = 0; j < Math.min(found, kk); j++) {
        const index = Number(res.keys[r * kk + j]);
        // usearch's 'ip' distance is 1 − dot product.
        hits.push({ index, id: this.ids[index]!, score: 1 - res.distances[r * kk + j]! });
      }
      out.push(hits);
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Share of the exact top-10 that the approximate top-10 found, over all queries. */
export function recallAt(approx: SearchHit[][], exact: SearchHit[][], k = 10): number {
  let hit = 0;
  let total = 0;
  for (let i = 0; i < exact.length; i++) {
    const truth = new Set(exact[i]!.slice(0, k).map((h) => h.index));
    total += truth.size;
    for (const h of approx[i]?.slice(0, k) ?? []) if (truth.has(h.index)) hit++;
  }
  return total === 0 ? 1 : hit / total;
}

/** Seeded gallery rows with a little Gaussian noise, renormalised (see [Note: Recall shown with every answer]). */
export function sampleQueries(
  v: Float32Array,
  n: number,
  dim: number,
  count: number,
  seed: number,
): Float32Array {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const out = new Float32Array(count * dim);
  const sigma = 0.5 / Math.sqrt(dim);
  for (let q = 0; q < count; q++) {
    const row = Math.floor(rand() * n);
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const x = v[row * dim + j]! + sigma * gauss();
      out[q * dim + j] = x;
      s += x * x;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[q * dim + j]! *= inv;
  }
  return out;
}
