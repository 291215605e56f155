/**
 * The input pixel cache of `kfashion embed` (crops kept at the model's input size) must not change a
 * single bit of what the model sees or returns. The reference is the preprocessing as it was before
 * the cache (copied below verbatim: decode the crop file, resize, centre crop, float pass in one go),
 * run on the same crops with the same model and batch.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCrop, sharedDecodeCounts } from '../../src-main/dataset/crops.ts';
import { embedImages } from '../../src-main/encoders/embed-images.ts';
import {
  geometryId,
  INPUT_CACHE_DIR,
  InputPixelCache,
} from '../../src-main/encoders/image-encoder/input-pixel-cache.ts';
import type { ImageEncoder } from '../../src-main/encoders/image-encoder/onnx-image-encoder.ts';
import {
  type ImageModelOrigin,
  openImageEncoder,
} from '../../src-main/encoders/image-encoder/open-encoder.ts';
import {
  defaultPreprocessConfig,
  outputSize,
  type PreprocessConfig,
  resizedSize,
  rgbToChw,
} from '../../src-main/encoders/image-encoder/preprocess.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { CropStore } from '../../src-main/store/crop-store.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';

/** The preprocessing before the cache existed, verbatim (sharp pipeline and float pass in one). */
async function oldPreprocessImage(input: string, cfg: PreprocessConfig): Promise<Float32Array> {
  const size = outputSize(cfg);
  const plane = size.height * size.width;
  const out = new Float32Array(3 * plane);
  let img = sharp(input, { failOn: 'error' });
  const meta = await img.metadata();
  let w = meta.width!;
  let h = meta.height!;
  if (cfg.resize) {
    const r = resizedSize(w, h, cfg.resize);
    if (r.width !== w || r.height !== h) {
      img = img.resize(r.width, r.height, { fit: 'fill', kernel: cfg.kernel, fastShrinkOnLoad: false });
      w = r.width;
      h = r.height;
    }
  }
  if (cfg.crop) {
    const { width: cw, height: ch } = cfg.crop;
    img = img.extract({
      left: Math.floor((w - cw) / 2),
      top: Math.floor((h - ch) / 2),
      width: cw,
      height: ch,
    });
  }
  const { data } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const scale = cfg.rescale ?? 1;
  for (let c = 0; c < 3; c++) {
    const mean = cfg.mean?.[c] ?? 0;
    const inv = 1 / (cfg.std?.[c] ?? 1);
    const base = c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) out[base + i] = (data[j]! * scale - mean) * inv;
  }
  return out;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let tree: FixtureTree;
let base: string;
let modelDir: string;
const N = 6;
// Boxes both smaller than the model's input (an upscale) and larger (a downscale), portrait and landscape.
const RECTS = [
  { x: 10, y: 10, w: 40, h: 50 },
  { x: 0, y: 0, w: 300, h: 420 },
  { x: 33, y: 17, w: 351, h: 250 },
  { x: 5, y: 60, w: 224, h: 224 },
  { x: 100, y: 100, w: 260, h: 380 },
  { x: 1, y: 2, w: 397, h: 497 },
];

type Rect = { x: number; y: number; w: number; h: number };
/** A label whose garment box is `r` (the polygon's corners agree with the rectangle). */
const labelWithBox = (id: number, r: Rect) =>
  simpleLabel(id, {
    width: 400,
    height: 500,
    rects: { 상의: r },
    polygons: {
      상의: [
        [r.x, r.y],
        [r.x + r.w, r.y],
        [r.x + r.w, r.y + r.h],
        [r.x, r.y + r.h],
      ],
    },
  });

