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
): { zT: Float32Array; norm: Float64Array } {
  const zT = new Float32Array(out * B);
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
 * dS = (softmax_rows(S) + softmax_cols(S) − 2I) / 2B. Row and column log-sum-exps are each taken
 * against their own maximum, so no temperature under- or overflows.
 */
export function symmetricInfoNce(s: Float32Array, B: number): { loss: number; dS: Float32Array } {
  if (s.length !== B * B)
    throw new Error(`InfoNCE: similarity matrix must be ${B}×${B}, got ${s.length} values`);
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
  const loss = lse / (2 * B) - diag / B;
  const dS = new Float32Array(B * B);
  const scale = 1 / (2 * B);
  const invRow = rowSum.map((x) => 1 / x);
  const invCol = colSum.map((x) => 1 / x);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      const g = rowE[i * B + j]! * invRow[i]! + colE[i * B + j]! * invCol[j]! - (i === j ? 2 : 0);
      dS[i * B + j] = g * scale;
    }
  return { loss, dS };
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
