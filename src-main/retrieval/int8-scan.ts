/**
 * Exact top-k for one query by an int8 scan: an int8 copy of the gallery (a quarter of its float32
 * bytes) is scanned for the best approximate scores with usearch's `exactSearch` (NumKong kernels,
 * AVX-512 VNNI int8 dot products here, on every core), and only the rows that could still be in the
 * top k are re-scored in float32 by the caller's exact scorer. The hits are the float32 ranking's,
 * bit for bit (see [Note: int8 exactness]).
 *
 * Why usearch: a single query only streams the gallery from memory, so bytes per row set its speed.
 * ONNX Runtime's int8 and float16 products are slower than its float32 one for one query (see
 * vector-index.ts, [Note: reduced-precision scan]); usearch (already the approximate index's library)
 * takes an Int8Array dataset as it is (no copy: lib.cpp hands the buffer's memory to the kernel) and
 * computes exact integer dot products. usearch's i8 "ip" distance is `1 - Σ X·Y` over the raw codes
 * (not normalised; measured: codes [1,2,…,8]·[1,0,…] gives distance -0 … `1 - 1`), and the sum of
 * 512 products of codes ≤ 127 in magnitude (≤ 8.3M) is an exact integer in float32.
 * Costs of usearch's call that we cannot avoid: it allocates a 16-byte (row, distance) pair per row
 * per call, copies them once and partial-sorts them on one thread (a few ms at 1M rows).
 *
 * [Note: int8 quantisation] One scale per DIMENSION, s_j = max_i |x_ij| / 127, and X_ij =
 * round(x_ij / s_j). A per-row scale cannot be applied inside usearch's kernel (it multiplies codes
 * only), but a per-dimension one folds into the query: x·y = Σ_j X_ij (s_j y_j) + δ_i·y with
 * δ_ij = x_ij − s_j X_ij, so the query's int8 codes quantise z_j = s_j y_j. Per dimension also keeps
 * the resolution where an embedding has a few large outlier dimensions (image encoders do), which one
 * global scale would spend on every dimension.
 *
 * [Note: int8 exactness] For query y (unit, float32) let t = max_j |z_j| / 127, Y_j = round(z_j / t),
 * ε_j = z_j − t Y_j (all known per query). The approximate score is a_i = t (X_i · Y), and
 *     x_i·y = t X_i·Y + X_i·ε + δ_i·y,   so   |x_i·y − a_i| ≤ |X_i·ε| + |δ_i·y| ≤ E, where
 *     |X_i·ε| ≤ min(R ‖ε‖₂, 127 ‖ε‖₁)        (Cauchy–Schwarz with R = max_i ‖X_i‖₂; |X_ij| ≤ 127)
 *     |δ_i·y| ≤ min(D, Σ_j m_j |y_j|)          (D = max_i ‖δ_i‖₂ since ‖y‖ = 1; m_j = s_j / 2 ≥ |δ_ij|)
 * R and D are measured once when the copy is built; E is computed per query, then widened by a
 * relative 1e-9 and an absolute 2e-7, which covers the float32 rounding of a reported score
 * (≤ 6e-8 at |score| ≤ 1) and the double rounding in computing E and a_i.
 * The scan returns the C best rows by a_i, best first. Re-scoring them in that order, with s_k the
 * k-th best exact score (then lower row) so far, we stop at the first candidate with a + E < s_k:
 * it and every row after it (or never returned: a ≤ the last returned a) has an exact score
 * < s_k, STRICTLY, so it can neither enter the top k nor tie with it (ties go to the lower row,
 * and a row scoring exactly s_k might have a lower index: hence strict). If all C were re-scored and
 * the last one's a + E still reaches s_k, the top k is not proven: C grows (×8) and the scan runs
 * again, up to `maxCandidates`; beyond that the caller answers with its float32 scan.
 * The re-scored top k is then exactly the float32 ranking's top k, with its scores.
 */
import { createRequire } from 'node:module';

/** The part of usearch this module uses. */
interface UsearchExact {
  exactSearch(
    dataset: Int8Array,
    queries: Int8Array,
    dimensions: number,
    count: number,
    metric: 'ip',
    threads: number,
  ): { keys: BigUint64Array; distances: Float32Array };
}

let usearch: UsearchExact | null | undefined;

/** usearch's exactSearch, or null when the package cannot load (the float32 scan then serves). */
export function loadUsearchExact(): UsearchExact | null {
  if (usearch === undefined) {
    try {
      usearch = createRequire(import.meta.url)('usearch') as UsearchExact;
      if (typeof usearch.exactSearch !== 'function') usearch = null;
    } catch {
      usearch = null;
    }
  }
  return usearch;
}

/** The int8 copy of a gallery and what the error bound needs (see [Note: int8 quantisation]). */
export interface Int8Gallery {
  n: number;
  dim: number;
  /** Row-major codes [n × dim], in a buffer of their own (usearch reads from the buffer's start). */
  codes: Int8Array;
  /** s_j per dimension. */
  scales: Float64Array;
  /** m_j ≥ max_i |δ_ij| per dimension (s_j / 2, widened). */
  maxResidual: Float64Array;
  /** D = max_i ‖δ_i‖₂. */
  maxResidualNorm: number;
  /** R = max_i ‖X_i‖₂. */
  maxCodeNorm: number;
}

