/**
 * The one plain-JS exact scorer: scores [q × g] = queries · galleryᵀ over row-major Float32Arrays.
 * Training validation, evaluation's ranking (retrieval-metrics.ts), the block scorer below its ONNX
 * Runtime threshold (score-blocks.ts) and the vector index's JS path (vector-index.ts) all score
 * with it, so a small gallery gets the same scores, bit for bit, whichever of them asks.
 *
 * [Note: score summation order] Every score sums its own dim products in k order in a double and is
 * then stored as float32. Blocking by query rows or by gallery rows never changes that order, so any
 * split of the queries into blocks gives bit-identical scores (training validation relies on it: its
 * blocked pass reproduces the whole-matrix figures of a small run exactly).
 */
/** Scores [q × g] = queries [q × dim] · galleryᵀ [dim × g]; cosines when both sides are unit vectors. */
export function scoreMatrix(
  queries: Float32Array,
  gallery: Float32Array,
  dim: number,
): { scores: Float32Array; queries: number; gallery: number } {
  const q = queries.length / dim;
  const g = gallery.length / dim;
  if (!Number.isInteger(q) || !Number.isInteger(g)) {
    throw new Error(`scoreMatrix: ${queries.length} and ${gallery.length} floats are not rows of ${dim}`);
  }
  const scores = new Float32Array(q * g);
  // Register blocking: 4 query rows × 2 gallery rows per pass, so each loaded float feeds 2-4
  // products (3-4× faster than one dot product at a time in V8). Every score still sums its own
  // products in k order in a double, so the results are bit-identical to the plain loop below.
  let i = 0;
  for (; i + 4 <= q; i += 4) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    const a2 = a1 + dim;
    const a3 = a2 + dim;
    let j = 0;
    for (; j + 2 <= g; j += 2) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let k = 0; k < dim; k++) {
        const x0 = gallery[b0 + k]!;
        const x1 = gallery[b1 + k]!;
        const y0 = queries[a0 + k]!;
        const y1 = queries[a1 + k]!;
        const y2 = queries[a2 + k]!;
        const y3 = queries[a3 + k]!;
        s00 += y0 * x0;
        s01 += y0 * x1;
        s10 += y1 * x0;
        s11 += y1 * x1;
        s20 += y2 * x0;
        s21 += y2 * x1;
        s30 += y3 * x0;
        s31 += y3 * x1;
      }
      const o = i * g + j;
      scores[o] = s00;
      scores[o + 1] = s01;
      scores[o + g] = s10;
      scores[o + g + 1] = s11;
      scores[o + 2 * g] = s20;
      scores[o + 2 * g + 1] = s21;
      scores[o + 3 * g] = s30;
      scores[o + 3 * g + 1] = s31;
    }
    for (; j < g; j++) {
      const b = j * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < dim; k++) {
        const x = gallery[b + k]!;
        s0 += queries[a0 + k]! * x;
        s1 += queries[a1 + k]! * x;
        s2 += queries[a2 + k]! * x;
        s3 += queries[a3 + k]! * x;
      }
      scores[i * g + j] = s0;
      scores[(i + 1) * g + j] = s1;
      scores[(i + 2) * g + j] = s2;
      scores[(i + 3) * g + j] = s3;
    }
  }
  // The last q mod 4 rows (all of a single query's search): 4 gallery rows per pass, so four
  // independent sums hide the add latency that one running sum waits on.
  for (; i < q; i++) {
    const qo = i * dim;
    const o = i * g;
    let j = 0;
    for (; j + 4 <= g; j += 4) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < dim; k++) {
        const y = queries[qo + k]!;
        s0 += y * gallery[b0 + k]!;
        s1 += y * gallery[b1 + k]!;
        s2 += y * gallery[b2 + k]!;
        s3 += y * gallery[b3 + k]!;
      }
      scores[o + j] = s0;
      scores[o + j + 1] = s1;
      scores[o + j + 2] = s2;
      scores[o + j + 3] = s3;
    }
    for (; j < g; j++) {
      const go = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += queries[qo + k]! * gallery[go + k]!;
      scores[o + j] = s;
    }
  }
  return { scores, queries: q, gallery: g };
}
