import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  describeView,
  drawViewParams,
  renderView,
  viewSettingsKey,
} from '../../src-main/dataset/augment/image-views.ts';
import { viewSettingsInputSchema, viewSettingsSchema } from '../../src-shared/augmentation-config.ts';

const settings = viewSettingsSchema.parse({});
const size = { width: 60, height: 80 };

async function gradient(): Promise<Buffer> {
  const raw = Buffer.alloc(size.width * size.height * 3);
  for (let y = 0; y < size.height; y++)
    for (let x = 0; x < size.width; x++) {
      const i = (y * size.width + x) * 3;
      raw[i] = x * 4;
      raw[i + 1] = y * 3;
      raw[i + 2] = 128;
    }
  return sharp(raw, { raw: { ...size, channels: 3 } })
    .png()
    .toBuffer();
}

describe('augmented views', () => {
  it('draws parameters within the recipe ranges, the same for the same (seed, item, view)', () => {
    for (let v = 1; v <= 50; v++) {
      const p = drawViewParams(settings, 3, 'a/1/상의', v, size);
      expect(p).toEqual(drawViewParams(settings, 3, 'a/1/상의', v, size));
      expect(Math.abs(p.rotation)).toBeLessThanOrEqual(15);
      for (const f of [p.brightness, p.contrast, p.saturation]) {
        expect(f).toBeGreaterThanOrEqual(0.8);
        expect(f).toBeLessThanOrEqual(1.2);
      }
      const area = (p.crop.width * p.crop.height) / (size.width * size.height);
      expect(area).toBeGreaterThan(0.75); // rounding of the sides
      expect(area).toBeLessThanOrEqual(1);
      expect(p.crop.left + p.crop.width).toBeLessThanOrEqual(size.width);
      expect(p.crop.top + p.crop.height).toBeLessThanOrEqual(size.height);
      expect(p.cutmix).toBeNull();
    }
    const flips = Array.from({ length: 400 }, (_, v) => drawViewParams(settings, 3, 'x', v + 1, size).flip);
    expect(Math.abs(flips.filter(Boolean).length / 400 - 0.5)).toBeLessThan(0.1);
    expect(drawViewParams(settings, 4, 'a/1/상의', 1, size)).not.toEqual(
      drawViewParams(settings, 3, 'a/1/상의', 1, size),
    );
  });

  it('renders the same bytes for the same parameters, other bytes for another view', async () => {
    const src = await gradient();
    const p1 = drawViewParams(settings, 1, 'a/1/상의', 1, size);
    const p2 = drawViewParams(settings, 1, 'a/1/상의', 2, size);
    const a = await renderView(src, p1, size);
    const b = await renderView(src, p1, size);
    const c = await renderView(src, p2, size);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const meta = await sharp(a).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([60, 80, 'png']);
    expect(describeView(p1)).toMatch(/^view 1 · crop \d+×\d+ at \d+,\d+/);
  });

  it('flips horizontally and scales brightness like torchvision', async () => {
    const src = await gradient();
    const plain = {
      view: 1,
      crop: { left: 0, top: 0, ...size },
      flip: true,
      rotation: 0,
      brightness: 0.5,
      contrast: 1,
      saturation: 1,
      colourOrder: ['brightness', 'contrast', 'saturation'] as ('brightness' | 'contrast' | 'saturation')[],
      cutmix: null,
    };
    const out = await sharp(await renderView(src, plain, size))
      .raw()
      .toBuffer();
    // Pixel (0, 10) of the output is pixel (59, 10) of the source at half brightness.
    const i = 10 * size.width * 3;
    expect(out[i]).toBe(Math.round((59 * 4) / 2));
    expect(out[i + 1]).toBe(Math.round(30 / 2));
    expect(out[i + 2]).toBe(64);
  });

  it('CutMix pastes a same-category partner and records λ', async () => {
    const src = await gradient();
    const partner = await sharp({ create: { ...size, channels: 3, background: '#00ff00' } })
      .png()
      .toBuffer();
    const s = viewSettingsSchema.parse({ cutmix: 1, cutmixMaxArea: 0.5, rotation: 0 });
    let p = drawViewParams(s, 1, 'a', 1, size, ['b', 'c']);
    for (let v = 2; !p.cutmix || p.cutmix.box.width * p.cutmix.box.height < 100; v++) {
      p = drawViewParams(s, 1, 'a', v, size, ['b', 'c']);
    }
    expect(['b', 'c']).toContain(p.cutmix!.partner);
    const box = p.cutmix!.box;
    expect(p.cutmix!.lambda).toBeCloseTo(1 - (box.width * box.height) / (60 * 80), 3);
    const out = await sharp(await renderView(src, p, size, partner))
      .raw()
      .toBuffer();
    const at = ((box.top + 1) * 60 + box.left + 1) * 3;
    expect([out[at], out[at + 1], out[at + 2]]).toEqual([0, 255, 0]);
    expect(drawViewParams(s, 1, 'a', 1, size, []).cutmix).toBeNull();
  });

  it('keys a recipe by settings and seed', () => {
    expect(viewSettingsKey(settings, 0)).toBe(viewSettingsKey(viewSettingsSchema.parse({}), 0));
    expect(viewSettingsKey(settings, 0)).not.toBe(viewSettingsKey(settings, 1));
    expect(viewSettingsKey(settings, 0)).not.toBe(viewSettingsKey({ ...settings, rotation: 10 }, 0));
    expect(viewSettingsInputSchema.parse({ rotation: 5 })).toMatchObject({ rotation: 5, flip: 0.5 });
    expect(viewSettingsSchema.safeParse({ scaleMin: 0.9, scaleMax: 0.8 }).success).toBe(false);
  });
});
