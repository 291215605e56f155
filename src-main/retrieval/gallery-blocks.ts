/**
 * The exact index's gallery layout ([Note: gallery layout] in vector-index.ts): rows cut into blocks,
 * each stored transposed, the last block overlapping its neighbour. Shared by the index (which builds
 * the copy), the search worker (which re-scores rows from it) and the blocked scorer (score-blocks.ts).
 */

/** Galleries up to this many rows are one block; larger ones are cut into BLOCK_ROWS-row blocks. */
const ONE_BLOCK_MAX_ROWS = 1 << 18;
const BLOCK_ROWS = 8192;

/** How the gallery is cut: `blocks` blocks of `rows` rows; block b starts at row `start(b)`. */
export interface BlockLayout {
  n: number;
  rows: number;
  blocks: number;
}

export function blockLayout(n: number, blockRows?: number): BlockLayout {
  const rows = Math.min(n, blockRows ?? (n <= ONE_BLOCK_MAX_ROWS ? n : BLOCK_ROWS));
  return { n, rows, blocks: Math.ceil(n / rows) };
}

/** First row of block b: the last block is the last `rows` rows, overlapping its neighbour. */
export function blockStart(l: BlockLayout, b: number): number {
  return Math.min(b * l.rows, l.n - l.rows);
}

/**
 * [n, d] row-major → [blocks, d, rows]: each block of rows transposed (see [Note: gallery layout]).
 * Tiled 64 × 64 so that both the rows read and the columns written stay in cache.
 */
export function blockColumns(src: Float32Array, layout: BlockLayout, d: number): Float32Array {
  const { rows, blocks } = layout;
  const out = new Float32Array(blocks * d * rows);
  const T = 64;
  for (let b = 0; b < blocks; b++) {
    const first = blockStart(layout, b);
    const base = b * d * rows;
    for (let i0 = 0; i0 < rows; i0 += T) {
      const i1 = Math.min(rows, i0 + T);
      for (let j0 = 0; j0 < d; j0 += T) {
        const j1 = Math.min(d, j0 + T);
        for (let i = i0; i < i1; i++) {
          const so = (first + i) * d;
          for (let j = j0; j < j1; j++) out[base + j * rows + i] = src[so + j]!;
        }
      }
    }
  }
  return out;
}

/**
 * The exact float32 score of one gallery row read from the blocked copy, summed exactly as the JS
 * scorer sums (score-matrix.ts, [Note: score summation order]: products in dim order in a double,
 * stored as float32), so the int8 path's hits and scores are the JS path's, bit for bit. The row's
 * dims are `rows` floats apart: one cache line each, but only for the few re-scored rows.
 */
export function blockedRowScorer(blocked: Float32Array, layout: BlockLayout, dim: number) {
  const { rows, blocks } = layout;
  return (row: number, q: Float32Array): number => {
    const b = Math.min(Math.floor(row / rows), blocks - 1);
    const o = b * dim * rows + (row - blockStart(layout, b));
    let s = 0;
    for (let j = 0; j < dim; j++) s += q[j]! * blocked[o + j * rows]!;
    return Math.fround(s);
  };
}
