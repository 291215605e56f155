import { describe, expect, it } from 'vitest';
import {
  type AugmentSource,
  JsonAugmenter,
  type JsonAugmentTrace,
} from '../../src-main/dataset/augment/json-augment.ts';
import { SYNONYM_GROUPS, synonymsOf } from '../../src-main/dataset/augment/synonyms.ts';
import { KNOWN_VALUES } from '../../src-main/dataset/kfashion-values.ts';
import { buildVocabulary, UNK_INDEX } from '../../src-main/dataset/vocabulary.ts';
import { openDatabase } from '../../src-main/store/database.ts';
import { makeInputs } from '../../src-main/training/training-data.ts';
import {
  AugmentationFlagError,
  augmentationSchema,
  jsonAugmentationSchema,
  parseJsonAugFlag,
} from '../../src-shared/augmentation-config.ts';
import { DEFAULT_ENCODER_FIELDS, FIELDS } from '../../src-shared/fields.ts';

const fields = [...DEFAULT_ENCODER_FIELDS];
const fieldKinds = Object.fromEntries(fields.map((f) => [f, FIELDS[f].kind]));
// The vocabulary every workspace starts with: <pad>, <unk>, then K-Fashion's published values.
const vocabulary = Object.fromEntries(
  fields.map((f) => [
    f,
    [{ value: '<pad>' }, { value: '<unk>' }, ...KNOWN_VALUES[f].map((value) => ({ value }))],
  ]),
);
const idx = (f: string, v: string) => vocabulary[f]!.findIndex((e) => e.value === v);

function garment(category: string, style: string[], material: string[], detail: string[]) {
  return {
    category: Int32Array.of(idx('category', category)),
    style: Int32Array.from(style, (v) => idx('style', v)),
    silhouette: Int32Array.of(idx('silhouette', '노멀')),
    material: Int32Array.from(material, (v) => idx('material', v)),
    detail: Int32Array.from(detail, (v) => idx('detail', v)),
  };
}

function source(items: ReturnType<typeof garment>[], styles: string[], categories: string[]): AugmentSource {
  const indices: Record<string, Int32Array[]> = Object.fromEntries(fields.map((f) => [f, []]));
  for (const it of items) for (const f of fields) indices[f]!.push(it[f as keyof typeof it]);
  return { indices, styleFolders: styles, categories };
}

const settings = (s: object) => jsonAugmentationSchema.parse(s);
const ctx = { fields, fieldKinds, vocabulary };

describe('synonym table', () => {
  it('holds only values of the vocabulary, each in one group, groups of two or more', () => {
    const dbVocab = buildVocabulary(openDatabase(':memory:'));
    for (const [field, groups] of Object.entries(SYNONYM_GROUPS) as [
      keyof typeof SYNONYM_GROUPS,
      string[][],
    ][]) {
      const seen = new Set<string>();
      const stored = new Map(dbVocab[field].map((e, i) => [e.value, i]));
      for (const g of groups) {
        expect(g.length).toBeGreaterThanOrEqual(2);
        for (const v of g) {
          expect(KNOWN_VALUES[field], `${field} "${v}"`).toContain(v);
          expect(stored.get(v) ?? UNK_INDEX, `${field} "${v}" has an index`).toBeGreaterThan(UNK_INDEX);
          expect(seen.has(v), `${field} "${v}" in two groups`).toBe(false);
          seen.add(v);
        }
      }
    }
    expect(synonymsOf('style', '로맨틱')).toEqual(['페미닌']);
    expect(synonymsOf('style', '레트로')).toEqual([]);
  });
});

