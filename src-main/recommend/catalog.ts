/**
 * The catalog of new products a shop may recommend: id, name, style, category, an image copied into
 * the workspace under its content hash (`catalog/<sha256>.<ext>`, so one picture is stored once however
 * many products use it and an import recognises what it already has), optional attribute JSON, and
 * the image's vector per image-encoder model (computed on insert with the workspace encoder, or
 * imported from an .npy).
 *
 * The rows live in store/catalog-store.ts; importing a folder of products is catalog-import.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type CatalogProduct, workspaceFileUrl } from '../../src-shared/recommend.ts';
import { quoteShort } from '../../src-shared/short-text.ts';
import type { ImageEncoder } from '../encoders/image-encoder/onnx-image-encoder.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CatalogStore, CatalogStoreError, type ProductRow } from '../store/catalog-store.ts';
import type { Db } from '../store/database.ts';
import type { Workspace } from '../store/workspace.ts';
import { checkImage, embedImageBytes } from './image-input.ts';

export const CATALOG_DIR = 'catalog';
export const PRODUCT_ID_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,127}$/u;
const TEXT_MAX = 200;
const ATTRIBUTES_MAX_BYTES = 64 * 1024;
/** Images embedded per ONNX run (catalog embed, and a folder import). */
export const EMBED_BATCH = 16;

/** A bad value for a catalog field (HTTP 400). */
export class CatalogInputError extends Error {
  override name = 'CatalogInputError';
  readonly statusCode = 400;
  readonly code = 'bad_request';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** An id that names nothing (HTTP 404). */
export class UnknownIdError extends Error {
  override name = 'UnknownIdError';
  readonly statusCode = 404;
  readonly code = 'unknown_id';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ProductFields {
  id?: string;
  name?: string;
  style?: string | null;
  category?: string | null;
  attributes?: Record<string, unknown> | null;
  synthetic?: boolean;
  /** Where it came from (a file name as given); shown only, never opened again. */
  source?: string | null;
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Checks a product id; `field` names it in the error. */
export function checkProductId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || !PRODUCT_ID_PATTERN.test(id)) {
    throw new CatalogInputError(
      `${field}: ${JSON.stringify(id)} is not a valid product id; expected 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (no "/" or spaces)`,
      field,
    );
  }
  return id;
}

export function checkText(v: unknown, field: string, required: boolean): string | null {
  if (v === undefined || v === null || v === '') {
    if (required) throw new CatalogInputError(`${field} is required (a non-empty text)`, field);
    return null;
  }
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > TEXT_MAX) {
    throw new CatalogInputError(
      `${field} must be a text of 1-${TEXT_MAX} characters, got ${JSON.stringify(v)?.slice(0, 60)}`,
      field,
    );
  }
  return v.trim();
}

export function checkAttributes(v: unknown, field = 'attributes'): Record<string, unknown> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new CatalogInputError(
      `${field} must be a JSON object of garment attributes (e.g. {"카테고리":"블라우스"}), got ${Array.isArray(v) ? 'a list' : typeof v}`,
      field,
    );
  }
  if (JSON.stringify(v).length > ATTRIBUTES_MAX_BYTES) {
    throw new CatalogInputError(`${field} is larger than ${ATTRIBUTES_MAX_BYTES / 1024} KB of JSON`, field);
  }
  return v as Record<string, unknown>;
}

function toProduct(r: ProductRow, models: string[]): CatalogProduct {
  return {
    id: r.id,
    name: r.name,
    style: r.style,
    category: r.category,
    image: r.image_path,
    imageUrl: workspaceFileUrl(r.image_path),
    imageSha256: r.image_sha256,
    width: r.width,
    height: r.height,
    attributes: r.attributes ? (JSON.parse(r.attributes) as Record<string, unknown>) : null,
    synthetic: r.synthetic === 1,
    createdAt: r.created_at,
    embeddings: models,
  };
}

export class Catalog {
  readonly db: Db;
  /** The catalog's rows. */
  readonly store: CatalogStore;
  constructor(readonly ws: Workspace) {
    this.db = ws.db;
    this.store = new CatalogStore(ws.db);
  }

  /** Changes whenever a product or vector is added, changed or removed (by any process). */
  version(): number {
    return this.store.version();
  }

  count(): number {
    return this.store.count();
  }

  countWithVectors(model: string): number {
    return this.store.countWithVectors(model);
  }

  list(opts: { limit?: number; offset?: number } = {}): CatalogProduct[] {
    const rows = this.store.list(opts.limit ?? -1, opts.offset ?? 0);
    const models = this.store.modelsOf(rows.map((r) => r.id));
    return rows.map((r) => toProduct(r, models.get(r.id) ?? []));
  }

  get(id: string): CatalogProduct | null {
    const r = this.store.get(id);
    return r ? toProduct(r, this.store.modelsOf([id]).get(id) ?? []) : null;
  }

  /** Products by id, in the order asked; an unknown id is an UnknownIdError naming it. */
  require(ids: readonly string[], field = 'ids'): CatalogProduct[] {
    return ids.map((id, i) => {
      const p = this.get(id);
      if (!p)
        throw new UnknownIdError(`${field}[${i}]: no catalog product ${quoteShort(id)}`, `${field}[${i}]`);
      return p;
    });
  }

