/**
 * Samples the true attributes of demo garments from the style profiles.
 *
 * "True" means what the rendered picture shows and what the stand-in embedding is computed from. The
 * label file may say less (a labeller who wrote only the colour) or spell it differently (노말); those
 * quirks are applied later, in demo-plan.ts, and never change the truth.
 */
import type { GarmentAttributes, GarmentPart } from '../../../src-shared/fields.ts';
import type { Rng } from '../rng.ts';
import {
  ALLOWED_FITS,
  CATEGORY_COLLARS,
  CATEGORY_DETAILS,
  CATEGORY_LENGTHS,
  CATEGORY_MATERIALS,
  CATEGORY_SLEEVES,
  COMBO_PARTS,
  type Combo,
  DENIM_COLORS,
  type DemoStyle,
  STYLE_PROFILES,
  type Weights,
} from './demo-style-profiles.ts';

/** One garment as it really is. Absent optional fields are attributes the label never had. */
export interface GarmentSpec {
  part: GarmentPart;
  category: string;
  color: string;
  subColor?: string;
  length?: string;
  sleeve?: string;
  neckline?: string;
  collar?: string;
  fit?: string;
  materials: string[];
  prints: string[];
  details: string[];
}

export const PANTS_CATEGORIES: ReadonlySet<string> = new Set(['청바지', '팬츠', '래깅스', '조거팬츠']);

/** Necklines without shoulders on both sides: the garment cannot have sleeves. */
export const STRAPLESS_NECKLINES: ReadonlySet<string> = new Set(['홀터넥', '원숄더', '스위트하트']);

/** Details that only make sense on some parts; any other detail may go anywhere. */
const DETAIL_PARTS: Readonly<Record<string, readonly GarmentPart[]>> = {
  싱글브레스티드: ['아우터'],
  더블브레스티드: ['아우터'],
  퀄팅: ['아우터'],
  퍼트리밍: ['아우터'],
  디스트로이드: ['하의', '아우터'],
  롤업: ['하의', '상의'],
  퍼프: ['상의', '원피스'],
  드롭숄더: ['상의', '아우터'],
  페플럼: ['상의', '원피스'],
  드롭웨이스트: ['원피스'],
};

const DETAIL_COUNT: Weights = { '0': 30, '1': 35, '2': 25, '3': 10 };

function only(weights: Weights, allowed: readonly string[]): Weights {
  const out: Record<string, number> = {};
  for (const k of allowed) if ((weights[k] ?? 0) > 0) out[k] = weights[k]!;
  return out;
}

function merge(a: Weights, b: Weights | undefined, bScale = 1): Weights {
  const out: Record<string, number> = { ...a };
  if (b) for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v * bScale;
  return out;
}

/** `count` distinct keys drawn without replacement. */
function distinct(rng: Rng, weights: Weights, count: number): string[] {
  const pool: Record<string, number> = { ...weights };
  const out: string[] = [];
  while (out.length < count && Object.values(pool).some((w) => w > 0)) {
    const k = rng.weighted(pool);
    out.push(k);
    pool[k] = 0;
  }
  return out;
}

export function sampleCombo(rng: Rng, style: DemoStyle): readonly GarmentPart[] {
  return COMBO_PARTS[rng.weighted<Combo>(STYLE_PROFILES[style].combos)];
}

/** A 서브스타일 for about a third of the images. */
export function sampleSubStyle(rng: Rng, style: DemoStyle): string | undefined {
  return rng.chance(0.32) ? rng.weighted(STYLE_PROFILES[style].subStyles) : undefined;
}

function fitsFor(part: GarmentPart, category: string): readonly string[] {
  if (part === '하의') {
    if (category === '스커트') return ALLOWED_FITS['스커트']!;
    if (category === '래깅스') return ALLOWED_FITS['래깅스']!;
    return ALLOWED_FITS['pants']!;
  }
  if (part === '원피스') return ALLOWED_FITS[category] ?? ALLOWED_FITS['드레스']!;
  return ALLOWED_FITS[part]!;
}

function lengthsFor(style: DemoStyle, part: GarmentPart, category: string): Weights {
  if (part === '상의') return CATEGORY_LENGTHS[category] ?? CATEGORY_LENGTHS['top']!;
  if (category === '스커트' || category === '드레스') return STYLE_PROFILES[style].skirtLengths;
  if (part === '하의') return CATEGORY_LENGTHS[category] ?? CATEGORY_LENGTHS['pants']!;
  return CATEGORY_LENGTHS[category] ?? CATEGORY_LENGTHS['재킷']!;
}

