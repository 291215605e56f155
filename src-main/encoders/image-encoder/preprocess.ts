/**
 * CLIP image preprocessing with sharp, matching transformers' CLIPImageProcessor: resize so the
 * shortest side is `shortestEdge` (bicubic; the long side truncated like `int(size * long / short)`),
 * centre crop to `cropSize` (offsets floored like `(h - crop) // 2`), RGB, scale to [0, 1], normalise
 * with the mean and std, and lay the result out as CHW float32.
 *
 * sharp does the decode, resize and crop in one pipeline on libuv's thread pool, so several images can
 * be prepared while ONNX Runtime runs a batch (see embed-images.ts).
 */
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { CLIP_PREPROCESS, type PreprocessDefaults } from './model-registry.ts';

export interface PreprocessConfig {
  /** Resize target: shortest side (CLIP), or exact height × width when the config gives both. */
  resize: { shortestEdge: number } | { height: number; width: number } | null;
  crop: { height: number; width: number } | null;
  rescale: number | null;
  mean: [number, number, number] | null;
  std: [number, number, number] | null;
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
}

export class PreprocessConfigError extends Error {
  override name = 'PreprocessConfigError';
}

export function defaultPreprocessConfig(d: PreprocessDefaults = CLIP_PREPROCESS): PreprocessConfig {
  return {
    resize: { shortestEdge: d.shortestEdge },
    crop: { height: d.cropSize, width: d.cropSize },
    rescale: 1 / 255,
    mean: [...d.mean],
    std: [...d.std],
    kernel: 'cubic',
  };
}

/** Output height and width of the preprocessing (the model's input size). */
export function outputSize(cfg: PreprocessConfig): { height: number; width: number } {
  if (cfg.crop) return cfg.crop;
  if (cfg.resize && 'height' in cfg.resize) return cfg.resize;
  throw new PreprocessConfigError(
    'preprocessing without a centre crop or a fixed resize has no fixed output size; CLIP models need one',
  );
}

// PIL resample codes as transformers writes them: 0 NEAREST, 1 LANCZOS, 2 BILINEAR, 3 BICUBIC.
const KERNELS: Record<number, PreprocessConfig['kernel']> = {
  0: 'nearest',
  1: 'lanczos3',
  2: 'linear',
  3: 'cubic',
};

/**
 * Reads a transformers `preprocessor_config.json`, accepting the forms different versions write:
 * `size` as a number, `{shortest_edge}` or `{height, width}`; `crop_size` as a number or
 * `{height, width}`. Missing keys take CLIPImageProcessor's defaults. Errors name the file and key.
 */
export function readPreprocessorConfig(path: string): PreprocessConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PreprocessConfigError(
      `${path}: cannot read the preprocessor config (${e instanceof Error ? e.message : String(e)}); expected transformers' preprocessor_config.json`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PreprocessConfigError(
      `${path}: expected a JSON object, got ${JSON.stringify(raw)?.slice(0, 40)}`,
    );
  }
  return parsePreprocessorConfig(raw as Record<string, unknown>, path);
}

