/**
 * The output head of a training step, everything after the hidden layer that is not a matrix
 * product: the output's normalisation, symmetric InfoNCE and their gradients, as fused loops over
 * Float32Arrays. On tfjs-wasm each elementwise op or reduction is a separate pass that costs 0.5-1.4 ms
 * on a [512, 256] tensor (broadcasts and axis-0 sums transpose internally), and the head had ~20 of
 * them: 14.6 ms a step at B=256 while the helper thread sat idle. These loops read each value once or
 * twice and accumulate in float64. Layouts are feature-major like the hidden layer's: Yᵀ, Zᵀ [512, B].
 */

/**
 * Zᵀ = Yᵀ / ‖Y column‖ with Yᵀ = Σ parts + b₂ (the hidden-layer shards' partial outputs [512, B]).
 * Returns Zᵀ and the column norms.
 */
export function normalisedOutput(
  parts: Float32Array[],
  b2: Float32Array,
  out: number,
  B: number,
  zT: Float32Array = new Float32Array(out * B),
): { zT: Float32Array; norm: Float64Array } {
  zT.set(parts[0]!.subarray(0, out * B));
  for (const p of parts.slice(1)) for (let i = 0; i < out * B; i++) zT[i]! += p[i]!;
  const sq = new Float64Array(B);
  for (let k = 0; k < out; k++) {
    const bias = b2[k]!;
    const row = k * B;
    for (let b = 0; b < B; b++) {
      const y = zT[row + b]! + bias;
      zT[row + b] = y;
      sq[b]! += y * y;
    }
  }
  const norm = sq.map(Math.sqrt);
  const inv = norm.map((n) => 1 / n);
  for (let k = 0; k < out; k++) for (let b = 0; b < B; b++) zT[k * B + b]! *= inv[b]!;
  return { zT, norm };
}

/**
 * Symmetric InfoNCE over a similarity matrix S [B, B] (row-major, already divided by the temperature),
 * matching pairs on the diagonal: loss = ½·(CE over rows + CE over columns), each a mean over the batch
 * (PyTorch: (F.cross_entropy(S, arange) + F.cross_entropy(S.T, arange)) / 2). Which side is rows does
 * not matter: the loss is symmetric. Returns the closed-form gradient
 * dS = (softmax_rows(S) + softmax_cols(S) − 2I) / 2B.
 *
 * One exp per entry: E = exp(S − max S) serves both softmaxes. That is exact unless a whole row or
 * column sits so far below the global maximum that its exps underflow (a spread of S beyond ~600,
 * i.e. a temperature below ~0.003 on unit vectors); then each row and column is shifted by its own
 * maximum instead, at twice the exps.
 */
export function symmetricInfoNce(
  s: Float32Array,
  B: number,
  dS: Float32Array = new Float32Array(B * B),
): { loss: number; dS: Float32Array } {
  if (s.length !== B * B)
    throw new Error(`InfoNCE: similarity matrix must be ${B}×${B}, got ${s.length} values`);
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < s.length; i++) {
    const x = s[i]!;
    if (x > max) max = x;
    if (x < min) min = x;
  }
  if (!(max - min < 600)) return symmetricInfoNceShifted(s, B, dS);
  const e = new Float64Array(B * B);
  const rowSum = new Float64Array(B);
  const colSum = new Float64Array(B);
  for (let i = 0; i < B; i++) {
    let r = 0;
    for (let j = 0; j < B; j++) {
      const x = Math.exp(s[i * B + j]! - max);
      e[i * B + j] = x;
      r += x;
      colSum[j]! += x;
    }
    rowSum[i] = r;
  }
  let lse = 0;
  let diag = 0;
  for (let i = 0; i < B; i++) {
    lse += Math.log(rowSum[i]!) + Math.log(colSum[i]!) + 2 * max;
    diag += s[i * B + i]!;
  }
  const scale = 1 / (2 * B);
  const invCol = colSum.map((x) => scale / x);
  for (let i = 0; i < B; i++) {
    const invRow = scale / rowSum[i]!;
    for (let j = 0; j < B; j++) dS[i * B + j] = e[i * B + j]! * (invRow + invCol[j]!);
    dS[i * B + i]! -= 2 * scale;
  }
  return { loss: lse / (2 * B) - diag / B, dS };
}

/** symmetricInfoNce with each row's and column's log-sum-exp against its own maximum. */
export function symmetricInfoNceShifted(
  s: Float32Array,
  B: number,
  dS: Float32Array = new Float32Array(B * B),
): { loss: number; dS: Float32Array } {
  const rowMax = new Float64Array(B).fill(Number.NEGATIVE_INFINITY);
  const colMax = new Float64Array(B).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      const x = s[i * B + j]!;
      if (x > rowMax[i]!) rowMax[i] = x;
      if (x > colMax[j]!) colMax[j] = x;
    }
  const rowE = new Float64Array(B * B);
  const colE = new Float64Array(B * B);
  const rowSum = new Float64Array(B);
  const colSum = new Float64Array(B);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      const x = s[i * B + j]!;
      const r = Math.exp(x - rowMax[i]!);
      const c = Math.exp(x - colMax[j]!);
      rowE[i * B + j] = r;
      colE[i * B + j] = c;
      rowSum[i]! += r;
      colSum[j]! += c;
    }
  let lse = 0;
  let diag = 0;
  for (let i = 0; i < B; i++) {
    lse += Math.log(rowSum[i]!) + rowMax[i]! + Math.log(colSum[i]!) + colMax[i]!;
    diag += s[i * B + i]!;
  }
  const scale = 1 / (2 * B);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      const g = rowE[i * B + j]! / rowSum[i]! + colE[i * B + j]! / colSum[j]! - (i === j ? 2 : 0);
      dS[i * B + j] = g * scale;
    }
  return { loss: lse / (2 * B) - diag / B, dS };
}

