/**
 * The plan of the demo dataset: which images exist, which garments they show, how each is drawn and
 * what its label file says — everything decided here, from the seed alone, before a byte is written.
 * The label writer, the renderer and the embedding generator only read the plan, so labels and
 * embeddings are identical whether or not images are rendered.
 *
 * The label side copies the real K-Fashion files' quirks (KFASHION_FORMAT.md) in known shares, listed
 * in DEMO_QUIRK_SHARES, so the scanner meets them on the very first run.
 */
import type { GarmentAttributes, GarmentPart } from '../../../src-shared/fields.ts';
import { GARMENT_PARTS } from '../../../src-shared/fields.ts';
import { VALUE_ALIASES } from '../kfashion-values.ts';
import { Rng } from '../rng.ts';
import {
  type GarmentSpec,
  sampleCombo,
  sampleGarment,
  sampleSubStyle,
  specToAttributes,
} from './demo-attributes.ts';
import {
  dedupe,
  densify,
  garmentOutline,
  isSimplePolygon,
  type Pose,
  type Pt,
  simplify,
} from './demo-shapes.ts';
import { DEMO_STYLES, type DemoStyle } from './demo-style-profiles.ts';

export type DemoScale = 'small' | 'seed';

/** Images per style folder. `seed` mirrors the earlier sample (EVALUATION.md's 196 / 994 / 998). */
export const DEMO_SCALES: Readonly<Record<DemoScale, Readonly<Record<DemoStyle, number>>>> = {
  small: { 레트로: 40, 로맨틱: 80, 리조트: 80 },
  seed: { 레트로: 196, 로맨틱: 994, 리조트: 998 },
};

/**
 * Shares of the label quirks. Counted ones are exact (rounded, at least one where marked); the
 * spelling variants are drawn per occurrence of the canonical value.
 */
export const DEMO_QUIRK_SHARES = {
  /** Images whose 스타일 is `[{}]`. */
  styleMissing: 0.02,
  /** Labels per style folder named like `(116)IMG_1.json` (at least one per folder). */
  oddStem: 0.03,
  /** Images that are shots of a shop look (`PREFIX_NNN_MM.jpg`, 2–4 shots each). */
  lookShots: 0.25,
  /** Labels whose object keys are stored in shuffled order (drawn per file). */
  keyOrder: 0.35,
  /** Images whose figure runs slightly past the picture's edge (polygon points outside). */
  pointsOutside: 0.04,
  /** Garments labelled with 색상 (and maybe 소매기장) only. */
  colorOnly: 0.02,
  /** Garments with one value carrying a trailing or inner NBSP. */
  nbsp: 0.015,
  /** Garments whose rect is degenerate (가로 or 세로 0 or 1) while the polygon is fine. */
  degenerateRect: 0.02,
  /** Garments with no polygon and a degenerate rect: no usable box (at least one). */
  unusable: 0.01,
  /** Per occurrence of 노멀: written 노말. */
  spelling노말: 0.12,
  /** Per occurrence of 홀터넥 / 원숄더 / 테일러드칼라 / 하운즈투스: written as the variant. */
  spellingOther: 0.5,
} as const;

/** Canonical value → the variant spelling real labels use (the reverse of the scanner's aliases). */
export const SPELLING_VARIANTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(VALUE_ALIASES).map(([variant, canonical]) => [canonical, variant]),
);

export interface DemoRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type LabelValue = string | string[];

export interface PlannedGarment {
  part: GarmentPart;
  /** `<style folder>/<label stem>/<part>`, the scanner's item id. */
  itemId: string;
  /** The truth: what is drawn and what the embedding encodes. */
  spec: GarmentSpec;
  /** The truth in the shared field names, canonical spelling, with the image's true styles. */
  attributes: GarmentAttributes;
  /** Outline as drawn, in pixels (equal to the written polygon unless the polygon is omitted). */
  outline: Pt[];
  /** The 라벨링 entry as written: K-Fashion keys, raw values (quirks applied), canonical key order. */
  label: Record<string, LabelValue>;
  /** Written polygon, or null for `[{}]`. */
  polygon: Pt[] | null;
  /** Written rect, or null for `[{}]`. */
  rect: DemoRect | null;
  /** Whether a scanner gets a box for it (polygon, else a non-degenerate rect). */
  usable: boolean;
  quirks: string[];
}