beforeAll(async () => {
  tree = new FixtureTree();
  base = tempDir('kf-embed-cache-');
  modelDir = join(base, 'tiny-clip');
  writeTinyClip(modelDir);
  for (let i = 1; i <= N; i++) {
    tree.addLabel('로맨틱', labelWithBox(i, RECTS[i - 1]!));
    // Noise, so every resampled pixel depends on its neighbours (a flat colour would hide differences).
    await sharp({
      create: {
        width: 400,
        height: 500,
        channels: 3,
        background: { r: 0, g: 0, b: 0 },
        noise: { type: 'gaussian', mean: 40 + 30 * i, sigma: 50 },
      },
    })
      .jpeg({ quality: 92 })
      .toFile(join(tree.imageDir('로맨틱'), `${i}.jpg`));
  }
});
afterAll(() => {
  tree.cleanup();
  rmSync(base, { recursive: true, force: true });
});

/** Runs `use` on the fixture scanned into a new workspace `name`, with the tiny model open; closes both. */
async function withScannedWorkspace(
  name: string,
  use: (wb: Workbench, encoder: ImageEncoder, origin: ImageModelOrigin) => Promise<void>,
): Promise<void> {
  const wb = Workbench.open(join(base, name));
  const { encoder, origin } = await openImageEncoder({ modelPath: modelDir, model: 'tiny', threads: 1 });
  try {
    await wb.scan({ data: tree.root });
    await use(wb, encoder, origin);
  } finally {
    await encoder.close();
    wb.close();
  }
}

