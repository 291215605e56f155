/**
 * Augmented views of a garment crop, for embedding through the frozen image encoder: the image
 * encoder never trains, so image augmentation means embedding a few transformed views of each crop
 * once and letting training pick among the stored vectors.
 *
 * The recipe follows torchvision's usual contrastive pipeline, in its order:
 *   RandomResizedCrop (area scale in [scaleMin, scaleMax], aspect ratio in [3/4, 4/3], back to the
 *   crop's own size) → horizontal flip (p) → rotation (±degrees, corners black like fill=0) →
 *   colour jitter (brightness, contrast, saturation factors in [1−x, 1+x], in a random order)
 *   → optionally CutMix (a box of a same-category garment's crop pasted in).
 * Geometry runs in sharp. Colour jitter is a few lines over the raw RGB bytes, written by hand because
 * torchvision's contrast blends towards the image's mean grey, which sharp's modulate/linear cannot
 * express without a second decoding pass; doing all three in one place keeps their order exact.
 *
 * Every parameter comes from a generator seeded by (view seed, item id, view number), so a view is the
 * same picture on every run and machine with the same sharp/libvips; the parameters are kept with the
 * stored vector, so the dashboard can say what was done.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { ViewSettings } from '../../../src-shared/augmentation-config.ts';
import { Rng } from '../rng.ts';

/** Bump when the rendering changes, so cached views are redone. */
export const VIEW_RECIPE = 'v1';

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface ViewParams {
  view: number;
  /** The RandomResizedCrop region of the source crop. */
  crop: Box;
  flip: boolean;
  /** Degrees, counter-clockwise positive as in torchvision. */
  rotation: number;
  brightness: number;
  contrast: number;
  saturation: number;
  /** Order the three colour operations ran in. */
  colourOrder: ('brightness' | 'contrast' | 'saturation')[];
  /**
   * CutMix: the garment whose crop was pasted in, the box (in the output) and λ, the share of the
   * picture that is still this garment.
   */
  cutmix: { partner: string; box: Box; lambda: number } | null;
}

/**
 * The cache key of a view recipe: settings + seed + rendering version. Vectors stored under another
 * key are never mixed with these.
 */
export function viewSettingsKey(settings: ViewSettings, seed: number): string {
  const canonical = JSON.stringify(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha1').update(`${VIEW_RECIPE}|${seed}|${canonical}`).digest('hex').slice(0, 16);
}

/**
 * Draws the parameters of view `view` (1-based) of a `width`×`height` crop. `partners` are the
 * garments CutMix may paste from (same category, in a fixed order); none means no CutMix.
 */
export function drawViewParams(
  settings: ViewSettings,
  seed: number,
  itemId: string,
  view: number,
  size: { width: number; height: number },
  partners: readonly string[] = [],
): ViewParams {
  const rng = Rng.derive('image-view', seed, itemId, view);
  const { width: w, height: h } = size;
  // torchvision's RandomResizedCrop: up to 10 tries at a random area/ratio, else the whole image.
  let crop: Box = { left: 0, top: 0, width: w, height: h };
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = rng.range(settings.scaleMin, settings.scaleMax) * w * h;
    const ratio = Math.exp(rng.range(Math.log(3 / 4), Math.log(4 / 3)));
    const cw = Math.round(Math.sqrt(area * ratio));
    const ch = Math.round(Math.sqrt(area / ratio));
    if (cw >= 1 && ch >= 1 && cw <= w && ch <= h) {
      crop = { left: rng.int(0, w - cw), top: rng.int(0, h - ch), width: cw, height: ch };
      break;
    }
  }
  const flip = rng.chance(settings.flip);
  const rotation = rng.range(-settings.rotation, settings.rotation);
  const factor = (x: number) => (x > 0 ? rng.range(1 - x, 1 + x) : 1);
  const brightness = factor(settings.brightness);
  const contrast = factor(settings.contrast);
  const saturation = factor(settings.saturation);
  const colourOrder = rng.shuffle(['brightness', 'contrast', 'saturation'] as ViewParams['colourOrder']);
  let cutmix: ViewParams['cutmix'] = null;
  if (settings.cutmix > 0 && rng.chance(settings.cutmix) && partners.length > 0) {
    const partner = rng.pick(partners);
    // CutMix's box: area fraction r, the box's sides √r of the image's, centre uniform, clipped.
    const r = rng.range(0, settings.cutmixMaxArea);
    const bw = Math.round(w * Math.sqrt(r));
    const bh = Math.round(h * Math.sqrt(r));
    const cx = rng.int(0, w - 1);
    const cy = rng.int(0, h - 1);
    const left = Math.max(0, cx - Math.floor(bw / 2));
    const top = Math.max(0, cy - Math.floor(bh / 2));
    const right = Math.min(w, cx + Math.ceil(bw / 2));
    const bottom = Math.min(h, cy + Math.ceil(bh / 2));
    if (right > left && bottom > top) {
      const box = { left, top, width: right - left, height: bottom - top };
      cutmix = { partner, box, lambda: round3(1 - (box.width * box.height) / (w * h)) };
    }
  }
  return {
    view,
    crop,
    flip,
    rotation: round3(rotation),
    brightness: round3(brightness),
    contrast: round3(contrast),
    saturation: round3(saturation),
    colourOrder,
    cutmix,
  };
}

