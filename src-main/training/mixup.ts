/**
 * MixUp of image vectors for the contrastive loss, and the soft-target symmetric InfoNCE it needs.
 *
 * [Note: MixUp and InfoNCE]
 * In a batch of B garments, JSON vectors z_i and frozen image vectors x_i, InfoNCE's targets are the
 * identity: row i (JSON i over the B images) and column j (image j over the B JSONs) each have one
 * positive. MixUp replaces some image vectors by x̃_i = normalise(λ_i·x_i + (1−λ_i)·x_π(i)), π(i) another
 * garment of the batch, λ_i ~ Beta(α, α) folded to ≥ 0.5. The matching mix of the JSON side is the
 * target: image x̃_i is λ_i garment i and 1−λ_i garment π(i), so
 *   Y[i][i] += λ_i,  Y[π(i)][i] += 1−λ_i          (column i of Y: which JSONs image i stands for)
 * and the loss is ½·(CE(rows of S, rows of Y normalised) + CE(columns of S, columns of Y)),
 * S = z·x̃ᵀ / T. Cross-entropy is linear in its target, so this equals λ·(InfoNCE with x̃_i as i's
 * positive) + (1−λ)·(InfoNCE with x̃_i as π(i)'s positive): the mixed image is no longer a hard
 * negative of garment π(i), only a λ-weighted positive of i. What it does to InfoNCE:
 * - the positive pair is softened (the loss's minimum is no longer 0 but the target's entropy), so
 *   the encoder is not pushed to put z_i exactly on one image: a regulariser against over-fitting
 *   to image noise, at the price of a weaker pull;
 * - a mixed image sits between two garments, so it is a *harder* negative for the other B−2 rows:
 *   the margin must hold against points on the segment between two real images;
 * - with λ folded to ≥ 0.5 a garment's own image stays its main positive, so retrieval (which ranks
 *   unmixed gallery images) is still what the loss aims at.
 * The JSON side is discrete and cannot be interpolated; mixing the *targets* is the equivalent.
 * Training applies it per step (augmented-batches.ts `mix`, trainer.ts) through the encoders' soft-
 * target loss ([Note: soft-target InfoNCE] in encoders/json-encoder/output-head.ts); this file's
 * softInfoNce is the plain float64 reference the tests compare them with.
 * CutMix views (image-views.ts) record their λ and partner, but training does not split their target
 * yet: the partner is rarely in the same batch, so a CutMix view trains with its own garment's JSON
 * as the only positive.
 */
import { Rng } from '../dataset/rng.ts';

export interface MixPair {
  /** Batch row whose image vector was mixed. */
  row: number;
  /** Batch row of the partner garment. */
  partner: number;
  /** Share of the row's own image. */
  lambda: number;
}

