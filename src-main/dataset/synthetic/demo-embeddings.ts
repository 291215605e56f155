/**
 * Stand-in "FashionCLIP" image embeddings for the demo dataset. They are NOT produced by any image
 * model: each vector is built from the garment's true attributes plus noise, so the data has a signal
 * a JSON encoder can learn, with the statistics real FashionCLIP crops showed in the earlier pipeline
 * (EVALUATION.md: centrality mean 0.79, std 0.05, range ≈ [0.43, 0.90], 로맨틱 > 리조트 > 레트로).
 *
 * Construction, per garment i (all directions are seeded unit vectors in 512 dimensions):
 *   s_i = Σ_field w_field · dir(field = value)      attribute signal (category and colour strongest)
 *       + w_part · dir(part) + w_look · dir(look, part) + w_image · dir(image) + w_noise · noise_i
 *   x_i = c_style · u0 + m_i · s_i,  then L2-normalised
 * u0 is a common direction: its weight c sets how close everything sits to the centre (centrality).
 * m_i = exp(σ·z_i) spreads items around the centre; a few "odd shots" get a large m_i and form the
 * low tail. c per style, σ, and the odd shots' m are calibrated numerically (below) so the targets
 * hold for any seed and any dataset size.
 *
 * Colour and print are in the vector although they are not default encoder fields — as with real
 * image embeddings, which see everything in the picture.
 */
import type { FieldName, GarmentAttributes, GarmentPart } from '../../../src-shared/fields.ts';
import { FIELDS } from '../../../src-shared/fields.ts';
import { Rng } from '../rng.ts';

export const EMBEDDING_DIM = 512;

/** Centrality targets, from the earlier pipeline's figures (EVALUATION.md). */
export const CENTRALITY_TARGETS = {
  std: 0.0485,
  perStyle: { 로맨틱: 0.7985, 리조트: 0.7902, 레트로: 0.7606 } as Readonly<Record<string, number>>,
  /** Styles without a figure of their own. */
  otherStyles: 0.79,
  /** The odd shots' centralities are spread over this range; it sets the minimum. */
  lowTail: [0.44, 0.54] as const,
  /** Share of odd shots (at least one). */
  lowTailShare: 0.002,
};

const FIELD_WEIGHTS: Readonly<Record<FieldName, number>> = {
  category: 1.0,
  color: 0.85,
  style: 0.45,
  silhouette: 0.4,
  print: 0.42,
  material: 0.4,
  detail: 0.3,
  sub_color: 0.3,
  length: 0.3,
  sleeve_length: 0.25,
  neckline: 0.25,
  collar: 0.2,
};
/** The 서브스타일 (second style value) counts less than the style folder's own style. */
const SUB_STYLE_WEIGHT = 0.25;
const PART_WEIGHT = 0.45;
const LOOK_WEIGHT = 0.45;
const IMAGE_WEIGHT = 0.3;
const NOISE_WEIGHT = 0.55;

export interface EmbeddingItem {
  id: string;
  styleFolder: string;
  part: GarmentPart;
  /** True attributes, canonical spelling (never the label's raw strings). */
  attributes: GarmentAttributes;
  /** Shots of one look share this key: their garments get a common component. */
  lookKey: string;
  imageKey: string;
}

export interface CentralitySummary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

export interface CentralityStats extends CentralitySummary {
  perStyle: Record<string, CentralitySummary>;
  /** Top 10 % by centrality: the best-seller proxy's anchor set. */
  anchor: CentralitySummary;
}

export interface DemoEmbeddings {
  data: Float32Array;
  ids: string[];
  stats: CentralityStats;
  calibration: { sigma: number; commonWeight: Record<string, number>; oddShots: number };
}

function gaussianUnit(rng: Rng, dim: number): Float64Array {
  const v = new Float64Array(dim);
  let n = 0;
  for (let k = 0; k < dim; k++) {
    const g = rng.normal();
    v[k] = g;
    n += g * g;
  }
  const inv = 1 / Math.sqrt(n);
  for (let k = 0; k < dim; k++) v[k]! *= inv;
  return v;
}

function summarize(values: ArrayLike<number>): CentralitySummary {
  const count = values.length;
  if (count === 0) return { count, mean: 0, std: 0, min: 0, max: 0 };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / count;
  let sq = 0;
  for (let i = 0; i < count; i++) sq += (values[i]! - mean) ** 2;
  return { count, mean, std: Math.sqrt(sq / count), min, max };
}

