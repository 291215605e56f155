/**
 * Embeds every garment crop of a workspace with a frozen image encoder and stores the vectors keyed by
 * (model, item) together with the crop key they were computed from.
 *
 * Cache and resume are one mechanism: an item whose stored crop key equals its current one is skipped,
 * so a second run does nothing, a changed box or image redoes just that item, and a run cancelled after
 * N batches keeps those N batches (each is stored in its own transaction as soon as it is computed).
 *
 * Pipelining: while ONNX Runtime computes batch k on its own worker thread (onnx-session-host.ts), this
 * thread already reads, cuts and preprocesses batch k+1 (sharp, on libuv's pool); batch k's vectors are
 * stored as soon as they arrive (see [Note: cold batches and inference]).
 */
import { DEFAULT_EMBED_BATCH } from '../../src-shared/explore.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { ensureCrop } from '../dataset/crops.ts';
import { CropStore } from '../store/crop-store.ts';
import { DatasetStore, type ItemFilter, type StoredItem } from '../store/dataset-store.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import type { EmbedViewsSummary } from './embed-views.ts';
import { type InputCacheUse, InputPixelCache } from './image-encoder/input-pixel-cache.ts';
import type { Device, ImageEncoder } from './image-encoder/onnx-image-encoder.ts';
import type { ImageModelOrigin } from './image-encoder/open-encoder.ts';
import { preprocessToRgb, rgbToChw } from './image-encoder/preprocess.ts';

export interface EmbedImagesOptions extends WorkOptions {
  /** Images per inference batch (default 16). */
  batch?: number;
  filter?: ItemFilter;
  /**
   * Keep and reuse each crop at the model's input size (input-pixel-cache.ts; default true). Off, every
   * crop is decoded and resized again: the embed bench measures what the cache saves this way.
   */
  inputCache?: boolean;
  /**
   * The input cache's size limit in bytes (default `DEFAULT_INPUT_CACHE_GB`; 0 turns the cache off):
   * see [Note: input cache budget] in input-pixel-cache.ts.
   */
  inputCacheBytes?: number;
  /**
   * Prepare a batch that cuts or resizes crops only after the batch before it has left inference,
   * instead of during it (default false: see [Note: cold batches and inference]). The embed bench
   * sets it to compare both schedules in one run.
   */
  coldBatchesBetweenInferences?: boolean;
}

export interface EmbedSummary {
  model: string;
  source: 'onnx';
  onnxPath: string;
  device: Device;
  threads: number;
  batch: number;
  /** Items looked at (all garments matching the filter). */
  total: number;
  embedded: number;
  cached: number;
  /** Garments whose label had no image file at scan time (they can still use imported embeddings). */
  noImage: number;
  noImageIds: string[];
  failed: { id: string; reason: string }[];
  elapsedMs: number;
  /** Images embedded per second over the whole run (read, crop, preprocess, infer, store). */
  imgPerSec: number;
  /** Present for a stand-in encoder (the demo's `demo-standin`): these vectors are SYNTHETIC. */
  synthetic?: boolean;
  note?: string;
  /**
   * The input cache (crops kept at the model's input size): its limit, its size after the run and the
   * crops not kept because it was full. Null when the run had it off.
   */
  inputCache: InputCacheUse | null;
  /** Augmented views embedded after the originals (`--views N`). */
  views?: EmbedViewsSummary;
}

export class EmbedError extends Error {
  override name = 'EmbedError';
}

interface Prepared {
  ids: string[];
  keys: string[];
  pixels: Float32Array;
  /** Crops this batch cut, and crops it brought to the model's input size (neither was cached). */
  fresh: number;
}

