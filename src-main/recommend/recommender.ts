/**
 * Image → image recommendation of new products.
 *
 * - top10_to_new: for each best-seller (uploaded images, ids of catalog products or dataset garments,
 *   or the anchor set of the centrality proxy when there is no sales data) the k most similar catalog
 *   products by cosine of the workspace image encoder's vectors, plus trend data over all matches.
 * - customer_input: one uploaded photo or a clicked product id → the k most similar catalog products.
 *
 * Query images are embedded with the workspace image encoder (the model whose vectors the catalog and
 * dataset hold for it), opened once and kept. The catalog's exact cosine index (VectorIndex) is built
 * once and rebuilt when the catalog changes (catalog_state.version, bumped by triggers, so a product
 * added by the CLI while the server runs is seen). Every call, good or failed, is logged for the KPIs.
 */

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type {
  CustomerInputResult,
  ImageEncoderLabel,
  RecommendationForInput,
  RecommendationMatch,
  RecommendInputRef,
  Top10ToNewResult,
  TrendData,
} from '../../src-shared/recommend.ts';
import { workspaceFileUrl } from '../../src-shared/recommend.ts';
import { quoteShort } from '../../src-shared/short-text.ts';
import type { OpenedWorkspaceEncoder } from '../encoders/image-encoder/workspace-encoder.ts';
import { labelOf, workspaceEncoder } from '../encoders/image-encoder/workspace-encoder.ts';
import type { AnnIndex } from '../retrieval/ann-index.ts';
import type { SearchHit, VectorIndex } from '../retrieval/vector-index.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { BatchedSearch } from './batched-search.ts';
import { Catalog, CatalogInputError, UnknownIdError } from './catalog.ts';
import { checkImage, embedImageBytes } from './image-input.ts';
import { type LogEntry, logRecommendation } from './kpi.ts';
import { LogRetention, type LogRetentionSettings } from './log-retention.ts';

export const DEFAULT_K = 10;
export const MAX_K = 100;
export const MAX_IDS = 200;
/** Share of garments in the anchor set (EVALUATION.md; the evaluation suite computes and stores it). */
const ANCHOR_FRACTION = 0.1;

/** The workspace cannot serve the request yet (no encoder, empty catalog, missing vectors): HTTP 409. */
export class RecommendError extends Error {
  override name = 'RecommendError';
  readonly statusCode = 409;
  readonly code = 'not_ready';
}

export interface UploadedImage {
  bytes: Uint8Array;
  /** The request field it came in (for error messages). */
  field: string;
  /** The client's file name: shown only, never used as a path. */
  filename?: string;
}

/** Which catalog index answers: exact (default), or the approximate HNSW graph (big catalogs). */
export type RecommendIndexKind = 'exact' | 'ann';

export interface Top10ToNewRequest {
  uploads?: UploadedImage[];
  ids?: string[];
  useCentralityProxy?: boolean;
  k?: number;
  /** This request's index; absent: the service's (`serve --index`, else exact). */
  index?: RecommendIndexKind;
}

export interface CustomerInputRequest {
  upload?: UploadedImage;
  productId?: string;
  k?: number;
  /** This request's index; absent: the service's (`serve --index`, else exact). */
  index?: RecommendIndexKind;
}

interface ProductInfo {
  name: string;
  style: string | null;
  category: string | null;
  imageUrl: string;
  synthetic: boolean;
}

interface IndexEntry {
  version: number;
  model: string;
  index: VectorIndex | AnnIndex;
  /** Concurrent searches of this index, coalesced (batched-search.ts). */
  searcher: BatchedSearch;
  products: Map<string, ProductInfo>;
  anySynthetic: boolean;
  users: number;
  stale: boolean;
}

const SYNTHETIC_CATALOG_NOTE =
  'the catalog holds SYNTHETIC demo products (generated pictures, not real products)';

export function newRecommendRunId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `rec-${stamp}-${randomBytes(3).toString('hex')}`;
}

function checkIndex(kind: unknown, fallback: RecommendIndexKind): RecommendIndexKind {
  if (kind === undefined) return fallback;
  if (kind === 'exact' || kind === 'ann') return kind;
  throw new CatalogInputError(`index must be "exact" or "ann", got ${JSON.stringify(kind)}`, 'index');
}

function checkK(k: number | undefined): number {
  const v = k ?? DEFAULT_K;
  if (!Number.isInteger(v) || v < 1 || v > MAX_K) {
    throw new CatalogInputError(`k must be a whole number from 1 to ${MAX_K}, got ${JSON.stringify(k)}`, 'k');
  }
  return v;
}