/** Visits a gallery in row-major chunks: `visit(firstRow, count, rows)` with rows [count × dim]. */
export type ChunkSource = (visit: (first: number, count: number, rows: Float32Array) => void) => void;

/**
 * Quantises a gallery that `chunks` visits (every row once), given each dimension's largest
 * magnitude over all rows (the caller's first pass, over whatever layout it holds): the codes and the
 * maxima the bound needs. Built once per vector set, when the index is built or loaded.
 */
export function quantiseGallery(
  n: number,
  dim: number,
  absMax: Float64Array,
  chunks: ChunkSource,
): Int8Gallery {
  const scales = absMax.map((m) => m / 127);
  const inv = scales.map((s) => (s > 0 ? 1 / s : 0));
  const codes = new Int8Array(n * dim);
  // |δ_ij| ≤ s_j / 2 by rounding to the nearest code; the factor covers the rounding of x · (1/s_j).
  const maxResidual = scales.map((s) => s * (0.5 + 1e-9));
  let maxResidualNorm2 = 0;
  let maxCodeNorm2 = 0;
  chunks((first, count, rows) => {
    for (let i = 0, o = 0; i < count; i++, o += dim) {
      const co = (first + i) * dim;
      let r2 = 0;
      let c2 = 0;
      // Branch-free on purpose: the signs are random, and a branch per value cost 2x here.
      for (let j = 0; j < dim; j++) {
        const x = rows[o + j]!;
        const c = roundHalfUp(x * inv[j]!); // |c| ≤ 127 (to a rounding) since inv = 127 / max |x|
        codes[co + j] = c;
        const d = x - scales[j]! * c;
        r2 += d * d;
        c2 += c * c;
      }
      if (r2 > maxResidualNorm2) maxResidualNorm2 = r2;
      if (c2 > maxCodeNorm2) maxCodeNorm2 = c2;
    }
  });
  return {
    n,
    dim,
    codes,
    scales,
    maxResidual,
    maxResidualNorm: Math.sqrt(maxResidualNorm2),
    maxCodeNorm: Math.sqrt(maxCodeNorm2),
  };
}

/**
 * Math.round (the nearest integer, halves up), for finite |v| < 2⁵², except that it gives +0 where
 * Math.round gives -0 (a code stores 0 either way). [Note: fast round] On this machine's V8,
 * Math.round costs ≈ 8 ns a value (Math.floor ≈ 1 ns), and it was most of quantising a gallery:
 * 1M × 512 took 6.4 s of the calling thread. ⌊v + ½⌋ is Math.round except where the addition
 * rounds up to an integer above the exact sum (v = 0.49999999999999994 gives 1); then c − ½ > v,
 * which is exact to test (c − ½ is representable), and c − 1 is the answer. The correction is almost
 * never taken, so its branch costs nothing; a branch on v's sign (floor by truncation) mispredicts on
 * random signs and was slower than Math.round. Tested against Math.round on random values, halves and
 * their neighbours.
 */
export function roundHalfUp(v: number): number {
  const c = Math.floor(v + 0.5);
  return c - 0.5 > v ? c - 1 : c;
}

/** Each dimension's largest magnitude over the rows `chunks` visits. */
export function columnAbsMax(dim: number, chunks: ChunkSource): Float64Array {
  const absMax = new Float64Array(dim);
  chunks((_first, count, rows) => addAbsMax(absMax, count, rows));
  return absMax;
}

/**
 * Raises `absMax` to each dimension's largest |x| over `count` more row-major rows (a maximum does not
 * depend on the order rows come in, so a gallery may be fed a chunk at a time, in any order).
 */
export function addAbsMax(absMax: Float64Array, count: number, rows: Float32Array): void {
  const dim = absMax.length;
  for (let i = 0, o = 0; i < count; i++, o += dim) {
    for (let j = 0; j < dim; j++) {
      const a = Math.abs(rows[o + j]!);
      if (a > absMax[j]!) absMax[j] = a;
    }
  }
}

/** Counters of the scans so far (the benchmark prints them). */
export interface Int8ScanStats {
  queries: number;
  /** Rows re-scored in float32, over all queries. */
  rescored: number;
  /** Scans repeated with a larger candidate list. */
  retries: number;
  /** Queries handed back to the float32 scan (the bound could not be met within maxCandidates). */
  fallbacks: number;
}

export interface Int8ScanOptions {
  /** usearch threads (default: every core). */
  threads: number;
  /** First candidate list (default 1,024, at least 8k). */
  firstCandidates?: number;
  /** Largest candidate list before giving the query back to the float32 scan (default 32,768). */
  maxCandidates?: number;
}

/** Exact float32 score of gallery `row` against the unit query (the caller's one exact scorer). */
export type RowScorer = (row: number, query: Float32Array) => number;