/** Cosine of each row to the centre (the normalised mean of the normalised rows), as EVALUATION.md defines it. */
export function centralities(data: Float32Array, dim = EMBEDDING_DIM): Float64Array {
  const n = data.length / dim;
  const centre = new Float64Array(dim);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += data[i * dim + k]! ** 2;
    norms[i] = Math.sqrt(s) || 1;
    for (let k = 0; k < dim; k++) centre[k]! += data[i * dim + k]! / norms[i]!;
  }
  let cn = 0;
  for (let k = 0; k < dim; k++) cn += centre[k]! ** 2;
  cn = Math.sqrt(cn) || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += data[i * dim + k]! * centre[k]!;
    out[i] = s / (norms[i]! * cn);
  }
  return out;
}

/** Centrality statistics overall, per style folder and for the anchor set (top 10 %). */
export function centralityStats(
  data: Float32Array,
  styleOfRow: readonly string[],
  dim = EMBEDDING_DIM,
): CentralityStats {
  const c = centralities(data, dim);
  const byStyle = new Map<string, number[]>();
  styleOfRow.forEach((s, i) => {
    const list = byStyle.get(s) ?? [];
    list.push(c[i]!);
    byStyle.set(s, list);
  });
  const perStyle: Record<string, CentralitySummary> = {};
  for (const [s, list] of byStyle) perStyle[s] = summarize(list);
  const sorted = [...c].sort((a, b) => b - a);
  const anchor = summarize(sorted.slice(0, Math.max(1, Math.round(sorted.length * 0.1))));
  return { ...summarize(c), perStyle, anchor };
}

/** t(m) = m / √(1 − m²): for x = c·u + r·v with u ⟂ v, cos(x, u) = m exactly when c/r = t(m). */
const ratio = (m: number) => {
  const x = Math.min(0.999, Math.max(0.01, m));
  return x / Math.sqrt(1 - x * x);
};