export class RecommendService {
  readonly catalog: Catalog;
  private readonly dataset: DatasetStore;
  private readonly embeddings: EmbeddingStore;
  private opened: Promise<OpenedWorkspaceEncoder> | null = null;
  private openedModel: string | null = null;
  /** The built catalog index of each kind (a request may ask for either; both can be live). */
  private current: Record<RecommendIndexKind, IndexEntry | null> = { exact: null, ann: null };
  private building: Record<RecommendIndexKind, Promise<IndexEntry> | null> = { exact: null, ann: null };
  private closed = false;
  /** Keeps the KPI log bounded in the process that writes it (log-retention.ts); defaults until configured. */
  private readonly logRetention: LogRetention;

  constructor(
    readonly ws: Workspace,
    private readonly openEncoder: () => Promise<OpenedWorkspaceEncoder>,
  ) {
    this.catalog = new Catalog(ws);
    this.dataset = new DatasetStore(ws.db);
    this.embeddings = new EmbeddingStore(ws.db);
    this.logRetention = new LogRetention(ws.db);
  }

  private indexKind: RecommendIndexKind = 'exact';

  /**
   * The index of requests that do not name one. 'ann' (`kfashion serve --index ann`): the catalog is
   * searched with an approximate HNSW index (retrieval/ann-index.ts), cached in <workspace>/ann/;
   * every answer then carries `index` with the recall@10 measured against the exact index when the
   * graph was built. Default 'exact'. A request's own `index` (the UI's ANN checkbox) overrides it.
   */
  configureIndex(kind: RecommendIndexKind): void {
    this.indexKind = kind;
  }

  /** How long the KPI log keeps raw rows (`kfashion serve --log-keep-days/--log-keep-rows`); stored in the workspace. */
  configureLogRetention(settings: LogRetentionSettings): void {
    this.logRetention.configure(settings);
  }

  logRetentionSettings(): Readonly<LogRetentionSettings> {
    return this.logRetention.current;
  }

  private log(entry: LogEntry): void {
    logRecommendation(this.ws.db, entry);
    this.logRetention.noteInsert();
  }

  /** The workspace's encoder, opened once; reopened when `kfashion embed` recorded another one. */
  async encoder(): Promise<OpenedWorkspaceEncoder> {
    if (this.closed) throw new RecommendError('the recommendation service was closed');
    const setting = workspaceEncoder(this.ws);
    if (this.opened && setting && setting.model !== this.openedModel) {
      const old = this.opened;
      this.opened = null;
      void old.then((o) => o.encoder.close()).catch(() => undefined);
    }
    if (!this.opened) {
      this.openedModel = setting?.model ?? null;
      const p = this.openEncoder();
      this.opened = p;
      // A failed open is not cached: the next call tries again (e.g. after the model was installed).
      p.catch(() => {
        if (this.opened === p) this.opened = null;
      });
    }
    return this.opened;
  }

  /**
   * Opens the encoder and builds the catalog index now, so the first request does not pay for them
   * (the server calls this after it starts listening). Failures are left for the requests to report.
   */
  async warmUp(): Promise<void> {
    try {
      const enc = await this.encoder();
      this.release(await this.acquireIndex(enc.setting.model, this.indexKind));
    } catch {
      // No encoder or an empty catalog yet: each request says so with a clear message.
    }
  }

  /** The label of the workspace encoder without opening it. */
  encoderLabel(): ImageEncoderLabel | null {
    const s = workspaceEncoder(this.ws);
    return s ? labelOf(s) : null;
  }

