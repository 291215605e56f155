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
