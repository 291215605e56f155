/**
 * The embedding map: a 2-D projection of the validation garments' image vectors together with the
 * JSON encoder's vectors of their attributes (both live in the same 512-d space after training, so
 * one projection shows how well each garment's two views meet), for the UI's map panel.
 *
 * PCA is the fast default; UMAP (umap-js) shows clusters better but costs seconds to minutes. The
 * result is cached in results/embedding_map/ under a key made of the checkpoint (run id, epoch, file
 * time), the image embeddings' state and the method, so opening the map again is instant and a new
 * checkpoint or new embeddings compute a new one.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UMAP } from 'umap-js';
import type { EmbeddingMap, MapMethod } from '../../src-shared/explore.ts';
import type { GarmentAttributes } from '../../src-shared/fields.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { Rng } from '../dataset/rng.ts';
import { CropStore } from '../store/crop-store.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import type { EncoderFactory } from '../training/trainer.ts';
import { loadCentrality } from './centrality.ts';
import { openCheckpointEncoder, resolveCheckpointPaths } from './checkpoint-encoder.ts';
import { writeJsonAtomic } from './results.ts';

/** At most this many garments are projected (a seeded sample beyond it): UMAP is O(n log n) per epoch. */
export const MAP_MAX_ITEMS = 3000;

export class EmbeddingMapError extends Error {
  override name = 'EmbeddingMapError';
}

export interface EmbeddingMapOptions extends WorkOptions {
  method?: MapMethod;
  /** The image-embedding model (default: the checkpoint's, else the only one stored). */
  model?: string;
  createEncoder?: EncoderFactory;
  /** Recompute even when a cached map exists. */
  refresh?: boolean;
  seed?: number;
}

function mapDir(ws: Workspace): string {
  return join(ws.paths.results, 'embedding_map');
}

/**
 * Top two principal components by power iteration with deflation on the covariance (d × d).
 * Written by hand rather than with ml-pca: two eigenvectors of a 512 × 512 matrix need only a few
 * hundred matrix-vector products, where a full SVD/eigendecomposition (ml-pca's route) does far more
 * work and adds two dependencies for it.
 */
export function pca2(
  data: Float32Array,
  n: number,
  dim: number,
): { coords: Float64Array; explained: [number, number] } {
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += data[i * dim + j]! / n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = data[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      const o = a * dim;
      for (let b = 0; b < dim; b++) cov[o + b]! += ra * row[b]!;
    }
  }
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += cov[a * dim + a]!;
  const comps: Float64Array[] = [];
  const values: number[] = [];
  const rng = new Rng(7);
  for (let c = 0; c < 2; c++) {
    let v = new Float64Array(dim).map(() => rng.float() - 0.5);
    let lambda = 0;
    for (let it = 0; it < 300; it++) {
      const w = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        const o = a * dim;
        for (let b = 0; b < dim; b++) s += cov[o + b]! * v[b]!;
        w[a] = s;
      }
      const norm = Math.hypot(...w) || 1;
      for (let a = 0; a < dim; a++) w[a]! /= norm;
      const delta = w.reduce((s, x, a) => s + Math.abs(x - v[a]!), 0);
      v = w;
      lambda = norm;
      if (delta < 1e-9) break;
    }
    comps.push(v);
    values.push(lambda);
    // Deflate: remove this component from the covariance.
    for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov[a * dim + b]! -= lambda * v[a]! * v[b]!;
  }
  const coords = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 2; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (data[i * dim + j]! - mean[j]!) * comps[c]![j]!;
      coords[i * 2 + c] = s;
    }
  }
  return {
    coords,
    explained: [trace > 0 ? values[0]! / trace : 0, trace > 0 ? values[1]! / trace : 0],
  };
}

