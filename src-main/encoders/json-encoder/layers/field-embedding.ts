/**
 * Field embedding (PyTorch nn.Embedding(V, d, padding_idx=0) plus masked mean pooling).
 *
 * `indices` is [B, slots]; index 0 is padding. A single-valued field has one slot and is a plain
 * lookup; a multi-valued field averages the rows of its non-padding values (an item without any value
 * gets the zero vector, as a masked mean over nothing). The backward pass is the matching
 * scatter-add: each used row receives dout / (number of values), row 0 never receives anything.
 */
import type { Arr } from './arrays.ts';

/** Values per item that are not padding (the mean's divisor). */
function valuesOf(indices: Int32Array, base: number, slots: number): number {
  let n = 0;
  for (let s = 0; s < slots; s++) if (indices[base + s] !== 0) n++;
  return n;
}

export function fieldEmbeddingForward(
  out: Arr,
  table: Arr,
  indices: Int32Array,
  slots: number,
  B: number,
  d: number,
): void {
  out.fill(0, 0, B * d);
  for (let b = 0; b < B; b++) {
    const base = b * slots;
    const n = valuesOf(indices, base, slots);
    if (n === 0) continue;
    const w = 1 / n;
    const o = b * d;
    for (let s = 0; s < slots; s++) {
      const idx = indices[base + s]!;
      if (idx === 0) continue;
      const r = idx * d;
      if (n === 1) for (let k = 0; k < d; k++) out[o + k] = table[r + k]!;
      else for (let k = 0; k < d; k++) out[o + k]! += w * table[r + k]!;
    }
  }
}

export function fieldEmbeddingBackward(
  dtable: Arr,
  dout: Arr,
  indices: Int32Array,
  slots: number,
  B: number,
  d: number,
): void {
  for (let b = 0; b < B; b++) {
    const base = b * slots;
    const n = valuesOf(indices, base, slots);
    if (n === 0) continue;
    const w = 1 / n;
    const o = b * d;
    for (let s = 0; s < slots; s++) {
      const idx = indices[base + s]!;
      if (idx === 0) continue;
      const r = idx * d;
      for (let k = 0; k < d; k++) dtable[r + k]! += w * dout[o + k]!;
    }
  }
}

/**
 * out [B, d] += the pooled rows of `table` (inference with projected tables, model.ts): the same sums
 * as fieldEmbeddingForward into a zeroed buffer followed by `out += buffer`, rounded in the same
 * order (the mean of a multi-valued item is formed in a float32 row first), but in one pass over
 * `out` instead of three (zeroing, gathering, adding) — at a batch of 1,000 and hidden 1024 those
 * passes cost as much as the product that follows.
 */
export function fieldEmbeddingAccumulate(
  out: Float32Array,
  table: Float32Array,
  indices: Int32Array,
  slots: number,
  from: number,
  to: number,
  d: number,
  row: Float32Array,
): void {
  for (let b = from; b < to; b++) {
    const base = b * slots;
    const n = valuesOf(indices, base, slots);
    if (n === 0) continue;
    const o = b * d;
    if (n === 1) {
      for (let s = 0; s < slots; s++) {
        const idx = indices[base + s]!;
        if (idx === 0) continue;
        const r = idx * d;
        for (let k = 0; k < d; k++) out[o + k]! += table[r + k]!;
      }
      continue;
    }
    const w = 1 / n;
    // Math.fround keeps each partial sum a float32, as the zeroed float32 buffer did.
    const fr = Math.fround;
    if (n === 2 || n === 3) {
      let r1 = -1;
      let r2 = -1;
      let r3 = -1;
      for (let s = 0; s < slots; s++) {
        const idx = indices[base + s]!;
        if (idx === 0) continue;
        if (r1 < 0) r1 = idx * d;
        else if (r2 < 0) r2 = idx * d;
        else r3 = idx * d;
      }
      if (n === 2) for (let k = 0; k < d; k++) out[o + k]! += fr(fr(w * table[r1 + k]!) + w * table[r2 + k]!);
      else
        for (let k = 0; k < d; k++)
          out[o + k]! += fr(fr(fr(w * table[r1 + k]!) + w * table[r2 + k]!) + w * table[r3 + k]!);
      continue;
    }
    row.fill(0, 0, d);
    for (let s = 0; s < slots; s++) {
      const idx = indices[base + s]!;
      if (idx === 0) continue;
      const r = idx * d;
      for (let k = 0; k < d; k++) row[k]! += w * table[r + k]!;
    }
    for (let k = 0; k < d; k++) out[o + k]! += row[k]!;
  }
}
