/**
 * `npm run bench -- embed --breakdown`: where a cold garment's time goes, stage by stage, beside bare
 * ONNX Runtime's cost per image measured in the same run.
 *
 * Each stage of the cold path is run alone, one job at a time, over the same garments, so its wall time
 * is one thread's CPU for it (libvips runs one thread per job: `sharp.concurrency()`). The stages are
 * the cold path's own calls in its order: the picture's header read, its full decode (shared by the
 * garments of a picture that are cut together), extract + JPEG encode of the crop, the crop file's
 * atomic write, the crop row in SQLite, the crop's decode + bicubic resize + centre crop to the model's
 * input, the input-cache file write, and the float pass. Bare ORT's CPU per image (all threads) is the
 * budget they are compared with: on a machine whose cores ORT fills, `prep CPU / ORT CPU` is what a
 * cold run loses at best, whatever the overlap.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { cropRegion } from '../src-main/dataset/box.ts';
import { CROP_JPEG } from '../src-main/dataset/crops.ts';
import { InputPixelCache } from '../src-main/encoders/image-encoder/input-pixel-cache.ts';
import type { ImageEncoder } from '../src-main/encoders/image-encoder/onnx-image-encoder.ts';
import { preprocessToRgb, rgbToChw } from '../src-main/encoders/image-encoder/preprocess.ts';
import { writeFileAtomic } from '../src-main/store/atomic-file.ts';
import { CropStore } from '../src-main/store/crop-store.ts';
import { DatasetStore, type ItemFilter } from '../src-main/store/dataset-store.ts';
import type { Workspace } from '../src-main/store/workspace.ts';
import { emit } from './machine.ts';

type Stage =
  | 'metadata'
  | 'decodePicture'
  | 'extractEncodeJpeg'
  | 'writeCropFile'
  | 'cropRowSqlite'
  | 'decodeResizeCrop'
  | 'inputCacheWrite'
  | 'floatPass';

export async function embedBreakdown(
  ws: Workspace,
  encoder: ImageEncoder,
  filter: ItemFilter,
  batch: number,
  rounds: number,
): Promise<void> {
  const items = [...new DatasetStore(ws.db).iterateItems(filter)].filter((i) => i.imagePath);
  const pictures = new Set(items.map((i) => i.imagePath)).size;
  const ms: Record<Stage, number[]> = {
    metadata: [],
    decodePicture: [],
    extractEncodeJpeg: [],
    writeCropFile: [],
    cropRowSqlite: [],
    decodeResizeCrop: [],
    inputCacheWrite: [],
    floatPass: [],
  };
  const dir = join(ws.root, 'breakdown');
  mkdirSync(dir, { recursive: true });
  const crops = new CropStore(ws.db);
  const cache = new InputPixelCache(dir, encoder.preprocess);
  const floats = 3 * encoder.inputSize.height * encoder.inputSize.width;
  const out = new Float32Array(floats);
  // Process CPU (every thread) as well as wall time: nothing else of ours runs during a stage, so its
  // CPU is the stage's own, and unlike wall time it is hardly inflated by the neighbours' load.
  const cpuMs: Record<Stage, number> = Object.fromEntries(Object.keys(ms).map((k) => [k, 0])) as Record<
    Stage,
    number
  >;
  const time = async <T>(stage: Stage, f: () => Promise<T> | T): Promise<T> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await f();
    ms[stage].push(performance.now() - t0);
    const u = process.cpuUsage(c0);
    cpuMs[stage] += (u.user + u.system) / 1000;
    return r;
  };
  let bareCpu = 0;
  let bareWall = 0;
  for (let round = 0; round < rounds; round++) {
    // Stages (sum over the garments) then bare ORT on as many images, in turn: load shifts hit both.
    const totals: Record<Stage, number> = Object.fromEntries(Object.keys(ms).map((k) => [k, 0])) as Record<
      Stage,
      number
    >;
    const before = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, v.length]));
    let lastPicture = '';
    let raw: { data: Buffer; info: OutputInfo } | null = null;
    for (const item of items) {
      const path = item.imagePath!;
      const meta = await time('metadata', () => sharp(path).metadata());
      if (path !== lastPicture) {
        // One decode per picture, as the shared decode does for garments cut together.
        raw = await time('decodePicture', () =>
          sharp(path, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true }),
        );
        lastPicture = path;
      }
      const region = cropRegion(item.box, item.imageSize, { width: meta.width!, height: meta.height! });
      if (!region || !raw) continue;
      const { data, info } = raw;
      const jpeg = await time('extractEncodeJpeg', () =>
        sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
          .extract(region)
          .jpeg(CROP_JPEG)
          .toBuffer(),
      );
      const name = item.id.replaceAll('/', '_');
      await time('writeCropFile', () => writeFileAtomic(join(dir, `${name}.jpg`), jpeg));
      // The item's own row written again as it is (an upsert in its own transaction, as the cold path does).
      const row = crops.get(item.id);
      const rel = crops.pathOf(item.id);
      if (row && rel)
        await time('cropRowSqlite', () => crops.put(item.id, row.key, rel, row.width, row.height));
      const rgb = await time('decodeResizeCrop', () => preprocessToRgb(jpeg, encoder.preprocess, region));
      await time('inputCacheWrite', () => cache.put(item.id, '0'.repeat(40), rgb));
      await time('floatPass', () => rgbToChw(rgb, encoder.preprocess, out, 0));
    }
    for (const k of Object.keys(ms) as Stage[]) totals[k] = ms[k].slice(before[k]).reduce((a, b) => a + b, 0);
    const px = new Float32Array(batch * floats);
    for (let i = 0; i < batch; i++) px.set(out, i * floats);
    await encoder.embed(px);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let images = 0;
    while (images < items.length) {
      await encoder.embed(px);
      images += batch;
    }
    const u = process.cpuUsage(cpu0);
    bareCpu += (u.user + u.system) / 1000 / images;
    bareWall += (performance.now() - t0) / images;
    emit({
      bench: 'embed',
      kind: 'cold-breakdown-round',
      round,
      garments: items.length,
      pictures,
      msPerGarment: Object.fromEntries(
        Object.entries(totals).map(([k, v]) => [k, Math.round((v / items.length) * 100) / 100]),
      ),
    });
  }
  const perGarment = Object.fromEntries(
    Object.entries(ms).map(([k, v]) => [k, round2(v.reduce((a, b) => a + b, 0) / (rounds * items.length))]),
  ) as Record<Stage, number>;
  const prep = Object.values(perGarment).reduce((a, b) => a + b, 0);
  const cpuPerGarment = Object.fromEntries(
    Object.entries(cpuMs).map(([k, v]) => [k, round2(v / (rounds * items.length))]),
  ) as Record<Stage, number>;
  const prepCpu = Object.values(cpuPerGarment).reduce((a, b) => a + b, 0);
  const ortCpu = bareCpu / rounds;
  emit({
    bench: 'embed',
    kind: 'cold-breakdown',
    garments: items.length,
    pictures,
    sharpConcurrency: sharp.concurrency(),
    libuvPool: Number(process.env['UV_THREADPOOL_SIZE'] ?? 4),
    ortThreads: encoder.threads,
    batch,
    /** One thread's ms per garment for each stage of the cold path (medians would hide the picture decode's share). */
    msPerGarment: perGarment,
    prepMsPerGarment: round2(prep),
    /** Process CPU ms per garment for each stage (all threads; less inflated by load than wall time). */
    cpuMsPerGarment: cpuPerGarment,
    prepCpuMsPerGarment: round2(prepCpu),
    bareOrtCpuMsPerImage: round2(ortCpu),
    bareOrtWallMsPerImage: round2(bareWall / rounds),
    /** The cold ratio if every prep millisecond is taken from ORT's cores (no idle core to hide it in). */
    ratioIfPrepTakenFromOrt: round2(ortCpu / (ortCpu + prepCpu)),
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