/** Beta(α, α) by two Gamma draws (Marsaglia–Tsang; α < 1 via the boost U^(1/α)). */
function gamma(rng: Rng, a: number): number {
  if (a < 1) return gamma(rng, a + 1) * rng.float() ** (1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.float();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function sampleBeta(rng: Rng, alpha: number): number {
  const a = gamma(rng, alpha);
  const b = gamma(rng, alpha);
  return a + b > 0 ? a / (a + b) : 0.5;
}

/**
 * Mixes the image vectors of a batch ([B × dim], L2-normalised; not modified): each row with
 * probability `p` is mixed with another row. Returns the new vectors and the pairs.
 */
export function mixupImages(
  images: Float32Array,
  B: number,
  dim: number,
  p: number,
  alpha: number,
  rng: Rng,
): { images: Float32Array; pairs: MixPair[] } {
  const out = Float32Array.from(images);
  const pairs: MixPair[] = [];
  if (p <= 0 || B < 2) return { images: out, pairs };
  for (let i = 0; i < B; i++) {
    if (!rng.chance(p)) continue;
    let j = rng.int(0, B - 2);
    if (j >= i) j++;
    const b = sampleBeta(rng, alpha);
    const lambda = Math.max(b, 1 - b);
    let n = 0;
    for (let k = 0; k < dim; k++) {
      const v = lambda * images[i * dim + k]! + (1 - lambda) * images[j * dim + k]!;
      out[i * dim + k] = v;
      n += v * v;
    }
    const inv = 1 / Math.sqrt(n || 1);
    for (let k = 0; k < dim; k++) out[i * dim + k]! *= inv;
    pairs.push({ row: i, partner: j, lambda });
  }
  return { images: out, pairs };
}

/** The B×B target Y (row = JSON, column = image) for the pairs: identity plus the mixed shares. */
export function mixTargets(B: number, pairs: readonly MixPair[]): Float64Array {
  const y = new Float64Array(B * B);
  for (let i = 0; i < B; i++) y[i * B + i] = 1;
  for (const { row, partner, lambda } of pairs) {
    y[row * B + row] = lambda;
    y[partner * B + row] = 1 - lambda;
  }
  return y;
}

/**
 * Symmetric InfoNCE with soft targets: loss = ½·(Σ_i CE(S_i·, Ŷ_i·) + Σ_j CE(S_·j, Ŷ_·j)) / B, Ŷ the
 * target normalised per row and per column. Returns the loss and dL/dz ([B × dim]); the images are
 * frozen. With Y = I this is the encoder's InfoNCE exactly (a test checks it). Float64 throughout:
 * this is the reference the model's loss layer can take soft targets from.
 */
export function softInfoNce(
  z: Float32Array | Float64Array,
  images: Float32Array | Float64Array,
  B: number,
  dim: number,
  temperature: number,
  targets: Float64Array,
): { loss: number; dz: Float64Array } {
  const s = new Float64Array(B * B);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += z[i * dim + k]! * images[j * dim + k]!;
      s[i * B + j] = dot / temperature;
    }
  const ds = new Float64Array(B * B);
  let loss = 0;
  // Rows: JSON i over the images.
  for (let i = 0; i < B; i++) {
    let mx = -Infinity;
    let ysum = 0;
    for (let j = 0; j < B; j++) {
      mx = Math.max(mx, s[i * B + j]!);
      ysum += targets[i * B + j]!;
    }
    if (ysum <= 0) continue;
    let sum = 0;
    for (let j = 0; j < B; j++) sum += Math.exp(s[i * B + j]! - mx);
    const lse = mx + Math.log(sum);
    for (let j = 0; j < B; j++) {
      const y = targets[i * B + j]! / ysum;
      loss -= (y * (s[i * B + j]! - lse)) / (2 * B);
      ds[i * B + j]! += (Math.exp(s[i * B + j]! - lse) - y) / (2 * B);
    }
  }
  // Columns: image j over the JSONs.
  for (let j = 0; j < B; j++) {
    let mx = -Infinity;
    let ysum = 0;
    for (let i = 0; i < B; i++) {
      mx = Math.max(mx, s[i * B + j]!);
      ysum += targets[i * B + j]!;
    }
    if (ysum <= 0) continue;
    let sum = 0;
    for (let i = 0; i < B; i++) sum += Math.exp(s[i * B + j]! - mx);
    const lse = mx + Math.log(sum);
    for (let i = 0; i < B; i++) {
      const y = targets[i * B + j]! / ysum;
      loss -= (y * (s[i * B + j]! - lse)) / (2 * B);
      ds[i * B + j]! += (Math.exp(s[i * B + j]! - lse) - y) / (2 * B);
    }
  }
  const dz = new Float64Array(B * dim);
  for (let i = 0; i < B; i++)
    for (let j = 0; j < B; j++) {
      const g = ds[i * B + j]! / temperature;
      if (g === 0) continue;
      for (let k = 0; k < dim; k++) dz[i * dim + k]! += g * images[j * dim + k]!;
    }
  return { loss, dz };
}

/** The generator of a step's MixUp draws (seeded like the JSON augmentation, its own stream). */
export function mixupRng(seed: number, epoch: number, step: number): Rng {
  return Rng.derive('mixup', seed, epoch, step);
}