export function parsePreprocessorConfig(
  c: Record<string, unknown>,
  name = 'preprocessor config',
): PreprocessConfig {
  const d = defaultPreprocessConfig();
  const bad = (key: string, want: string): never => {
    throw new PreprocessConfigError(`${name}: "${key}" should be ${want}, got ${JSON.stringify(c[key])}`);
  };
  const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
  const bool = (key: string, dflt: boolean): boolean => {
    const v = c[key];
    if (v === undefined) return dflt;
    return typeof v === 'boolean' ? v : bad(key, 'true or false');
  };
  const triple = (key: string, dflt: [number, number, number]): [number, number, number] => {
    const v = c[key];
    if (v === undefined) return dflt;
    if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return v as [number, number, number];
    }
    return bad(key, 'a number or a list of 3 numbers (one per RGB channel)');
  };

  let resize: PreprocessConfig['resize'] = null;
  if (bool('do_resize', true)) {
    const s = c['size'] ?? c['shortest_edge'];
    if (s === undefined) resize = d.resize;
    else if (posInt(s)) resize = { shortestEdge: s };
    else if (typeof s === 'object' && s !== null) {
      const o = s as Record<string, unknown>;
      if (posInt(o['shortest_edge'])) resize = { shortestEdge: o['shortest_edge'] };
      else if (posInt(o['height']) && posInt(o['width'])) resize = { height: o['height'], width: o['width'] };
      else bad('size', '{"shortest_edge": N} or {"height": H, "width": W}');
    } else bad('size', 'a positive integer or {"shortest_edge": N}');
  }
  let crop: PreprocessConfig['crop'] = null;
  if (bool('do_center_crop', true)) {
    const s = c['crop_size'];
    if (s === undefined) crop = d.crop;
    else if (posInt(s)) crop = { height: s, width: s };
    else if (typeof s === 'object' && s !== null && posInt((s as Record<string, unknown>)['height'])) {
      const o = s as Record<string, number>;
      if (!posInt(o['width'])) bad('crop_size', '{"height": H, "width": W}');
      crop = { height: o['height']!, width: o['width']! };
    } else bad('crop_size', 'a positive integer or {"height": H, "width": W}');
  }
  let rescale: number | null = null;
  if (bool('do_rescale', true)) {
    const f = c['rescale_factor'];
    if (f === undefined) rescale = 1 / 255;
    else if (typeof f === 'number' && f > 0) rescale = f;
    else bad('rescale_factor', 'a positive number (1/255 for 8-bit images)');
  }
  const normalize = bool('do_normalize', true);
  const resample = c['resample'];
  if (resample !== undefined && (typeof resample !== 'number' || !(resample in KERNELS))) {
    bad('resample', '0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic)');
  }
  const cfg: PreprocessConfig = {
    resize,
    crop,
    rescale,
    mean: normalize ? triple('image_mean', d.mean!) : null,
    std: normalize ? triple('image_std', d.std!) : null,
    kernel: resample === undefined ? 'cubic' : KERNELS[resample as number]!,
  };
  if (cfg.std?.some((s) => s === 0)) bad('image_std', 'non-zero values');
  outputSize(cfg);
  return cfg;
}

/** transformers' `get_resize_output_image_size` for a shortest-edge resize. */
export function resizedSize(
  width: number,
  height: number,
  resize: NonNullable<PreprocessConfig['resize']>,
): { width: number; height: number } {
  if ('height' in resize) return resize;
  const s = resize.shortestEdge;
  if (width <= height) return { width: s, height: Math.trunc((s * height) / width) };
  return { width: Math.trunc((s * width) / height), height: s };
}

export interface PreprocessTarget {
  /** Write into this array (e.g. a batch) at `offset` floats; default a new array. */
  out?: Float32Array;
  offset?: number;
  /**
   * The image's size when the caller already knows it (a crop it just cut): saves sharp a header read,
   * so the whole preprocessing is one job on libuv's pool.
   */
  width?: number;
  height?: number;
}

/** Preprocesses one image (a path or encoded bytes) into CHW float32. Returns the array written. */
export async function preprocessImage(
  input: string | Buffer,
  cfg: PreprocessConfig,
  target: PreprocessTarget = {},
): Promise<Float32Array> {
  const out = checkTarget(cfg, target);
  return rgbToChw(await preprocessToRgb(input, cfg, target), cfg, out, target.offset ?? 0);
}

function checkTarget(cfg: PreprocessConfig, target: PreprocessTarget): Float32Array {
  const size = outputSize(cfg);
  const plane = size.height * size.width;
  const offset = target.offset ?? 0;
  const out = target.out ?? new Float32Array(3 * plane);
  if (out.length < offset + 3 * plane) {
    throw new RangeError(`preprocessImage: output has ${out.length} floats, needs ${offset + 3 * plane}`);
  }
  return out;
}