export class Int8Scan {
  readonly stats: Int8ScanStats = { queries: 0, rescored: 0, retries: 0, fallbacks: 0 };
  // Per-query buffers, allocated once. The query codes are their own buffer (usearch reads from
  // the buffer's start, ignoring a view's offset).
  private readonly qCodes: Int8Array;
  private readonly z: Float64Array;
  private readonly bestScore: Float64Array;
  private readonly bestRow: Int32Array;

  constructor(
    private readonly g: Int8Gallery,
    private readonly score: RowScorer,
    private readonly opts: Int8ScanOptions,
    private readonly engine: UsearchExact,
    maxK: number,
  ) {
    this.qCodes = new Int8Array(g.dim);
    this.z = new Float64Array(g.dim);
    this.bestScore = new Float64Array(maxK);
    this.bestRow = new Int32Array(maxK);
  }

  /**
   * The exact top-k of one unit query ([dim]) as rows and float32 scores, best first, ties to the
   * lower row; null when the bound was not met within maxCandidates (the caller scans in float32).
   */
  search(query: Float32Array, k: number): { index: number; score: number }[] | null {
    const { n, dim } = this.g;
    const kk = Math.min(k, n);
    if (kk > this.bestScore.length) throw new Error(`int8 scan: k ${kk} above its ${this.bestScore.length}`);
    this.stats.queries++;
    const { t, bound } = this.quantiseQuery(query);

    const maxC = Math.max(kk, this.opts.maxCandidates ?? 32_768);
    let c = Math.min(n, maxC, Math.max(this.opts.firstCandidates ?? 1024, 8 * kk));
    for (;;) {
      const { keys, distances } = this.engine.exactSearch(
        this.g.codes,
        this.qCodes,
        dim,
        c,
        'ip',
        this.opts.threads,
      );
      let have = 0;
      let proven = false;
      let prevA = Number.POSITIVE_INFINITY;
      for (let j = 0; j < c; j++) {
        const a = t * (1 - distances[j]!);
        // usearch returns its best first; the proof needs that order, so it is checked, not assumed.
        if (a > prevA) throw new Error('int8 scan: usearch returned candidates out of order');
        prevA = a;
        if (have === kk && a + bound < this.bestScore[kk - 1]!) {
          proven = true;
          break;
        }
        const row = Number(keys[j]!);
        this.insert(row, this.score(row, query), have, kk);
        if (have < kk) have++;
        this.stats.rescored++;
      }
      // All c were re-scored: the rows never returned score a ≤ the last one's, and every row was a
      // candidate when c = n.
      if (!proven && (c === n || (have === kk && prevA + bound < this.bestScore[kk - 1]!))) proven = true;
      if (proven) {
        const out: { index: number; score: number }[] = [];
        for (let j = 0; j < have; j++) out.push({ index: this.bestRow[j]!, score: this.bestScore[j]! });
        return out;
      }
      if (c >= maxC) {
        this.stats.fallbacks++;
        return null;
      }
      this.stats.retries++;
      c = Math.min(n, maxC, c * 8);
    }
  }

  /**
   * Fills the query's int8 codes (`queryCodes`) and returns the scale t of its approximate scores
   * (a_i = t · X_i·Y) and the bound E on |x_i·y − a_i| for every row ([Note: int8 exactness]).
   */
  quantiseQuery(query: Float32Array): { t: number; bound: number } {
    const { dim, scales, maxResidual } = this.g;
    const z = this.z;
    let zMax = 0;
    let deltaL1 = 0;
    for (let j = 0; j < dim; j++) {
      z[j] = scales[j]! * query[j]!;
      zMax = Math.max(zMax, Math.abs(z[j]!));
      deltaL1 += maxResidual[j]! * Math.abs(query[j]!);
    }
    const t = zMax / 127;
    let e1 = 0;
    let e2 = 0;
    for (let j = 0; j < dim; j++) {
      const c = t > 0 ? Math.max(-127, Math.min(127, Math.round(z[j]! / t))) : 0;
      this.qCodes[j] = c;
      const e = z[j]! - t * c;
      e1 += Math.abs(e);
      e2 += e * e;
    }
    const bound =
      (Math.min(this.g.maxCodeNorm * Math.sqrt(e2), 127 * e1) + Math.min(this.g.maxResidualNorm, deltaL1)) *
        (1 + 1e-9) +
      2e-7;
    return { t, bound };
  }

  /** The last quantised query's int8 codes. */
  get queryCodes(): Readonly<Int8Array> {
    return this.qCodes;
  }

  /** Inserts (row, s) into the sorted best list of `have` entries (capacity k), if it belongs. */
  private insert(row: number, s: number, have: number, k: number): void {
    const sc = this.bestScore;
    const rw = this.bestRow;
    const before = (i: number) => s > sc[i]! || (s === sc[i]! && row < rw[i]!);
    if (have === k && !before(k - 1)) return;
    let p = have === k ? k - 1 : have;
    while (p > 0 && before(p - 1)) {
      sc[p] = sc[p - 1]!;
      rw[p] = rw[p - 1]!;
      p--;
    }
    sc[p] = s;
    rw[p] = row;
  }
}
