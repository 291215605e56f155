/**
 * How the exact index is built: rows laid out in blocks a chunk at a time (on the search worker by
 * default, see [Note: build on the search worker] in vector-index.ts) with the strip transpose of
 * gallery-blocks.ts ([Note: blocked transpose]), and quantised from that blocked copy. The build must
 * give the same blocked copy and the same int8 codes as the build it replaced (a row at a time on the
 * calling thread, quantised from row-major rows), so the index answers the same, bit for bit; and the
 * calling thread must keep running while a big gallery builds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import {
  type BlockLayout,
  blockColumns,
  blockedChunks,
  blockLayout,
  blockStart,
  placeRows,
} from '../../src-main/retrieval/gallery-blocks.ts';
import { columnAbsMax, quantiseGallery } from '../../src-main/retrieval/int8-scan.ts';
import { VectorIndex, type VectorIndexOptions } from '../../src-main/retrieval/vector-index.ts';
import { heldWhile } from '../helpers/event-loop-hold.ts';
import { itemIds as ids, indexTracker } from '../helpers/vector-index-fixture.ts';

const indexes = indexTracker();
afterEach(indexes.closeAll);

/** The layout loop the index used before the strip transpose: a row at a time, block by block. */
function referenceBlocked(src: Float32Array, layout: BlockLayout, dim: number): Float32Array {
  const { rows, blocks } = layout;
  const out = new Float32Array(blocks * dim * rows);
  for (let b = 0; b < blocks; b++) {
    const first = blockStart(layout, b);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < dim; j++) out[b * dim * rows + j * rows + i] = src[(first + i) * dim + j]!;
  }
  return out;
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Row-major rows as one chunk. */
const whole =
  (g: Float32Array, n: number) => (visit: (first: number, count: number, rows: Float32Array) => void) =>
    visit(0, n, g);

/**
 * A gallery with near ties against `q`: rows all but tied with it, exact duplicates (also across
 * blocks and in the last block's overlap) and rows that differ from another only in the lowest bit
 * of one coordinate.
 */
function nearTieGallery(n: number, dim: number, seed: number): { g: Float32Array; q: Float32Array } {
  const rng = new Rng(seed);
  const g = rng.unitRows(n, dim);
  const q = rng.unitRows(1, dim);
  const noise = rng.unitRows(n, dim);
  for (let i = 0; i < n / 4; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      g[i * dim + j] = q[j]! + 1e-4 * noise[i * dim + j]!;
      s += g[i * dim + j]! ** 2;
    }
    for (let j = 0; j < dim; j++) g[i * dim + j]! /= Math.sqrt(s);
  }
  const bits = new Uint32Array(g.buffer);
  for (const [from, to, flip] of [
    [3, n - 1, false],
    [10, n - 2, false],
    [11, Math.floor(n / 2), false],
    [20, n - 3, true],
    [21, Math.floor(n / 2) + 1, true],
  ] as const) {
    g.copyWithin(to * dim, from * dim, (from + 1) * dim);
    if (flip) bits[to * dim + 3]! ^= 1;
  }
  return { g, q };
}

describe('gallery layout (placeRows, blockColumns, blockedChunks)', () => {
  const cases: [n: number, dim: number, blockRows: number | undefined][] = [
    [1000, 33, undefined], // one block; rows not a multiple of 16
    [1000, 16, 97], // several blocks, the last overlapping its neighbour
    [777, 7, 256],
    [4096, 64, 1024],
  ];
  for (const [n, dim, blockRows] of cases) {
    it(`is the row-at-a-time layout, bit for bit, whatever the chunks (${n} × ${dim}, blockRows ${blockRows ?? 'all'})`, () => {
      const rng = new Rng(n + dim);
      const g = rng.unitRows(n, dim);
      const layout = blockLayout(n, blockRows);
      const reference = referenceBlocked(g, layout, dim);
      expect(bytes(blockColumns(g, layout, dim)).equals(bytes(reference))).toBe(true);
      // Chunks of odd sizes, in shuffled order, each a buffer of its own (as they reach the worker).
      const chunks: [number, number][] = [];
      for (let f = 0, c = 1; f < n; f += c, c = (c * 7 + 3) % 613) chunks.push([f, Math.min(c, n - f)]);
      for (let i = chunks.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [chunks[i], chunks[j]] = [chunks[j]!, chunks[i]!];
      }
      const out = new Float32Array(reference.length);
      for (const [f, c] of chunks) placeRows(out, layout, dim, f, c, g.slice(f * dim, (f + c) * dim));
      expect(bytes(out).equals(bytes(reference))).toBe(true);
      // Read back as row-major chunks: every row once, in order, the same values.
      const back = new Float32Array(n * dim);
      let next = 0;
      blockedChunks(
        out,
        layout,
        dim,
      )((first, count, rows) => {
        expect(first).toBe(next);
        back.set(rows.subarray(0, count * dim), first * dim);
        next = first + count;
      });
      expect(next).toBe(n);
      expect(bytes(back).equals(bytes(g))).toBe(true);
    });
  }

  it('quantises the blocked copy to the codes and bounds of the row-major rows, bit for bit', () => {
    const [n, dim] = [3000, 48];
    const { g } = nearTieGallery(n, dim, 5);
    const layout = blockLayout(n, 512);
    const blocked = blockColumns(g, layout, dim);
    const reference = quantiseGallery(n, dim, columnAbsMax(dim, whole(g, n)), whole(g, n));
    // The worker's maxima: over chunks in any order (here: from the blocked copy).
    const fromBlocks = quantiseGallery(
      n,
      dim,
      columnAbsMax(dim, blockedChunks(blocked, layout, dim)),
      blockedChunks(blocked, layout, dim),
    );
    expect(bytes(fromBlocks.codes).equals(bytes(reference.codes))).toBe(true);
    expect(fromBlocks.scales).toEqual(reference.scales);
    expect(fromBlocks.maxResidual).toEqual(reference.maxResidual);
    expect(fromBlocks.maxCodeNorm).toBe(reference.maxCodeNorm);
    expect(fromBlocks.maxResidualNorm).toBe(reference.maxResidualNorm);
  });
});