describe('JSON augmentation', () => {
  const items = Array.from({ length: 200 }, (_, i) =>
    garment(i % 2 ? '스커트' : '블라우스', ['로맨틱', '페미닌'], i % 3 ? ['니트', '우븐'] : ['가죽'], [
      '포켓',
    ]),
  );
  const src = source(
    items,
    items.map((_, i) => (i % 4 === 0 ? '레트로' : '로맨틱')),
    items.map((_, i) => (i % 2 ? '스커트' : '블라우스')),
  );
  const rows = items.map((_, i) => i);

  it('is off by default and never touches the source', () => {
    const before = src.indices.material!.map((a) => [...a]);
    const aug = new JsonAugmenter(settings({}), ctx);
    const out = aug.augmentRows(src, rows, { seed: 1, epoch: 0, step: 0 });
    expect(makeInputs({ indices: out }, fields, rows)).toEqual(makeInputs(src, fields, rows));
    const aug2 = new JsonAugmenter(settings({ fieldDropout: 0.5, synonym: 1, mix: 1 }), ctx);
    aug2.augmentRows(src, rows, { seed: 1, epoch: 0, step: 0 });
    expect(src.indices.material!.map((a) => [...a])).toEqual(before);
  });

  it('field dropout keeps at least one field and masks about p of the fields', () => {
    const aug = new JsonAugmenter(settings({ fieldDropout: 0.2 }), ctx);
    let dropped = 0;
    let total = 0;
    for (let step = 0; step < 50; step++) {
      const trace: JsonAugmentTrace[] = [];
      const out = aug.augmentRows(src, rows, { seed: 7, epoch: 0, step }, trace);
      for (let b = 0; b < rows.length; b++) {
        const kept = fields.filter((f) => [...out[f]![b]!].some((v) => v !== 0));
        expect(kept.length).toBeGreaterThanOrEqual(1);
        dropped += trace[b]!.dropped.length;
        total += fields.length;
      }
    }
    // 50 steps × 200 garments × 5 fields = 50,000 draws: p ± 0.01 is > 5 standard errors.
    expect(Math.abs(dropped / total - 0.2)).toBeLessThan(0.01);
  });

  it('field dropout keeps one field even at the highest p', () => {
    const aug = new JsonAugmenter(settings({ fieldDropout: 0.9 }), ctx);
    for (let step = 0; step < 20; step++) {
      const out = aug.augmentRows(src, rows, { seed: 3, epoch: 1, step });
      for (let b = 0; b < rows.length; b++) {
        expect(fields.some((f) => [...out[f]![b]!].some((v) => v !== 0))).toBe(true);
      }
    }
  });

  it('per-style strength augments the listed style more', () => {
    const aug = new JsonAugmenter(settings({ fieldDropout: 0.1, styleStrength: { 레트로: 3 } }), ctx);
    const rate = { 레트로: [0, 0], 로맨틱: [0, 0] } as Record<string, [number, number]>;
    for (let step = 0; step < 40; step++) {
      const trace: JsonAugmentTrace[] = [];
      aug.augmentRows(src, rows, { seed: 5, epoch: 0, step }, trace);
      for (const t of trace) {
        const r = rate[src.styleFolders[t.row]!]!;
        r[0] += t.dropped.length;
        r[1] += fields.length;
      }
    }
    expect(rate.레트로![0] / rate.레트로![1]).toBeGreaterThan(0.25);
    expect(rate.로맨틱![0] / rate.로맨틱![1]).toBeLessThan(0.12);
  });

  it('synonym replacement uses the table, keeps a multi field a set and respects p', () => {
    const aug = new JsonAugmenter(settings({ synonym: 0.5 }), ctx);
    let replaced = 0;
    let candidates = 0;
    for (let step = 0; step < 20; step++) {
      const trace: JsonAugmentTrace[] = [];
      const out = aug.augmentRows(src, rows, { seed: 11, epoch: 0, step }, trace);
      for (let b = 0; b < rows.length; b++) {
        for (const r of trace[b]!.replaced) expect(synonymsOf(r.field as 'style', r.from)).toContain(r.to);
        const style = [...out.style![b]!];
        expect(new Set(style).size).toBe(style.length);
        replaced += trace[b]!.replaced.length;
        // 로맨틱, 페미닌 always; 니트 (not 우븐) or 가죽 in material.
        candidates += 3;
      }
    }
    expect(Math.abs(replaced / candidates - 0.5)).toBeLessThan(0.03);
  });

  it('attribute mixing only swaps between garments of one category', () => {
    const aug = new JsonAugmenter(settings({ mix: 1 }), ctx);
    const trace: JsonAugmentTrace[] = [];
    const out = aug.augmentRows(src, rows, { seed: 2, epoch: 0, step: 0 }, trace);
    let swaps = 0;
    for (const t of trace) {
      if (!t.mixed) continue;
      swaps++;
      const b = rows.indexOf(t.row);
      expect(src.categories[t.mixed.withRow]).toBe(src.categories[t.row]);
      // The garment now holds its partner's original values of that field.
      expect([...out[t.mixed.field]![b]!]).toEqual([...src.indices[t.mixed.field]![t.mixed.withRow]!]);
    }
    expect(swaps).toBeGreaterThan(50);
    // A garment without a category is never mixed.
    const lonely = { ...src, categories: src.categories.map(() => null) };
    const t2: JsonAugmentTrace[] = [];
    aug.augmentRows(lonely, rows, { seed: 2, epoch: 0, step: 0 }, t2);
    expect(t2.every((t) => t.mixed === null)).toBe(true);
  });

  it('is deterministic per (seed, epoch, step) and differs between steps', () => {
    const s = settings({ fieldDropout: 0.2, synonym: 0.3, mix: 0.2 });
    const a = new JsonAugmenter(s, ctx).augmentRows(src, rows, { seed: 9, epoch: 2, step: 4 });
    const b = new JsonAugmenter(s, ctx).augmentRows(src, rows, { seed: 9, epoch: 2, step: 4 });
    const c = new JsonAugmenter(s, ctx).augmentRows(src, rows, { seed: 9, epoch: 2, step: 5 });
    expect(makeInputs({ indices: a }, fields, rows)).toEqual(makeInputs({ indices: b }, fields, rows));
    expect(makeInputs({ indices: a }, fields, rows)).not.toEqual(makeInputs({ indices: c }, fields, rows));
  });

  it('decodes augmented indices back to attribute JSON', () => {
    const aug = new JsonAugmenter(settings({}), ctx);
    expect(aug.decode(src.indices, 1)).toEqual({
      category: '스커트',
      style: ['로맨틱', '페미닌'],
      silhouette: '노멀',
      material: ['니트', '우븐'],
      detail: ['포켓'],
    });
  });

  it('refuses to mix a single-valued field', () => {
    expect(() => new JsonAugmenter(settings({ mix: 0.5, mixFields: ['category'] }), ctx)).toThrow(
      /category.*multi-valued/,
    );
  });
});