export interface PlannedImage {
  style: DemoStyle;
  /** The true 스타일 and optional 서브스타일 (the label may show `[{}]` instead). */
  styles: string[];
  subStyle?: string;
  styleMissing: boolean;
  imageId: number;
  stem: string;
  /** File name on disk in 원천데이터/<style>/. */
  imageFile: string;
  /** 이미지 파일명: the shop's original file name. */
  shopFile: string;
  /** Shots of one look share this key (and their garments); other images have their own. */
  lookKey: string;
  width: number;
  height: number;
  pose: Pose;
  createdAt: string;
  background: string;
  skin: string;
  hair: string;
  garments: PlannedGarment[];
  /** Seed of the key shuffle, or null for the canonical key order. */
  keyOrderSeed: number | null;
  quirks: string[];
}

export interface DemoPlan {
  seed: number;
  scale: DemoScale;
  images: PlannedImage[];
}

const SHOP_PREFIXES = [
  'Ave29th',
  'Mixxo',
  'Stylenanda',
  'Chuu',
  'Lookbook',
  'Mardi',
  'Ootd',
  'Dahong',
  'Imvely',
  'Joamom',
  'Lovelyday',
  'Mutnam',
  'Slowand',
  'Attrangs',
];
const WIDTHS = [480, 480, 480, 448, 512];
const HEIGHT = 640;
const BACKGROUNDS = ['#f4f1ec', '#eef0f2', '#f3eee8', '#ebeef0', '#f6f4f0', '#f0ede6', '#eceae4'];
const SKINS = ['#f1d3bc', '#e8c09f', '#dcae8a', '#c99370'];
const HAIRS = ['#2b2320', '#3d2b22', '#5a3b2a', '#1c1c1c', '#7a5a3a'];