describe('VectorIndex build on the search worker', () => {
  /**
   * Every answer of indexes built on the search worker (build and buildFromRows) equals the answer
   * of the index built on the calling thread (the layout and quantisation tested above against the
   * old ones) and of the plain JS scorer: rows, ids and scores, for single queries (the int8 scan
   * when on), a batch (ONNX Runtime's float32 GEMM) and k up to the whole gallery.
   */
  async function expectSameBuilds(g: Float32Array, n: number, dim: number, queries: Float32Array) {
    const js = indexes.track(await VectorIndex.build(ids(n), g, dim, { backend: 'js' }));
    for (const scan of ['int8', 'float32'] as const) {
      for (const blockRows of [undefined, 211]) {
        const opts: VectorIndexOptions = {
          backend: 'onnxruntime',
          scan,
          ...(blockRows ? { blockRows } : {}),
        };
        const reference = indexes.track(await VectorIndex.build(ids(n), g, dim, { ...opts, thread: 'main' }));
        const built = [
          await VectorIndex.build(ids(n), g, dim, opts),
          await VectorIndex.buildFromRows(ids(n), dim, (s, c) => g.slice(s * dim, (s + c) * dim), opts),
        ].map(indexes.track);
        const q = queries.length / dim;
        for (const index of built) {
          const before = reference.int8Stats ? { ...reference.int8Stats } : null;
          expect(index.thread).toBe('worker');
          expect(index.scan).toBe(scan);
          expect(index.buildStages!.layoutMs).toBeGreaterThan(0);
          for (const k of [1, 10, 100, n]) {
            for (let r = 0; r < q; r++) {
              const one = queries.subarray(r * dim, (r + 1) * dim);
              const expected = await reference.search(one, k);
              expect(await index.search(one, k)).toEqual(expected);
              // The int8 scan's scores are the JS scorer's; ONNX Runtime's may differ in the last bit.
              if (k <= 100 && scan === 'int8') expect(expected).toEqual(await js.search(one, k));
            }
            expect(await index.search(queries, k)).toEqual(await reference.search(queries, k));
          }
          // The same scans: the same rows re-scored, retries and fallbacks as the reference's.
          if (scan === 'int8') {
            const after = reference.int8Stats!;
            expect(index.int8Stats).toEqual({
              queries: after.queries - before!.queries,
              rescored: after.rescored - before!.rescored,
              retries: after.retries - before!.retries,
              fallbacks: after.fallbacks - before!.fallbacks,
            });
          }
        }
      }
    }
    // The caller's matrix is untouched by `build` (its chunks are copied to the worker, not moved).
    expect(g.length).toBe(n * dim);
  }

  it('answers as the calling-thread build on random galleries, one block and several', async () => {
    const [n, dim] = [1500, 40];
    const rng = new Rng(71);
    await expectSameBuilds(rng.unitRows(n, dim), n, dim, rng.unitRows(5, dim));
  });

  it('answers as the calling-thread build on adversarial near-tie galleries', async () => {
    const [n, dim] = [1200, 24];
    const { g, q } = nearTieGallery(n, dim, 13);
    const more = new Rng(14).unitRows(4, dim);
    const queries = new Float32Array(5 * dim);
    queries.set(q);
    queries.set(more, dim);
    await expectSameBuilds(g, n, dim, queries);
  });

  it('moves the chunks buildFromRows reads (no copy of a whole buffer), copies views', async () => {
    const [n, dim] = [20_000, 8]; // three read chunks
    const g = new Rng(3).unitRows(n, dim);
    const handed: Float32Array[] = [];
    const index = indexes.track(
      await VectorIndex.buildFromRows(
        ids(n),
        dim,
        (s, c) => {
          const rows = g.slice(s * dim, (s + c) * dim);
          handed.push(rows);
          return rows;
        },
        { backend: 'onnxruntime' },
      ),
    );
    expect(index.thread).toBe('worker');
    expect(handed.length).toBe(3);
    // Moved to the worker: detached here.
    for (const rows of handed) expect(rows.length).toBe(0);
    const q = new Rng(4).unitRows(1, dim);
    const js = indexes.track(await VectorIndex.build(ids(n), g, dim, { backend: 'js' }));
    expect(await index.search(q, 10)).toEqual(await js.search(q, 10));
    // Views of a larger buffer are copied: the reader's buffer stays whole.
    const views = indexes.track(
      await VectorIndex.buildFromRows(ids(n), dim, (s, c) => g.subarray(s * dim, (s + c) * dim), {
        backend: 'onnxruntime',
      }),
    );
    expect(g.length).toBe(n * dim);
    expect(await views.search(q, 10)).toEqual(await js.search(q, 10));
  });

  it("keeps the reader's errors and the row checks, and falls back to JS as before when ORT cannot load", async () => {
    const [n, dim] = [10_000, 8];
    const g = new Rng(5).unitRows(n, dim);
    const bad = g.slice();
    bad[9000 * dim] = 5;
    await expect(
      VectorIndex.buildFromRows(ids(n), dim, (s, c) => bad.slice(s * dim, (s + c) * dim), {
        backend: 'onnxruntime',
      }),
    ).rejects.toThrow(/row 9000 \(item-9000\) has L2 norm/);
    await expect(
      VectorIndex.buildFromRows(
        ids(n),
        dim,
        (s, c) => {
          if (s > 0) throw new Error('the vector store went away');
          return g.slice(s * dim, (s + c) * dim);
        },
        { backend: 'auto', minOrtRows: 1 },
      ),
    ).rejects.toThrow('the vector store went away');
    const missing = '/nonexistent/onnxruntime-node';
    const fb = indexes.track(
      await VectorIndex.buildFromRows(ids(n), dim, (s, c) => g.slice(s * dim, (s + c) * dim), {
        onnxruntimePath: missing,
      }),
    );
    expect(fb.backend).toBe('js');
    expect(fb.fallbackReason).toMatch(
      /^ONNX Runtime unavailable \(.*Cannot find module.*\); searching with plain JS loops$/,
    );
    const q = new Rng(6).unitRows(1, dim);
    const js = indexes.track(await VectorIndex.build(ids(n), g, dim, { backend: 'js' }));
    expect(await fb.search(q, 10)).toEqual(await js.search(q, 10));
    await expect(
      VectorIndex.buildFromRows(ids(n), dim, (s, c) => g.slice(s * dim, (s + c) * dim), {
        backend: 'onnxruntime',
        onnxruntimePath: missing,
      }),
    ).rejects.toThrow(/^ONNX Runtime is not available for search: .*Cannot find module/);
  });

  it('keeps the calling thread ticking while a 200k-row gallery builds (on the calling thread it does not)', async () => {
    const [n, dim] = [200_000, 128];
    const g = new Rng(7).unitRows(n, dim);
    const longestGap = async (thread: 'worker' | 'main') => {
      const held = await heldWhile(() =>
        VectorIndex.buildFromRows(ids(n), dim, (s, c) => g.slice(s * dim, (s + c) * dim), {
          thread,
          scan: 'auto',
        }),
      );
      const index = indexes.track(held.value);
      expect(index.thread).toBe(thread);
      expect(index.scan).toBe('int8');
      return { longest: held.longestMs, ticks: held.ticks, total: held.totalMs };
    };
    const inline = await longestGap('main');
    // Two builds on the worker, the better one kept: on 2 busy cores the OS alone may keep this
    // thread off a core for 100-200 ms (measured), which is not the build holding it.
    const worker = [await longestGap('worker'), await longestGap('worker')].sort(
      (a, b) => a.longest - b.longest,
    )[0]!;
    // Inline, laying out and quantising is one stretch (~0.9 s here); on the worker the calling
    // thread only reads a chunk (8,192 rows: a few ms) and posts it between ticks.
    expect(worker.longest).toBeLessThan(inline.longest / 2);
    expect(worker.longest).toBeLessThan(worker.total / 3);
    expect(worker.ticks).toBeGreaterThan(20);
  }, 60_000);
});
