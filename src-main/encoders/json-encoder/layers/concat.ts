/** Concatenation along features: out [B, Σ widths] from parts [B, width_i], in order (torch.cat(dim=-1)). */
import type { Arr } from './arrays.ts';

export function concatForward(out: Arr, parts: readonly Arr[], widths: readonly number[], B: number): void {
  const total = widths.reduce((a, w) => a + w, 0);
  let col = 0;
  parts.forEach((p, i) => {
    const w = widths[i]!;
    for (let b = 0; b < B; b++) out.set(p.subarray(b * w, (b + 1) * w), b * total + col);
    col += w;
  });
}

/** dparts[i] += the matching columns of dout. */
export function concatBackward(
  dparts: readonly Arr[],
  dout: Arr,
  widths: readonly number[],
  B: number,
): void {
  const total = widths.reduce((a, w) => a + w, 0);
  let col = 0;
  dparts.forEach((dp, i) => {
    const w = widths[i]!;
    for (let b = 0; b < B; b++) {
      const o = b * total + col;
      for (let k = 0; k < w; k++) dp[b * w + k]! += dout[o + k]!;
    }
    col += w;
  });
}