interface Look {
  style: DemoStyle;
  parts: readonly GarmentPart[];
  specs: GarmentSpec[];
  subStyle: string | undefined;
  width: number;
  basePose: Pose;
  shopNames: string[];
  key: string;
  background: string;
  skin: string;
  hair: string;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** Splits n look images into looks of 2–4 shots. */
function lookSizes(rng: Rng, n: number): number[] {
  const sizes: number[] = [];
  let left = n;
  while (left >= 2) {
    let k = Math.min(rng.int(2, 4), left);
    if (left - k === 1) k = k < 4 ? k + 1 : k - 1;
    sizes.push(k);
    left -= k;
  }
  return sizes;
}

function singleShopName(rng: Rng, used: Set<string>): string {
  // None of these match `PREFIX_NNN_MM.jpg`: a single picture must not look like a shot of a look.
  for (;;) {
    const kind = rng.int(0, 4);
    const name =
      kind === 0
        ? `IMG_${rng.int(1000, 9999)}.jpg`
        : kind === 1
          ? `look-${rng.int(1000, 9999)}.jpg`
          : kind === 2
            ? `DSC${rng.int(10000, 99999)}.jpg`
            : kind === 3
              ? `${rng.pick(SHOP_PREFIXES).toLowerCase()}${rng.int(10000, 99999)}.jpg`
              : `product_${rng.int(100000, 999999)}.jpg`;
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

function basePose(rng: Rng, width: number): Pose {
  const scale = (HEIGHT / 640) * rng.range(0.9, 1.0);
  return {
    cx: width / 2 + rng.range(-0.05, 0.05) * width,
    top: (HEIGHT - 615 * scale) / 2 + rng.range(-6, 6),
    scale,
    spread: rng.range(-0.03, 0.07),
  };
}

function planLooks(
  rng: Rng,
  style: DemoStyle,
  n: number,
  used: Set<string>,
  lookNumbers: Set<string>,
): Look[] {
  const looks: Look[] = [];
  const sizes = lookSizes(rng, Math.round(n * DEMO_QUIRK_SHARES.lookShots));
  const singles = n - sizes.reduce((a, b) => a + b, 0);
  const all = [...sizes, ...Array<number>(singles).fill(1)];
  for (const shots of all) {
    const parts = sampleCombo(rng, style);
    const specs = parts.map((p) => sampleGarment(rng, style, p));
    const subStyle = sampleSubStyle(rng, style);
    const width = rng.pick(WIDTHS);
    let shopNames: string[];
    let key: string;
    if (shots > 1) {
      let prefix: string;
      let num: string;
      do {
        prefix = rng.pick(SHOP_PREFIXES);
        num = String(rng.int(100, 999));
      } while (lookNumbers.has(`${prefix}_${num}`));
      lookNumbers.add(`${prefix}_${num}`);
      let shot = rng.int(1, 3);
      shopNames = [];
      for (let i = 0; i < shots; i++) {
        const name = `${prefix}_${num}_${String(shot).padStart(2, '0')}.jpg`;
        used.add(name);
        shopNames.push(name);
        shot += rng.int(1, 2);
      }
      key = `look:${prefix}_${num}`;
    } else {
      shopNames = [singleShopName(rng, used)];
      key = `single:${shopNames[0]}`;
    }
    looks.push({
      style,
      parts,
      specs,
      subStyle,
      width,
      basePose: basePose(rng, width),
      shopNames,
      key,
      background: rng.pick(BACKGROUNDS),
      skin: rng.pick(SKINS),
      hair: rng.pick(HAIRS),
    });
  }
  return looks;
}

function formatDate(ms: number): string {
  const d = new Date(ms);
  const p = (v: number) => String(v).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function bounds(polys: readonly Pt[][]): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const poly of polys) {
    for (const [x, y] of poly) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return { x0, y0, x1, y1 };
}

function translate(pts: readonly Pt[], dx: number, dy: number): Pt[] {
  return pts.map(([x, y]) => [x + dx, y + dy]);
}

/** Polygon sizes: most real ones have 10–40 points, a few up to 65, none under 6. */
function polygonTarget(rng: Rng, base: number): number {
  // A few coarse polygons, as from a hurried labeller (the outline is simplified to match).
  if (base > 6 && rng.chance(0.06)) return rng.int(6, Math.min(base, 9));
  const lo = Math.max(6, base);
  const r = rng.float();
  const hi = r < 0.55 ? 28 : r < 0.88 ? 48 : 65;
  const from = r < 0.55 ? lo : Math.max(lo, r < 0.88 ? 28 : 48);
  return Math.min(65, rng.int(from, Math.max(from, hi)));
}

/** The label's 라벨링 entry for a garment, in a canonical key order (the writer may shuffle it). */
function labelEntry(spec: GarmentSpec): Record<string, LabelValue> {
  const e: Record<string, LabelValue> = {};
  if (spec.length) e['기장'] = spec.length;
  e['색상'] = spec.color;
  if (spec.subColor) e['서브색상'] = spec.subColor;
  e['카테고리'] = spec.category;
  if (spec.collar) e['옷깃'] = spec.collar;
  if (spec.sleeve) e['소매기장'] = spec.sleeve;
  if (spec.materials.length > 0) e['소재'] = [...spec.materials];
  if (spec.prints.length > 0) e['프린트'] = [...spec.prints];
  if (spec.neckline) e['넥라인'] = spec.neckline;
  if (spec.fit) e['핏'] = spec.fit;
  if (spec.details.length > 0) e['디테일'] = [...spec.details];
  return e;
}

/** Writes some canonical values the way real labellers did (노말, 홀토넥, ...). */
function applySpelling(rng: Rng, entry: Record<string, LabelValue>): boolean {
  let changed = false;
  const vary = (v: string): string => {
    const variant = SPELLING_VARIANTS[v];
    if (!variant) return v;
    const p = v === '노멀' ? DEMO_QUIRK_SHARES.spelling노말 : DEMO_QUIRK_SHARES.spellingOther;
    if (!rng.chance(p)) return v;
    changed = true;
    return variant;
  };
  for (const [k, v] of Object.entries(entry)) entry[k] = typeof v === 'string' ? vary(v) : v.map(vary);
  return changed;
}

/** Puts a non-breaking space into one value: in place of its inner space if it has one, else at its end. */
function applyNbsp(rng: Rng, entry: Record<string, LabelValue>): void {
  const slots: { key: string; index: number | null; value: string }[] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v === 'string') slots.push({ key: k, index: null, value: v });
    else
      v.forEach((s, i) => {
        slots.push({ key: k, index: i, value: s });
      });
  }
  const spaced = slots.filter((s) => s.value.includes(' '));
  const slot = spaced.length > 0 ? rng.pick(spaced) : rng.pick(slots);
  const raw = slot.value.includes(' ') ? slot.value.replace(' ', '\u00a0') : `${slot.value}\u00a0`;
  if (slot.index === null) entry[slot.key] = raw;
  else (entry[slot.key] as string[])[slot.index] = raw;
}

export function planDemoDataset(seed: number, scale: DemoScale): DemoPlan {
  const rng = Rng.derive('kfashion-demo', seed, scale);
  const used = new Set<string>();
  const lookNumbers = new Set<string>();

  // 1. Looks and their shots, style by style.
  interface Draft {
    look: Look;
    shot: number;
  }
  const drafts: Draft[] = [];
  for (const style of DEMO_STYLES) {
    for (const look of planLooks(rng, style, DEMO_SCALES[scale][style], used, lookNumbers)) {
      for (let shot = 0; shot < look.shopNames.length; shot++) drafts.push({ look, shot });
    }
  }
  const total = drafts.length;

  // 2. Unique 이미지 식별자 values, handed out in random order (real ids are not grouped by style).
  const ids: number[] = [];
  let next = 100000 + (hashIdBase(seed) % 40000);
  for (let i = 0; i < total; i++) {
    next += rng.int(1, 9);
    ids.push(next);
  }
  rng.shuffle(ids);

  // 3. Image-level quirks, by exact counts.
  const styleMissing = new Set(
    rng.sampleIndices(total, Math.max(1, Math.round(total * DEMO_QUIRK_SHARES.styleMissing))),
  );
  const outside = new Set(
    rng.sampleIndices(total, Math.max(1, Math.round(total * DEMO_QUIRK_SHARES.pointsOutside))),
  );
  const oddStem = new Set<number>();
  for (const style of DEMO_STYLES) {
    const idx = drafts.map((d, i) => (d.look.style === style ? i : -1)).filter((i) => i >= 0);
    const k = Math.max(1, Math.round(idx.length * DEMO_QUIRK_SHARES.oddStem));
    for (const j of rng.sampleIndices(idx.length, k)) oddStem.add(idx[j]!);
  }

  // 4. 파일 생성일자: a fixed start derived from the seed, then a few minutes per file in id order.
  const created = new Map<number, string>();
  let t = Date.UTC(2020, 7, 3 + ((seed >>> 0) % 20), 9, 0, 0);
  for (const id of [...ids].sort((a, b) => a - b)) {
    t += rng.int(15, 400) * 1000;
    created.set(id, formatDate(t));
  }

  // 5. Images: pose, outlines, stems.
  const images: PlannedImage[] = [];
  let oddCounter = rng.int(20, 200);
  drafts.forEach((draft, i) => {
    const { look, shot } = draft;
    const imageId = ids[i]!;
    const quirks: string[] = [];
    const pose: Pose =
      shot === 0
        ? { ...look.basePose }
        : {
            cx: look.basePose.cx + rng.range(-14, 14),
            top: look.basePose.top + rng.range(-6, 6),
            scale: look.basePose.scale * rng.range(0.97, 1.03),
            spread: look.basePose.spread + rng.range(-0.02, 0.02),
          };
    let outlines = look.specs.map((s) => dedupe(garmentOutline(s, pose)));
    // Keep the figure inside the picture, then push it slightly past an edge for the quirk.
    const b = bounds(outlines);
    let dx = 0;
    let dy = 0;
    if (b.x0 < 2) dx = 2 - b.x0;
    else if (b.x1 > look.width - 2) dx = look.width - 2 - b.x1;
    if (b.y1 > HEIGHT - 2) dy = HEIGHT - 2 - b.y1;
    else if (b.y0 < 2) dy = 2 - b.y0;
    if (outside.has(i)) {
      const over = rng.range(0.5, 6);
      if (b.y1 + dy >= 0.8 * HEIGHT) dy = HEIGHT + over - b.y1;
      else if (rng.chance(0.5)) dx = -over - b.x0;
      else dx = look.width + over - b.x1;
      quirks.push('points-outside');
    }
    if (dx !== 0 || dy !== 0) {
      outlines = outlines.map((o) => translate(o, dx, dy));
      pose.cx += dx;
      pose.top += dy;
    }
    const styles = look.subStyle && look.subStyle !== look.style ? [look.style, look.subStyle] : [look.style];
    let stem = String(imageId);
    if (oddStem.has(i)) {
      oddCounter += rng.int(1, 40);
      stem = `(${oddCounter})IMG_${rng.int(1, 9)}`;
      quirks.push('odd-stem');
    }
    if (styleMissing.has(i)) quirks.push('style-missing');
    const keyOrderSeed = rng.chance(DEMO_QUIRK_SHARES.keyOrder) ? rng.int(1, 0x7fffffff) : null;
    if (keyOrderSeed !== null) quirks.push('key-order');
    images.push({
      style: look.style,
      styles,
      ...(look.subStyle ? { subStyle: look.subStyle } : {}),
      styleMissing: styleMissing.has(i),
      imageId,
      stem,
      imageFile: `${oddStem.has(i) ? imageId : stem}.jpg`,
      shopFile: look.shopNames[shot]!,
      lookKey: look.key,
      width: look.width,
      height: HEIGHT,
      pose,
      createdAt: created.get(imageId)!,
      background: look.background,
      skin: look.skin,
      hair: look.hair,
      garments: look.specs.map((spec, g) => {
        const base = outlines[g]!;
        const target = polygonTarget(rng, base.length);
        const coarse = target < base.length ? simplify(base, target) : null;
        // A coarse outline that would cross itself (thin parts such as an open front) stays detailed.
        const shaped = coarse && isSimplePolygon(coarse) ? coarse : densify(base, target);
        const outline = shaped.map(([x, y]) => [round3(x), round3(y)] as Pt);
        return {
          part: spec.part,
          itemId: '', // set below, once the stem is final
          spec,
          attributes: specToAttributes(spec, styles),
          outline,
          label: labelEntry(spec),
          polygon: outline,
          rect: rectOf(rng, outline, look.width, HEIGHT),
          usable: true,
          quirks: [],
        };
      }),
      keyOrderSeed,
      quirks,
    });
  });

  // 6. Garment-level quirks, by exact counts over all garments.
  const garments = images.flatMap((img) => img.garments);
  const n = garments.length;
  const pickGarments = (share: number, atLeastOne: boolean, exclude?: Set<number>): Set<number> => {
    const pool = garments.map((_, i) => i).filter((i) => !exclude?.has(i));
    const count = Math.max(atLeastOne ? 1 : 0, Math.round(n * share));
    return new Set(rng.sampleIndices(pool.length, count).map((j) => pool[j]!));
  };
  const unusable = pickGarments(DEMO_QUIRK_SHARES.unusable, true);
  const degenerate = pickGarments(DEMO_QUIRK_SHARES.degenerateRect, false, unusable);
  const colorOnly = pickGarments(DEMO_QUIRK_SHARES.colorOnly, false);
  garments.forEach((g, i) => {
    if (colorOnly.has(i)) {
      g.label = { 색상: g.spec.color };
      if (g.spec.sleeve && rng.chance(0.5)) g.label['소매기장'] = g.spec.sleeve;
      g.quirks.push('color-only');
    }
    if (applySpelling(rng, g.label)) g.quirks.push('spelling');
  });
  // NBSPs: about a third go inside values written with a space (헤어 니트, 원 숄더), the rest at the end.
  const nbspCount = Math.round(n * DEMO_QUIRK_SHARES.nbsp);
  const spaced = garments.map((g, i) =>
    Object.values(g.label)
      .flat()
      .some((v) => v.includes(' '))
      ? i
      : -1,
  );
  const spacedIdx = spaced.filter((i) => i >= 0);
  const inner = rng.sampleIndices(spacedIdx.length, Math.round(nbspCount / 3)).map((j) => spacedIdx[j]!);
  const nbsp = new Set(inner);
  const rest = garments.map((_, i) => i).filter((i) => !nbsp.has(i) && spaced[i]! < 0);
  for (const j of rng.sampleIndices(rest.length, nbspCount - nbsp.size)) nbsp.add(rest[j]!);
  garments.forEach((g, i) => {
    if (nbsp.has(i)) {
      applyNbsp(rng, g.label);
      g.quirks.push('nbsp');
    }
    if (unusable.has(i) || degenerate.has(i)) {
      const rect = g.rect!;
      if (unusable.has(i)) {
        // Nothing usable is left: the polygon is `[{}]` and the rect is at most 1 pixel wide and high.
        rect.w = rng.int(0, 1);
        rect.h = rng.int(0, 1);
        g.polygon = null;
        g.usable = false;
        g.quirks.push('unusable');
      } else {
        if (rng.chance(0.5)) rect.w = rng.int(0, 1);
        else rect.h = rng.int(0, 1);
        g.quirks.push('degenerate-rect');
      }
    }
  });

  // 7. Output order: style by style, label stems sorted; item ids from the final stems.
  images.sort((a, b) =>
    a.style === b.style
      ? a.stem < b.stem
        ? -1
        : a.stem > b.stem
          ? 1
          : 0
      : DEMO_STYLES.indexOf(a.style) - DEMO_STYLES.indexOf(b.style),
  );
  for (const img of images) {
    img.garments.sort((a, b) => GARMENT_PARTS.indexOf(a.part) - GARMENT_PARTS.indexOf(b.part));
    for (const g of img.garments) g.itemId = `${img.style}/${img.stem}/${g.part}`;
  }
  return { seed, scale, images };
}

/** The written rect: the polygon's box inside the picture, loosely (labellers drew them by hand). */
function rectOf(rng: Rng, poly: readonly Pt[], width: number, height: number): DemoRect {
  const b = bounds([poly as Pt[]]);
  const x0 = Math.max(0, b.x0);
  const y0 = Math.max(0, b.y0);
  const x1 = Math.min(width, b.x1);
  const y1 = Math.min(height, b.y1);
  const x = Math.max(0, round3(x0 + rng.range(-2, 2)));
  const y = Math.max(0, round3(y0 + rng.range(-2, 2)));
  return {
    x,
    y,
    w: Math.max(2, Math.round(x1 - x + rng.range(-2, 2))),
    h: Math.max(2, Math.round(y1 - y + rng.range(-2, 2))),
  };
}

function hashIdBase(seed: number): number {
  return Rng.derive('ids', seed).int(0, 0x7fffffff);
}

/** Every garment of the plan, in output (= embedding row) order. */
export function plannedGarments(plan: DemoPlan): { image: PlannedImage; garment: PlannedGarment }[] {
  return plan.images.flatMap((image) => image.garments.map((garment) => ({ image, garment })));
}