  /** The catalog index for `model`, rebuilt when the catalog changed. The caller must call `release`. */
  private async acquireIndex(model: string, kind: RecommendIndexKind): Promise<IndexEntry> {
    const version = this.catalog.version();
    const cur = this.current[kind];
    if (cur && cur.version === version && cur.model === model) {
      cur.users++;
      return cur;
    }
    if (!this.building[kind]) {
      this.building[kind] = (async () => {
        const { VectorIndex } = await import('../retrieval/vector-index.ts');
        const { ids, vectors, dim } = this.catalog.vectors(model);
        if (ids.length === 0) {
          const total = this.catalog.count();
          throw new RecommendError(
            total === 0
              ? `The catalog of new products is empty: add products first ("kfashion catalog add" / "kfashion catalog import DIR", or POST /api/catalog).`
              : `None of the ${total} catalog products has a "${model}" vector yet: run "kfashion catalog embed --workspace ${this.ws.root}".`,
          );
        }
        let index: VectorIndex | AnnIndex = await VectorIndex.build(ids, vectors, dim);
        if (kind === 'ann') {
          const exact = index;
          try {
            const { AnnIndex } = await import('../retrieval/ann-index.ts');
            index = await AnnIndex.build(ids, vectors, dim, {
              exact: (q, k) => exact.search(q, k),
              cacheDir: join(this.ws.root, 'ann'),
              model: `catalog-${model}`,
            });
          } finally {
            await exact.close();
          }
        }
        const products = new Map<string, ProductInfo>();
        let anySynthetic = false;
        for (const [id, name, style, category, rel, syn] of this.catalog.store.productInfoRows()) {
          products.set(id, { name, style, category, imageUrl: workspaceFileUrl(rel), synthetic: syn === 1 });
          if (syn === 1) anySynthetic = true;
        }
        return {
          version,
          model,
          index,
          searcher: new BatchedSearch(index),
          products,
          anySynthetic,
          users: 0,
          stale: false,
        };
      })();
      const p = this.building[kind];
      p.then(
        (entry) => {
          const old = this.current[kind];
          this.current[kind] = entry;
          if (old) {
            old.stale = true;
            if (old.users === 0) void old.index.close();
          }
        },
        () => undefined,
      ).finally(() => {
        if (this.building[kind] === p) this.building[kind] = null;
      });
    }
    const entry = await this.building[kind]!;
    entry.users++;
    return entry;
  }

  private release(entry: IndexEntry): void {
    entry.users--;
    if (entry.stale && entry.users === 0) void entry.index.close();
  }

  /** Vector of a catalog product or a dataset garment under `model`; 404 for an unknown id. */
  private vectorOf(
    id: string,
    model: string,
    field: string,
  ): { ref: RecommendInputRef; vector: Float32Array } {
    if (typeof id !== 'string' || id.length === 0 || id.length > 400) {
      throw new CatalogInputError(
        `${field}: expected a catalog product id or a dataset item id, got ${JSON.stringify(id)}`,
        field,
      );
    }
    const product = this.catalog.get(id);
    if (product) {
      const v = this.catalog.vector(model, id);
      if (!v) {
        throw new RecommendError(
          `${field}: catalog product "${id}" has no "${model}" vector yet; run "kfashion catalog embed --workspace ${this.ws.root}".`,
        );
      }
      return { ref: { kind: 'catalog', id }, vector: v };
    }
    if (!this.dataset.hasItem(id)) {
      throw new UnknownIdError(
        `${field}: ${quoteShort(id)} is neither a catalog product nor a dataset item of this workspace`,
        field,
      );
    }
    const v = this.embeddings.vector(model, id);
    if (!v) {
      throw new RecommendError(
        `${field}: dataset item "${id}" has no "${model}" image embedding; run "kfashion embed --workspace ${this.ws.root}" first.`,
      );
    }
    return { ref: { kind: 'item', id }, vector: v };
  }

  private async embedUploads(
    uploads: readonly UploadedImage[],
    enc: OpenedWorkspaceEncoder,
  ): Promise<Float32Array> {
    const names = uploads.map((u) => ({
      what: `${u.field}${u.filename ? ` (${u.filename})` : ''}`,
      field: u.field,
    }));
    // Content and header checks here; the full decode is the embedding's own (its errors are mapped
    // to "damaged or truncated" for the upload they concern), so a photo is decoded once.
    for (const [i, u] of uploads.entries())
      await checkImage(u.bytes, names[i]!.what, u.field, { decode: false });
    return embedImageBytes(
      enc.encoder,
      uploads.map((u) => u.bytes),
      names,
    );
  }