/**
 * [Note: soft-target InfoNCE]
 * Symmetric InfoNCE with a target distribution instead of the diagonal, for MixUp (training/mixup.ts):
 * `targets[i·B + j]` is the weight of S[i][j] (same layout as S). Each row's targets are normalised to
 * sum 1 (Ŷʳ), and each column's (Ŷᶜ):
 *   loss = (Σ_i −Σ_j Ŷʳ_ij·(S_ij − lse_j' S_ij')  +  Σ_j −Σ_i Ŷᶜ_ij·(S_ij − lse_i' S_i'j)) / 2B.
 * Gradient: for one row, d/dS_ij [lse_i − Σ_j' ŷ_j'·S_ij'] = softmax_i(S)_j·Σ_j' ŷ_j' − ŷ_j = P_ij − ŷ_j
 * because the row's targets sum to 1; likewise per column. So
 *   dS = (softmax_rows(S) − Ŷʳ + softmax_cols(S) − Ŷᶜ) / 2B,
 * which is symmetricInfoNce's closed form with I replaced by the normalised targets (targets = I gives
 * it exactly). A row or column whose targets sum to 0 adds nothing (no positive to pull towards).
 * Each row's and column's log-sum-exp is taken against its own maximum (mixed targets are rare enough
 * per batch that the extra exps do not matter), in float64.
 */
export function softTargetInfoNce<A extends Float32Array | Float64Array>(
  s: A,
  B: number,
  targets: Float64Array,
  dS: A,
): { loss: number; dS: A } {
  if (s.length < B * B || targets.length !== B * B)
    throw new Error(`InfoNCE: similarity and target matrices must be ${B}×${B}`);
  const g = new Float64Array(B * B);
  let loss = 0;
  const scale = 1 / (2 * B);
  for (let pass = 0; pass < 2; pass++) {
    // pass 0: rows (stride 1 along j); pass 1: columns (stride B along i).
    const along = pass === 0 ? 1 : B;
    const across = pass === 0 ? B : 1;
    for (let a = 0; a < B; a++) {
      const base = a * across;
      let ysum = 0;
      let mx = Number.NEGATIVE_INFINITY;
      for (let t = 0; t < B; t++) {
        const k = base + t * along;
        ysum += targets[k]!;
        if (s[k]! > mx) mx = s[k]!;
      }
      if (!(ysum > 0)) continue;
      let sum = 0;
      for (let t = 0; t < B; t++) sum += Math.exp(s[base + t * along]! - mx);
      const lse = mx + Math.log(sum);
      for (let t = 0; t < B; t++) {
        const k = base + t * along;
        const y = targets[k]! / ysum;
        if (y !== 0) loss -= y * (s[k]! - lse) * scale;
        g[k]! += (Math.exp(s[k]! - lse) - y) * scale;
      }
    }
  }
  for (let k = 0; k < B * B; k++) dS[k] = g[k]!;
  return { loss, dS };
}

/** The transpose of a B×B target matrix (the tfjs head's S has images as rows, the targets JSON rows). */
export function transposeTargets(targets: Float64Array, B: number): Float64Array {
  const t = new Float64Array(B * B);
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) t[j * B + i] = targets[i * B + j]!;
  return t;
}

/**
 * Back through the normalisation: dYᵀ = (dZᵀ − Zᵀ·⟨dZ, Z⟩) / ‖Y‖ per column, written to `dyT`
 * [512, B] and, transposed, to `dy` [B, 512] (the shards read both); db₂ = dYᵀ's row sums.
 * Returns db₂ and its sum of squares.
 */
export function normalisationBackward(
  dzT: Float32Array,
  zT: Float32Array,
  norm: Float64Array,
  out: number,
  B: number,
  dyT: Float32Array,
  dy: Float32Array,
): { gB2: Float32Array; sumOfSquares: number } {
  const dot = new Float64Array(B);
  for (let k = 0; k < out; k++) for (let b = 0; b < B; b++) dot[b]! += dzT[k * B + b]! * zT[k * B + b]!;
  const inv = norm.map((n) => 1 / n);
  const gB2 = new Float32Array(out);
  let sumOfSquares = 0;
  for (let k = 0; k < out; k++) {
    let rowSum = 0;
    for (let b = 0; b < B; b++) {
      const i = k * B + b;
      const g = (dzT[i]! - zT[i]! * dot[b]!) * inv[b]!;
      dyT[i] = g;
      dy[b * out + k] = g;
      rowSum += Math.fround(g);
    }
    gB2[k] = rowSum;
    sumOfSquares += Math.fround(rowSum) ** 2;
  }
  return { gB2, sumOfSquares };
}
