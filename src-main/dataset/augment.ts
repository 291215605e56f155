/**
 * Image augmentations with sharp, the ones a contrastive image pipeline typically uses: horizontal
 * flip, colour jitter (brightness, saturation, hue) and a random resized crop. Seeded, so the same
 * seed gives the same picture. The dashboard shows a few crops passed through them.
 */
import sharp from 'sharp';
import { Rng } from './rng.ts';

export type Augmentation = 'flip' | 'colour-jitter' | 'random-crop';
export const AUGMENTATIONS: readonly Augmentation[] = ['flip', 'colour-jitter', 'random-crop'];

export interface AugmentedImage {
  augmentation: string;
  /** JPEG bytes. */
  jpeg: Buffer;
  width: number;
  height: number;
}

/**
 * Applies `kind` to the image at `input` (path or bytes) and returns a JPEG whose longest side is at
 * most `maxSide`. The parameters drawn are part of `augmentation`, e.g. "colour-jitter (brightness
 * 1.12, saturation 0.84, hue +14°)".
 */
export async function augmentImage(
  input: string | Buffer,
  kind: Augmentation,
  seed: number,
  maxSide = 192,
): Promise<AugmentedImage> {
  const rng = Rng.derive('augment', kind, seed);
  let img = sharp(input, { failOn: 'error' });
  let label: string = kind;
  if (kind === 'flip') {
    img = img.flop();
    label = 'flip (horizontal)';
  } else if (kind === 'colour-jitter') {
    const brightness = rng.range(0.75, 1.25);
    const saturation = rng.range(0.7, 1.3);
    const hue = Math.round(rng.range(-20, 20));
    img = img.modulate({ brightness, saturation, hue });
    label = `colour-jitter (brightness ${brightness.toFixed(2)}, saturation ${saturation.toFixed(2)}, hue ${hue >= 0 ? '+' : ''}${hue}°)`;
  } else {
    const meta = await sharp(input).metadata();
    const w = meta.width ?? 1;
    const h = meta.height ?? 1;
    // Scale 50-90 % of the area, aspect ratio 3/4..4/3, like torchvision's RandomResizedCrop.
    const area = rng.range(0.5, 0.9) * w * h;
    const ratio = Math.exp(rng.range(Math.log(3 / 4), Math.log(4 / 3)));
    const cw = Math.max(1, Math.min(w, Math.round(Math.sqrt(area * ratio))));
    const ch = Math.max(1, Math.min(h, Math.round(Math.sqrt(area / ratio))));
    const left = rng.int(0, w - cw);
    const top = rng.int(0, h - ch);
    img = img.extract({ left, top, width: cw, height: ch });
    label = `random-crop (${cw}×${ch} at ${left},${top} of ${w}×${h})`;
  }
  const { data, info } = await img
    .resize(maxSide, maxSide, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: 80 })
    .toBuffer({ resolveWithObject: true });
  return { augmentation: label, jpeg: data, width: info.width, height: info.height };
}
