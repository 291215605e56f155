/**
 * Similarity search (`kfashion search`, `search.run`): attribute JSON → garment images through the trained JSON
 * encoder, or a picture → garment images through the workspace's image encoder; exact cosine top-K
 * over every item's image embedding, with results saved to results/similarity_search/<stamp>/
 * (query.json, results.json, a grid PNG per search).
 *
 * The service is kept open by the Workbench between searches: the gallery matrix is read from the
 * workspace ONCE per (model, state of its embeddings) and held in a VectorIndex; the checkpoint
 * encoder and the image encoder are opened once. A gallery or encoder that changed on disk (new
 * embeddings, a new best checkpoint, another image encoder) is reloaded on the next search.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type FieldName, type GarmentAttributes, isFieldName } from '../../src-shared/fields.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import {
  type ImageTagRun,
  SEARCH_DEFAULT_K,
  SEARCH_DEMO_DEFAULT_SAMPLES,
  SEARCH_DEMO_MAX_SAMPLES,
  SEARCH_MAX_K,
  type SearchGalleryInfo,
  type SearchHitInfo,
  type SearchOutcome,
  type SearchQuery,
  type SimilaritySearchRun,
} from '../../src-shared/search.ts';
import { ensureCrop } from '../dataset/crops.ts';
import { Rng } from '../dataset/rng.ts';
import type { OpenedWorkspaceEncoder } from '../encoders/image-encoder/workspace-encoder.ts';
import { tagAttributes } from '../evaluation/attribute-tagging.ts';
import {
  type CheckpointEncoder,
  openCheckpointEncoder,
  resolveCheckpointPaths,
} from '../evaluation/checkpoint-encoder.ts';
import { fileStamp, writeJsonAtomic } from '../evaluation/results.ts';
import { renderSearchGrid } from '../evaluation/search-grid.ts';
import { describeAttributes, parseSearchQuery } from '../evaluation/search-query.ts';
import type { AnnIndex } from '../retrieval/ann-index.ts';
import type { VectorIndex } from '../retrieval/vector-index.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CropStore } from '../store/crop-store.ts';
import { getMeta } from '../store/database.ts';
import { DatasetStore, type StoredItem } from '../store/dataset-store.ts';
import { type EmbeddingModelInfo, EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { currentRunId } from '../training/runs.ts';
import type { EncoderFactory } from '../training/trainer.ts';

export class SimilaritySearchError extends Error {
  override name = 'SimilaritySearchError';
}

export interface SearchRequest {
  /** json-to-image: attribute JSON (text or object), encoder field names or K-Fashion's Korean keys. */
  query?: string | Record<string, unknown>;
  /** image-to-image: a picture file. */
  image?: string;
  /** image-to-image: picture bytes (an upload); `imageName` names it in messages and results. */
  imageBytes?: Uint8Array;
  imageName?: string;
  /** One query per (style folder, category) combination of the data, from a sampled item. */
  demo?: boolean;
  /** Demo queries (default 20, at most 100). */
  samples?: number;
  /** Seed of the demo's item draw (default 42). */
  seed?: number;
  /** Top-K (default 5, at most 50). */
  k?: number;
  /** A checkpoint file or folder; default the workspace's best. */
  checkpoint?: string;
  /** tfjs backend of the JSON encoder. */
  backend?: string;
  /** Tests pass a small JS encoder. */
  createEncoder?: EncoderFactory;
  /** Write results/similarity_search/<stamp>/ (default true). */
  save?: boolean;
  /**
   * 'exact' (default) or 'ann': an HNSW graph (retrieval/ann-index.ts), cached in <workspace>/ann/,
   * whose recall@10 against the exact index is measured when it is built and shown in `gallery.engine`.
   */
  index?: 'exact' | 'ann';
  now?: Date;
}

interface Gallery {
  model: string;
  state: string;
  info: EmbeddingModelInfo;
  index: VectorIndex | AnnIndex;
}

const SYNTHETIC_GALLERY_NOTE = (model: string) =>
  `SYNTHETIC: the gallery's image embeddings ("${model}") are stand-ins generated from the attributes, not FashionCLIP; these results say nothing about real images.`;