describe('input pixel cache (crops kept at the model input size)', () => {
  it('gives bit-identical model inputs and vectors to the preprocessing before it, cold and cached', () =>
    withScannedWorkspace('ws', async (wb, encoder, origin) => {
      const ws = wb.workspace;
      const items = [...new DatasetStore(ws.db).iterateItems()];
      expect(items).toHaveLength(N);
      const ids = items.map((i) => i.id);

      // Cold: crops cut and brought to the input size in the run, the cache written on the way.
      const cold = await embedImages(ws, encoder, origin, { batch: N });
      expect(cold).toMatchObject({ embedded: N, failed: [] });
      const store = new EmbeddingStore(ws.db);
      const coldVectors = store.matrix('tiny', ids);

      // The reference: the old preprocessing of the same crop files, one batch of N like the run.
      const cfg = encoder.preprocess;
      const floats = 3 * 224 * 224;
      const reference = new Float32Array(N * floats);
      for (const [k, item] of items.entries()) {
        const crop = await ensureCrop(ws, item);
        expect(crop.cached).toBe(true);
        expect([crop.width, crop.height]).toEqual([RECTS[k]!.w, RECTS[k]!.h]);
        reference.set(await oldPreprocessImage(crop.path, cfg), k * floats);
      }
      const refVectors = await encoder.embed(reference);
      expect(bytesOf(coldVectors).equals(bytesOf(refVectors))).toBe(true);

      // Every cached file holds exactly the bytes that give the old float input.
      const cache = new InputPixelCache(ws.root, cfg);
      const crops = new CropStore(ws.db);
      for (const [k, id] of ids.entries()) {
        const rgb = await cache.get(id, crops.keyOf(id)!);
        expect(rgb, id).not.toBeNull();
        const fromCache = rgbToChw(rgb!, cfg);
        expect(bytesOf(fromCache).equals(bytesOf(reference.subarray(k * floats, (k + 1) * floats)))).toBe(
          true,
        );
      }

      // Cached: the crop files are not decoded again (garbage in them changes nothing), same bits.
      for (const id of ids) writeFileSync(join(ws.root, crops.pathOf(id)!), 'not a jpeg');
      store.remove('tiny');
      const cached = await embedImages(ws, encoder, origin, { batch: N });
      expect(cached).toMatchObject({ embedded: N, failed: [] });
      expect(bytesOf(store.matrix('tiny', ids)).equals(bytesOf(refVectors))).toBe(true);

      // A short (damaged) file or one made from another crop key is a miss, never fed to the model.
      const damaged = cache.pathOf(ids[0]!);
      const bytes = readFileSync(damaged);
      writeFileSync(damaged, bytes.subarray(0, bytes.length - 1));
      expect(await cache.get(ids[0]!, crops.keyOf(ids[0]!)!)).toBeNull();
      expect(await cache.get(ids[1]!, 'f'.repeat(40))).toBeNull();
    }));

  it('a changed box is a miss; another input size or resize uses another folder', () =>
    withScannedWorkspace('ws2', async (wb, encoder, origin) => {
      const ws = wb.workspace;
      await embedImages(ws, encoder, origin, { batch: 4 });
      const dirs = readdirSync(join(ws.root, INPUT_CACHE_DIR));
      expect(dirs).toEqual([geometryId(encoder.preprocess)]);
      expect(dirs[0]).toMatch(/^224x224-[0-9a-f]{8}$/);

      const cfg = defaultPreprocessConfig();
      const other: PreprocessConfig = { ...cfg, crop: { height: 192, width: 192 } };
      expect(geometryId(other)).toMatch(/^192x192-/);
      expect(geometryId({ ...cfg, resize: { shortestEdge: 256 } })).not.toBe(geometryId(cfg));
      expect(geometryId({ ...cfg, kernel: 'linear' })).not.toBe(geometryId(cfg));
      // Normalisation is the float pass, done after the cache: it does not split the cache.
      expect(geometryId({ ...cfg, mean: [0, 0, 0] })).toBe(geometryId(cfg));

      // Moving one box re-cuts that crop; its old cache file no longer matches the new crop key.
      const item = [...new DatasetStore(ws.db).iterateItems()][0]!;
      const crops = new CropStore(ws.db);
      const oldKey = crops.keyOf(item.id)!;
      tree.addLabel('로맨틱', labelWithBox(1, { x: 12, y: 10, w: 40, h: 50 }));
      await wb.scan({ data: tree.root });
      const again = await embedImages(ws, encoder, origin, { batch: 4 });
      expect(again).toMatchObject({ embedded: 1, cached: N - 1 });
      const cache = new InputPixelCache(ws.root, encoder.preprocess);
      expect(await cache.get(item.id, oldKey)).toBeNull();
      expect(await cache.get(item.id, crops.keyOf(item.id)!)).not.toBeNull();
    }));
  it('keeps the cache under its size limit: crops past it are not kept, the vectors are the same bits', () =>
    withScannedWorkspace('ws-limit', async (wb, encoder, origin) => {
      const ws = wb.workspace;
      const ids = [...new DatasetStore(ws.db).iterateItems()].map((i) => i.id);
      const store = new EmbeddingStore(ws.db);
      const dir = join(ws.root, INPUT_CACHE_DIR, geometryId(encoder.preprocess));
      const fileBytes = 48 + 224 * 224 * 3;
      const files = () => readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.rgb'));

      // Off (a limit of 0): no folder, no figure.
      const off = await embedImages(ws, encoder, origin, { batch: 4, inputCacheBytes: 0 });
      expect(off).toMatchObject({ embedded: N, inputCache: null });
      expect(readdirSync(ws.root)).not.toContain(INPUT_CACHE_DIR);
      const reference = store.matrix('tiny', ids);

      // Room for two files: two are kept, the others counted as not kept; the same vectors.
      store.remove('tiny');
      const limited = await embedImages(ws, encoder, origin, {
        batch: 4,
        inputCacheBytes: 2 * fileBytes + 1,
      });
      expect(limited).toMatchObject({ embedded: N, failed: [] });
      expect(limited.inputCache).toEqual({
        limitBytes: 2 * fileBytes + 1,
        usedBytes: 2 * fileBytes,
        notKept: N - 2,
      });
      expect(files()).toHaveLength(2);
      expect(bytesOf(store.matrix('tiny', ids)).equals(bytesOf(reference))).toBe(true);

      // A later run counts what is there: two cached files read, the rest decoded again, none added.
      store.remove('tiny');
      const again = await embedImages(ws, encoder, origin, { batch: 4, inputCacheBytes: 2 * fileBytes + 1 });
      expect(again.inputCache).toEqual({
        limitBytes: 2 * fileBytes + 1,
        usedBytes: 2 * fileBytes,
        notKept: N - 2,
      });
      expect(bytesOf(store.matrix('tiny', ids)).equals(bytesOf(reference))).toBe(true);
      // A stale file is rewritten in place even at the limit: it does not grow the folder.
      const cache = new InputPixelCache(ws.root, encoder.preprocess, { maxBytes: 2 * fileBytes });
      const kept = ids.filter((id) => existsSync(cache.pathOf(id)));
      expect(kept).toHaveLength(2);
      expect(cache.put(kept[0]!, 'a'.repeat(40), new Uint8Array(224 * 224 * 3))).toBe(true);
      expect(
        cache.put(ids.find((id) => !kept.includes(id))!, 'a'.repeat(40), new Uint8Array(224 * 224 * 3)),
      ).toBe(false);
      expect(cache.use()).toEqual({ limitBytes: 2 * fileBytes, usedBytes: 2 * fileBytes, notKept: 1 });

      // The default limit.
      store.remove('tiny');
      const byDefault = await embedImages(ws, encoder, origin, { batch: 4 });
      // (20 GB, or half the disk's free space where that is less.)
      expect(byDefault.inputCache).toMatchObject({ usedBytes: N * fileBytes, notKept: 0 });
      expect(byDefault.inputCache!.limitBytes).toBeLessThanOrEqual(20e9);
      expect(files()).toHaveLength(N);
    }));

  it('cold batches prepared between inferences or during them: the same bits as the old preprocessing', () =>
    withScannedWorkspace('ws3', async (wb, encoder, origin) => {
      const ws = wb.workspace;
      const items = [...new DatasetStore(ws.db).iterateItems()];
      const ids = items.map((i) => i.id);
      // Pictures decoded for cutting while each batch is in inference (a cut queued beside it decodes
      // its picture once the header is read).
      const duringInference: number[] = [];
      const watched = new Proxy(encoder, {
        get(target, prop) {
          if (prop === 'embed') {
            return async (pixels: Float32Array) => {
              const before = sharedDecodeCounts.decoded;
              // Give crops queued beside this call the time to start (a cold batch must have none).
              await new Promise((r) => setTimeout(r, 100));
              const v = await target.embed(pixels);
              duringInference.push(sharedDecodeCounts.decoded - before);
              return v;
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }) as ImageEncoder;
      const cold = await embedImages(ws, watched, origin, { batch: 2, coldBatchesBetweenInferences: true });
      expect(cold).toMatchObject({ embedded: N, failed: [] });
      expect(duringInference).toEqual([0, 0, 0]);
      // The default schedule cuts the next batch's crops while this one is in inference.
      new EmbeddingStore(ws.db).remove('tiny');
      ws.db.exec('DELETE FROM crops');
      duringInference.length = 0;
      const overlapped = await embedImages(ws, watched, origin, { batch: 2 });
      expect(overlapped).toMatchObject({ embedded: N, failed: [] });
      expect(duringInference.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(duringInference.at(-1)).toBe(0);

      // Bit for bit the old preprocessing of the crop files, embedded in the same batches of 2.
      const store = new EmbeddingStore(ws.db);
      const floats = 3 * 224 * 224;
      for (let k = 0; k < N; k += 2) {
        const px = new Float32Array(2 * floats);
        for (let j = 0; j < 2; j++) {
          const crop = await ensureCrop(ws, items[k + j]!);
          px.set(await oldPreprocessImage(crop.path, encoder.preprocess), j * floats);
        }
        const ref = await encoder.embed(px);
        expect(bytesOf(store.matrix('tiny', ids.slice(k, k + 2))).equals(bytesOf(ref))).toBe(true);
      }
    }));
});
