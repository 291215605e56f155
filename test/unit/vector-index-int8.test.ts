import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  columnAbsMax,
  Int8Scan,
  loadUsearchExact,
  quantiseGallery,
  roundHalfUp,
} from '../../src-main/retrieval/int8-scan.ts';
import { VectorIndex } from '../../src-main/retrieval/vector-index.ts';
import { indexTracker, itemIds } from '../helpers/vector-index-fixture.ts';

// The int8 scan's results must be the float32 ranking's: the same rows in the same order with the
// same scores, bit for bit, as the plain JS path (the product's one exact scorer, score-matrix.ts),
// whatever the gallery. See [Note: int8 exactness] in int8-scan.ts.

const indexes = indexTracker();
const build = indexes.build;
afterEach(indexes.closeAll);
const ids = itemIds;

function normalise(g: Float32Array, row: number, dim: number): void {
  let s = 0;
  for (let j = 0; j < dim; j++) s += g[row * dim + j]! ** 2;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < dim; j++) g[row * dim + j]! *= inv;
}

/**
 * Every query's hits from the int8 index equal the JS index's, ids, rows and scores: with the scan on
 * the calling thread and on the search worker (the product's place for it). Returns the first.
 */
async function expectSameAsJs(
  g: Float32Array,
  n: number,
  dim: number,
  queries: Float32Array,
  ks: readonly number[],
  blockRows?: number,
): Promise<VectorIndex> {
  const js = await build(ids(n), g, dim, { backend: 'js' });
  const built: VectorIndex[] = [];
  for (const thread of ['main', 'worker'] as const) {
    const i8 = await build(ids(n), g, dim, {
      backend: 'onnxruntime',
      thread,
      scan: 'int8',
      ...(blockRows ? { blockRows } : {}),
    });
    expect(i8.scan).toBe('int8');
    expect(i8.thread).toBe(thread);
    const q = queries.length / dim;
    for (const k of ks) {
      // One query per call (the int8 path), and the whole set in one call when it is small enough.
      for (let r = 0; r < q; r++) {
        const one = queries.subarray(r * dim, (r + 1) * dim);
        expect(await i8.search(one, k)).toEqual(await js.search(one, k));
      }
    }
    built.push(i8);
  }
  // The same scan, wherever it runs: the worker's counters (as of its last answer) are the same.
  expect(built[1]!.int8Stats).toEqual(built[0]!.int8Stats);
  return built[0]!;
}

/** The doubles whose bit patterns are next to v's: its neighbours one ulp away (NaN patterns dropped). */
function neighbours(v: number): number[] {
  const b = new Float64Array(1);
  const bits = new BigInt64Array(b.buffer);
  const out: number[] = [];
  for (const d of [-1n, 1n]) {
    b[0] = v;
    bits[0] = bits[0]! + d;
    if (Number.isFinite(b[0])) out.push(b[0]!);
  }
  return out;
}

describe('roundHalfUp ([Note: fast round])', () => {
  it('is Math.round on random values, every half from -128.5 to 128.5 and their neighbours', () => {
    const rng = new Rng(71);
    const values = [
      0,
      -0,
      0.49999999999999994,
      -0.49999999999999994,
      0.5,
      -0.5,
      2 ** 51 + 0.5,
      -(2 ** 51) - 0.5,
    ];
    for (let k = -129; k <= 128; k++) values.push(k + 0.5, ...neighbours(k + 0.5), k, ...neighbours(k));
    for (let i = 0; i < 100_000; i++) values.push(rng.range(-130, 130), rng.range(-1e-3, 1e-3));
    for (const v of values) {
      const want = Math.round(v);
      // Math.round gives -0 for v in [-0.5, -0]; a code stores 0 either way.
      expect(roundHalfUp(v) === want, `roundHalfUp(${v}) = ${roundHalfUp(v)}, Math.round: ${want}`).toBe(
        true,
      );
    }
  });

  it('quantises a gallery to the same codes as Math.round would', () => {
    const rng = new Rng(73);
    const [n, dim] = [300, 64];
    const g = rng.unitRows(n, dim);
    const whole = (visit: (first: number, count: number, rows: Float32Array) => void) => visit(0, n, g);
    const absMax = columnAbsMax(dim, whole);
    const q8 = quantiseGallery(n, dim, absMax, whole);
    for (let i = 0; i < n * dim; i++) {
      const inv = 1 / (absMax[i % dim]! / 127);
      expect(q8.codes[i]).toBe(Math.round(g[i]! * inv) | 0);
    }
  });
});