  /**
   * The anchor set (best-seller proxy) as the evaluation suite defines and stores it (centrality of the
   * training image-embedding model, evaluation/centrality.ts), with each anchor item's vector under the
   * workspace encoder's `model` as the query. In a real workspace both models are the same
   * (FashionCLIP); in the demo the anchor set comes from `synthetic-demo`, the queries from
   * `demo-standin`.
   */
  private async anchorInputs(
    model: string,
  ): Promise<{ refs: RecommendInputRef[]; vectors: Float32Array[]; source: string }> {
    const { anchorItems, centralityModel, loadCentrality } = await import('../evaluation/centrality.ts');
    const cm = centralityModel(this.ws);
    const ids = anchorItems(this.ws, cm);
    const stored = loadCentrality(this.ws, cm);
    const refs: RecommendInputRef[] = [];
    const vectors: Float32Array[] = [];
    let missing = 0;
    for (const id of ids) {
      const v = this.embeddings.vector(model, id);
      if (!v) {
        missing++;
        continue;
      }
      const c = stored?.items.get(id)?.centrality;
      refs.push({ kind: 'anchor', id, ...(c === undefined ? {} : { centrality: round6(c) }) });
      vectors.push(v);
    }
    if (refs.length === 0) {
      throw new RecommendError(
        `use_centrality_proxy: none of the ${ids.length} anchor items has a "${model}" image embedding; run "kfashion embed --workspace ${this.ws.root}" first.`,
      );
    }
    const total = stored?.items.size ?? 0;
    const source = `centrality proxy (no sales data): the anchor set = the ${Math.round(ANCHOR_FRACTION * 100)} % most central of ${total} dataset garments by cosine to the mean "${cm}" image embedding (${ids.length} items, as stored by "kfashion centrality"${stored ? `, run ${stored.runId}` : ''})${model === cm ? '' : `; each anchor's "${model}" vector is the query`}${missing ? `; ${missing} anchor items without a "${model}" vector were left out` : ''}`;
    return { refs, vectors, source };
  }

  private matchesOf(
    hits: SearchHit[],
    entry: IndexEntry,
    exclude: string | null,
    k: number,
  ): RecommendationMatch[] {
    const out: RecommendationMatch[] = [];
    for (const h of hits) {
      if (h.id === exclude) continue;
      const p = entry.products.get(h.id);
      if (!p) continue; // removed since the index was built
      out.push({
        productId: h.id,
        name: p.name,
        style: p.style,
        category: p.category,
        score: round6(h.score),
        imageUrl: p.imageUrl,
      });
      if (out.length === k) break;
    }
    return out;
  }

  private note(enc: ImageEncoderLabel, entry: IndexEntry): string | undefined {
    const parts: string[] = [];
    if (enc.synthetic) parts.push(`vectors come from the ${enc.label}`);
    if (entry.anySynthetic) parts.push(SYNTHETIC_CATALOG_NOTE);
    return parts.length
      ? `SYNTHETIC: ${parts.join('; ')}. Similarities here say nothing about real fashion images.`
      : undefined;
  }

  /** What every recommendation answer starts with: run, time, encoder, catalog size, SYNTHETIC note. */
  private resultHead(runId: string, enc: ImageEncoderLabel, entry: IndexEntry, k: number, latencyMs: number) {
    const note = this.note(enc, entry);
    return {
      runId,
      timestamp: new Date().toISOString(),
      encoder: enc,
      k,
      catalogSize: entry.index.size,
      latencyMs,
      ...('backend' in entry.index
        ? {}
        : {
            index: { kind: 'ann' as const, engine: entry.index.engine, recallAt10: entry.index.recallAt10 },
          }),
      ...(note ? { note } : {}),
    };
  }