const SYNTHETIC_ENCODER_NOTE =
  'SYNTHETIC: the query picture was embedded with the demo stand-in image encoder, not FashionCLIP; these results say nothing about real images.';

const NO_CATEGORY = '(no category)';

function categoryOf(a: GarmentAttributes): string | null {
  const c = a.category;
  return typeof c === 'string' ? c : Array.isArray(c) ? (c[0] ?? null) : null;
}

function engineOf(index: VectorIndex | AnnIndex): string {
  if (!('backend' in index)) return index.engine;
  const how =
    index.backend === 'onnxruntime'
      ? `onnxruntime MatMul+TopK, ${index.threads} thread${index.threads === 1 ? '' : 's'} (${index.thread === 'worker' ? 'search worker thread' : 'main thread'})`
      : 'plain JS loops';
  if (index.scan === 'int8') {
    return `int8 scan (usearch) + exact float32 re-score for up to 4 queries; larger batches: ${how}`;
  }
  return index.fallbackReason ? `${how}; ${index.fallbackReason}` : how;
}

export class SimilaritySearchService {
  private galleries = new Map<string, Promise<Gallery>>();
  private jsonEncoder: { key: string; encoder: Promise<CheckpointEncoder> } | null = null;
  private imageEncoder: { key: string; opened: Promise<OpenedWorkspaceEncoder> } | null = null;
  private closed = false;

  constructor(private readonly ws: Workspace) {}

  async close(): Promise<void> {
    this.closed = true;
    const galleries = [...this.galleries.values()];
    this.galleries.clear();
    const json = this.jsonEncoder;
    const image = this.imageEncoder;
    this.jsonEncoder = null;
    this.imageEncoder = null;
    await Promise.allSettled([
      ...galleries.map(async (g) => (await g).index.close()),
      json?.encoder.then((e) => e.close()),
      image?.opened.then((o) => o.encoder.close()),
    ]);
  }

  /** Runs the search(es) of `req`; see SearchRequest. */
  async search(req: SearchRequest, work: WorkOptions = {}): Promise<SimilaritySearchRun> {
    if (this.closed) throw new SimilaritySearchError('search on a closed search service');
    const modes = [
      req.query !== undefined,
      req.image !== undefined || req.imageBytes !== undefined,
      Boolean(req.demo),
    ];
    if (modes.filter(Boolean).length !== 1) {
      throw new SimilaritySearchError(
        'Give exactly one of: a JSON query (--query), a picture (--image) or --demo.',
      );
    }
    const k = req.k ?? SEARCH_DEFAULT_K;
    if (!Number.isInteger(k) || k < 1 || k > SEARCH_MAX_K) {
      throw new SimilaritySearchError(`k expects a whole number from 1 to ${SEARCH_MAX_K}, got ${k}.`);
    }
    const now = req.now ?? new Date();
    const stamp = fileStamp(now);
    const runId = `search-${stamp}`;
    const base = {
      kind: 'similarity-search' as const,
      run_id: runId,
      timestamp: now.toISOString(),
      workspace: this.ws.root,
      k,
    };
    let run: Omit<SimilaritySearchRun, 'files'>;
    let queryImages: (string | null)[] = [];
    if (req.image !== undefined || req.imageBytes !== undefined) {
      const r = await this.searchImage(req, k, work);
      queryImages = [r.queryImagePath];
      run = { ...base, ...r.run };
    } else {
      run = { ...base, ...(await this.searchJson(req, k, work)) };
    }
    const files =
      req.save === false
        ? { dir: '', query: '', results: '', grids: [] }
        : await this.save(run, stamp, queryImages, work);
    return { ...run, files };
  }

  // ---- json → image -------------------------------------------------------------------------------