describe('--json-aug flag', () => {
  it('parses names with defaults, values, strengths and none', () => {
    expect(parseJsonAugFlag('dropout')).toMatchObject({ fieldDropout: 0.2, synonym: 0, mix: 0 });
    expect(parseJsonAugFlag('dropout=0.1,synonym=0.4,mix,strength=레트로:2+로맨틱:0.5')).toMatchObject({
      fieldDropout: 0.1,
      synonym: 0.4,
      mix: 0.2,
      styleStrength: { 레트로: 2, 로맨틱: 0.5 },
    });
    expect(parseJsonAugFlag('none')).toEqual(jsonAugmentationSchema.parse({}));
    expect(augmentationSchema.parse({}).image.views).toBe(0);
  });
  it('says what is wrong in the words of the flag', () => {
    expect(() => parseJsonAugFlag('dropout=2')).toThrow(/--json-aug dropout: .*between 0 and 0.9/);
    expect(() => parseJsonAugFlag('dropout=x')).toThrow(AugmentationFlagError);
    expect(() => parseJsonAugFlag('blur')).toThrow(/unknown part "blur"/);
    expect(() => parseJsonAugFlag('strength=레트로')).toThrow(/STYLE:FACTOR/);
    expect(() => parseJsonAugFlag('strength=레트로:-1')).toThrow(/--json-aug strength 레트로: .*0 or more/);
  });
});

describe('kfashion train augmentation flags', () => {
  it('build the config augmentation from --json-aug, --image-views and --view-seed', async () => {
    const { augmentationFromFlags } = await import('../../src-main/cli/commands/train-command.ts');
    expect(augmentationFromFlags({})).toBeUndefined();
    const a = augmentationFromFlags({ jsonAug: 'dropout,strength=레트로:2', imageViews: 3, viewSeed: 4 })!;
    expect(a.json).toMatchObject({ fieldDropout: 0.2, synonym: 0, mix: 0, styleStrength: { 레트로: 2 } });
    expect(a.image).toMatchObject({ views: 3, viewSeed: 4, mixup: 0 });
    expect(augmentationFromFlags({ imageViews: 2 })!.json).toEqual(jsonAugmentationSchema.parse({}));
    expect(augmentationFromFlags({ mixup: 0.3, mixupAlpha: 1 })!.image).toMatchObject({
      views: 0,
      mixup: 0.3,
      mixupAlpha: 1,
    });
    expect(augmentationFromFlags({ mixup: 0.3 })!.image.mixupAlpha).toBe(0.4);
  });
});

describe('train.start API input', () => {
  it('takes the augmentation settings and names a bad one by its path', async () => {
    const { trainOverridesSchema } = await import('../../src-shared/api-schemas.ts');
    const ok = trainOverridesSchema.parse({
      augmentation: { json: { fieldDropout: 0.2 }, image: { views: 2 } },
    });
    expect(ok.augmentation?.json.fieldDropout).toBe(0.2);
    expect(ok.augmentation?.image.views).toBe(2);
    const bad = trainOverridesSchema.safeParse({ augmentation: { json: { synonym: 3 } } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['augmentation', 'json', 'synonym']);
  });
});
