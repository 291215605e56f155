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
 */
export function blockColumns(src: Float32Array, layout: BlockLayout, d: number): Float32Array {
  const out = new Float32Array(layout.blocks * d * layout.rows);
  placeRows(out, layout, d, 0, layout.n, src);
  return out;
}

/**
 * Writes gallery rows [first, first + count) (`src`, row-major [count × d]) into the blocked copy
 * `out`, in every block that holds them (the last block overlaps its neighbour), so a gallery can
 * be laid out a chunk of rows at a time, in any order.
 */
export function placeRows(
  out: Float32Array,
  layout: BlockLayout,
  d: number,
  first: number,
  count: number,
  src: Float32Array,
): void {
  const { rows, blocks } = layout;
  const end = first + count;
  for (let b = 0; b < blocks; b++) {
    const start = blockStart(layout, b);
    const lo = Math.max(first, start);
    const hi = Math.min(end, start + rows);
    if (lo >= hi) continue;
    transpose(out, b * d * rows + (lo - start), rows, src, (lo - first) * d, d, hi - lo, d);
  }
}

/**
 * out[o + j·outStride + i] = src[s + i·srcStride + j] for i < count, j < width: `count` rows of
 * `width` values transposed into columns `outStride` floats apart.
 *
 * [Note: blocked transpose] Sixteen rows at a time, one dimension at a time: each step writes one
 * whole 64-byte line of a column (16 floats, contiguous) from 16 reads of a 32 KB strip of rows that
 * stays in L1 across the strip's 512 dimensions. The obvious loops are 8-20x slower here: a row at a
 * time writes 512 lines `stride` floats apart, and 64 × 64 tiles do too within a tile; with a stride
 * a power of two (8,192 rows = 32 KB, or the whole gallery) those lines all fall in the same L1
 * set and evict each other. Measured on this machine (2-core Zen 4), ns per float, 8,192-row blocks /
 * one 131,072-row block: row at a time 14 / 6.2, 64 × 64 tiles 11.5 / 10.9, 16-row strips 1.7 / 2.2,
 * and these unrolled 16-row strips 0.6 / 0.8.
 */
function transpose(
  out: Float32Array,
  o: number,
  outStride: number,
  src: Float32Array,
  s: number,
  d: number,
  count: number,
  width: number,
): void {
  let i = 0;
  for (; i + 16 <= count; i += 16) {
    const so = s + i * d;
    for (let j = 0; j < width; j++) {
      const w = o + j * outStride + i;
      const r = so + j;
      out[w] = src[r]!;
      out[w + 1] = src[r + d]!;
      out[w + 2] = src[r + 2 * d]!;
      out[w + 3] = src[r + 3 * d]!;
      out[w + 4] = src[r + 4 * d]!;
      out[w + 5] = src[r + 5 * d]!;
      out[w + 6] = src[r + 6 * d]!;
      out[w + 7] = src[r + 7 * d]!;
      out[w + 8] = src[r + 8 * d]!;
      out[w + 9] = src[r + 9 * d]!;
      out[w + 10] = src[r + 10 * d]!;
      out[w + 11] = src[r + 11 * d]!;
      out[w + 12] = src[r + 12 * d]!;
      out[w + 13] = src[r + 13 * d]!;
      out[w + 14] = src[r + 14 * d]!;
      out[w + 15] = src[r + 15 * d]!;
    }
  }
  for (let j = 0; j < width; j++) {
    const w = o + j * outStride;
    for (let t = i; t < count; t++) out[w + t] = src[s + t * d + j]!;
  }
}

/**
 * The blocked copy as row-major chunks of up to 256 rows (each row once), for quantising it: each
 * chunk transposed back into a 512 KB scratch that stays in L2 ([Note: blocked transpose], with the
 * roles swapped: 16 dimensions at a time, each read in a run of `rows`-apart streams).
 */
export function blockedChunks(
  blocked: Float32Array,
  layout: BlockLayout,
  dim: number,
): (visit: (first: number, count: number, rows: Float32Array) => void) => void {
  const { rows, blocks } = layout;
  const T = Math.min(256, rows);
  return (visit) => {
    const scratch = new Float32Array(T * dim);
    for (let b = 0; b < blocks; b++) {
      const start = blockStart(layout, b);
      const base = b * dim * rows;
      // The last block overlaps its neighbour: its first rows were visited already.
      for (let c0 = b * rows - start; c0 < rows; c0 += T) {
        const count = Math.min(T, rows - c0);
        transpose(scratch, 0, dim, blocked, base + c0, rows, dim, count);
        visit(start + c0, count, scratch);
      }
    }
  };
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
