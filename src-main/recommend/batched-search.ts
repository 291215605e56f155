/**
 * Coalesces concurrent searches of one index into one matrix search.
 *
 * Why: an exact cosine search of one query over a 10,000 × 512 float32 catalog reads the whole 20 MB
 * matrix for a few million multiply-adds, so it is bound by memory bandwidth (≈ 4 ms here). Q queries
 * searched together read the matrix once (a GEMM instead of Q GEMVs), so under concurrent load the
 * server answers many more requests per second. A lone request is not delayed: the batch starts on the
 * next turn of the event loop with whatever has arrived by then.
 */
import type { SearchHit, VectorIndex } from '../retrieval/vector-index.ts';

/** Most query rows searched at once (bounds the score matrix and any one caller's wait). */
const MAX_BATCH_ROWS = 64;

interface Pending {
  queries: Float32Array;
  rows: number;
  k: number;
  resolve: (hits: SearchHit[][]) => void;
  reject: (e: unknown) => void;
}

export class BatchedSearch {
  private queue: Pending[] = [];
  private running = false;

  constructor(readonly index: Pick<VectorIndex, 'dim' | 'search'>) {}

  /** Same answer as `index.search(queries, k)`. */
  search(queries: Float32Array, k: number): Promise<SearchHit[][]> {
    const rows = queries.length / this.index.dim;
    return new Promise((resolve, reject) => {
      this.queue.push({ queries, rows, k, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let the requests parsed in this turn of the event loop join the first batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let rows = 0;
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || rows + this.queue[0]!.rows <= MAX_BATCH_ROWS)
        ) {
          const p = this.queue.shift()!;
          batch.push(p);
          rows += p.rows;
        }
        const dim = this.index.dim;
        const q = batch.length === 1 ? batch[0]!.queries : new Float32Array(rows * dim);
        if (batch.length > 1) {
          let o = 0;
          for (const p of batch) {
            q.set(p.queries, o);
            o += p.queries.length;
          }
        }
        const k = Math.max(...batch.map((p) => p.k));
        try {
          const hits = await this.index.search(q, k);
          let r = 0;
          for (const p of batch) {
            p.resolve(hits.slice(r, r + p.rows).map((h) => (h.length > p.k ? h.slice(0, p.k) : h)));
            r += p.rows;
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