  async top10ToNew(req: Top10ToNewRequest): Promise<Top10ToNewResult> {
    const t0 = performance.now();
    const runId = newRecommendRunId();
    let model: string | null = null;
    let kind = 'none';
    let inputsCount = 0;
    let k = DEFAULT_K;
    try {
      k = checkK(req.k);
      const indexKind = checkIndex(req.index, this.indexKind);
      const uploads = req.uploads ?? [];
      const ids = req.ids ?? [];
      if (req.useCentralityProxy && (uploads.length > 0 || ids.length > 0)) {
        throw new CatalogInputError(
          'use_centrality_proxy takes the anchor set as the best-sellers; send it without ids or images (or send ids / images without it)',
          'use_centrality_proxy',
        );
      }
      if (!req.useCentralityProxy && uploads.length === 0 && ids.length === 0) {
        throw new CatalogInputError(
          'give the best-sellers: upload images (multipart field "images"), or "ids" of catalog products or dataset items, or "use_centrality_proxy": true',
          'ids',
        );
      }
      if (ids.length > MAX_IDS)
        throw new CatalogInputError(`ids: at most ${MAX_IDS} per request, got ${ids.length}`, 'ids');
      // Ids are checked before the encoder is opened: a typo is a 404 even on a workspace without one.
      for (const [i, id] of ids.entries()) {
        if (!this.catalog.get(id) && !this.dataset.hasItem(id)) {
          throw new UnknownIdError(
            `ids[${i}]: ${quoteShort(id)} is neither a catalog product nor a dataset item of this workspace`,
            `ids[${i}]`,
          );
        }
      }
      const enc = await this.encoder();
      model = enc.setting.model;
      const refs: RecommendInputRef[] = [];
      const queries: Float32Array[] = [];
      const excludes: (string | null)[] = [];
      let inputSource: string;
      if (req.useCentralityProxy) {
        const a = await this.anchorInputs(model);
        for (const [j, ref] of a.refs.entries()) {
          refs.push(ref);
          queries.push(a.vectors[j]!);
          excludes.push(null);
        }
        inputSource = a.source;
        kind = 'anchor';
      } else {
        if (uploads.length > 0) {
          const v = await this.embedUploads(uploads, enc);
          const dim = v.length / uploads.length;
          uploads.forEach((u, i) => {
            refs.push({ kind: 'upload', id: `upload:${i}`, ...(u.filename ? { filename: u.filename } : {}) });
            queries.push(v.subarray(i * dim, (i + 1) * dim));
            excludes.push(null);
          });
        }
        ids.forEach((id, i) => {
          const { ref, vector } = this.vectorOf(id, model!, `ids[${i}]`);
          refs.push(ref);
          queries.push(vector);
          excludes.push(ref.kind === 'catalog' ? id : null);
        });
        const kinds = new Set(refs.map((r) => r.kind));
        kind = kinds.size === 1 ? [...kinds][0]! : 'mixed';
        inputSource = `best-sellers given by the caller (${[
          uploads.length ? `${uploads.length} uploaded image${uploads.length === 1 ? '' : 's'}` : '',
          ids.length ? `${ids.length} id${ids.length === 1 ? '' : 's'}` : '',
        ]
          .filter(Boolean)
          .join(', ')})`;
      }
      inputsCount = refs.length;
      const entry = await this.acquireIndex(model, indexKind);
      try {
        const dim = entry.index.dim;
        const q = new Float32Array(queries.length * dim);
        queries.forEach((v, i) => {
          if (v.length !== dim) {
            throw new RecommendError(
              `input ${refs[i]!.id}: its vector is ${v.length}-d but the catalog's "${model}" vectors are ${dim}-d`,
            );
          }
          q.set(v, i * dim);
        });
        // One extra hit per query, so a catalog product can be dropped from its own matches.
        const hits = await entry.searcher.search(q, k + 1);
        const inputs: RecommendationForInput[] = refs.map((input, i) => ({
          input,
          matches: this.matchesOf(hits[i]!, entry, excludes[i]!, k),
        }));
        const trend = trendOf(inputs, entry);
        const latencyMs = round2(performance.now() - t0);
        const top1s = inputs.map((x) => x.matches[0]?.score).filter((s): s is number => s !== undefined);
        this.log({
          runId,
          endpoint: 'top10_to_new',
          inputKind: kind,
          inputs: inputsCount,
          k,
          model,
          latencyMs,
          top1: top1s.length ? top1s.reduce((a, b) => a + b, 0) / top1s.length : null,
          matched: [
            ...inputs.map((x) => x.matches[0]?.productId),
            ...inputs.flatMap((x) => x.matches.slice(1).map((m) => m.productId)),
          ].filter((s): s is string => s !== undefined),
          status: 'ok',
        });
        return {
          ...this.resultHead(runId, enc.label, entry, k, latencyMs),
          inputSource,
          inputs,
          trend,
        };
      } finally {
        this.release(entry);
      }
    } catch (e) {
      this.logError('top10_to_new', runId, kind, inputsCount, k, model, t0, e);
      throw e;
    }
  }