export function demoEmbeddings(items: readonly EmbeddingItem[], seed: number): DemoEmbeddings {
  const dim = EMBEDDING_DIM;
  const n = items.length;
  if (n === 0) throw new Error('demoEmbeddings: no garments to embed');

  // 1. The specific part s_i of every vector.
  const directions = new Map<string, Float64Array>();
  const dir = (...key: string[]) => {
    const k = key.join('\u0001');
    let v = directions.get(k);
    if (!v) {
      v = gaussianUnit(Rng.derive('demo-direction', seed, ...key), dim);
      directions.set(k, v);
    }
    return v;
  };
  const s = new Float64Array(n * dim);
  const addTo = (i: number, v: Float64Array, w: number) => {
    const o = i * dim;
    for (let k = 0; k < dim; k++) s[o + k]! += w * v[k]!;
  };
  items.forEach((item, i) => {
    for (const [field, weight] of Object.entries(FIELD_WEIGHTS) as [FieldName, number][]) {
      const value = item.attributes[field];
      if (value === undefined) continue;
      const values = typeof value === 'string' ? [value] : value;
      if (values.length === 0) continue;
      if (field === 'style') {
        values.forEach((v, j) => {
          addTo(i, dir('field', field, v), j === 0 ? weight : SUB_STYLE_WEIGHT);
        });
        continue;
      }
      // Several values share the field's weight, so a garment with three details is not dominated by them.
      const w = FIELDS[field].kind === 'multi' ? weight / Math.sqrt(values.length) : weight;
      for (const v of values) addTo(i, dir('field', field, v), w);
    }
    addTo(i, dir('part', item.part), PART_WEIGHT);
    addTo(i, dir('look', item.lookKey, item.part), LOOK_WEIGHT);
    addTo(i, dir('image', item.imageKey), IMAGE_WEIGHT);
    addTo(i, gaussianUnit(Rng.derive('demo-noise', seed, item.id), dim), NOISE_WEIGHT);
  });
  const u0 = gaussianUnit(Rng.derive('demo-common', seed), dim);
  const p = new Float64Array(n); // s_i · u0
  const q = new Float64Array(n); // |s_i|²
  for (let i = 0; i < n; i++) {
    let a = 0;
    let b = 0;
    for (let k = 0; k < dim; k++) {
      const v = s[i * dim + k]!;
      a += v * u0[k]!;
      b += v * v;
    }
    p[i] = a;
    q[i] = b;
  }

  // 2. Per-item spread and the odd shots of the low tail.
  const spreadRng = Rng.derive('demo-spread', seed);
  const z = Float64Array.from(items, () => spreadRng.normal());
  const oddRng = Rng.derive('demo-odd', seed);
  const oddCount = Math.max(1, Math.round(n * CENTRALITY_TARGETS.lowTailShare));
  const odd = oddRng.sampleIndices(n, oddCount);
  const [tailLo, tailHi] = CENTRALITY_TARGETS.lowTail;
  const oddTarget = odd.map(() => oddRng.range(tailLo, tailHi));
  const oddMult = odd.map(() => 2.5);

  const styles = [...new Set(items.map((it) => it.styleFolder))];
  const styleIndex = Int32Array.from(items, (it) => styles.indexOf(it.styleFolder));
  const targets = styles.map((st) => CENTRALITY_TARGETS.perStyle[st] ?? CENTRALITY_TARGETS.otherStyles);
  const meanNorm = Math.sqrt(q.reduce((a, b) => a + b, 0) / n);
  const common = targets.map((t) => ratio(t) * meanNorm);

  // Centralities for given weights in O(n·dim), without materialising the vectors:
  // y_i = (c_i u0 + m_i s_i)/|·|, centre ∝ Σ y_i = A u0 + V with V = Σ (m_i/n_i) s_i.
  const m = new Float64Array(n);
  const nrm = new Float64Array(n);
  const cent = new Float64Array(n);
  const V = new Float64Array(dim);
  const evaluate = () => {
    V.fill(0);
    let A = 0;
    for (let i = 0; i < n; i++) {
      const c = common[styleIndex[i]!]!;
      const mi = m[i]!;
      const ni = Math.sqrt(c * c + 2 * c * mi * p[i]! + mi * mi * q[i]!);
      nrm[i] = ni;
      A += c / ni;
      const w = mi / ni;
      const o = i * dim;
      for (let k = 0; k < dim; k++) V[k]! += w * s[o + k]!;
    }
    let uV = 0;
    let vv = 0;
    for (let k = 0; k < dim; k++) {
      uV += u0[k]! * V[k]!;
      vv += V[k]! * V[k]!;
    }
    const cNorm = Math.sqrt(A * A + 2 * A * uV + vv);
    const uC = A + uV;
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      let sV = 0;
      for (let k = 0; k < dim; k++) sV += s[o + k]! * V[k]!;
      const sC = A * p[i]! + sV;
      cent[i] = (common[styleIndex[i]!]! * uC + m[i]! * sC) / (nrm[i]! * cNorm);
    }
  };
  const styleMeans = () => {
    const sum = new Float64Array(styles.length);
    const cnt = new Float64Array(styles.length);
    for (let i = 0; i < n; i++) {
      sum[styleIndex[i]!]! += cent[i]!;
      cnt[styleIndex[i]!]! += 1;
    }
    return Array.from(sum, (v, j) => v / cnt[j]!);
  };
  /** Fixed-point iteration on the common weights and the odd shots' spreads at a given σ. */
  const calibrate = (sigma: number): number => {
    for (let i = 0; i < n; i++) m[i] = Math.exp(sigma * z[i]!);
    for (let iter = 0; iter < 60; iter++) {
      odd.forEach((i, j) => {
        m[i] = oddMult[j]!;
      });
      evaluate();
      const means = styleMeans();
      let err = 0;
      means.forEach((mu, j) => {
        err = Math.max(err, Math.abs(mu - targets[j]!));
        common[j]! *= ratio(targets[j]!) / ratio(mu);
      });
      odd.forEach((i, j) => {
        err = Math.max(err, Math.abs(cent[i]! - oddTarget[j]!) * 0.1);
        oddMult[j]! *= ratio(cent[i]!) / ratio(oddTarget[j]!);
      });
      if (err < 5e-5) break;
    }
    return summarize(cent).std;
  };

  // 3. σ by regula falsi (Illinois variant) on the achieved standard deviation: std(σ) is smooth and
  // increasing, so a handful of calibrations suffice.
  const target = CENTRALITY_TARGETS.std;
  let sigma = 0;
  let a = 0;
  let fa = calibrate(0) - target;
  if (fa < 0) {
    let b = 0.2;
    let fb = calibrate(b) - target;
    while (fb < 0 && b < 5) {
      a = b;
      fa = fb;
      b *= 2;
      fb = calibrate(b) - target;
    }
    sigma = b;
    for (let it = 0; it < 20 && Math.abs(fb) > 1e-4; it++) {
      const c = b - (fb * (b - a)) / (fb - fa);
      const fc = calibrate(c) - target;
      if (fc * fb < 0) {
        a = b;
        fa = fb;
      } else {
        fa /= 2;
      }
      b = c;
      fb = fc;
      sigma = c;
    }
  }
  calibrate(sigma);

  // 4. The vectors themselves.
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = common[styleIndex[i]!]!;
    const mi = m[i]!;
    const o = i * dim;
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += (c * u0[k]! + mi * s[o + k]!) ** 2;
    const inv = 1 / Math.sqrt(sq);
    for (let k = 0; k < dim; k++) data[o + k] = (c * u0[k]! + mi * s[o + k]!) * inv;
  }
  const stats = centralityStats(
    data,
    items.map((it) => it.styleFolder),
    dim,
  );
  return {
    data,
    ids: items.map((it) => it.id),
    stats,
    calibration: {
      sigma,
      commonWeight: Object.fromEntries(styles.map((st, j) => [st, common[j]!])),
      oddShots: oddCount,
    },
  };
}