export async function embedImages(
  ws: Workspace,
  encoder: ImageEncoder,
  origin: Partial<ImageModelOrigin>,
  opts: EmbedImagesOptions = {},
): Promise<EmbedSummary> {
  const batch = opts.batch ?? DEFAULT_EMBED_BATCH;
  if (!Number.isInteger(batch) || batch < 1)
    throw new EmbedError(`batch must be a whole number >= 1, got ${batch}`);
  const model = encoder.modelId;
  const store = new EmbeddingStore(ws.db);
  const existing = store.models().find((m) => m.model === model);
  if (existing && existing.source !== 'onnx') {
    throw new EmbedError(
      `This workspace's "${model}" embeddings were ${existing.source === 'import' ? 'imported from a file' : 'generated (synthetic)'}, not computed here; computing would overwrite them. Store these under another id (--model-path DIR --model NEW_ID) or remove the old ones first.`,
    );
  }
  store.defineModel(model, encoder.dim, 'onnx', {
    onnxPath: encoder.onnxPath,
    preprocessorPath: origin.preprocessorPath ?? null,
    repo: origin.repo ?? null,
    precision: origin.precision ?? null,
    ...(origin.synthetic ? { synthetic: true, note: origin.note ?? 'SYNTHETIC stand-in encoder' } : {}),
  });
  const known = store.cropKeys(model);
  const dataset = new DatasetStore(ws.db);
  const crops = new CropStore(ws.db);
  const total = dataset.countItems(opts.filter);
  const { height, width } = encoder.inputSize;
  const floats = 3 * height * width;
  const inputs =
    opts.inputCache === false || opts.inputCacheBytes === 0
      ? null
      : new InputPixelCache(ws.root, encoder.preprocess, { maxBytes: opts.inputCacheBytes });

  const summary: EmbedSummary = {
    model,
    source: 'onnx',
    onnxPath: encoder.onnxPath,
    device: encoder.device,
    threads: encoder.threads,
    batch,
    total,
    embedded: 0,
    cached: 0,
    noImage: 0,
    noImageIds: [],
    failed: [],
    elapsedMs: 0,
    imgPerSec: 0,
    inputCache: null,
    ...(origin.synthetic ? { synthetic: true, note: origin.note } : {}),
  };
  const t0 = performance.now();

  const report = () => {
    const secs = (performance.now() - t0) / 1000;
    summary.imgPerSec = secs > 0 ? Math.round((summary.embedded / secs) * 10) / 10 : 0;
    opts.onProgress?.(
      'embed',
      summary.embedded + summary.cached + summary.failed.length + summary.noImage,
      total,
      { imgPerSec: summary.imgPerSec, embedded: summary.embedded, cached: summary.cached },
    );
  };

  // Items in id order, in chunks of at most `max` that have an image.
  const items = dataset.iterateItems(opts.filter);
  const nextChunk = (max: number): StoredItem[] | null => {
    const chunk: StoredItem[] = [];
    while (chunk.length < max) {
      const r = items.next();
      if (r.done) break;
      if (!r.value.imagePath) {
        summary.noImage++;
        if (summary.noImageIds.length < 20) summary.noImageIds.push(r.value.id);
        continue;
      }
      chunk.push(r.value);
    }
    return chunk.length > 0 ? chunk : null;
  };

  type Slot = 'cached' | { id: string; key: string } | { id: string; reason: string };
  // Two batch buffers, used in turn: one is being filled while the other's batch is in inference (the
  // session host copies it when the run is sent, and a batch's run has returned before the buffer
  // comes round again: the loop below awaits it before preparing the batch after next).
  const buffers = [new Float32Array(batch * floats), new Float32Array(batch * floats)];
  let turn = 0;
  /**
   * The next batch: up to `batch` images whose stored vector is missing or stale, preprocessed into
   * one array. Takes items chunk by chunk until the batch is full, so up-to-date items in between do
   * not shrink it (a re-scan that moved a few boxes still embeds in full batches). Null at the end.
   */
  const nextBatch = async (): Promise<Prepared | null> => {
    const pixels = buffers[turn++ % 2]!;
    const p: Prepared = { ids: [], keys: [], pixels, fresh: 0 };
    let any = false;
    while (p.ids.length < batch && !opts.signal?.aborted) {
      const chunk = nextChunk(batch - p.ids.length);
      if (!chunk) break;
      any = true;
      const base = p.ids.length;
      const slots = await Promise.all(
        chunk.map(async (item, i): Promise<Slot> => {
          try {
            const crop = await ensureCrop(ws, item);
            if (!crop.cached) p.fresh++;
            const key = crops.keyOf(item.id) as string;
            if (known.get(item.id) === key) return 'cached';
            let rgb = inputs ? await inputs.get(item.id, key) : null;
            if (!rgb) {
              p.fresh++;
              // A crop just cut is decoded from the bytes in hand, not read back from its file.
              rgb = await preprocessToRgb(crop.bytes ?? crop.path, encoder.preprocess, crop);
              try {
                inputs?.put(item.id, key, rgb);
              } catch {
                // The cache only saves decodes: a full disk or a read-only folder must not cost the
                // item its embedding (the vectors, written to SQLite, are what matters).
              }
            }
            rgbToChw(rgb, encoder.preprocess, pixels, (base + i) * floats);
            return { id: item.id, key };
          } catch (e) {
            return { id: item.id, reason: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
      slots.forEach((s, i) => {
        if (s === 'cached') summary.cached++;
        else if ('reason' in s) summary.failed.push(s);
        else {
          // Compact the images to embed to the front of the batch.
          const row = p.ids.length;
          const from = base + i;
          if (row !== from) pixels.copyWithin(row * floats, from * floats, (from + 1) * floats);
          p.ids.push(s.id);
          p.keys.push(s.key);
        }
      });
      // Progress through long stretches of up-to-date items.
      if (p.ids.length < batch) report();
    }
    p.pixels = pixels.subarray(0, p.ids.length * floats);
    return any ? p : null;
  };

  report();
  let pending = nextBatch();
  for (;;) {
    const cur = await pending;
    if (!cur || opts.signal?.aborted) break;
    // [Note: cold batches and inference] The next batch is prepared while this one is in inference:
    // reading cached crops, and cutting and resizing cold ones (≈ 8 ms of CPU per garment against
    // ≈ 42 ms of ORT's per image, quiet, `npm run bench -- embed --breakdown`), which on 2 cores find no
    // idle core beside ORT. With ORT's threads spinning, that overlap cost more than the decodes'
    // own CPU (a preempted thread held the other spinning at each operator's barrier), and preparing
    // cold batches between inferences measured better under load; with spinning off ([Note: image encoder
    // without spinning]) a waiting ORT thread yields its core to the decodes, and the two schedules
    // measured within noise of each other (0.805x against 0.814x of bare ORT, quiet, `--cold-only`),
    // so the overlap stays. `coldBatchesBetweenInferences` keeps the other schedule for that comparison.
    const overlap = cur.fresh === 0 || opts.coldBatchesBetweenInferences !== true;
    if (overlap) pending = nextBatch();
    if (cur.ids.length > 0) {
      let vectors: Float32Array;
      try {
        vectors = await encoder.embed(cur.pixels);
      } catch (e) {
        // Let the crops in flight finish before the error leaves (they write the crops table).
        if (overlap) await pending.catch(() => undefined);
        throw e;
      }
      // The next cold batch's decodes start on libuv's pool before this thread stores the vectors.
      if (!overlap) pending = nextBatch();
      store.put(model, cur.ids, vectors, cur.keys);
      summary.embedded += cur.ids.length;
    } else if (!overlap) pending = nextBatch();
    report();
  }
  summary.inputCache = inputs?.use() ?? null;
  summary.elapsedMs = Math.round(performance.now() - t0);
  const secs = summary.elapsedMs / 1000;
  summary.imgPerSec = secs > 0 ? Math.round((summary.embedded / secs) * 10) / 10 : 0;
  if (opts.signal?.aborted) {
    throw new CancelledError(
      `Embedding cancelled: ${summary.embedded} images embedded and stored, ${summary.cached} were already up to date; run it again to finish.`,
    );
  }
  return summary;
}
