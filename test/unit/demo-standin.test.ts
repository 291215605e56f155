/**
 * The demo's SYNTHETIC stand-in image encoder: a generated ONNX graph that the real loader accepts as a
 * CLIP vision export, deterministic to the byte, and computing what it says (an 8×8 colour layout
 * times a fixed projection).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEMO_STANDIN_MODEL,
  demoStandinModel,
  demoStandinProjection,
  ensureDemoStandinFiles,
} from '../../src-main/encoders/image-encoder/demo-standin.ts';
import { openImageEncoder } from '../../src-main/encoders/image-encoder/open-encoder.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const dir = tempDir('kf-standin ');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('demo-standin encoder', () => {
  it('is byte-identical on every build and rewritten only when changed', () => {
    expect(Buffer.from(demoStandinModel()).equals(Buffer.from(demoStandinModel()))).toBe(true);
    const a = ensureDemoStandinFiles(join(dir, 'm'));
    expect(a.written).toBe(true);
    expect(ensureDemoStandinFiles(join(dir, 'm')).written).toBe(false);
    expect(readFileSync(join(dir, 'm', 'README_SYNTHETIC.txt'), 'utf8')).toMatch(
      /^SYNTHETIC STAND-IN IMAGE ENCODER - NOT FASHIONCLIP/,
    );
  });

  it('loads as a CLIP vision export and embeds the colour layout', async () => {
    const files = ensureDemoStandinFiles(join(dir, 'm'));
    const { encoder } = await openImageEncoder({
      modelPath: files.dir,
      model: DEMO_STANDIN_MODEL,
      threads: 1,
    });
    try {
      expect(encoder.dim).toBe(512);
      expect(encoder.inputSize).toEqual({ height: 224, width: 224 });
      // A picture whose left half is 1 and right half -1 in every channel, and its mirror.
      const px = new Float32Array(3 * 224 * 224);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 224; y++)
          for (let x = 0; x < 224; x++) px[c * 50176 + y * 224 + x] = x < 112 ? 1 : -1;
      const mirror = px.map((v) => -v);
      const out = await encoder.embed([px, mirror]);
      // Expected in plain JS: layout of 192 cells (c, gy, gx) = ±1, times the projection, normalised.
      const w = demoStandinProjection();
      const want = new Float32Array(512);
      for (let c = 0; c < 3; c++)
        for (let gy = 0; gy < 8; gy++)
          for (let gx = 0; gx < 8; gx++) {
            const f = c * 64 + gy * 8 + gx;
            const v = gx < 4 ? 1 : -1;
            for (let j = 0; j < 512; j++) want[j]! += v * w[f * 512 + j]!;
          }
      const norm = Math.hypot(...want);
      for (let j = 0; j < 512; j++) expect(out[j]!).toBeCloseTo(want[j]! / norm, 4);
      // The mirror image is the exact opposite layout: cosine -1.
      let dot = 0;
      for (let j = 0; j < 512; j++) dot += out[j]! * out[512 + j]!;
      expect(dot).toBeCloseTo(-1, 4);
    } finally {
      await encoder.close();
    }
  });
});