  private async searchJson(
    req: SearchRequest,
    k: number,
    work: WorkOptions,
  ): Promise<Omit<SimilaritySearchRun, 'files' | 'kind' | 'run_id' | 'timestamp' | 'workspace' | 'k'>> {
    work.onProgress?.('load encoder', 0, 1);
    const encoder = await this.checkpointEncoder(req);
    const info = encoder.info;
    const model = info.imageEmbedding.model;
    const fields = info.fields.filter(isFieldName);
    let queries: { query: SearchQuery; attributes: GarmentAttributes; source?: string }[] = [];
    // A bad query fails before the gallery is read.
    if (!req.demo) {
      const parsed = parseSearchQuery(req.query!, info);
      const input =
        typeof req.query === 'string' ? (JSON.parse(req.query) as Record<string, unknown>) : req.query!;
      queries = [
        {
          query: {
            direction: 'json-to-image',
            label: parsed.label,
            input,
            attributes: parsed.attributes,
            ...(parsed.ignored.length ? { ignored: parsed.ignored } : {}),
          },
          attributes: parsed.attributes,
        },
      ];
    }
    work.onProgress?.('load gallery', 0, 1);
    const gallery = await this.gallery(
      model,
      req.index ?? 'exact',
      () =>
        `The checkpoint (run ${info.runId}) was trained against "${model}" image embeddings; this workspace has none. Search in the workspace it was trained in, or embed with that model.`,
    );
    if (gallery.index.dim !== encoder.dim) {
      throw new SimilaritySearchError(
        `"${model}" embeddings here are ${gallery.index.dim}-d but the checkpoint outputs ${encoder.dim}-d vectors.`,
      );
    }
    if (req.demo) {
      queries = this.demoQueries(gallery, fields, req.samples ?? SEARCH_DEMO_DEFAULT_SAMPLES, req.seed ?? 42);
    }
    if (work.signal?.aborted) throw new CancelledError('search cancelled');
    work.onProgress?.('search', 0, queries.length);
    const t0 = performance.now();
    const vectors = encoder.encode(queries.map((q) => q.attributes));
    const t1 = performance.now();
    const results = await gallery.index.search(vectors, k);
    const t2 = performance.now();
    // Per-query timing of a batch: the batch's time shared equally.
    const timing = { encode_ms: (t1 - t0) / queries.length, search_ms: (t2 - t1) / queries.length };
    const store = new DatasetStore(this.ws.db);
    const searches: SearchOutcome[] = queries.map((q, i) => {
      const hits = this.hitInfo(store, results[i]!, q.source);
      const outcome: SearchOutcome = { query: q.query, hits, grid: null, timing };
      if (q.source) {
        const r = hits.find((h) => h.is_source);
        outcome.source_rank = r ? r.rank : null;
      }
      return outcome;
    });
    work.onProgress?.('search', queries.length, queries.length);
    const galleryInfo = this.galleryInfo(gallery);
    return {
      synthetic: galleryInfo.synthetic,
      ...(galleryInfo.synthetic ? { note: SYNTHETIC_GALLERY_NOTE(model) } : {}),
      mode: req.demo ? 'demo' : 'query',
      gallery: galleryInfo,
      checkpoint: {
        run_id: info.runId,
        path: encoder.infoPath,
        epoch: info.epoch,
        fields,
        stale: info.runId !== currentRunId(this.ws),
      },
      searches,
    };
  }