/** Short human description, e.g. for the dashboard: "crop 180×200 at 4,9 · flip · rot −7.2° · …". */
export function describeView(p: ViewParams): string {
  const parts = [`view ${p.view}`, `crop ${p.crop.width}×${p.crop.height} at ${p.crop.left},${p.crop.top}`];
  if (p.flip) parts.push('flip');
  parts.push(`rot ${p.rotation.toFixed(1)}°`);
  parts.push(
    `brightness ${p.brightness.toFixed(2)}, contrast ${p.contrast.toFixed(2)}, saturation ${p.saturation.toFixed(2)}`,
  );
  if (p.cutmix) parts.push(`CutMix with ${p.cutmix.partner}, λ ${p.cutmix.lambda.toFixed(2)}`);
  return parts.join(' · ');
}

/**
 * Renders a view of the crop at `input` (path or bytes) as a PNG (lossless, so the cached file is
 * exactly what was embedded), the crop's own size. `partner` is the CutMix partner's crop when the
 * parameters hold a CutMix box.
 */
export async function renderView(
  input: string | Buffer,
  params: ViewParams,
  size: { width: number; height: number },
  partner?: string | Buffer,
): Promise<Buffer> {
  const { width: w, height: h } = size;
  let img = sharp(input, { failOn: 'error' })
    .removeAlpha()
    .extract(params.crop)
    .resize(w, h, { fit: 'fill', fastShrinkOnLoad: false });
  if (params.flip) img = img.flop();
  let rgb = await img.raw().toBuffer();
  if (params.rotation !== 0) {
    // sharp's rotate grows the canvas to hold the turned image; cut the centre back to w×h.
    // sharp turns clockwise for positive angles; torchvision counter-clockwise: hence the minus.
    const turned = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .rotate(-params.rotation, { background: { r: 0, g: 0, b: 0 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width: tw, height: th } = turned.info;
    rgb = await sharp(turned.data, { raw: { width: tw, height: th, channels: turned.info.channels } })
      .extract({ left: Math.floor((tw - w) / 2), top: Math.floor((th - h) / 2), width: w, height: h })
      .removeAlpha()
      .raw()
      .toBuffer();
  }
  for (const op of params.colourOrder) {
    if (op === 'brightness') blend(rgb, params.brightness, () => 0);
    else if (op === 'contrast') {
      const m = meanGrey(rgb);
      blend(rgb, params.contrast, () => m);
    } else blend(rgb, params.saturation, (i) => grey(rgb, i));
  }
  if (params.cutmix && partner !== undefined) {
    const other = await sharp(partner, { failOn: 'error' })
      .removeAlpha()
      .resize(w, h, { fit: 'fill', fastShrinkOnLoad: false })
      .raw()
      .toBuffer();
    const { left, top, width, height } = params.cutmix.box;
    for (let y = top; y < top + height; y++) {
      const from = (y * w + left) * 3;
      other.copy(rgb, from, from, from + width * 3);
    }
  }
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();
}

/** torchvision's `_blend`: x·f + other·(1−f), clamped to [0, 255], for every channel. */
function blend(rgb: Buffer, f: number, other: (pixelStart: number) => number): void {
  if (f === 1) return;
  for (let i = 0; i < rgb.length; i += 3) {
    const o = other(i) * (1 - f);
    for (let c = 0; c < 3; c++) rgb[i + c] = clamp(rgb[i + c]! * f + o);
  }
}

/** ITU-R 601 luma, as torchvision's rgb_to_grayscale. */
function grey(rgb: Buffer, i: number): number {
  return 0.299 * rgb[i]! + 0.587 * rgb[i + 1]! + 0.114 * rgb[i + 2]!;
}

function meanGrey(rgb: Buffer): number {
  let s = 0;
  for (let i = 0; i < rgb.length; i += 3) s += grey(rgb, i);
  return s / Math.max(1, rgb.length / 3);
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
