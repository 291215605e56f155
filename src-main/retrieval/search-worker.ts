/**
 * Entry point of the vector index's search worker thread (bundled as search-worker.js next to the
 * other worker entries). It serves the ONNX session's tasks (onnx-session-tasks.ts: the exact search
 * graph over the blocked float32 gallery, moved here once) and, beside them, the int8 scan of single
 * queries ([Note: int8 scan switch] in vector-index.ts): the int8 copy is moved here too, and its
 * candidates are re-scored from the session's own gallery constant, so both scans run off the
 * calling thread and the gallery is held once, by this thread.
 *
 * The gallery is also BUILT here ([Note: build on the search worker] in vector-index.ts): the calling
 * thread reads rows and moves them here a chunk at a time (`stageRows`); this thread lays them out in
 * blocks as they come, keeps each dimension's largest magnitude, hands the blocked copy to the session
 * as its constant (`stageEnd`), and quantises the int8 copy from it (`openInt8` without codes).
 */
import { sessionTasks } from '../encoders/onnx-session-tasks.ts';
import { defineWorker, transfer } from '../workers/protocol.ts';
import { type BlockLayout, blockedChunks, blockedRowScorer, placeRows } from './gallery-blocks.ts';
import {
  addAbsMax,
  type Int8Gallery,
  Int8Scan,
  type Int8ScanOptions,
  type Int8ScanStats,
  loadUsearchExact,
  quantiseGallery,
} from './int8-scan.ts';

/** One query's answer from the int8 scan: its rows and scores best first, or null (scan it in float32). */
export type Int8Answer = { rows: Int32Array; scores: Float32Array } | null;

const session = sessionTasks();
let scan: Int8Scan | null = null;

/** The gallery being laid out here, chunk by chunk, before the session opens. */
let building: {
  layout: BlockLayout;
  dim: number;
  blocked: Float32Array;
  /** Each dimension's largest |x| so far: the int8 scales (int8-scan.ts columnAbsMax, same values). */
  absMax: Float64Array | null;
  layoutMs: number;
} | null = null;
/** absMax of the staged gallery, kept until `openInt8` quantises it. */
let stagedAbsMax: Float64Array | null = null;

const tasks = defineWorker({
  ...session.tasks,

  /**
   * Starts laying out a gallery of `layout.n` rows of `dim` floats here (see the header), keeping
   * each dimension's maximum if an int8 copy will be quantised from it.
   */
  stageBegin(layout: BlockLayout, dim: number, int8: boolean): void {
    building = {
      layout,
      dim,
      blocked: new Float32Array(layout.blocks * dim * layout.rows),
      absMax: int8 ? new Float64Array(dim) : null,
      layoutMs: 0,
    };
    stagedAbsMax = null;
  },

  /** Rows [first, first + rows.length / dim) of the gallery, row-major (moved here, not copied). */
  stageRows(first: number, rows: Float32Array): void {
    const b = building;
    if (!b) throw new Error('rows for a gallery that was not begun on this thread');
    const t = performance.now();
    const { dim, absMax } = b;
    const count = rows.length / dim;
    if (!Number.isInteger(count) || first < 0 || first + count > b.layout.n)
      throw new Error(
        `rows ${first}… (${rows.length} floats) do not fit a gallery of ${b.layout.n} × ${dim}`,
      );
    placeRows(b.blocked, b.layout, dim, first, count, rows);
    // The same maxima as columnAbsMax over the whole gallery.
    if (absMax) addAbsMax(absMax, count, rows);
    b.layoutMs += performance.now() - t;
  },

  /** The laid-out gallery becomes the next session's `name` constant; returns the time spent on it. */
  stageEnd(name: string): { layoutMs: number } {
    const b = building;
    if (!b) throw new Error('no gallery was begun on this thread');
    building = null;
    stagedAbsMax = b.absMax;
    session.stage(name, { type: 'float32', data: b.blocked, dims: [b.layout.blocks, b.dim, b.layout.rows] });
    return { layoutMs: b.layoutMs };
  },

  /**
   * Builds the int8 scan over `gallery` (its codes moved here), or, given null, over the int8 copy
   * quantised here from the gallery staged on this thread; it re-scores candidates from the
   * session's `gallery_blocks` constant laid out as `layout`. Call after `open`. Returns the time
   * spent quantising here (0 when given the codes).
   */
  openInt8(
    given: Int8Gallery | null,
    layout: BlockLayout,
    options: Int8ScanOptions,
    maxK: number,
  ): { quantiseMs: number } {
    const engine = loadUsearchExact();
    if (!engine) throw new Error('the int8 scan needs the usearch package, which cannot load on this thread');
    const blocked = session.constant('gallery_blocks');
    if (!blocked)
      throw new Error('the int8 scan opened before the search session: no gallery on this thread');
    const dim = blocked.dims[1]!;
    const data = blocked.data as Float32Array;
    let gallery = given;
    let quantiseMs = 0;
    if (!gallery) {
      if (!stagedAbsMax) throw new Error('no int8 copy was given and no gallery was staged on this thread');
      const t = performance.now();
      gallery = quantiseGallery(layout.n, dim, stagedAbsMax, blockedChunks(data, layout, dim));
      quantiseMs = performance.now() - t;
      stagedAbsMax = null;
    }
    scan = new Int8Scan(gallery, blockedRowScorer(data, layout, dim), options, engine, maxK);
    return { quantiseMs };
  },

  /** The exact top-k of each of `q` unit queries ([q × dim]) by the int8 scan, and its counters after. */
  scanInt8(queries: Float32Array, q: number, k: number): { answers: Int8Answer[]; stats: Int8ScanStats } {
    if (!scan) throw new Error('no int8 scan is open on this thread');
    const dim = queries.length / q;
    const answers: Int8Answer[] = [];
    const moved: ArrayBuffer[] = [];
    for (let r = 0; r < q; r++) {
      const hits = scan.search(queries.subarray(r * dim, (r + 1) * dim), k);
      if (!hits) {
        answers.push(null);
        continue;
      }
      // Scores were rounded to float32 by the re-score (Math.fround): this copy is exact.
      const rows = Int32Array.from(hits, (h) => h.index);
      const scores = Float32Array.from(hits, (h) => h.score);
      moved.push(rows.buffer, scores.buffer);
      answers.push({ rows, scores });
    }
    return transfer({ answers, stats: { ...scan.stats } }, moved);
  },

  async release(): Promise<void> {
    scan = null;
    building = null;
    stagedAbsMax = null;
    await session.tasks.release();
  },
});

export type SearchWorkerTasks = typeof tasks;
