import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD } from '../../src-main/encoders/image-encoder/model-registry.ts';
import {
  defaultPreprocessConfig,
  parsePreprocessorConfig,
  preprocessImage,
  readPreprocessorConfig,
  resizedSize,
} from '../../src-main/encoders/image-encoder/preprocess.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { CLIP_PREPROCESSOR_CONFIG } from '../helpers/tiny-clip-onnx.ts';

const dir = tempDir('kf-preprocess-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PLANE = 224 * 224;

/** A lossless PNG of one colour, so the decoded pixels are exactly the colour asked for. */
function solid(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

describe('CLIP preprocessing', () => {
  it('turns a solid colour into the exact normalised constant per channel, CHW', async () => {
    const rgb: [number, number, number] = [200, 100, 50];
    const out = await preprocessImage(await solid(300, 500, rgb), defaultPreprocessConfig());
    expect(out.length).toBe(3 * PLANE);
    for (let c = 0; c < 3; c++) {
      // Hand-computed: (v / 255 - mean) / std, e.g. red (200/255 - 0.48145466) / 0.26862954 = 1.127423…
      const want = (rgb[c]! / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!;
      const plane = out.subarray(c * PLANE, (c + 1) * PLANE);
      expect(Math.min(...plane)).toBeCloseTo(want, 5);
      expect(Math.max(...plane)).toBeCloseTo(want, 5);
    }
    expect(out[0]).toBeCloseTo(1.127423, 5);
  });

  it('keeps the centre of a non-square image: shortest side to 224, then a centred 224 crop', async () => {
    // 300×200: blue 50-px bands left and right of a red centre. Resized to 336×224 (the long side
    // truncated like transformers), the crop starts at (336 - 224) // 2 = 56, where the 50 px blue band
    // ends (50 × 1.12 = 56): what is left is red but for a 2-3 px bicubic seam at each edge.
    const red = await solid(200, 200, [255, 0, 0]);
    const img = await sharp({
      create: { width: 300, height: 200, channels: 3, background: { r: 0, g: 0, b: 255 } },
    })
      .composite([{ input: red, left: 50, top: 0 }])
      .png()
      .toBuffer();
    expect(resizedSize(300, 200, { shortestEdge: 224 })).toEqual({ width: 336, height: 224 });
    const out = await preprocessImage(img, defaultPreprocessConfig());
    const redR = (1 - CLIP_MEAN[0]) / CLIP_STD[0];
    const blueR = (0 - CLIP_MEAN[0]) / CLIP_STD[0];
    for (const y of [0, 100, 223]) {
      for (let x = 4; x < 220; x++) expect(out[y * 224 + x]).toBeCloseTo(redR, 1);
      // The seam columns are blends, never pure blue.
      expect(out[y * 224]).toBeGreaterThan(blueR + 0.5);
    }
  });

  it('uses the image size it is given (one sharp job) and writes into a batch at an offset', async () => {
    const file = join(dir, 'crop.png');
    writeFileSync(file, await solid(100, 150, [10, 20, 30]));
    const batch = new Float32Array(2 * 3 * PLANE).fill(7);
    await preprocessImage(file, defaultPreprocessConfig(), {
      out: batch,
      offset: 3 * PLANE,
      width: 100,
      height: 150,
    });
    expect(batch[0]).toBe(7);
    expect(batch[3 * PLANE]).toBeCloseTo((10 / 255 - CLIP_MEAN[0]) / CLIP_STD[0], 5);
  });

  it('pads an image smaller than the crop with zeros, centred, as transformers does', async () => {
    const cfg = parsePreprocessorConfig({ ...CLIP_PREPROCESSOR_CONFIG, do_resize: false });
    const out = await preprocessImage(await solid(100, 224, [255, 255, 255]), cfg);
    const white = (1 - CLIP_MEAN[0]) / CLIP_STD[0];
    const black = (0 - CLIP_MEAN[0]) / CLIP_STD[0];
    expect(out[112 * 224 + 112]).toBeCloseTo(white, 5);
    expect(out[112 * 224 + 5]).toBeCloseTo(black, 5);
    expect(out[112 * 224 + 220]).toBeCloseTo(black, 5);
  });
});

describe('preprocessor_config.json', () => {
  it('reads the forms transformers writes', () => {
    const file = join(dir, 'preprocessor_config.json');
    writeFileSync(file, JSON.stringify(CLIP_PREPROCESSOR_CONFIG));
    expect(readPreprocessorConfig(file)).toEqual(defaultPreprocessConfig());
    const old = parsePreprocessorConfig({
      size: 256,
      crop_size: 240,
      image_mean: [0.5, 0.5, 0.5],
      resample: 2,
    });
    expect(old).toMatchObject({
      resize: { shortestEdge: 256 },
      crop: { height: 240, width: 240 },
      mean: [0.5, 0.5, 0.5],
      kernel: 'linear',
    });
    expect(
      parsePreprocessorConfig({ size: { height: 224, width: 224 }, do_center_crop: false }),
    ).toMatchObject({
      resize: { height: 224, width: 224 },
      crop: null,
    });
  });

  it('names the file and key that is wrong', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ image_std: [1, 2] }));
    expect(() => readPreprocessorConfig(file)).toThrow(
      `${file}: "image_std" should be a number or a list of 3 numbers`,
    );
    writeFileSync(file, '{"size": ');
    expect(() => readPreprocessorConfig(file)).toThrow(`${file}: cannot read the preprocessor config`);
    expect(() => parsePreprocessorConfig({ crop_size: 'big' }, 'x.json')).toThrow(
      'x.json: "crop_size" should be',
    );
  });
});
