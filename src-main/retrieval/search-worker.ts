/**
 * Entry point of the vector index's search worker thread (bundled as search-worker.js next to the
 * other worker entries). It serves the ONNX session's tasks (onnx-session-tasks.ts: the exact search
 * graph over the blocked float32 gallery, moved here once) and, beside them, the int8 scan of single
 * queries ([Note: int8 scan switch] in vector-index.ts): the int8 copy is moved here too, and its
 * candidates are re-scored from the session's own gallery constant, so both scans run off the
 * calling thread and the gallery is held once, by this thread.
 */
import { sessionTasks } from '../encoders/onnx-session-tasks.ts';
import { defineWorker, transfer } from '../workers/protocol.ts';
import { type BlockLayout, blockedRowScorer } from './gallery-blocks.ts';
import {
  type Int8Gallery,
  Int8Scan,
  type Int8ScanOptions,
  type Int8ScanStats,
  loadUsearchExact,
} from './int8-scan.ts';

/** One query's answer from the int8 scan: its rows and scores best first, or null (scan it in float32). */
export type Int8Answer = { rows: Int32Array; scores: Float32Array } | null;

const session = sessionTasks();
let scan: Int8Scan | null = null;

const tasks = defineWorker({
  ...session.tasks,

  /**
   * Builds the int8 scan over `gallery` (its codes moved here), re-scoring candidates from the
   * session's `gallery_blocks` constant laid out as `layout`. Call after `open`.
   */
  openInt8(gallery: Int8Gallery, layout: BlockLayout, options: Int8ScanOptions, maxK: number): void {
    const engine = loadUsearchExact();
    if (!engine) throw new Error('the int8 scan needs the usearch package, which cannot load on this thread');
    const blocked = session.constant('gallery_blocks');
    if (!blocked)
      throw new Error('the int8 scan opened before the search session: no gallery on this thread');
    scan = new Int8Scan(
      gallery,
      blockedRowScorer(blocked.data as Float32Array, layout, gallery.dim),
      options,
      engine,
      maxK,
    );
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
    await session.tasks.release();
  },
});

export type SearchWorkerTasks = typeof tasks;
