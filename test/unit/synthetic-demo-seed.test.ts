import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLabelBytes } from '../../src-main/dataset/label-parser.ts';
import {
  type DemoPlan,
  planDemoDataset,
  plannedGarments,
} from '../../src-main/dataset/synthetic/demo-plan.ts';
import { type DemoSummary, generateDemoDataset } from '../../src-main/dataset/synthetic/generate-demo.ts';
import { readNpySync } from '../../src-main/store/npy.ts';
import type { GarmentAttributes } from '../../src-shared/fields.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Label {
  style: string;
  stem: string;
  bytes: Buffer;
  json: Obj;
}

const PARTS = ['아우터', '상의', '하의', '원피스'];
const GARMENT_KEYS = new Set([
  '카테고리',
  '색상',
  '서브색상',
  '기장',
  '소매기장',
  '넥라인',
  '옷깃',
  '핏',
  '소재',
  '프린트',
  '디테일',
]);
const LOOK_NAME = /^(.+)_(\d+)_(\d+)\.jpg$/;

const root = mkdtempSync(join(tmpdir(), 'kf-demo-seed-'));
const out = join(root, 'demo');
let summary: DemoSummary;
let plan: DemoPlan;
const labels: Label[] = [];

beforeAll(async () => {
  summary = await generateDemoDataset({ outDir: out, scale: 'seed', images: false });
  plan = planDemoDataset(7, 'seed');
  for (const style of readdirSync(join(out, '라벨링데이터')).sort()) {
    for (const f of readdirSync(join(out, '라벨링데이터', style)).sort()) {
      const bytes = readFileSync(join(out, '라벨링데이터', style, f));
      labels.push({
        style,
        stem: f.replace(/\.json$/, ''),
        bytes,
        json: JSON.parse(bytes.toString('utf8')) as Obj,
      });
    }
  }
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const o = (v: Json | undefined): Obj => v as Obj;
const detail = (l: Label) => o(o(l.json['데이터셋 정보'])['데이터셋 상세설명']);
const first = (section: Obj, part: string) => (section[part] as Json[])[0] as Obj;
const between = (v: number, lo: number, hi: number) => {
  expect(v).toBeGreaterThanOrEqual(lo);
  expect(v).toBeLessThanOrEqual(hi);
};

describe('demo dataset generator (seed scale, mirrors the earlier sample)', () => {
  it('writes 196 / 994 / 998 labels', () => {
    const count = (s: string) => labels.filter((l) => l.style === s).length;
    expect([count('레트로'), count('로맨틱'), count('리조트')]).toEqual([196, 994, 998]);
    expect(summary.images).toBe(2188);
    expect(summary.perStyle).toMatchObject({
      레트로: { images: 196 },
      로맨틱: { images: 994 },
      리조트: { images: 998 },
    });
  });

  it('gives every label file the real structure', () => {
    // Problems are collected, not asserted one by one: 2,188 files × dozens of checks.
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 20) problems.push(what);
    };
    const ids = new Set<number>();
    let polygons = 0;
    let over40 = 0;
    for (const l of labels) {
      const where = `${l.style}/${l.stem}`;
      const info = o(l.json['이미지 정보']);
      const ds = o(l.json['데이터셋 정보']);
      check(Object.keys(l.json).sort().join() === '데이터셋 정보,이미지 정보', `${where}: top-level keys`);
      const id = info['이미지 식별자'] as number;
      check(Number.isInteger(id), `${where}: 이미지 식별자`);
      ids.add(id);
      check(
        info['이미지 높이'] === 640 && [448, 480, 512].includes(info['이미지 너비'] as number),
        `${where}: size`,
      );
      check(/\.jpg$/.test(info['이미지 파일명'] as string), `${where}: 이미지 파일명`);
      check(ds['파일 번호'] === id && ds['파일 이름'] === info['이미지 파일명'], `${where}: 파일 번호/이름`);
      check(/^2020-\d\d-\d\d \d\d:\d\d:\d\d$/.test(ds['파일 생성일자'] as string), `${where}: 파일 생성일자`);
      check(l.stem === String(id) || /^\(\d+\)IMG_\d+$/.test(l.stem), `${where}: stem`);
      const d = detail(l);
      check(
        Object.keys(d).sort().join() === '라벨링,렉트좌표,폴리곤좌표',
        `${where}: 데이터셋 상세설명 keys`,
      );
      const labeling = o(d['라벨링']);
      check(
        Object.keys(labeling).sort().join() === [...PARTS, '스타일'].sort().join(),
        `${where}: 라벨링 keys`,
      );
      check((labeling['스타일'] as Json[]).length === 1, `${where}: 스타일`);
      for (const section of ['렉트좌표', '폴리곤좌표', '라벨링']) {
        for (const part of PARTS)
          check((o(d[section])[part] as Json[]).length === 1, `${where}: ${section}.${part}`);
      }
      for (const part of PARTS) {
        const g = first(labeling, part);
        for (const [k, v] of Object.entries(g)) {
          check(GARMENT_KEYS.has(k), `${where}: key ${k}`);
          const multi = ['소재', '프린트', '디테일'].includes(k);
          check(
            multi ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === 'string',
            `${where}: ${part}.${k} type`,
          );
        }
        const rect = first(o(d['렉트좌표']), part);
        if (Object.keys(rect).length > 0)
          check(Object.keys(rect).sort().join() === 'X좌표,Y좌표,가로,세로', `${where}: rect`);
        const poly = first(o(d['폴리곤좌표']), part);
        const keys = Object.keys(poly);
        if (keys.length === 0) continue;
        polygons++;
        const n = keys.length / 2;
        if (n > 40) over40++;
        check(Number.isInteger(n) && n >= 6 && n <= 65, `${where}: ${part} has ${n} points`);
        const natural = Array.from({ length: n }, (_, i) => [`X좌표${i + 1}`, `Y좌표${i + 1}`]).flat();
        check(
          [...keys].sort().join() === [...natural].sort().join(),
          `${where}: ${part} polygon keys 1..${n}`,
        );
        check(keys.join() !== natural.join(), `${where}: ${part} polygon keys are in natural order`);
        check(Object.keys(g).length > 0, `${where}: ${part} polygon without a labelled garment`);
      }
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBe(labels.length);
    expect(polygons).toBeGreaterThan(3500);
    expect(over40).toBeGreaterThan(100);
  });

  it('has each quirk in its expected share', () => {
    const n = labels.length;
    const garments = labels.flatMap((l) =>
      PARTS.map((part) => ({
        l,
        label: first(o(detail(l)['라벨링']), part),
        rect: first(o(detail(l)['렉트좌표']), part),
        poly: first(o(detail(l)['폴리곤좌표']), part),
      })).filter((g) => Object.keys(g.label).length > 0),
    );
    const g = garments.length;
    const share = (k: number, of: number) => k / of;

    between(
      share(
        labels.filter((l) => Object.keys(first(o(detail(l)['라벨링']), '스타일')).length === 0).length,
        n,
      ),
      0.015,
      0.025,
    );
    for (const style of ['레트로', '로맨틱', '리조트']) {
      const mine = labels.filter((l) => l.style === style);
      const odd = mine.filter((l) => /^\(\d+\)IMG_\d+$/.test(l.stem));
      expect(odd.length).toBeGreaterThanOrEqual(1);
      between(share(odd.length, mine.length), 0.02, 0.04);
    }
    const shots = labels.filter((l) => LOOK_NAME.test(o(l.json['이미지 정보'])['이미지 파일명'] as string));
    between(share(shots.length, n), 0.22, 0.28);

    const canonical = (l: Label) =>
      Object.keys(l.json).join() === '이미지 정보,데이터셋 정보' &&
      Object.keys(o(l.json['이미지 정보'])).join() ===
        '이미지 식별자,이미지 높이,이미지 너비,이미지 파일명' &&
      Object.keys(o(l.json['데이터셋 정보'])).join() ===
        '파일 생성일자,데이터셋 상세설명,파일 번호,파일 이름' &&
      Object.keys(detail(l)).join() === '렉트좌표,폴리곤좌표,라벨링';
    between(share(labels.filter((l) => !canonical(l)).length, n), 0.28, 0.42);

    const outside = labels.filter((l) => {
      const w = o(l.json['이미지 정보'])['이미지 너비'] as number;
      const h = o(l.json['이미지 정보'])['이미지 높이'] as number;
      return PARTS.some((part) =>
        Object.entries(first(o(detail(l)['폴리곤좌표']), part)).some(([k, v]) =>
          k.startsWith('X') ? (v as number) < 0 || (v as number) > w : (v as number) < 0 || (v as number) > h,
        ),
      );
    });
    between(share(outside.length, n), 0.03, 0.05);

    const colorOnly = garments.filter((x) => !('카테고리' in x.label));
    for (const x of colorOnly) expect(Object.keys(x.label).filter((k) => k !== '소매기장')).toEqual(['색상']);
    between(share(colorOnly.length, g), 0.015, 0.025);

    const values = (x: (typeof garments)[number]) => Object.values(x.label).flat() as string[];
    const nbsp = garments.filter((x) => values(x).some((v) => v.includes('\u00a0')));
    between(share(nbsp.length, g), 0.01, 0.02);
    const inner = nbsp.filter((x) => values(x).some((v) => /\u00a0\S/.test(v)));
    const trailing = nbsp.filter((x) => values(x).some((v) => v.endsWith('\u00a0')));
    expect(inner.length).toBeGreaterThanOrEqual(5);
    expect(trailing.length).toBeGreaterThanOrEqual(20);

    const thin = (r: Obj) =>
      Object.keys(r).length > 0 && ((r['가로'] as number) <= 1 || (r['세로'] as number) <= 1);
    const degenerate = garments.filter((x) => thin(x.rect) && Object.keys(x.poly).length > 0);
    between(share(degenerate.length, g), 0.015, 0.025);
    const unusable = garments.filter((x) => thin(x.rect) && Object.keys(x.poly).length === 0);
    expect(unusable.length).toBe(summary.excludedGarments);
    between(share(unusable.length, g), 0.007, 0.013);
    expect(garments.filter((x) => Object.keys(x.poly).length === 0 && !thin(x.rect))).toHaveLength(0);

    const all = garments.flatMap(values);
    for (const variant of ['노말', '홀토넥', '원 숄더', '테일러칼라', '하운즈 투스']) {
      expect(all.filter((v) => v.replace('\u00a0', ' ').trim() === variant).length, variant).toBeGreaterThan(
        0,
      );
    }
    const normal = all.filter((v) => v.trim() === '노멀').length;
    const variant = all.filter((v) => v.trim() === '노말').length;
    between(share(variant, normal + variant), 0.07, 0.18);
  });

  it('groups look shots 2–4 per look, with the same garments', () => {
    const looks = new Map<string, Label[]>();
    for (const l of labels) {
      const m = LOOK_NAME.exec(o(l.json['이미지 정보'])['이미지 파일명'] as string);
      if (!m) continue;
      const key = `${m[1]}_${m[2]}`;
      looks.set(key, [...(looks.get(key) ?? []), l]);
    }
    for (const [key, shots] of looks) {
      between(shots.length, 2, 4);
      expect(new Set(shots.map((s) => s.style)).size, key).toBe(1);
      // '-' for an absent part, '?' for a garment labelled with its colour only; NBSPs folded.
      const categories = (l: Label) =>
        PARTS.map((p) => {
          const g = first(o(detail(l)['라벨링']), p);
          if (Object.keys(g).length === 0) return '-';
          return typeof g['카테고리'] === 'string' ? g['카테고리'].replace('\u00a0', '').trim() : '?';
        });
      const ref = categories(shots[0]!);
      for (const s of shots.slice(1)) {
        categories(s).forEach((c, i) => {
          if (c !== '?' && ref[i] !== '?') expect(c, key).toBe(ref[i]);
        });
      }
    }
  });

  it("matches the project's label parser: the embedded rows are exactly the garments it keeps, with the true attributes", () => {
    const ids = JSON.parse(readFileSync(summary.embeddings.idsPath, 'utf8')) as string[];
    const truth = new Map(plannedGarments(plan).map((x) => [x.garment.itemId, x]));
    const kept: string[] = [];
    let excluded = 0;
    for (const l of labels) {
      const parsed = parseLabelBytes(l.bytes);
      excluded += parsed.excluded.length;
      for (const e of parsed.excluded) expect(e.reason).toBe('degenerate-box');
      for (const g of parsed.garments) {
        const id = `${l.style}/${l.stem}/${g.part}`;
        kept.push(id);
        expect(g.boxSource).toBe('polygon');
        const x = truth.get(id)!;
        const expected: GarmentAttributes = x.garment.quirks.includes('color-only')
          ? {
              color: x.garment.spec.color,
              ...('소매기장' in x.garment.label ? { sleeve_length: x.garment.spec.sleeve } : {}),
              style: x.garment.attributes.style,
            }
          : { ...x.garment.attributes };
        if (x.image.styleMissing) delete expected.style;
        expect(g.attributes, id).toEqual(expected);
      }
    }
    expect(excluded).toBe(summary.excludedGarments);
    expect(kept.sort()).toEqual([...ids].sort());
    expect(summary.garments).toBe(ids.length);
  });

  it('has [N, 512] unit rows with the centrality targets at this scale too', () => {
    const npy = readNpySync(summary.embeddings.path);
    const ids = JSON.parse(readFileSync(summary.embeddings.idsPath, 'utf8')) as string[];
    expect(npy.shape).toEqual([ids.length, 512]);
    expect(new Set(ids).size).toBe(ids.length);
    const d = 512;
    const centre = new Float64Array(d);
    for (let i = 0; i < ids.length; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        s += npy.data[i * d + k]! ** 2;
        centre[k]! += npy.data[i * d + k]!;
      }
      expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-5);
    }
    const cn = Math.hypot(...centre);
    const c = ids.map((_, i) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += npy.data[i * d + k]! * centre[k]!;
      return s / cn;
    });
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const m = mean(c);
    between(m, 0.78, 0.8);
    between(Math.sqrt(mean(c.map((v) => (v - m) ** 2))), 0.035, 0.065);
    between(Math.min(...c), 0.4, 0.55);
    between(Math.max(...c), 0.86, 0.95);
    const byStyle = (s: string) => mean(c.filter((_, i) => ids[i]!.startsWith(`${s}/`)));
    expect(byStyle('로맨틱')).toBeGreaterThan(byStyle('리조트'));
    expect(byStyle('리조트')).toBeGreaterThan(byStyle('레트로'));
    expect(summary.embeddings.centralityMean).toBeCloseTo(m, 6);
  });
});