  /** Stores image bytes under their hash (written once; an existing file is left as is). */
  storeImage(bytes: Uint8Array | (() => Uint8Array), sha: string, ext: string): string {
    const rel = `${CATALOG_DIR}/${sha}.${ext}`;
    const abs = join(this.ws.root, rel);
    if (!existsSync(abs)) {
      mkdirSync(join(this.ws.root, CATALOG_DIR), { recursive: true });
      writeFileAtomic(abs, typeof bytes === 'function' ? bytes() : bytes);
    }
    return rel;
  }

  /** Deletes stored images that no product uses any more. */
  dropUnusedImages(paths: readonly string[]): void {
    for (const rel of new Set(paths)) {
      if (!this.store.imageInUse(rel)) rmSync(join(this.ws.root, rel), { force: true });
    }
  }

  putVectors(
    model: string,
    ids: readonly string[],
    vectors: Float32Array,
    shas: readonly (string | null)[] | null,
    source: 'onnx' | 'import',
  ): void {
    this.store.putVectors(model, ids, vectors, shas, source);
  }

  /** Ids and the [n × dim] matrix of every product with a `model` vector, in id order. */
  vectors(model: string): { ids: string[]; vectors: Float32Array; dim: number } {
    try {
      return this.store.vectors(model);
    } catch (e) {
      if (e instanceof CatalogStoreError) throw new CatalogInputError(e.message);
      throw e;
    }
  }

  /** One product's `model` vector, or null. */
  vector(model: string, id: string): Float32Array | null {
    return this.store.vector(model, id);
  }

  /**
   * Adds (or replaces) one product from image bytes. With `encoder`, its vector is computed now.
   * `what` names the image in errors (a path, or the upload's field and file name).
   */
  async add(
    bytes: Uint8Array,
    fields: ProductFields,
    opts: { encoder?: ImageEncoder | null; what?: string; imageField?: string } = {},
  ): Promise<{ product: CatalogProduct; created: boolean }> {
    const name = checkText(fields.name, 'name', true)!;
    const style = checkText(fields.style, 'style', false);
    const category = checkText(fields.category, 'category', false);
    const attributes = checkAttributes(fields.attributes);
    const img = await checkImage(bytes, opts.what ?? 'image', opts.imageField ?? 'image');
    const sha = sha256Hex(bytes);
    const id = fields.id === undefined ? `p-${sha.slice(0, 16)}` : checkProductId(fields.id);
    // Embed before writing anything: a model failure leaves the catalog as it was.
    const vector = opts.encoder ? await embedImageBytes(opts.encoder, [bytes]) : null;
    const rel = this.storeImage(bytes, sha, img.ext);
    const existing = this.store.imagePathOf(id);
    const now = new Date().toISOString();
    this.store.transaction(() => {
      this.upsertRow({
        id,
        name,
        style,
        category,
        rel,
        sha,
        width: img.width,
        height: img.height,
        attributes,
        synthetic: fields.synthetic ?? false,
        source: fields.source ?? null,
        now,
      });
      if (existing !== undefined && existing !== rel) this.store.removeVectorsOf(id);
      if (vector && opts.encoder) this.putVectors(opts.encoder.modelId, [id], vector, [sha], 'onnx');
    });
    if (existing !== undefined && existing !== rel) this.dropUnusedImages([existing]);
    return { product: this.get(id)!, created: existing === undefined };
  }

  upsertRow(r: {
    id: string;
    name: string;
    style: string | null;
    category: string | null;
    rel: string;
    sha: string;
    width: number;
    height: number;
    attributes: Record<string, unknown> | null;
    synthetic: boolean;
    source: string | null;
    now: string;
  }): void {
    this.store.upsert({ ...r, attributes: r.attributes ? JSON.stringify(r.attributes) : null });
  }

  /** Removes products (and their vectors, and images no other product uses). Unknown ids are an error, before anything is removed. */
  remove(ids: readonly string[]): string[] {
    const products = this.require(ids);
    this.store.transaction(() => {
      for (const p of products) this.store.remove(p.id);
    });
    this.dropUnusedImages(products.map((p) => p.image));
    return products.map((p) => p.id);
  }

  /** Computes the vectors `encoder` is missing for (products without one, or computed from an older image). */
  async embedMissing(encoder: ImageEncoder): Promise<number> {
    const rows = this.store.missingVectors(encoder.modelId);
    for (let i = 0; i < rows.length; i += EMBED_BATCH) {
      const chunk = rows.slice(i, i + EMBED_BATCH);
      const bytes = chunk.map(([, rel]) => readFileSync(this.safePath(rel)));
      const v = await embedImageBytes(encoder, bytes);
      this.putVectors(
        encoder.modelId,
        chunk.map((r) => r[0]),
        v,
        chunk.map((r) => r[2]),
        'onnx',
      );
    }
    return rows.length;
  }

  /** Absolute path of a stored catalog image, refusing anything that is not under catalog/. */
  safePath(rel: string): string {
    const abs = resolve(this.ws.root, rel);
    const r = relative(join(this.ws.root, CATALOG_DIR), abs);
    if (r.startsWith('..') || r === '' || resolve(abs) !== abs) {
      throw new CatalogInputError(`stored image path ${rel} is not inside ${CATALOG_DIR}/`);
    }
    return abs;
  }
}
