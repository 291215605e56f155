import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES_BY_PART, KNOWN_VALUES } from '../../src-main/dataset/kfashion-values.ts';
import { hashSeed, mulberry32, Rng } from '../../src-main/dataset/rng.ts';
import { planDemoDataset, plannedGarments } from '../../src-main/dataset/synthetic/demo-plan.ts';
import { isSimplePolygon } from '../../src-main/dataset/synthetic/demo-shapes.ts';
import {
  CATEGORY_COLLARS,
  CATEGORY_DETAILS,
  CATEGORY_LENGTHS,
  CATEGORY_MATERIALS,
  CATEGORY_SLEEVES,
  DENIM_COLORS,
  STYLE_PROFILES,
} from '../../src-main/dataset/synthetic/demo-style-profiles.ts';
import { type DemoSummary, generateDemoDataset } from '../../src-main/dataset/synthetic/generate-demo.ts';
import { readNpySync } from '../../src-main/store/npy.ts';
import { FIELD_NAMES, type GarmentPart } from '../../src-shared/fields.ts';
import { CancelledError } from '../../src-shared/jobs.ts';

const root = mkdtempSync(join(tmpdir(), 'kf-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

/** Label files and vectors: the bytes that must not change for a seed. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = filesUnder(dir).filter((f) => f.endsWith('.json') && !f.endsWith('DEMO_MANIFEST.json'));
  files.push('image_embeddings.npy');
  return new Map(files.map((f) => [f, readFileSync(join(dir, f))]));
}

/** Centrality as EVALUATION.md defines it, computed independently of the generator. */
function centrality(data: Float32Array, dim: number): number[] {
  const n = data.length / dim;
  const centre = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) centre[k]! += data[i * dim + k]!;
  const cn = Math.hypot(...centre);
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += data[i * dim + k]! * centre[k]!;
    return s / cn;
  });
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));

const dirA = join(root, 'a');
const dirC = join(root, 'c');
let first: Map<string, Buffer>;
let summaryA: DemoSummary;
let summaryC: DemoSummary;
const progress: [number, number][] = [];

beforeAll(async () => {
  summaryA = await generateDemoDataset({
    outDir: dirA,
    images: false,
    onProgress: (d, t) => progress.push([d, t]),
  });
  first = snapshot(dirA);
  summaryC = await generateDemoDataset({ outDir: dirC, images: false, seed: 8 });
});