  /**
   * One query per (style folder, category) combination among the gallery's items: combinations
   * taken round-robin over style folders (largest first within each), one item drawn per combination
   * with a fixed seed; the query is that item's attributes on the checkpoint's fields.
   */
  private demoQueries(
    gallery: Gallery,
    fields: FieldName[],
    samples: number,
    seed: number,
  ): { query: SearchQuery; attributes: GarmentAttributes; source: string }[] {
    if (!Number.isInteger(samples) || samples < 1 || samples > SEARCH_DEMO_MAX_SAMPLES) {
      throw new SimilaritySearchError(
        `samples expects a whole number from 1 to ${SEARCH_DEMO_MAX_SAMPLES}, got ${samples}.`,
      );
    }
    const inGallery = new Set(gallery.index.ids);
    const combos = new Map<string, StoredItem[]>();
    for (const it of new DatasetStore(this.ws.db).iterateItems()) {
      if (!inGallery.has(it.id)) continue;
      if (!fields.some((f) => it.attributes[f] !== undefined)) continue;
      const key = `${it.styleFolder}\u0000${categoryOf(it.attributes) ?? NO_CATEGORY}`;
      const list = combos.get(key);
      if (list) list.push(it);
      else combos.set(key, [it]);
    }
    const byStyle = new Map<string, StoredItem[][]>();
    for (const list of combos.values()) {
      const style = list[0]!.styleFolder;
      const l = byStyle.get(style);
      if (l) l.push(list);
      else byStyle.set(style, [list]);
    }
    for (const l of byStyle.values()) {
      l.sort(
        (a, b) =>
          b.length - a.length ||
          (categoryOf(a[0]!.attributes) ?? '').localeCompare(categoryOf(b[0]!.attributes) ?? ''),
      );
    }
    const styles = [...byStyle.keys()].sort();
    const picked: StoredItem[][] = [];
    for (let round = 0; picked.length < samples; round++) {
      let any = false;
      for (const s of styles) {
        const list = byStyle.get(s)![round];
        if (!list) continue;
        any = true;
        if (picked.length < samples) picked.push(list);
      }
      if (!any) break;
    }
    if (picked.length === 0) {
      throw new SimilaritySearchError(
        `No item with a "${gallery.model}" embedding carries any of the checkpoint's fields (${fields.join(', ')}); nothing to make demo queries from.`,
      );
    }
    return picked.map((list) => {
      const it = Rng.derive(
        'search-demo',
        seed,
        list[0]!.styleFolder,
        categoryOf(list[0]!.attributes) ?? '',
      ).pick(list);
      const attributes: GarmentAttributes = {};
      for (const f of fields) if (it.attributes[f] !== undefined) attributes[f] = it.attributes[f];
      return {
        attributes,
        source: it.id,
        query: {
          direction: 'json-to-image',
          label: describeAttributes(attributes),
          attributes,
          source_item: { id: it.id, style: it.styleFolder, category: categoryOf(it.attributes) },
        },
      };
    });
  }

  private async checkpointEncoder(req: SearchRequest): Promise<CheckpointEncoder> {
    const paths = resolveCheckpointPaths(this.ws, req.checkpoint);
    const key = `${paths.infoPath}|${statSync(paths.infoPath).mtimeMs}|${req.backend ?? ''}`;
    if (this.jsonEncoder?.key !== key) {
      const old = this.jsonEncoder;
      const encoder = openCheckpointEncoder(this.ws, {
        checkpoint: req.checkpoint,
        backend: req.backend,
        createEncoder: req.createEncoder,
      });
      this.jsonEncoder = { key, encoder };
      // A failed open is not kept: the next search tries again.
      encoder.catch(() => {
        if (this.jsonEncoder?.encoder === encoder) this.jsonEncoder = null;
      });
      void old?.encoder.then(
        (e) => e.close(),
        () => undefined,
      );
    }
    return this.jsonEncoder!.encoder;
  }

  // ---- image → JSON (tagging) ---------------------------------------------------------------------

