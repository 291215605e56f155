/**
 * Garments of one picture cut at the same time share one decode of the picture (crops.ts, "shared
 * picture decode"). The crop files must be byte for byte what cutting each from the file gives.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { cropRegion } from '../../src-main/dataset/box.ts';
import { CROP_JPEG, ensureCrop, sharedDecodeCounts } from '../../src-main/dataset/crops.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';

type Rect = { x: number; y: number; w: number; h: number };
const PARTS = ['아우터', '상의', '하의'] as const;
const BOXES: Rect[] = [
  { x: 10, y: 12, w: 200, h: 260 },
  { x: 150, y: 40, w: 240, h: 300 },
  { x: 33, y: 250, w: 301, h: 247 },
];

function threeGarments(id: number) {
  const labels: Record<string, Record<string, unknown>> = {};
  const rects: Record<string, Rect> = {};
  const polygons: Record<string, [number, number][]> = {};
  PARTS.forEach((p, k) => {
    const r = BOXES[k]!;
    labels[p] = { 카테고리: '블라우스', 색상: '화이트' };
    rects[p] = r;
    polygons[p] = [
      [r.x, r.y],
      [r.x + r.w, r.y],
      [r.x + r.w, r.y + r.h],
      [r.x, r.y + r.h],
    ];
  });
  return simpleLabel(id, { width: 400, height: 500, labels, rects, polygons });
}

const tree = new FixtureTree();
const base = tempDir('kf-crops-shared-');
afterAll(() => {
  tree.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe('shared picture decode when cutting crops', () => {
  it('cuts the same JPEG bytes as cutting each crop from the file, plain pictures or not', async () => {
    const noise = () =>
      sharp({
        create: {
          width: 400,
          height: 500,
          channels: 3,
          background: { r: 0, g: 0, b: 0 },
          noise: { type: 'gaussian', mean: 120, sigma: 60 },
        },
      });
    const dir = tree.imageDir('로맨틱');
    // 1: a plain sRGB JPEG (shared decode); 2: greyscale; 3: PNG with alpha; 4: with an ICC profile.
    await noise().jpeg({ quality: 93 }).toFile(join(dir, '1.jpg'));
    await noise().toColourspace('b-w').jpeg({ quality: 93 }).toFile(join(dir, '2.jpg'));
    await noise().ensureAlpha(0.5).png().toFile(join(dir, '3.jpg'));
    await noise().withIccProfile('p3').jpeg({ quality: 93 }).toFile(join(dir, '4.jpg'));
    for (let i = 1; i <= 4; i++) tree.addLabel('로맨틱', threeGarments(i));

    const wb = Workbench.open(join(base, 'ws'));
    try {
      await wb.scan({ data: tree.root });
      const items = [...new DatasetStore(wb.workspace.db).iterateItems()];
      expect(items).toHaveLength(12);
      const before = { ...sharedDecodeCounts };
      const crops = await Promise.all(items.map((it) => ensureCrop(wb.workspace, it)));
      // The plain picture's three garments were cut from one decode (the others from their files).
      expect(sharedDecodeCounts.decoded - before.decoded).toBe(1);
      expect(sharedDecodeCounts.shared - before.shared).toBe(2);
      // Each picture's header was read once for its three garments, plain or not.
      expect(sharedDecodeCounts.headersRead - before.headersRead).toBe(4);
      for (const [k, item] of items.entries()) {
        const meta = await sharp(item.imagePath!).metadata();
        const region = cropRegion(item.box, item.imageSize, { width: meta.width!, height: meta.height! })!;
        const reference = await sharp(item.imagePath!, { failOn: 'error' })
          .extract(region)
          .jpeg(CROP_JPEG)
          .toBuffer();
        const written = readFileSync(crops[k]!.path);
        expect(written.equals(reference), item.id).toBe(true);
        expect(crops[k]!.bytes?.equals(reference), item.id).toBe(true);
        // [Note: crop JPEG coding]: a crop cut with optimised Huffman tables (as before) is other
        // bytes but decodes to the same pixels, so what the model sees has not changed.
        const optimised = await sharp(item.imagePath!, { failOn: 'error' })
          .extract(region)
          .jpeg({ quality: 90 })
          .toBuffer();
        expect(optimised.equals(written), item.id).toBe(false);
        const pixels = (jpeg: Buffer) => sharp(jpeg).raw().toBuffer();
        expect((await pixels(written)).equals(await pixels(optimised)), item.id).toBe(true);
      }
    } finally {
      wb.close();
    }
  });
});