function categoryOf(a: GarmentAttributes): string | null {
  const c = a.category;
  return typeof c === 'string' ? c : Array.isArray(c) ? (c[0] ?? null) : null;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The cache key of a map for the workspace's current checkpoint and embeddings (null: nothing to map). */
function mapKey(
  ws: Workspace,
  model: string,
  method: MapMethod,
  checkpoint: { infoPath: string } | null,
): string {
  const info = new EmbeddingStore(ws.db).models().find((m) => m.model === model);
  const state = info ? `${info.count}-${info.updatedAt}` : 'none';
  const ck = checkpoint ? `${Math.round(statSync(checkpoint.infoPath).mtimeMs)}` : 'nockpt';
  return `${method}-${model}-${ck}-${state}`.replace(/[^\w.-]+/g, '_');
}

function checkpointPaths(ws: Workspace): { infoPath: string; weightsPath: string } | null {
  try {
    const p = resolveCheckpointPaths(ws);
    return existsSync(p.infoPath) ? p : null;
  } catch {
    return null;
  }
}

function defaultModel(ws: Workspace, wanted?: string): string {
  const models = new EmbeddingStore(ws.db).models().filter((m) => m.count > 0);
  if (wanted) {
    if (!models.some((m) => m.model === wanted)) {
      throw new EmbeddingMapError(`No "${wanted}" image embeddings in this workspace.`);
    }
    return wanted;
  }
  const ck = checkpointPaths(ws);
  if (ck) {
    const info = JSON.parse(readFileSync(ck.infoPath, 'utf8')) as { imageEmbedding?: { model?: string } };
    const m = info.imageEmbedding?.model;
    if (m && models.some((x) => x.model === m)) return m;
  }
  if (models.length === 0) {
    throw new EmbeddingMapError(
      'This workspace has no image embeddings yet: embed the garments first (Embed).',
    );
  }
  return models[0]!.model;
}

/** The cached map for the current checkpoint and embeddings, or null. */
export function cachedEmbeddingMap(
  ws: Workspace,
  method: MapMethod = 'pca',
  model?: string,
): EmbeddingMap | null {
  let m: string;
  try {
    m = defaultModel(ws, model);
  } catch {
    return null;
  }
  const file = join(mapDir(ws), `${mapKey(ws, m, method, checkpointPaths(ws))}.json`);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddingMap;
}

export async function computeEmbeddingMap(
  ws: Workspace,
  opts: EmbeddingMapOptions = {},
): Promise<EmbeddingMap> {
  const t0 = performance.now();
  const method = opts.method ?? 'pca';
  const model = defaultModel(ws, opts.model);
  const ck = checkpointPaths(ws);
  const key = mapKey(ws, model, method, ck);
  const file = join(mapDir(ws), `${key}.json`);
  if (!opts.refresh && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as EmbeddingMap;

  opts.onProgress?.('load', 0, 1);
  const store = new EmbeddingStore(ws.db);
  const withVector = new Set(store.itemIds(model));
  const dataset = new DatasetStore(ws.db);
  let items = [...dataset.iterateItems({ split: 'val' })].filter((it) => withVector.has(it.id));
  const total = items.length;
  if (total < 3) {
    throw new EmbeddingMapError(
      `Only ${total} validation garment${total === 1 ? '' : 's'} with a "${model}" vector: a map needs at least 3.`,
    );
  }
  let note: string | undefined;
  if (items.length > MAP_MAX_ITEMS) {
    items = new Rng(opts.seed ?? 1).shuffle([...items]).slice(0, MAP_MAX_ITEMS);
    items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    note = `A seeded sample of ${MAP_MAX_ITEMS} of the ${total} validation garments.`;
  }
  const ids = items.map((it) => it.id);
  const dim = store.dim(model);
  const imageVecs = store.matrix(model, ids);
  let jsonVecs: Float32Array | null = null;
  let checkpoint: EmbeddingMap['checkpoint'] = null;
  if (ck) {
    const encoder = await openCheckpointEncoder(ws, { createEncoder: opts.createEncoder });
    try {
      if (encoder.info.imageEmbedding.model === model && encoder.dim === dim) {
        jsonVecs = encoder.encode(items.map((it) => it.attributes));
        checkpoint = { run_id: encoder.info.runId, epoch: encoder.info.epoch };
      } else {
        note = [
          note,
          `The checkpoint was trained against "${encoder.info.imageEmbedding.model}", not "${model}": image vectors only.`,
        ]
          .filter(Boolean)
          .join(' ');
      }
    } finally {
      encoder.close();
    }
  }
  const n = ids.length;
  const rows = jsonVecs ? 2 * n : n;
  const all = new Float32Array(rows * dim);
  all.set(imageVecs, 0);
  if (jsonVecs) all.set(jsonVecs, n * dim);
  if (opts.signal?.aborted) throw new CancelledError('embedding map cancelled');

  let coords: ArrayLike<number>;
  let explained: [number, number] | undefined;
  if (method === 'pca') {
    opts.onProgress?.('pca', 0, 1);
    const p = pca2(all, rows, dim);
    coords = p.coords;
    explained = p.explained;
    opts.onProgress?.('pca', 1, 1);
  } else {
    const rng = new Rng(opts.seed ?? 1);
    const umap = new UMAP({
      nComponents: 2,
      nNeighbors: Math.min(15, rows - 1),
      random: () => rng.float(),
    });
    const data: number[][] = [];
    for (let i = 0; i < rows; i++) data.push(Array.from(all.subarray(i * dim, (i + 1) * dim)));
    opts.onProgress?.('umap neighbours', 0, 1);
    const epochs = umap.initializeFit(data);
    for (let e = 0; e < epochs; e++) {
      if (opts.signal?.aborted) throw new CancelledError('embedding map cancelled');
      umap.step();
      if (e % 10 === 0) {
        opts.onProgress?.('umap', e, epochs);
        // Let the job's cancel message and progress events through.
        await new Promise((r) => setImmediate(r));
      }
    }
    const emb = umap.getEmbedding();
    const flat = new Float64Array(rows * 2);
    emb.forEach((p, i) => {
      flat[i * 2] = p[0]!;
      flat[i * 2 + 1] = p[1]!;
    });
    coords = flat;
    opts.onProgress?.('umap', epochs, epochs);
  }
  const point = (i: number, id: string) => ({ id, x: r4(coords[i * 2]!), y: r4(coords[i * 2 + 1]!) });
  const centrality = loadCentrality(ws, model);
  const crops = new CropStore(ws.db);
  const info = store.models().find((m) => m.model === model);
  const map: EmbeddingMap = {
    kind: 'embedding-map',
    key,
    method,
    timestamp: new Date().toISOString(),
    model,
    synthetic: info?.source === 'synthetic',
    split: 'val',
    checkpoint,
    items: items.map((it) => {
      const c = centrality?.items.get(it.id);
      return {
        id: it.id,
        style: it.styleFolder,
        category: categoryOf(it.attributes),
        crop: crops.pathOf(it.id) ?? null,
        centrality: c ? r4(c.centrality) : null,
        anchor: c?.anchor ?? false,
      };
    }),
    image: ids.map((id, i) => point(i, id)),
    json: jsonVecs ? ids.map((id, i) => point(n + i, id)) : [],
    total,
    ...(note ? { note } : {}),
    ...(explained ? { explained: [r4(explained[0]), r4(explained[1])] as [number, number] } : {}),
    elapsedMs: Math.round(performance.now() - t0),
  };
  mkdirSync(mapDir(ws), { recursive: true });
  writeJsonAtomic(file, map);
  return map;
}
