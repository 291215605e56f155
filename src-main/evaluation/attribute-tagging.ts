/**
 * image → JSON (tagging): which attribute combinations does the trained JSON encoder place nearest to
 * a picture's image vector? The encoder maps attributes into the image-embedding space, so the cosine
 * between a combination's vector and the picture's vector scores how well the combination describes
 * the picture, in the model's own terms.
 *
 * Two candidate sets, because they answer different questions:
 * - the vocabulary: combinations composed value by value (a beam search over the fields: every field
 *   either gets one of its values or stays empty, the `beam` best partial combinations are kept after
 *   each field). It can propose combinations no garment carries.
 * - the training items: the distinct combinations training garments carry, all scored exactly. These
 *   are combinations that exist, with how many garments carry each.
 *
 * Pure over an `encode` function, so it is tested with a small JS encoder.
 */
import type { FieldName, GarmentAttributes } from '../../src-shared/fields.ts';
import type { TagCombination } from '../../src-shared/search.ts';
import { describeAttributes } from './search-query.ts';

export interface TaggingInput {
  /** The picture's image vector (any norm; normalised here). */
  image: Float32Array;
  fields: readonly FieldName[];
  /** Each field's values as the checkpoint knows them (bookkeeping entries <pad>/<unk> left out). */
  values: Readonly<Partial<Record<FieldName, readonly string[]>>>;
  /** L2-normalised vectors [attrs.length × dim], one per combination. */
  encode: (attrs: readonly GarmentAttributes[]) => Float32Array;
  /** Canonical key of an encoder input (equal keys ⇔ equal vectors). */
  inputKey: (attrs: GarmentAttributes) => string;
  /** Training items' attributes (restricted to `fields` here), with their id, crop and style. */
  items: Iterable<{ id: string; attributes: GarmentAttributes; crop: string | null; style: string }>;
  k: number;
  /** Partial combinations kept after each field (default max(k, 8)). */
  beam?: number;
  /** Values kept per field in `perField` (default 3). */
  perFieldTop?: number;
}

export interface TaggingResult {
  perField: { field: string; values: { value: string; score: number }[] }[];
  vocabulary: TagCombination[];
  training: TagCombination[];
  trainingCombinations: number;
}

function normalised(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  return v.map((x) => x / n);
}

/** Cosines of each row of `m` ([rows × dim], rows unit length) with the unit vector `q`. */
function cosines(m: Float32Array, q: Float32Array): number[] {
  const dim = q.length;
  const rows = m.length / dim;
  const out = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * dim;
    for (let j = 0; j < dim; j++) s += m[o + j]! * q[j]!;
    out[r] = s;
  }
  return out;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function tagAttributes(input: TaggingInput): TaggingResult {
  const q = normalised(input.image);
  const k = Math.max(1, input.k);
  const beam = input.beam ?? Math.max(k, 8);
  const perFieldTop = input.perFieldTop ?? 3;
  const fields = input.fields.filter((f) => (input.values[f]?.length ?? 0) > 0);

  // Each value on its own.
  const perField = fields.map((f) => {
    const values = input.values[f]!;
    const scores = cosines(input.encode(values.map((v) => ({ [f]: v }) as GarmentAttributes)), q);
    return {
      field: f as string,
      values: values
        .map((value, i) => ({ value, score: round(scores[i]!) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, perFieldTop),
    };
  });

  // Beam search over the fields.
  let frontier: { attrs: GarmentAttributes; score: number }[] = [{ attrs: {}, score: -Infinity }];
  for (const f of fields) {
    const candidates: GarmentAttributes[] = [];
    for (const b of frontier) {
      candidates.push(b.attrs);
      for (const v of input.values[f]!) candidates.push({ ...b.attrs, [f]: v });
    }
    const nonEmpty = candidates.filter((c) => Object.keys(c).length > 0);
    const scores = cosines(input.encode(nonEmpty), q);
    const seen = new Set<string>();
    frontier = nonEmpty
      .map((attrs, i) => ({ attrs, score: scores[i]! }))
      .sort((a, b) => b.score - a.score)
      .filter((c) => {
        const key = input.inputKey(c.attrs);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .slice(0, beam);
  }
  const vocabulary: TagCombination[] = frontier
    .filter((c) => Object.keys(c.attrs).length > 0)
    .slice(0, k)
    .map((c, i) => ({
      rank: i + 1,
      score: round(c.score),
      attributes: c.attrs,
      label: describeAttributes(c.attrs),
    }));

  // The training items' distinct combinations, each scored once.
  const combos = new Map<
    string,
    { attrs: GarmentAttributes; count: number; example: { id: string; crop: string | null; style: string } }
  >();
  for (const it of input.items) {
    const attrs: GarmentAttributes = {};
    for (const f of input.fields) if (it.attributes[f] !== undefined) attrs[f] = it.attributes[f];
    if (Object.keys(attrs).length === 0) continue;
    const key = input.inputKey(attrs);
    const c = combos.get(key);
    if (c) {
      c.count++;
      // Prefer an example that has a picture.
      if (c.example.crop === null && it.crop !== null)
        c.example = { id: it.id, crop: it.crop, style: it.style };
    } else combos.set(key, { attrs, count: 1, example: { id: it.id, crop: it.crop, style: it.style } });
  }
  const list = [...combos.values()];
  const scores: number[] = [];
  // In blocks, so a large dataset never holds every vector at once.
  const BLOCK = 2048;
  for (let s = 0; s < list.length; s += BLOCK) {
    scores.push(...cosines(input.encode(list.slice(s, s + BLOCK).map((c) => c.attrs)), q));
  }
  const training: TagCombination[] = list
    .map((c, i) => ({ c, score: scores[i]! }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map(({ c, score }, i) => ({
      rank: i + 1,
      score: round(score),
      attributes: c.attrs,
      label: describeAttributes(c.attrs),
      items: c.count,
      example: c.example,
    }));
  return { perField, vocabulary, training, trainingCombinations: list.length };
}