function sleevesFor(style: DemoStyle, part: GarmentPart, category: string): Weights {
  const base = CATEGORY_SLEEVES[category] ?? CATEGORY_SLEEVES['outer']!;
  const bias = STYLE_PROFILES[style].sleevelessBias;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(base))
    out[k] = k === '민소매' || k === '없음' || k === '캡' ? v * bias : v;
  if (part === '아우터' && category !== '베스트') return base; // outer layers keep their sleeves
  return out;
}

function necklinesFor(style: DemoStyle, category: string): Weights | null {
  if (category === '후드티') return { 후드: 90, 라운드넥: 10 };
  if (category === '브라탑') return { 스퀘어넥: 30, 스위트하트: 25, 라운드넥: 25, 홀터넥: 20 };
  if (category === '셔츠') return { 브이넥: 50, 노카라: 30, 라운드넥: 20 };
  return STYLE_PROFILES[style].necklines;
}

export function sampleGarment(rng: Rng, style: DemoStyle, part: GarmentPart): GarmentSpec {
  const profile = STYLE_PROFILES[style];
  const category = rng.weighted(profile.categories[part]);
  const spec: GarmentSpec = { part, category, color: '', materials: [], prints: [], details: [] };

  // Materials first: denim decides the colour.
  const materialWeights = merge(CATEGORY_MATERIALS[category] ?? { 우븐: 1 }, profile.materialBoost, 0.6);
  if (rng.chance(0.93)) spec.materials = distinct(rng, materialWeights, rng.chance(0.35) ? 2 : 1);
  const denim = category === '청바지' || (spec.materials.includes('데님') && rng.chance(0.7));
  spec.color = rng.weighted(denim ? DENIM_COLORS : profile.colors);
  if (rng.chance(0.22)) {
    const others: Record<string, number> = { ...profile.colors };
    delete others[spec.color];
    spec.subColor = rng.weighted(others);
  }

  if (rng.chance(0.88)) spec.length = rng.weighted(lengthsFor(style, part, category));
  if (part !== '하의' && rng.chance(0.92)) spec.sleeve = rng.weighted(sleevesFor(style, part, category));

  if (part === '상의' || part === '원피스') {
    const necklines = necklinesFor(style, category);
    const share = category === '후드티' ? 0.9 : category === '셔츠' ? 0.25 : 0.62;
    if (necklines && rng.chance(share)) {
      spec.neckline = rng.weighted(necklines);
      // A halter, one-shoulder or sweetheart top has no sleeves, whatever was drawn before.
      if (STRAPLESS_NECKLINES.has(spec.neckline)) spec.sleeve = rng.chance(0.8) ? '민소매' : '없음';
    }
  }
  const collar = CATEGORY_COLLARS[category];
  if (collar && rng.chance(collar.share)) spec.collar = rng.weighted(collar.weights);

  const fits = only(profile.fits, fitsFor(part, category));
  if (Object.keys(fits).length > 0 && rng.chance(0.88)) spec.fit = rng.weighted(fits);

  if (rng.chance(0.92)) spec.prints = [rng.weighted(profile.prints)];

  const detailWeights = merge(profile.details, CATEGORY_DETAILS[category]);
  const allowed = Object.keys(detailWeights).filter((d) => DETAIL_PARTS[d]?.includes(part) ?? true);
  spec.details = distinct(rng, only(detailWeights, allowed), Number(rng.weighted(DETAIL_COUNT)));
  return spec;
}

/** The garment's attributes in the shared field names, canonical spelling, with the image's styles. */
export function specToAttributes(spec: GarmentSpec, styles: readonly string[]): GarmentAttributes {
  const a: GarmentAttributes = { category: spec.category };
  if (styles.length > 0) a.style = [...styles];
  if (spec.fit) a.silhouette = spec.fit;
  if (spec.materials.length > 0) a.material = [...spec.materials];
  if (spec.details.length > 0) a.detail = [...spec.details];
  a.color = spec.color;
  if (spec.subColor) a.sub_color = spec.subColor;
  if (spec.prints.length > 0) a.print = [...spec.prints];
  if (spec.length) a.length = spec.length;
  if (spec.sleeve) a.sleeve_length = spec.sleeve;
  if (spec.neckline) a.neckline = spec.neckline;
  if (spec.collar) a.collar = spec.collar;
  return a;
}
