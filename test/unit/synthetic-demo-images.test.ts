import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  demoSvg,
  forEachBounded,
  imagePath,
  renderDemoImage,
} from '../../src-main/dataset/synthetic/demo-images.ts';
import { COLOR_RGB } from '../../src-main/dataset/synthetic/demo-patterns.ts';
import { type PlannedImage, planDemoDataset } from '../../src-main/dataset/synthetic/demo-plan.ts';

const root = mkdtempSync(join(tmpdir(), 'kf-demo-img-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const plan = planDemoDataset(7, 'small');
const has = (img: PlannedImage, part: string) => img.garments.some((g) => g.part === part);
const plain = (img: PlannedImage) =>
  !has(img, '아우터') &&
  img.garments.some(
    (g) => g.part === '원피스' && g.usable && (g.spec.prints.length === 0 || g.spec.prints[0] === '무지'),
  );
const picks = [
  plan.images.find((i) => has(i, '아우터') && i.garments.every((g) => g.usable))!,
  plan.images.find((i) => i.quirks.includes('odd-stem'))!,
  plan.images.find(plain)!,
  plan.images.find((i) =>
    i.garments.some((g) => g.spec.prints[0] === '체크' || g.spec.prints[0] === '플로럴'),
  )!,
];

function hexRgb(hex: string): [number, number, number] {
  const v = Number.parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/** Pixels of the garment's polygon box (clipped to the picture), as sharp decodes them. */
async function boxPixels(file: string, img: PlannedImage, outline: [number, number][]) {
  const xs = outline.map((p) => p[0]);
  const ys = outline.map((p) => p[1]);
  const left = Math.max(0, Math.floor(Math.min(...xs)));
  const top = Math.max(0, Math.floor(Math.min(...ys)));
  const width = Math.min(img.width, Math.ceil(Math.max(...xs))) - left;
  const height = Math.min(img.height, Math.ceil(Math.max(...ys))) - top;
  const { data, info } = await sharp(file)
    .extract({ left, top, width, height })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, channels: info.channels, count: info.width * info.height };
}

describe('demo pictures', () => {
  it('renders JPEGs whose garment boxes show the garment, not the backdrop', async () => {
    expect(picks.every(Boolean)).toBe(true);
    for (const s of ['레트로', '로맨틱', '리조트'])
      mkdirSync(join(root, '원천데이터', s), { recursive: true });
    await forEachBounded(picks, 3, (img) => renderDemoImage(root, img));

    for (const img of picks) {
      const file = imagePath(root, img);
      expect(existsSync(file)).toBe(true);
      const meta = await sharp(file).metadata();
      expect(meta.format).toBe('jpeg');
      expect([meta.width, meta.height]).toEqual([img.width, img.height]);
      const bg = hexRgb(img.background);
      for (const g of img.garments) {
        const { data, channels, count } = await boxPixels(file, img, g.outline);
        let differs = 0;
        for (let p = 0; p < count; p++) {
          const o = p * channels;
          const d =
            Math.abs(data[o]! - bg[0]) + Math.abs(data[o + 1]! - bg[1]) + Math.abs(data[o + 2]! - bg[2]);
          if (d > 12) differs++;
        }
        expect(differs / count, `${g.itemId} (${g.spec.category}, ${g.spec.color})`).toBeGreaterThan(0.5);
      }
    }
    // A label named like (116)IMG_1.json has its picture under the 이미지 식별자.
    expect(picks[1]!.imageFile).toBe(`${picks[1]!.imageId}.jpg`);
    expect(picks[1]!.stem).toMatch(/^\(\d+\)IMG_\d+$/);
  });

  it('fills a plain garment with its 색상', async () => {
    const img = picks[2]!;
    const g = img.garments.find((x) => x.part === '원피스')!;
    const want = COLOR_RGB[g.spec.color]!;
    const { data, channels, count } = await boxPixels(imagePath(root, img), img, g.outline);
    let near = 0;
    for (let p = 0; p < count; p++) {
      const o = p * channels;
      const d =
        Math.abs(data[o]! - want[0]) + Math.abs(data[o + 1]! - want[1]) + Math.abs(data[o + 2]! - want[2]);
      if (d < 60) near++;
    }
    expect(near / count, `${g.itemId} ${g.spec.color}`).toBeGreaterThan(0.3);
  });

  it('draws the label polygon itself, with the print as a pattern', () => {
    const img = picks[3]!;
    const svg = demoSvg(img);
    const printed = img.garments.find((g) => g.spec.prints[0] === '체크' || g.spec.prints[0] === '플로럴')!;
    const points = printed.outline
      .map(([x, y]) => `${Math.round(x * 100) / 100},${Math.round(y * 100) / 100}`)
      .join(' ');
    expect(svg).toContain(`<polygon points="${points}" fill="url(#print`);
    expect(svg).toMatch(/<pattern id="print\d"/);
  });

  it('runs at most `limit` tasks at once and stops starting new ones when asked', async () => {
    let running = 0;
    let peak = 0;
    let started = 0;
    await forEachBounded(
      Array.from({ length: 12 }, (_, i) => i),
      3,
      async () => {
        started++;
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
      },
      () => started >= 7,
    );
    expect(peak).toBe(3);
    expect(started).toBeLessThan(12);
    await expect(
      forEachBounded([1, 2, 3], 2, async (i) => {
        if (i === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
  });
});