  /**
   * The attribute combinations nearest to a picture (see evaluation/attribute-tagging.ts): the
   * picture is embedded by the workspace's image encoder, combinations by the checkpoint's JSON
   * encoder; both must speak the same image-embedding model. Nothing is written.
   */
  async tag(req: SearchRequest, work: WorkOptions = {}): Promise<ImageTagRun> {
    if (this.closed) throw new SimilaritySearchError('tagging on a closed search service');
    if (req.image === undefined && req.imageBytes === undefined) {
      throw new SimilaritySearchError('image → JSON needs a picture (--image PATH, or an uploaded image).');
    }
    const k = req.k ?? SEARCH_DEFAULT_K;
    if (!Number.isInteger(k) || k < 1 || k > SEARCH_MAX_K) {
      throw new SimilaritySearchError(`k expects a whole number from 1 to ${SEARCH_MAX_K}, got ${k}.`);
    }
    const { checkImage, embedImageBytes } = await import('../recommend/image-input.ts');
    const what =
      req.image !== undefined ? resolve(req.image) : `upload image (${req.imageName ?? 'unnamed'})`;
    let bytes: Uint8Array;
    if (req.image !== undefined) {
      try {
        bytes = readFileSync(what);
      } catch (e) {
        throw new SimilaritySearchError(
          `--image ${req.image}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
        );
      }
    } else bytes = req.imageBytes!;
    await checkImage(bytes, what);
    work.onProgress?.('load encoders', 0, 1);
    const encoder = await this.checkpointEncoder(req);
    const opened = await this.workspaceImageEncoder();
    const info = encoder.info;
    const model = opened.encoder.modelId;
    if (info.imageEmbedding.model !== model) {
      throw new SimilaritySearchError(
        `The checkpoint (run ${info.runId}) was trained against "${info.imageEmbedding.model}" image embeddings, but the workspace's image encoder is "${model}": a picture embedded by one cannot be compared with attributes aligned to the other. Train on "${model}" embeddings, or embed with "${info.imageEmbedding.model}".`,
      );
    }
    const t0 = performance.now();
    const image = await embedImageBytes(opened.encoder, [bytes]);
    const t1 = performance.now();
    const fields = info.fields.filter(isFieldName);
    const values: Partial<Record<FieldName, string[]>> = {};
    // Rows 0 and 1 of a checkpoint's vocabulary are <pad> and <unk>: encoder bookkeeping.
    for (const f of fields) values[f] = (info.vocabulary[f] ?? []).slice(2);
    const crops = new CropStore(this.ws.db);
    const items = (function* (ws: Workspace) {
      for (const it of new DatasetStore(ws.db).iterateItems({ split: 'train' })) {
        yield {
          id: it.id,
          attributes: it.attributes,
          crop: crops.pathOf(it.id) ?? null,
          style: it.styleFolder,
        };
      }
    })(this.ws);
    work.onProgress?.('score', 0, 1);
    const r = tagAttributes({
      image,
      fields,
      values,
      encode: (a) => encoder.encode(a),
      inputKey: (a) => encoder.inputKey(a),
      items,
      k,
    });
    const t2 = performance.now();
    work.onProgress?.('score', 1, 1);
    const syntheticData = getMeta<boolean>(this.ws.db, 'synthetic') === true;
    const synthetic = opened.label.synthetic || syntheticData;
    const note = opened.label.synthetic
      ? SYNTHETIC_ENCODER_NOTE.replace('these results', 'these tags')
      : syntheticData
        ? 'SYNTHETIC: the garments of this workspace are generated demo data; these tags say nothing about real clothes.'
        : undefined;
    return {
      kind: 'image-tagging',
      timestamp: (req.now ?? new Date()).toISOString(),
      synthetic,
      ...(note ? { note } : {}),
      image: req.image !== undefined ? what : (req.imageName ?? 'upload'),
      k,
      image_encoder: { model, label: opened.label.label, synthetic: opened.label.synthetic },
      checkpoint: {
        run_id: info.runId,
        path: encoder.infoPath,
        epoch: info.epoch,
        fields,
        stale: info.runId !== currentRunId(this.ws),
      },
      per_field: r.perField,
      vocabulary: r.vocabulary,
      training: r.training,
      training_combinations: r.trainingCombinations,
      timing: { encode_ms: t1 - t0, score_ms: t2 - t1 },
    };
  }

  // ---- image → image ------------------------------------------------------------------------------

  private async searchImage(
    req: SearchRequest,
    k: number,
    work: WorkOptions,
  ): Promise<{
    run: Omit<SimilaritySearchRun, 'files' | 'kind' | 'run_id' | 'timestamp' | 'workspace' | 'k'>;
    queryImagePath: string | null;
  }> {
    const { checkImage, embedImageBytes } = await import('../recommend/image-input.ts');
    let bytes: Uint8Array;
    const what =
      req.image !== undefined ? resolve(req.image) : `upload image (${req.imageName ?? 'unnamed'})`;
    if (req.image !== undefined) {
      try {
        bytes = readFileSync(what);
      } catch (e) {
        throw new SimilaritySearchError(
          `--image ${req.image}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
        );
      }
    } else bytes = req.imageBytes!;
    await checkImage(bytes, what);
    work.onProgress?.('load encoder', 0, 1);
    const opened = await this.workspaceImageEncoder();
    const model = opened.encoder.modelId;
    work.onProgress?.('load gallery', 0, 1);
    const gallery = await this.gallery(
      model,
      req.index ?? 'exact',
      () =>
        `The workspace's image encoder is "${model}" but no item has a "${model}" embedding: run "kfashion embed --workspace ${this.ws.root}" first.`,
    );
    const t0 = performance.now();
    const vector = await embedImageBytes(opened.encoder, [bytes]);
    const t1 = performance.now();
    const [result] = await gallery.index.search(vector, k);
    const t2 = performance.now();
    const galleryInfo = this.galleryInfo(gallery);
    const synthetic = galleryInfo.synthetic || opened.label.synthetic;
    const note = [
      ...(opened.label.synthetic ? [SYNTHETIC_ENCODER_NOTE] : []),
      ...(galleryInfo.synthetic && !opened.label.synthetic ? [SYNTHETIC_GALLERY_NOTE(model)] : []),
    ].join(' ');
    const hits = this.hitInfo(new DatasetStore(this.ws.db), result!);
    return {
      queryImagePath: req.image !== undefined ? what : null,
      run: {
        synthetic,
        ...(synthetic ? { note } : {}),
        mode: 'image',
        gallery: galleryInfo,
        image_encoder: { model, label: opened.label.label, synthetic: opened.label.synthetic },
        searches: [
          {
            query: {
              direction: 'image-to-image',
              label: `picture ${req.image !== undefined ? req.image : (req.imageName ?? 'upload')}`,
              image: req.image !== undefined ? what : (req.imageName ?? 'upload'),
            },
            hits,
            grid: null,
            timing: { encode_ms: t1 - t0, search_ms: t2 - t1 },
          },
        ],
      },
    };
  }

  private async workspaceImageEncoder(): Promise<OpenedWorkspaceEncoder> {
    const { workspaceEncoder, openWorkspaceImageEncoder } = await import(
      '../encoders/image-encoder/workspace-encoder.ts'
    );
    const setting = workspaceEncoder(this.ws);
    const key = setting ? `${setting.model}|${setting.setAt}` : 'none';
    if (this.imageEncoder?.key !== key) {
      const old = this.imageEncoder;
      const opened = openWorkspaceImageEncoder(this.ws);
      this.imageEncoder = { key, opened };
      opened.catch(() => {
        if (this.imageEncoder?.opened === opened) this.imageEncoder = null;
      });
      void old?.opened.then(
        (o) => o.encoder.close(),
        () => undefined,
      );
    }
    return this.imageEncoder!.opened;
  }

  // ---- the gallery --------------------------------------------------------------------------------

  /**
   * The index over every item's `model` embedding, loaded once and kept while the stored embeddings
   * of that model stay the same (count and last update).
   */
  private async gallery(model: string, kind: 'exact' | 'ann', missing: () => string): Promise<Gallery> {
    const info = new EmbeddingStore(this.ws.db).models().find((m) => m.model === model);
    if (!info || info.count === 0) throw new SimilaritySearchError(missing());
    const state = `${info.count}|${info.updatedAt}`;
    const key = `${kind}|${model}`;
    const cached = this.galleries.get(key);
    if (cached) {
      const g = await cached.catch(() => null);
      if (g && g.state === state) return g;
      if (g) void g.index.close();
      this.galleries.delete(key);
    }
    const p = (async (): Promise<Gallery> => {
      const store = new EmbeddingStore(this.ws.db);
      const ids = store.scannedItemIds(model);
      if (ids.length === 0) throw new SimilaritySearchError(missing());
      const { VectorIndex } = await import('../retrieval/vector-index.ts');
      // Read a chunk of rows at a time into the index's own layout: the exact gallery is held once.
      const exact = await VectorIndex.buildFromRows(ids, info.dim, (start, count) =>
        store.matrix(model, ids.slice(start, start + count)),
      );
      if (kind === 'exact') return { model, state, info, index: exact };
      // The exact index measures the graph's recall, then goes ([Note: Recall shown with every answer]).
      try {
        // The graph builder takes the whole matrix (an option asked for by name, for big galleries).
        const matrix = store.matrix(model, ids);
        const { AnnIndex } = await import('../retrieval/ann-index.ts');
        const index = await AnnIndex.build(ids, matrix, info.dim, {
          exact: (q, k) => exact.search(q, k),
          cacheDir: join(this.ws.root, 'ann'),
          model,
        });
        return { model, state, info, index };
      } finally {
        await exact.close();
      }
    })();
    this.galleries.set(key, p);
    p.catch(() => {
      if (this.galleries.get(model) === p) this.galleries.delete(key);
    });
    return p;
  }

  private galleryInfo(g: Gallery): SearchGalleryInfo {
    const synthetic = g.info.source === 'synthetic' || getMeta<boolean>(this.ws.db, 'synthetic') === true;
    return {
      model: g.model,
      items: g.index.size,
      source: g.info.source,
      synthetic,
      engine: engineOf(g.index),
    };
  }

  private hitInfo(
    store: DatasetStore,
    hits: readonly { id: string; score: number }[],
    source?: string,
  ): SearchHitInfo[] {
    const crops = new CropStore(this.ws.db);
    return hits.map((h, i) => {
      const it = store.getItem(h.id);
      const crop = crops.pathOf(h.id) ?? null;
      return {
        rank: i + 1,
        id: h.id,
        score: h.score,
        style: it?.styleFolder ?? '',
        category: it ? categoryOf(it.attributes) : null,
        part: it?.part ?? '',
        split: it?.split ?? null,
        attributes: it?.attributes ?? {},
        crop,
        ...(source !== undefined ? { is_source: h.id === source } : {}),
      };
    });
  }

  // ---- saving -------------------------------------------------------------------------------------

  private async save(
    run: Omit<SimilaritySearchRun, 'files'>,
    stamp: string,
    queryImages: (string | null)[],
    work: WorkOptions,
  ): Promise<SimilaritySearchRun['files']> {
    let dir = join(this.ws.paths.similaritySearch, stamp);
    for (let i = 2; existsDir(dir); i++) dir = join(this.ws.paths.similaritySearch, `${stamp}-${i}`);
    mkdirSync(dir, { recursive: true });
    const store = new DatasetStore(this.ws.db);
    const grids: string[] = [];
    const many = run.searches.length > 1;
    for (const [i, s] of run.searches.entries()) {
      if (work.signal?.aborted) throw new CancelledError('search cancelled while drawing the grids');
      work.onProgress?.('grid', i, run.searches.length);
      // Crops come from the crops cache; a hit without a current crop gets one cut now.
      const hits = await Promise.all(
        s.hits.map(async (h) => {
          const it = store.getItem(h.id);
          let cropPath: string | null = null;
          if (it?.imagePath) {
            try {
              cropPath = (await ensureCrop(this.ws, it)).path;
              h.crop = relative(this.ws.root, cropPath).split('\\').join('/');
            } catch {
              cropPath = null;
            }
          }
          return { ...h, cropPath };
        }),
      );
      const name = many ? `grid_${String(i + 1).padStart(2, '0')}.png` : 'grid.png';
      const png = await renderSearchGrid({
        title: `${s.query.direction === 'json-to-image' ? 'JSON → image' : 'image → image'}: ${s.query.label}`,
        subtitle:
          run.note ??
          `${run.gallery.items} items, "${run.gallery.model}" embeddings · top-${run.k} exact cosine · ${run.run_id}`,
        query: s.query,
        queryImage: queryImages[i] ?? null,
        hits,
      });
      writeFileAtomic(join(dir, name), png);
      s.grid = name;
      grids.push(join(dir, name));
    }
    work.onProgress?.('grid', run.searches.length, run.searches.length);
    const files = { dir, query: join(dir, 'query.json'), results: join(dir, 'results.json'), grids };
    writeJsonAtomic(files.query, {
      kind: 'similarity-search-query',
      run_id: run.run_id,
      timestamp: run.timestamp,
      mode: run.mode,
      k: run.k,
      ...(run.note ? { note: run.note } : {}),
      queries: run.searches.map((s) => s.query),
    });
    writeJsonAtomic(files.results, { ...run, files });
    return files;
  }
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