/**
 * The geometric half of the preprocessing (decode, resize, centre crop, RGB): the image at the model's
 * input size as interleaved 8-bit RGB (height × width × 3 bytes). `rgbToChw` turns it into the model's
 * input; the embedding pipeline caches these bytes per crop (input-pixel-cache.ts), so a second run
 * only does that float pass.
 */
export async function preprocessToRgb(
  input: string | Buffer,
  cfg: PreprocessConfig,
  known: { width?: number; height?: number } = {},
): Promise<Buffer> {
  const size = outputSize(cfg);
  let img = sharp(input, { failOn: 'error' });
  let w = known.width ?? 0;
  let h = known.height ?? 0;
  if (!w || !h) {
    const meta = await img.metadata();
    if (!meta.width || !meta.height) {
      throw new PreprocessConfigError(`${typeof input === 'string' ? input : 'image'}: no readable size`);
    }
    w = meta.width;
    h = meta.height;
  }
  if (cfg.resize) {
    const r = resizedSize(w, h, cfg.resize);
    if (r.width !== w || r.height !== h) {
      // No JPEG shrink-on-load: it would sample differently from PIL, which the embeddings are compared with.
      img = img.resize(r.width, r.height, { fit: 'fill', kernel: cfg.kernel, fastShrinkOnLoad: false });
      w = r.width;
      h = r.height;
    }
  }
  if (cfg.crop) {
    const { width: cw, height: ch } = cfg.crop;
    if (w < cw || h < ch) {
      // transformers pads a too-small image with zeros before cropping; do the same, centred.
      const padX = Math.max(0, cw - w);
      const padY = Math.max(0, ch - h);
      img = sharp(
        await img
          .extend({
            left: Math.floor(padX / 2),
            right: padX - Math.floor(padX / 2),
            top: Math.floor(padY / 2),
            bottom: padY - Math.floor(padY / 2),
            background: { r: 0, g: 0, b: 0, alpha: 1 },
          })
          .removeAlpha()
          .png()
          .toBuffer(),
      );
      w = Math.max(w, cw);
      h = Math.max(h, ch);
    }
    img = img.extract({
      left: Math.floor((w - cw) / 2),
      top: Math.floor((h - ch) / 2),
      width: cw,
      height: ch,
    });
  }
  const { data, info } = await img
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size.width || info.height !== size.height || info.channels !== 3) {
    throw new PreprocessConfigError(
      `preprocessing produced ${info.width}×${info.height}×${info.channels}, expected ${size.width}×${size.height}×3`,
    );
  }
  return data;
}

/**
 * The arithmetic half of the preprocessing: interleaved 8-bit RGB at the model's input size (what
 * `preprocessToRgb` returns) rescaled, normalised with the mean and std and laid out as CHW float32
 * into `out` at `offset` floats. The same expression per value whichever way the bytes arrived (fresh
 * from sharp or read from the input-pixel cache), so both give bit-identical model inputs.
 */
export function rgbToChw(
  data: Uint8Array,
  cfg: PreprocessConfig,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const size = outputSize(cfg);
  const plane = size.height * size.width;
  if (data.length !== 3 * plane) {
    throw new RangeError(
      `rgbToChw: ${data.length} bytes is not one ${size.width}×${size.height} RGB image (${3 * plane} bytes)`,
    );
  }
  const dst = out ?? new Float32Array(3 * plane);
  if (dst.length < offset + 3 * plane) {
    throw new RangeError(`rgbToChw: output has ${dst.length} floats, needs ${offset + 3 * plane}`);
  }
  const scale = cfg.rescale ?? 1;
  for (let c = 0; c < 3; c++) {
    const mean = cfg.mean?.[c] ?? 0;
    const inv = 1 / (cfg.std?.[c] ?? 1);
    const base = offset + c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) dst[base + i] = (data[j]! * scale - mean) * inv;
  }
  return dst;
}