  async customerInput(req: CustomerInputRequest): Promise<CustomerInputResult> {
    const t0 = performance.now();
    const runId = newRecommendRunId();
    let model: string | null = null;
    let kind = 'none';
    let k = DEFAULT_K;
    try {
      k = checkK(req.k);
      const indexKind = checkIndex(req.index, this.indexKind);
      if ((req.upload ? 1 : 0) + (req.productId !== undefined ? 1 : 0) !== 1) {
        throw new CatalogInputError(
          'send exactly one of: an uploaded image (multipart field "image") or "product_id" (a catalog product or dataset item id)',
          req.upload ? 'product_id' : 'image',
        );
      }
      if (req.productId !== undefined) {
        const id = req.productId;
        if (!this.catalog.get(id) && !this.dataset.hasItem(id)) {
          throw new UnknownIdError(
            `product_id: ${quoteShort(id)} is neither a catalog product nor a dataset item of this workspace`,
            'product_id',
          );
        }
      }
      const enc = await this.encoder();
      model = enc.setting.model;
      let ref: RecommendInputRef;
      let query: Float32Array;
      let exclude: string | null = null;
      if (req.upload) {
        query = await this.embedUploads([req.upload], enc);
        ref = {
          kind: 'upload',
          id: 'upload:0',
          ...(req.upload.filename ? { filename: req.upload.filename } : {}),
        };
        kind = 'upload';
      } else {
        const r = this.vectorOf(req.productId!, model, 'product_id');
        ref = r.ref;
        query = r.vector;
        kind = r.ref.kind;
        if (r.ref.kind === 'catalog') exclude = r.ref.id;
      }
      const entry = await this.acquireIndex(model, indexKind);
      try {
        const hits = await entry.searcher.search(query, k + 1);
        const matches = this.matchesOf(hits[0]!, entry, exclude, k);
        const latencyMs = round2(performance.now() - t0);
        this.log({
          runId,
          endpoint: 'customer_input',
          inputKind: kind,
          inputs: 1,
          k,
          model,
          latencyMs,
          top1: matches[0]?.score ?? null,
          matched: matches.map((m) => m.productId),
          status: 'ok',
        });
        return {
          ...this.resultHead(runId, enc.label, entry, k, latencyMs),
          input: ref,
          matches,
        };
      } finally {
        this.release(entry);
      }
    } catch (e) {
      this.logError(
        'customer_input',
        runId,
        kind,
        req.upload || req.productId !== undefined ? 1 : 0,
        k,
        model,
        t0,
        e,
      );
      throw e;
    }
  }

  private logError(
    endpoint: 'top10_to_new' | 'customer_input',
    runId: string,
    kind: string,
    inputs: number,
    k: number,
    model: string | null,
    t0: number,
    e: unknown,
  ): void {
    try {
      this.log({
        runId,
        endpoint,
        inputKind: kind,
        inputs,
        k,
        model,
        latencyMs: round2(performance.now() - t0),
        top1: null,
        matched: [],
        status: 'error',
        error: (e instanceof Error ? e.message : String(e)).slice(0, 500),
      });
    } catch {
      // The log must never turn a clear error into a database one (e.g. the workspace was closed).
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.logRetention.stop();
    const opened = this.opened;
    this.opened = null;
    if (opened) await opened.then((o) => o.encoder.close()).catch(() => undefined);
    for (const kind of ['exact', 'ann'] as const) {
      const building = this.building[kind];
      if (building) await building.catch(() => undefined);
      const cur = this.current[kind];
      if (cur) {
        await cur.index.close();
        this.current[kind] = null;
      }
    }
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function trendOf(inputs: RecommendationForInput[], entry: IndexEntry): TrendData {
  const styles = new Map<string, number>();
  const cats = new Map<string, number>();
  const counts = new Map<string, { count: number; best: number }>();
  let sum = 0;
  let max = -Infinity;
  let n = 0;
  for (const x of inputs) {
    for (const m of x.matches) {
      n++;
      sum += m.score;
      max = Math.max(max, m.score);
      styles.set(m.style ?? '(none)', (styles.get(m.style ?? '(none)') ?? 0) + 1);
      cats.set(m.category ?? '(none)', (cats.get(m.category ?? '(none)') ?? 0) + 1);
      const c = counts.get(m.productId) ?? { count: 0, best: -Infinity };
      c.count++;
      c.best = Math.max(c.best, m.score);
      counts.set(m.productId, c);
    }
  }
  const share = (m: Map<string, number>) =>
    Object.fromEntries(
      [...m]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([k, v]) => [k, round6(v / Math.max(1, n))]),
    );
  const mostMatched = [...counts]
    .sort((a, b) => b[1].count - a[1].count || b[1].best - a[1].best)
    .slice(0, 10)
    .map(([productId, c]) => ({
      productId,
      name: entry.products.get(productId)?.name ?? productId,
      count: c.count,
      bestScore: round6(c.best),
      imageUrl: entry.products.get(productId)?.imageUrl ?? '',
    }));
  return {
    styleDistribution: share(styles),
    categoryDistribution: share(cats),
    meanSimilarity: n ? round6(sum / n) : 0,
    maxSimilarity: n ? round6(max) : 0,
    mostMatched,
    matches: n,
  };
}
