import { describe, expect, it } from 'vitest';
import { tagAttributes } from '../../src-main/evaluation/attribute-tagging.ts';
import { pca2 } from '../../src-main/evaluation/embedding-map.ts';
import type { FieldName, GarmentAttributes } from '../../src-shared/fields.ts';

/** A JS stand-in for the JSON encoder: one-hot per (field, value), concatenated, L2-normalised. */
const values: Partial<Record<FieldName, string[]>> = {
  category: ['블라우스', '스커트', '드레스'],
  style: ['로맨틱', '리조트'],
  material: ['레이스', '데님', '니트'],
};
const fields = Object.keys(values) as FieldName[];
const slots: string[] = fields.flatMap((f) => values[f]!.map((v) => `${f}=${v}`));
function encode(attrs: readonly GarmentAttributes[]): Float32Array {
  const out = new Float32Array(attrs.length * slots.length);
  attrs.forEach((a, r) => {
    let n = 0;
    for (const f of fields) {
      const v = a[f];
      for (const x of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
        const i = slots.indexOf(`${f}=${x}`);
        if (i >= 0) {
          out[r * slots.length + i] = 1;
          n++;
        }
      }
    }
    for (let j = 0; j < slots.length; j++) out[r * slots.length + j]! /= Math.sqrt(n || 1);
  });
  return out;
}
const inputKey = (a: GarmentAttributes) => JSON.stringify(fields.map((f) => a[f] ?? null));

describe('image → JSON tagging', () => {
  const target = { category: '스커트', style: '리조트', material: '데님' } as GarmentAttributes;
  const image = encode([target]).map((x) => x * 3); // any norm
  const items = [
    {
      id: 'a',
      attributes: { category: '스커트', style: '리조트', material: '니트' } as GarmentAttributes,
      crop: null,
      style: '리조트',
    },
    {
      id: 'b',
      attributes: { category: '스커트', style: '리조트', material: '니트' } as GarmentAttributes,
      crop: 'crops/b.jpg',
      style: '리조트',
    },
    {
      id: 'c',
      attributes: { category: '블라우스', style: '로맨틱', material: '레이스' } as GarmentAttributes,
      crop: null,
      style: '로맨틱',
    },
    {
      id: 'd',
      attributes: { category: '스커트', style: '로맨틱' } as GarmentAttributes,
      crop: null,
      style: '로맨틱',
    },
  ];

  it('composes the planted combination from the vocabulary, with cosine 1, best first', () => {
    const r = tagAttributes({ image, fields, values, encode, inputKey, items, k: 3 });
    expect(r.vocabulary[0]!.attributes).toEqual(target);
    expect(r.vocabulary[0]!.score).toBeCloseTo(1, 5);
    expect(r.vocabulary[0]!.label).toBe('category 스커트 · style 리조트 · material 데님');
    expect(r.vocabulary.map((c) => c.rank)).toEqual([1, 2, 3]);
    for (let i = 1; i < 3; i++)
      expect(r.vocabulary[i]!.score).toBeLessThanOrEqual(r.vocabulary[i - 1]!.score);
    // Each value alone: the planted one heads its field.
    expect(r.perField.map((f) => f.values[0]!.value)).toEqual(['스커트', '리조트', '데님']);
  });

  it('ranks the distinct combinations training items carry, counting them, with an example that has a picture', () => {
    const r = tagAttributes({ image, fields, values, encode, inputKey, items, k: 5 });
    expect(r.trainingCombinations).toBe(3);
    expect(r.training).toHaveLength(3);
    expect(r.training[0]).toMatchObject({ rank: 1, items: 2, example: { id: 'b', crop: 'crops/b.jpg' } });
    // Two of three values shared: cosine 2/3.
    expect(r.training[0]!.score).toBeCloseTo(2 / 3, 5);
    expect(r.training[2]!.attributes.category).toBe('블라우스');
  });
});

describe('PCA by power iteration', () => {
  it('finds the direction of largest spread and its share of the variance', () => {
    // Points on a line along (3, 4)/5 in 3-D, plus a little spread along z.
    const n = 200;
    const data = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const t = (i - n / 2) / 10;
      data[i * 3] = 0.6 * t + 5;
      data[i * 3 + 1] = 0.8 * t - 1;
      data[i * 3 + 2] = i % 2 ? 0.1 : -0.1;
    }
    const { coords, explained } = pca2(data, n, 3);
    // The first coordinate recovers t minus its mean (-0.05) up to sign, the second the ±0.1 spread.
    const sign = Math.sign(coords[2 * (n - 1)]!);
    for (const i of [0, 50, 199]) expect(sign * coords[i * 2]!).toBeCloseTo((i - n / 2) / 10 + 0.05, 3);
    expect(Math.abs(coords[1]!)).toBeCloseTo(0.1, 2);
    expect(explained[0]).toBeGreaterThan(0.99);
    expect(explained[0] + explained[1]).toBeCloseTo(1, 5);
  });
});