describe('VectorIndex int8 scan', () => {
  it('equals the float32 ranking on random galleries at k 1, 10, 100, re-scoring only a few rows', async () => {
    const rng = new Rng(41);
    for (const [n, dim, blockRows] of [
      [3000, 512, undefined],
      [2500, 64, 512],
      [1000, 128, 97],
    ] as const) {
      const g = rng.unitRows(n, dim);
      const queries = new Float32Array([...rng.unitRows(4, dim), ...g.subarray(17 * dim, 18 * dim)]);
      const i8 = await expectSameAsJs(g, n, dim, queries, [1, 10, 100], blockRows);
      const stats = i8.int8Stats!;
      expect(stats.queries).toBe(15);
      expect(stats.fallbacks).toBe(0);
      // The filter really filters: far fewer rows re-scored than a full scan would score.
      expect(stats.rescored / stats.queries).toBeLessThan(n / 2);
    }
  });

  it("bounds every row's approximate score error by the per-query E, and E is tight enough to filter", () => {
    const rng = new Rng(61);
    const [n, dim] = [4000, 256];
    const g = rng.unitRows(n, dim);
    // A few large outlier dimensions, as image embeddings have, and rows at the extremes.
    for (let i = 0; i < n; i++) {
      g[i * dim + 3]! *= 8;
      g[i * dim + 100]! *= -5;
      normalise(g, i, dim);
    }
    g.fill(0, 7 * dim, 8 * dim);
    g[7 * dim + 3] = 1; // a row on one axis: the largest code of dimension 3
    const whole = (visit: (first: number, count: number, rows: Float32Array) => void) => visit(0, n, g);
    const q8 = quantiseGallery(n, dim, columnAbsMax(dim, whole), whole);
    const scan = new Int8Scan(q8, () => 0, { threads: 1 }, loadUsearchExact()!, 10);
    const queries = new Float32Array([...rng.unitRows(5, dim), ...g.subarray(7 * dim, 8 * dim)]);
    let worst = 0;
    for (let r = 0; r < 6; r++) {
      const y = queries.subarray(r * dim, (r + 1) * dim);
      const { t, bound } = scan.quantiseQuery(y);
      const yc = scan.queryCodes;
      expect(bound).toBeLessThan(0.1);
      for (let i = 0; i < n; i++) {
        let exact = 0;
        let codes = 0;
        for (let j = 0; j < dim; j++) {
          exact += g[i * dim + j]! * y[j]!;
          codes += q8.codes[i * dim + j]! * yc[j]!;
        }
        const err = Math.abs(exact - t * codes);
        expect(err).toBeLessThanOrEqual(bound);
        worst = Math.max(worst, err / bound);
      }
    }
    // The bound is a bound, not a guess: the worst row uses a real part of it.
    expect(worst).toBeGreaterThan(0.05);
  });

  it('buildFromRows quantises from its blocked copy and finds the same hits', async () => {
    const rng = new Rng(59);
    const [n, dim] = [1500, 96];
    const g = rng.unitRows(n, dim);
    const queries = rng.unitRows(3, dim);
    const js = await build(ids(n), g, dim, { backend: 'js' });
    for (const blockRows of [undefined, 97, 512] as const) {
      const fromRows = await VectorIndex.buildFromRows(
        ids(n),
        dim,
        (start, count) => g.slice(start * dim, (start + count) * dim),
        { backend: 'onnxruntime', thread: 'main', scan: 'int8', ...(blockRows ? { blockRows } : {}) },
      );
      indexes.track(fromRows);
      expect(fromRows.scan).toBe('int8');
      for (let r = 0; r < 3; r++) {
        const one = queries.subarray(r * dim, (r + 1) * dim);
        for (const k of [1, 10, 100]) expect(await fromRows.search(one, k)).toEqual(await js.search(one, k));
      }
      expect(fromRows.int8Stats!.fallbacks).toBe(0);
    }
  });

  it('equals the float32 ranking on adversarial near-tie galleries at k 1, 10, 100', async () => {
    const dim = 64;
    const n = 2000;
    const rng = new Rng(43);
    const g = rng.unitRows(n, dim);
    const q = rng.unitRows(1, dim);
    // 400 rows all but tied with one another: query + 1e-4 noise (cosines 1 - O(1e-8)), and 200
    // within ~1e-6 of each other a little further away.
    const noise = rng.unitRows(n, dim);
    for (let i = 0; i < 600; i++) {
      const eps = i < 400 ? 1e-4 : 3e-2;
      for (let j = 0; j < dim; j++) g[i * dim + j] = q[j]! + eps * noise[i * dim + j]!;
      normalise(g, i, dim);
    }
    // Exact duplicates, also across blocks and in the last block's overlap.
    for (const [from, to] of [
      [3, 1650],
      [3, 1999],
      [10, 1400],
      [10, 11],
      [450, 1990],
    ] as const)
      g.copyWithin(to * dim, from * dim, (from + 1) * dim);
    // Rows differing from another only in the lowest mantissa bit of one coordinate.
    const bits = new Uint32Array(g.buffer);
    for (const [from, to] of [
      [20, 1500],
      [21, 1660],
      [420, 1700],
    ] as const) {
      g.copyWithin(to * dim, from * dim, (from + 1) * dim);
      bits[to * dim + 7]! ^= 1;
    }
    // Rows whose int8 codes equal another row's but whose float32 values differ: a nudge far below
    // the quantisation step (checked below).
    const twins = [
      [30, 1800],
      [31, 1801],
      [500, 1802],
    ] as const;
    for (const [from, to] of twins) {
      g.copyWithin(to * dim, from * dim, (from + 1) * dim);
      for (let j = 0; j < dim; j += 5) g[to * dim + j]! *= 1 + 1e-5;
      normalise(g, to, dim);
    }
    const whole = (visit: (first: number, count: number, rows: Float32Array) => void) => visit(0, n, g);
    const codes = quantiseGallery(n, dim, columnAbsMax(dim, whole), whole).codes;
    let floatDiffer = 0;
    for (const [from, to] of twins) {
      expect(codes.subarray(to * dim, (to + 1) * dim)).toEqual(codes.subarray(from * dim, (from + 1) * dim));
      if (g.subarray(to * dim, (to + 1) * dim).some((v, j) => v !== g[from * dim + j])) floatDiffer++;
    }
    expect(floatDiffer).toBe(twins.length);

    const queries = new Float32Array([
      ...q,
      ...g.subarray(450 * dim, 451 * dim),
      ...g.subarray(30 * dim, 31 * dim),
    ]);
    for (const blockRows of [undefined, 256, 333] as const) {
      await expectSameAsJs(g, n, dim, queries, [1, 10, 100], blockRows);
    }
    // The near ties really are ties in float32, or the test would be weak.
    const js = await build(ids(n), g, dim, { backend: 'js' });
    const [top] = await js.search(q, 400);
    expect(new Set(top!.map((h) => h.score)).size).toBeLessThan(200);
  });

  it('falls back to the float32 scan when the bound is not met within the candidate limit', async () => {
    const dim = 32;
    const n = 1200;
    const rng = new Rng(47);
    const g = rng.unitRows(n, dim);
    const q = rng.unitRows(1, dim);
    const noise = rng.unitRows(n, dim);
    // 300 rows within the quantisation error of one another: the proof needs them all re-scored.
    for (let i = 0; i < 300; i++) {
      for (let j = 0; j < dim; j++) g[i * dim + j] = q[j]! + 1e-3 * noise[i * dim + j]!;
      normalise(g, i, dim);
    }
    const f32 = await build(ids(n), g, dim, { backend: 'onnxruntime', thread: 'main', scan: 'float32' });
    const [b] = await f32.search(q, 10);
    for (const thread of ['main', 'worker'] as const) {
      const small = await build(ids(n), g, dim, {
        backend: 'onnxruntime',
        thread,
        scan: 'int8',
        int8MaxCandidates: 64,
      });
      const [a] = await small.search(q, 10);
      expect(small.int8Stats!.fallbacks).toBe(1);
      expect(a).toEqual(b);
    }
  });

  it("switches: 'auto' adds the int8 scan from minInt8Rows up; batches of more than 4 take the float32 GEMM", async () => {
    const dim = 16;
    const n = 600;
    const rng = new Rng(53);
    const g = rng.unitRows(n, dim);
    const below = await build(ids(n), g, dim, { backend: 'onnxruntime', thread: 'main' });
    expect(below.scan).toBe('float32');
    expect(below.int8Stats).toBeNull();
    // The default: the search worker runs both scans, the int8 one beside ORT's session.
    const above = await build(ids(n), g, dim, { backend: 'onnxruntime', minInt8Rows: 500 });
    expect(above.scan).toBe('int8');
    expect(above.thread).toBe('worker');
    const js = await build(ids(n), g, dim, { backend: 'js' });
    const queries = rng.unitRows(6, dim);
    const few = queries.subarray(0, 4 * dim);
    expect(await above.search(few, 5)).toEqual(await js.search(few, 5));
    expect(above.int8Stats!.queries).toBe(4);
    const many = await above.search(queries, 5);
    expect(above.int8Stats!.queries).toBe(4);
    const ref = await js.search(queries, 5);
    expect(many.map((h) => h.map((x) => x.index))).toEqual(ref.map((h) => h.map((x) => x.index)));
    expect((await build(ids(n), g, dim, { backend: 'js', scan: 'int8' })).scan).toBe('float32');
  });

  it('on the search worker, a large query does not hold the calling thread (inline, it does)', async () => {
    // 200k × 64: the scan and its re-score take milliseconds; a timer due every millisecond keeps
    // firing here meanwhile when they run on the worker, and cannot fire once when they run inline.
    const [n, dim] = [200_000, 64];
    const rng = new Rng(67);
    const g = rng.unitRows(n, dim);
    const q = rng.unitRows(1, dim);
    for (const thread of ['worker', 'main'] as const) {
      const index = await build(ids(n), g, dim, { backend: 'onnxruntime', scan: 'int8', thread });
      expect(index.thread).toBe(thread);
      await index.search(q, 10); // warm: the first call loads usearch's kernels
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const started = performance.now();
      let calls = 0;
      while (performance.now() - started < 150) {
        await index.search(q, 10);
        calls++;
      }
      clearInterval(timer);
      expect(index.int8Stats!.queries).toBe(calls + 1);
      if (thread === 'worker') expect(ticks).toBeGreaterThan(10);
      else expect(ticks).toBe(0);
      await index.close();
    }
  });
});