describe('demo dataset generator (small scale)', () => {
  it('is deterministic: re-generating into the same folder gives identical label and npy bytes', async () => {
    expect(summaryA.seed).toBe(7);
    expect(summaryA.scale).toBe('small');
    await generateDemoDataset({ outDir: dirA, images: false, seed: 7 });
    const again = snapshot(dirA);
    expect([...again.keys()]).toEqual([...first.keys()]);
    for (const [f, bytes] of first) expect(again.get(f)!.equals(bytes), f).toBe(true);
  });

  it('differs for another seed', () => {
    const other = snapshot(dirC);
    expect(other.get('image_embeddings.npy')!.equals(first.get('image_embeddings.npy')!)).toBe(false);
    const sameNamed = [...first.keys()].filter((f) => other.has(f) && f.endsWith('.json'));
    const identical = sameNamed.filter((f) => other.get(f)!.equals(first.get(f)!));
    expect(identical.length).toBeLessThan(3);
    expect(summaryC.embeddings.rows).toBeGreaterThan(300);
  });

  it('lays out 40 / 80 / 80 labels and says everywhere that the data is synthetic', () => {
    for (const [style, n] of [
      ['레트로', 40],
      ['로맨틱', 80],
      ['리조트', 80],
    ] as const) {
      expect(readdirSync(join(dirA, '라벨링데이터', style)).filter((f) => f.endsWith('.json'))).toHaveLength(
        n,
      );
      expect(summaryA.perStyle[style]!.images).toBe(n);
    }
    expect(summaryA.images).toBe(200);
    expect(existsSync(join(dirA, '원천데이터'))).toBe(false); // images: false
    const manifest = JSON.parse(readFileSync(join(dirA, 'DEMO_MANIFEST.json'), 'utf8'));
    expect(manifest).toMatchObject({ synthetic: true, seed: 7, scale: 'small', complete: true });
    expect(typeof manifest.generator).toBe('string');
    expect(new Date(manifest.createdAt).toISOString()).toBe(manifest.createdAt);
    expect(manifest.counts).toMatchObject({ images: 200, garments: summaryA.garments });
    expect(manifest.note).toMatch(/SYNTHETIC/);
    const readme = readFileSync(join(dirA, 'README_SYNTHETIC.txt'), 'utf8');
    expect(readme).toMatch(/^SYNTHETIC DEMO DATA - NOT K-FASHION, NOT FASHIONCLIP/);
    expect(readme).toContain('NOT FashionCLIP embeddings');
    expect(readme).toContain('SYNTHETIC STAND-IN vectors');
  });

  it('reports progress up to the image count', () => {
    expect(progress[0]).toEqual([0, 200]);
    expect(progress.at(-1)).toEqual([200, 200]);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0]);
  });

  it('refuses a non-empty folder that is not a previous demo, and a file', async () => {
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'thesis.docx'), 'precious');
    await expect(generateDemoDataset({ outDir: busy, images: false })).rejects.toThrow(busy);
    expect(readFileSync(join(busy, 'thesis.docx'), 'utf8')).toBe('precious');
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    await expect(generateDemoDataset({ outDir: file, images: false })).rejects.toThrow(file);
    await expect(generateDemoDataset({ outDir: join(root, 'bad'), seed: -1 })).rejects.toThrow(/seed/);
  });

  it('stops on abort with a CancelledError and leaves a folder the next run may overwrite', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      generateDemoDataset({ outDir: join(root, 'never'), signal: ac.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
    const dir = join(root, 'cancelled');
    const mid = new AbortController();
    await expect(
      generateDemoDataset({
        outDir: dir,
        images: false,
        signal: mid.signal,
        onProgress: (done) => {
          if (done >= 20) mid.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    const written =
      readdirSync(join(dir, '라벨링데이터', '로맨틱')).length +
      readdirSync(join(dir, '라벨링데이터', '레트로')).length;
    expect(written).toBeLessThan(200);
    // No manifest until the end: its presence means "finished".
    expect(existsSync(join(dir, 'DEMO_MANIFEST.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'DEMO_INCOMPLETE.json'), 'utf8')).complete).toBe(false);
    await generateDemoDataset({ outDir: dir, images: false });
    expect(existsSync(join(dir, 'DEMO_INCOMPLETE.json'))).toBe(false);
    const redone = snapshot(dir);
    for (const [f, bytes] of first) expect(redone.get(f)?.equals(bytes), f).toBe(true);
  });

  it('writes unit-norm [N, 512] float32 rows for exactly the usable garments, ids in row order', () => {
    const npy = readNpySync(summaryA.embeddings.path);
    const ids = JSON.parse(readFileSync(summaryA.embeddings.idsPath, 'utf8')) as string[];
    expect(npy.dtype).toBe('<f4');
    expect(npy.shape).toEqual([ids.length, 512]);
    expect(summaryA.embeddings).toMatchObject({ rows: ids.length, dim: 512 });
    expect(new Set(ids).size).toBe(ids.length);
    const plan = planDemoDataset(7, 'small');
    const usable = plannedGarments(plan).filter((x) => x.garment.usable);
    expect(ids).toEqual(usable.map((x) => x.garment.itemId));
    expect(summaryA.garments).toBe(ids.length);
    expect(summaryA.excludedGarments).toBe(plannedGarments(plan).length - ids.length);
    expect(summaryA.excludedGarments).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect(id).toMatch(/^(레트로|로맨틱|리조트)\/[^/]+\/(아우터|상의|하의|원피스)$/);
    for (let i = 0; i < ids.length; i++) {
      let s = 0;
      for (let k = 0; k < 512; k++) s += npy.data[i * 512 + k]! ** 2;
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
    }
  });

  it('hits the centrality targets: mean ≈ 0.79, std ≈ 0.05, a low tail, 로맨틱 > 리조트 > 레트로', () => {
    for (const summary of [summaryA, summaryC]) {
      const npy = readNpySync(summary.embeddings.path);
      const ids = JSON.parse(readFileSync(summary.embeddings.idsPath, 'utf8')) as string[];
      const c = centrality(npy.data, 512);
      expect(mean(c)).toBeCloseTo(summary.embeddings.centralityMean, 6);
      expect(Math.abs(mean(c) - 0.79)).toBeLessThan(0.01);
      expect(Math.abs(std(c) - 0.05)).toBeLessThan(0.015);
      expect(Math.min(...c)).toBeGreaterThanOrEqual(0.4);
      expect(Math.min(...c)).toBeLessThanOrEqual(0.55);
      expect(Math.max(...c)).toBeGreaterThan(0.86);
      expect(Math.max(...c)).toBeLessThan(0.95);
      const byStyle = (s: string) => mean(c.filter((_, i) => ids[i]!.startsWith(`${s}/`)));
      expect(byStyle('로맨틱')).toBeGreaterThan(byStyle('리조트'));
      expect(byStyle('리조트')).toBeGreaterThan(byStyle('레트로'));
      const anchor = [...c].sort((a, b) => b - a).slice(0, Math.round(c.length / 10));
      expect(mean(anchor)).toBeGreaterThan(mean(c));
    }
  });

  it('carries attribute signal: same category closer than different, shots of a look closer still, no duplicates', () => {
    const npy = readNpySync(summaryA.embeddings.path);
    const plan = planDemoDataset(7, 'small');
    const rows = plannedGarments(plan).filter((x) => x.garment.usable);
    const cos = (i: number, j: number) => {
      let s = 0;
      for (let k = 0; k < 512; k++) s += npy.data[i * 512 + k]! * npy.data[j * 512 + k]!;
      return s;
    };
    const same: number[] = [];
    const diff: number[] = [];
    const look: number[] = [];
    let maxCos = -1;
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) {
        const a = rows[i]!;
        const b = rows[j]!;
        const v = cos(i, j);
        maxCos = Math.max(maxCos, v);
        if (a.image.lookKey === b.image.lookKey && a.garment.part === b.garment.part) look.push(v);
        else if (a.garment.spec.category === b.garment.spec.category) same.push(v);
        else diff.push(v);
      }
    }
    expect(mean(same)).toBeGreaterThan(mean(diff) + 0.04);
    expect(mean(look)).toBeGreaterThan(mean(same) + 0.04);
    expect(maxCos).toBeLessThan(0.995);
  });
});

describe('demo dataset building blocks', () => {
  it('mulberry32 and hashSeed are stable across runs and machines', () => {
    // Pinned: a change here changes every generated file for every seed.
    const r = mulberry32(7);
    expect([r(), r(), r()]).toEqual([0.011704753153026104, 0.06195825757458806, 0.97690763277933]);
    expect(hashSeed('kfashion-demo', 7, 'small')).toBe(3950085995);
    expect(hashSeed('a', 'bc')).not.toBe(hashSeed('ab', 'c'));
    expect(hashSeed('kfashion', 7)).toBe(hashSeed('kfashion', 7));
    const rng = new Rng(1);
    const xs = Array.from({ length: 2000 }, () => rng.normal());
    expect(Math.abs(mean(xs))).toBeLessThan(0.1);
    expect(Math.abs(std(xs) - 1)).toBeLessThan(0.1);
    expect(new Rng(3).sampleIndices(10, 4)).toEqual(new Rng(3).sampleIndices(10, 4));
  });

  it('uses only K-Fashion vocabulary values in its profiles and its garments', () => {
    const check = (field: keyof typeof KNOWN_VALUES, values: Iterable<string>) => {
      for (const v of values) expect(KNOWN_VALUES[field], `${field}: ${v}`).toContain(v);
    };
    for (const p of Object.values(STYLE_PROFILES)) {
      for (const [part, cats] of Object.entries(p.categories)) {
        for (const c of Object.keys(cats))
          expect(CATEGORIES_BY_PART[part as GarmentPart] as readonly string[]).toContain(c);
      }
      check('color', Object.keys(p.colors));
      check('print', Object.keys(p.prints));
      check('silhouette', Object.keys(p.fits));
      check('material', Object.keys(p.materialBoost));
      check('detail', Object.keys(p.details));
      check('neckline', Object.keys(p.necklines));
      check('length', Object.keys(p.skirtLengths));
      check('style', Object.keys(p.subStyles));
    }
    check(
      'material',
      Object.values(CATEGORY_MATERIALS).flatMap((w) => Object.keys(w)),
    );
    check(
      'detail',
      Object.values(CATEGORY_DETAILS).flatMap((w) => Object.keys(w)),
    );
    check(
      'sleeve_length',
      Object.values(CATEGORY_SLEEVES).flatMap((w) => Object.keys(w)),
    );
    check(
      'length',
      Object.values(CATEGORY_LENGTHS).flatMap((w) => Object.keys(w)),
    );
    check(
      'collar',
      Object.values(CATEGORY_COLLARS).flatMap((c) => Object.keys(c.weights)),
    );
    check('color', Object.keys(DENIM_COLORS));

    const lengthByPart: Record<GarmentPart, string[]> = {
      상의: ['크롭', '노멀', '롱'],
      하의: ['미니', '니렝스', '미디', '발목', '맥시'],
      아우터: ['크롭', '노멀', '하프', '롱', '맥시'],
      원피스: ['미니', '니렝스', '미디', '발목', '맥시'],
    };
    for (const { garment } of plannedGarments(planDemoDataset(7, 'small'))) {
      for (const field of FIELD_NAMES) {
        const v = garment.attributes[field];
        if (v !== undefined) check(field, typeof v === 'string' ? [v] : v);
      }
      expect(CATEGORIES_BY_PART[garment.part] as readonly string[]).toContain(garment.spec.category);
      if (garment.spec.length) expect(lengthByPart[garment.part]).toContain(garment.spec.length);
    }
  });

  it('draws every garment as a simple polygon inside the picture (unless pushed past an edge on purpose)', () => {
    for (const seed of [7, 8]) {
      for (const image of planDemoDataset(seed, 'small').images) {
        for (const g of image.garments) {
          expect(isSimplePolygon(g.outline), g.itemId).toBe(true);
          expect(g.outline.length).toBeGreaterThanOrEqual(6);
          expect(g.outline.length).toBeLessThanOrEqual(65);
          const inside = g.outline.every(
            ([x, y]) => x >= 0 && y >= 0 && x <= image.width && y <= image.height,
          );
          if (!image.quirks.includes('points-outside')) expect(inside, g.itemId).toBe(true);
        }
      }
    }
  });
});
