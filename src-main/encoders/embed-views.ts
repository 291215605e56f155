/**
 * `kfashion embed --views N`: renders N augmented views of every garment crop (dataset/augment/
 * image-views.ts) and embeds them with the frozen image encoder, beside the originals.
 *
 * Cached per (model, crop, view, view recipe): a view whose stored crop key (the crop's key, plus the
 * CutMix partner's) equals the current one is skipped, so a second run does nothing, more views add
 * only the new ones, and a run cancelled after k batches keeps those k batches (each batch is stored
 * in its own transaction as soon as it is embedded). The rendered views are kept as PNG files under
 * crops/views/<recipe>/ (written to a temporary name and renamed): the dashboard shows them.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ViewSettings, viewSettingsSchema } from '../../src-shared/augmentation-config.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { drawViewParams, renderView, viewSettingsKey } from '../dataset/augment/image-views.ts';
import { ensureCrop } from '../dataset/crops.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CropStore } from '../store/crop-store.ts';
import { DatasetStore, type ItemFilter, type StoredItem } from '../store/dataset-store.ts';
import { type StoredView, ViewEmbeddingStore } from '../store/view-embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import type { ImageEncoder } from './image-encoder/onnx-image-encoder.ts';
import { preprocessImage } from './image-encoder/preprocess.ts';

export interface EmbedViewsOptions extends WorkOptions {
  views: number;
  settings?: Partial<ViewSettings>;
  seed?: number;
  batch?: number;
  filter?: ItemFilter;
}

export interface EmbedViewsSummary {
  model: string;
  /** The view recipe's key: what a training config names to use these views. */
  recipe: string;
  settings: ViewSettings;
  seed: number;
  views: number;
  /** Garments with an image. */
  garments: number;
  embedded: number;
  cached: number;
  failed: { id: string; reason: string }[];
  elapsedMs: number;
}

export class EmbedViewsError extends Error {
  override name = 'EmbedViewsError';
}

export async function embedViews(
  ws: Workspace,
  encoder: ImageEncoder,
  opts: EmbedViewsOptions,
): Promise<EmbedViewsSummary> {
  if (!Number.isInteger(opts.views) || opts.views < 1 || opts.views > 64) {
    throw new EmbedViewsError(`--views must be a whole number from 1 to 64, got ${opts.views}`);
  }
  const parsed = viewSettingsSchema.safeParse(opts.settings ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new EmbedViewsError(`view settings ${i.path.join('.')}: ${i.message}`);
  }
  const settings = parsed.data;
  const seed = opts.seed ?? 0;
  const batch = opts.batch ?? 16;
  const model = encoder.modelId;
  const recipe = viewSettingsKey(settings, seed);
  const store = new ViewEmbeddingStore(ws.db);
  store.defineRecipe(recipe, settings, seed);
  const known = store.cropKeys(model, recipe);
  const dataset = new DatasetStore(ws.db);
  const items = [...dataset.iterateItems(opts.filter)].filter((it) => it.imagePath);
  const byId = new Map(items.map((it) => [it.id, it]));
  const byCategory = new Map<string, string[]>();
  for (const it of items) {
    const c = it.attributes.category;
    if (typeof c !== 'string') continue;
    const list = byCategory.get(c) ?? [];
    list.push(it.id);
    byCategory.set(c, list);
  }
  const crops = new CropStore(ws.db);
  const floats = 3 * encoder.inputSize.height * encoder.inputSize.width;
  const summary: EmbedViewsSummary = {
    model,
    recipe,
    settings,
    seed,
    views: opts.views,
    garments: items.length,
    embedded: 0,
    cached: 0,
    failed: [],
    elapsedMs: 0,
  };
  const total = items.length * opts.views;
  const t0 = performance.now();
  const report = () =>
    opts.onProgress?.(
      'embed views',
      summary.embedded + summary.cached + summary.failed.length * opts.views,
      total,
      {
        embedded: summary.embedded,
        cached: summary.cached,
      },
    );

  let pending: StoredView[] = [];
  // Room for a whole garment's views past a full batch: the batch is flushed between garments.
  let pixels = new Float32Array((batch + opts.views) * floats);
  const flush = async () => {
    if (pending.length === 0) return;
    const vectors = await encoder.embed(pixels.subarray(0, pending.length * floats));
    store.put(model, recipe, pending, vectors);
    summary.embedded += pending.length;
    pending = [];
    pixels = new Float32Array((batch + opts.views) * floats);
    report();
  };

  const crop = async (item: StoredItem) => {
    const c = await ensureCrop(ws, item);
    return { ...c, key: crops.keyOf(item.id) as string };
  };

  report();
  for (const item of items) {
    if (opts.signal?.aborted) break;
    try {
      const own = await crop(item);
      const category = item.attributes.category;
      const partners =
        typeof category === 'string' ? (byCategory.get(category) ?? []).filter((id) => id !== item.id) : [];
      for (let v = 1; v <= opts.views; v++) {
        const params = drawViewParams(settings, seed, item.id, v, own, partners);
        const partner = params.cutmix ? await crop(byId.get(params.cutmix.partner)!) : null;
        const key = partner ? `${own.key}|${params.cutmix!.partner}:${partner.key}` : own.key;
        if (known.get(`${item.id}#${v}`) === key) {
          summary.cached++;
          continue;
        }
        const png = await renderView(own.path, params, own, partner?.path);
        const [style, stem, part] = item.id.split('/');
        const rel = `crops/views/${recipe}/${style}/${stem}__${part}__v${v}.png`;
        const abs = join(ws.root, rel);
        mkdirSync(dirname(abs), { recursive: true });
        writeFileAtomic(abs, png);
        await preprocessImage(png, encoder.preprocess, {
          out: pixels,
          offset: pending.length * floats,
          width: own.width,
          height: own.height,
        });
        pending.push({ itemId: item.id, view: v, cropKey: key, path: rel, params });
      }
    } catch (e) {
      // A garment whose crop or view cannot be made is reported and skipped; an encoder error
      // (in flush, below) stops the run.
      summary.failed.push({ id: item.id, reason: e instanceof Error ? e.message : String(e) });
      pending = pending.filter((p) => p.itemId !== item.id);
    }
    if (pending.length >= batch) await flush();
  }
  if (!opts.signal?.aborted) await flush();
  summary.elapsedMs = Math.round(performance.now() - t0);
  if (opts.signal?.aborted) {
    throw new CancelledError(
      `Embedding views cancelled: ${summary.embedded} views embedded and stored, ${summary.cached} were already up to date; run it again to finish.`,
    );
  }
  return summary;
}
