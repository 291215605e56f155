/**
 * The catalog of new products a shop may recommend: id, name, style, category, an image copied into
 * the workspace under its content hash (`catalog/<sha256>.<ext>`, so one picture is stored once however
 * many products use it and an import recognises what it already has), optional attribute JSON, and
 * the image's vector per image-encoder model (computed on insert with the workspace encoder, or
 * imported from an .npy).
 *
 * Importing a folder is idempotent: a product is identified by its id (given in the folder's
 * catalog.json, else derived from the image's hash); one whose image and fields are unchanged and
 * whose vector exists is left alone, so importing the same folder twice changes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Statement } from 'better-sqlite3';
import {
  type CatalogImportReport,
  type CatalogProduct,
  workspaceFileUrl,
} from '../../src-shared/recommend.ts';
import { quoteShort } from '../../src-shared/short-text.ts';
import type { ImageEncoder } from '../encoders/image-encoder/onnx-image-encoder.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import type { Db } from '../store/database.ts';
import { readNpy } from '../store/npy.ts';
import type { Workspace } from '../store/workspace.ts';
import { checkImage, embedImageBytes, IMAGE_FILE_PATTERN, ImageInputError } from './image-input.ts';

export const CATALOG_DIR = 'catalog';
/** Manifest an import folder may hold (else every image in it, or in its style sub-folders, is a product). */
export const CATALOG_MANIFEST = 'catalog.json';
export const PRODUCT_ID_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,127}$/u;
const TEXT_MAX = 200;
const ATTRIBUTES_MAX_BYTES = 64 * 1024;
/** Images embedded per ONNX run during an import. */
const EMBED_BATCH = 16;
/** Products whose rows are committed in one transaction during an import. */
const WRITE_BATCH = 500;

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

interface ProductRow {
  id: string;
  name: string;
  style: string | null;
  category: string | null;
  image_path: string;
  image_sha256: string;
  width: number;
  height: number;
  attributes: string | null;
  synthetic: number;
  source: string | null;
  created_at: string;
  updated_at: string;
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

function checkText(v: unknown, field: string, required: boolean): string | null {
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

const blobOf = (row: Float32Array) => Buffer.from(row.buffer, row.byteOffset, row.byteLength);

export class Catalog {
  readonly db: Db;
  private readonly statements = new Map<string, Statement>();
  constructor(readonly ws: Workspace) {
    this.db = ws.db;
  }

  /** A prepared statement, compiled once per catalog (an import of 10,000 products runs each many times). */
  private q(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Changes whenever a product or vector is added, changed or removed (by any process). */
  version(): number {
    return this.q('SELECT version FROM catalog_state WHERE id = 1').pluck().get() as number;
  }

  count(): number {
    return this.q('SELECT COUNT(*) FROM catalog_products').pluck().get() as number;
  }

  countWithVectors(model: string): number {
    return this.q('SELECT COUNT(*) FROM catalog_embeddings WHERE model = ?').pluck().get(model) as number;
  }

  private modelsOf(ids: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    if (ids.length <= 20) {
      const stmt = this.q('SELECT model FROM catalog_embeddings WHERE product_id = ? ORDER BY model').pluck();
      for (const id of ids) out.set(id, stmt.all(id) as string[]);
      return out;
    }
    // A long page: one pass over the table beats a query per product.
    const rows = this.q('SELECT product_id, model FROM catalog_embeddings ORDER BY product_id, model')
      .raw()
      .all() as [string, string][];
    for (const [id, model] of rows) {
      const list = out.get(id);
      if (list) list.push(model);
      else out.set(id, [model]);
    }
    return out;
  }

  list(opts: { limit?: number; offset?: number } = {}): CatalogProduct[] {
    const rows = this.db
      .prepare('SELECT * FROM catalog_products ORDER BY created_at, id LIMIT ? OFFSET ?')
      .all(opts.limit ?? -1, opts.offset ?? 0) as ProductRow[];
    const models = this.modelsOf(rows.map((r) => r.id));
    return rows.map((r) => toProduct(r, models.get(r.id) ?? []));
  }

  get(id: string): CatalogProduct | null {
    const r = this.q('SELECT * FROM catalog_products WHERE id = ?').get(id) as ProductRow | undefined;
    return r ? toProduct(r, this.modelsOf([id]).get(id) ?? []) : null;
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
  private storeImage(bytes: Uint8Array | (() => Uint8Array), sha: string, ext: string): string {
    const rel = `${CATALOG_DIR}/${sha}.${ext}`;
    const abs = join(this.ws.root, rel);
    if (!existsSync(abs)) {
      mkdirSync(join(this.ws.root, CATALOG_DIR), { recursive: true });
      writeFileAtomic(abs, typeof bytes === 'function' ? bytes() : bytes);
    }
    return rel;
  }

  /** Deletes stored images that no product uses any more. */
  private dropUnusedImages(paths: readonly string[]): void {
    const used = this.q('SELECT 1 FROM catalog_products WHERE image_path = ? LIMIT 1').pluck();
    for (const rel of new Set(paths)) {
      if (!used.get(rel)) rmSync(join(this.ws.root, rel), { force: true });
    }
  }

  putVectors(
    model: string,
    ids: readonly string[],
    vectors: Float32Array,
    shas: readonly (string | null)[] | null,
    source: 'onnx' | 'import',
  ): void {
    const dim = vectors.length / Math.max(1, ids.length);
    const ins = this.q(
      `INSERT INTO catalog_embeddings (model, product_id, image_sha256, source, vector) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(model, product_id) DO UPDATE SET image_sha256 = excluded.image_sha256, source = excluded.source, vector = excluded.vector`,
    );
    this.db.transaction(() => {
      for (const [i, id] of ids.entries()) {
        ins.run(model, id, shas?.[i] ?? null, source, blobOf(vectors.subarray(i * dim, (i + 1) * dim)));
      }
    })();
  }

  /** Ids and the [n × dim] matrix of every product with a `model` vector, in id order. */
  vectors(model: string): { ids: string[]; vectors: Float32Array; dim: number } {
    const rows = this.db
      .prepare('SELECT product_id, vector FROM catalog_embeddings WHERE model = ? ORDER BY product_id')
      .raw()
      .all(model) as [string, Buffer][];
    const dim = rows.length > 0 ? rows[0]![1].byteLength / 4 : 512;
    const out = new Float32Array(rows.length * dim);
    rows.forEach(([id, blob], i) => {
      if (blob.byteLength !== dim * 4) {
        throw new CatalogInputError(
          `catalog vector of ${id} for "${model}" has ${blob.byteLength / 4} floats, expected ${dim}`,
        );
      }
      // Byte copy: SQLite blobs are not 4-byte aligned.
      new Uint8Array(out.buffer, i * dim * 4, dim * 4).set(blob);
    });
    return { ids: rows.map((r) => r[0]), vectors: out, dim };
  }

  /** One product's `model` vector, or null. */
  vector(model: string, id: string): Float32Array | null {
    const blob = this.q('SELECT vector FROM catalog_embeddings WHERE model = ? AND product_id = ?')
      .pluck()
      .get(model, id) as Buffer | undefined;
    if (!blob) return null;
    const v = new Float32Array(blob.byteLength / 4);
    new Uint8Array(v.buffer).set(blob);
    return v;
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
    const existing = this.q('SELECT image_path FROM catalog_products WHERE id = ?').pluck().get(id) as
      | string
      | undefined;
    const now = new Date().toISOString();
    this.db.transaction(() => {
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
      if (existing !== undefined && existing !== rel)
        this.q('DELETE FROM catalog_embeddings WHERE product_id = ?').run(id);
      if (vector && opts.encoder) this.putVectors(opts.encoder.modelId, [id], vector, [sha], 'onnx');
    })();
    if (existing !== undefined && existing !== rel) this.dropUnusedImages([existing]);
    return { product: this.get(id)!, created: existing === undefined };
  }

  private upsertRow(r: {
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
    this.db
      .prepare(
        `INSERT INTO catalog_products (id, name, style, category, image_path, image_sha256, width, height, attributes, synthetic, source, created_at, updated_at)
         VALUES (@id, @name, @style, @category, @rel, @sha, @width, @height, @attributes, @synthetic, @source, @now, @now)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, style = excluded.style, category = excluded.category,
           image_path = excluded.image_path, image_sha256 = excluded.image_sha256, width = excluded.width,
           height = excluded.height, attributes = excluded.attributes, synthetic = excluded.synthetic,
           source = excluded.source, updated_at = excluded.updated_at`,
      )
      .run({
        ...r,
        attributes: r.attributes ? JSON.stringify(r.attributes) : null,
        synthetic: r.synthetic ? 1 : 0,
      });
  }

  /** Removes products (and their vectors, and images no other product uses). Unknown ids are an error, before anything is removed. */
  remove(ids: readonly string[]): string[] {
    const products = this.require(ids);
    this.db.transaction(() => {
      for (const p of products) this.q('DELETE FROM catalog_products WHERE id = ?').run(p.id);
    })();
    this.dropUnusedImages(products.map((p) => p.image));
    return products.map((p) => p.id);
  }

  /** Computes the vectors `encoder` is missing for (products without one, or computed from an older image). */
  async embedMissing(encoder: ImageEncoder): Promise<number> {
    const rows = this.db
      .prepare(
        `SELECT p.id, p.image_path, p.image_sha256 FROM catalog_products p
         LEFT JOIN catalog_embeddings e ON e.product_id = p.id AND e.model = ?
         WHERE e.product_id IS NULL OR (e.source = 'onnx' AND e.image_sha256 <> p.image_sha256) ORDER BY p.id`,
      )
      .raw()
      .all(encoder.modelId) as [string, string, string][];
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

  /**
   * Imports a folder of product images: with a catalog.json (a list of {file, id?, name?, style?,
   * category?, attributes?}, or {synthetic?, products: [...]}) the listed files, else every image in
   * the folder and in its sub-folders one level down (the sub-folder's name is the style). Vectors are
   * computed with `encoder`, or read from `embeddings` (.npy [N, dim] + JSON list of the N product ids).
   */
  async importFolder(
    dir: string,
    opts: {
      encoder?: ImageEncoder | null;
      embeddings?: { npy: string; ids: string; model: string };
      synthetic?: boolean;
      onProgress?: (done: number, total: number) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<CatalogImportReport> {
    const t0 = performance.now();
    const folder = resolve(dir);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      throw new CatalogInputError(
        `${folder}: no such folder (expected a folder of product images, optionally with ${CATALOG_MANIFEST})`,
        'dir',
      );
    }
    const { entries, synthetic } = readImportEntries(folder, opts.synthetic);
    const report: CatalogImportReport = {
      folder,
      added: [],
      updated: [],
      unchanged: [],
      skipped: [],
      embedded: 0,
      importedVectors: 0,
      model: opts.embeddings?.model ?? opts.encoder?.modelId ?? null,
      synthetic,
      elapsedMs: 0,
      timestamp: new Date().toISOString(),
    };
    const imported = opts.embeddings ? await readImportedVectors(opts.embeddings) : null;
    const model = report.model;
    const existingRow = this.q('SELECT * FROM catalog_products WHERE id = ?');
    const vectorRow = this.q(
      'SELECT image_sha256, source FROM catalog_embeddings WHERE model = ? AND product_id = ?',
    );
    const seenIds = new Set<string>();
    // Read and check files in batches; images are shared between products by hash.
    const toEmbed: { id: string; bytes: Uint8Array; sha: string }[] = [];
    // Row writes are queued and committed in one transaction per WRITE_BATCH products: one
    // transaction per product would make a 10,000-product import spend its time in commits.
    const pending: (() => void)[] = [];
    const dropLater: string[] = [];
    const commit = () => {
      if (pending.length === 0) return;
      const batch = pending.splice(0, pending.length);
      this.db.transaction(() => {
        for (const w of batch) w();
      })();
    };
    const flush = async () => {
      commit();
      if (!opts.encoder || toEmbed.length === 0) return;
      const batch = toEmbed.splice(0, toEmbed.length);
      const v = await embedImageBytes(
        opts.encoder,
        batch.map((b) => b.bytes),
      );
      this.putVectors(
        opts.encoder.modelId,
        batch.map((b) => b.id),
        v,
        batch.map((b) => b.sha),
        'onnx',
      );
      report.embedded += batch.length;
    };
    // Files already checked (a picture several products share is read and checked once). The bytes
    // are not kept: a 10,000-picture folder must not sit in memory.
    const checked = new Map<string, { sha: string; ext: string; width: number; height: number }>();
    let done = 0;
    for (const e of entries) {
      if (opts.signal?.aborted) break;
      done++;
      opts.onProgress?.(done, entries.length);
      const abs = join(folder, e.file);
      let img = checked.get(abs);
      let bytes: Uint8Array | null = null;
      const bytesOf = (): Uint8Array => {
        bytes ??= readFileSync(abs);
        return bytes;
      };
      if (!img) {
        try {
          bytes = readFileSync(abs);
        } catch (err) {
          report.skipped.push({
            file: e.file,
            reason: `cannot read: ${err instanceof Error ? err.message : String(err)}`,
          });
          continue;
        }
        try {
          const c = await checkImage(bytes, abs);
          img = { sha: sha256Hex(bytes), ext: c.ext, width: c.width, height: c.height };
          checked.set(abs, img);
        } catch (err) {
          if (!(err instanceof ImageInputError)) throw err;
          report.skipped.push({ file: e.file, reason: err.message });
          continue;
        }
      }
      let id: string;
      let name: string;
      let style: string | null;
      let category: string | null;
      let attributes: Record<string, unknown> | null;
      try {
        id =
          e.id === undefined
            ? `p-${img.sha.slice(0, 16)}`
            : checkProductId(e.id, `${CATALOG_MANIFEST} "${e.file}" id`);
        name = checkText(e.name ?? basename(e.file).replace(/\.[^.]+$/, ''), `${e.file}: name`, true)!;
        style = checkText(e.style, `${e.file}: style`, false);
        category = checkText(e.category, `${e.file}: category`, false);
        attributes = checkAttributes(e.attributes, `${e.file}: attributes`);
      } catch (err) {
        if (!(err instanceof CatalogInputError)) throw err;
        report.skipped.push({ file: e.file, reason: err.message });
        continue;
      }
      if (seenIds.has(id)) {
        report.skipped.push({
          file: e.file,
          reason: `product id ${id} appears twice in this folder (same image, or the same id in ${CATALOG_MANIFEST})`,
        });
        continue;
      }
      seenIds.add(id);
      const rel = `${CATALOG_DIR}/${img.sha}.${img.ext}`;
      const old = existingRow.get(id) as ProductRow | undefined;
      const same =
        old !== undefined &&
        old.image_sha256 === img.sha &&
        old.name === name &&
        old.style === style &&
        old.category === category &&
        (old.attributes ?? null) === (attributes ? JSON.stringify(attributes) : null) &&
        (old.synthetic === 1) === synthetic;
      if (!same) {
        this.storeImage(bytesOf, img.sha, img.ext);
        const row = {
          id,
          name,
          style,
          category,
          rel,
          sha: img.sha,
          width: img.width,
          height: img.height,
          attributes,
          synthetic,
          source: e.file,
          now: new Date().toISOString(),
        };
        pending.push(() => {
          this.upsertRow(row);
          if (old && old.image_sha256 !== row.sha)
            this.q('DELETE FROM catalog_embeddings WHERE product_id = ?').run(row.id);
        });
        if (old && old.image_path !== rel) dropLater.push(old.image_path);
        (old ? report.updated : report.added).push(id);
      } else report.unchanged.push(id);
      // The vector: imported, or computed unless one from this very image exists.
      if (model) {
        const have = vectorRow.get(model, id) as { image_sha256: string | null; source: string } | undefined;
        if (imported) {
          const row = imported.rowOf.get(id);
          if (row !== undefined) {
            const v = imported.data.subarray(row * imported.dim, (row + 1) * imported.dim);
            const stored = have ? this.vector(model, id) : null;
            if (!stored || !sameVector(stored, v)) {
              pending.push(() => this.putVectors(model, [id], v, null, 'import'));
              report.importedVectors++;
              if (same) {
                report.unchanged.pop();
                report.updated.push(id);
              }
            }
          }
        } else if (opts.encoder && (!have || (have.source === 'onnx' && have.image_sha256 !== img.sha))) {
          toEmbed.push({ id, bytes: bytesOf(), sha: img.sha });
          if (toEmbed.length >= EMBED_BATCH) await flush();
        }
      }
      if (pending.length >= WRITE_BATCH) commit();
    }
    await flush();
    this.dropUnusedImages(dropLater);
    report.elapsedMs = Math.round(performance.now() - t0);
    return report;
  }
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 1e-7) return false;
  return true;
}

interface ImportEntry {
  file: string;
  id?: string;
  name?: string;
  style?: string | null;
  category?: string | null;
  attributes?: Record<string, unknown> | null;
}

function readImportEntries(
  folder: string,
  syntheticFlag?: boolean,
): { entries: ImportEntry[]; synthetic: boolean } {
  const manifestPath = join(folder, CATALOG_MANIFEST);
  if (existsSync(manifestPath)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (e) {
      throw new CatalogInputError(
        `${manifestPath}: ${e instanceof SyntaxError ? 'not valid JSON' : `cannot be read (${e instanceof Error ? e.message : String(e)})`}; expected a list of products [{"file": "a.jpg", "name": ...}]`,
        CATALOG_MANIFEST,
      );
    }
    const obj = Array.isArray(raw) ? { products: raw } : (raw as { products?: unknown; synthetic?: unknown });
    if (typeof obj !== 'object' || obj === null || !Array.isArray(obj.products)) {
      throw new CatalogInputError(
        `${manifestPath}: expected a list of products [{"file": "a.jpg", "name": ...}] or {"products": [...]}`,
        CATALOG_MANIFEST,
      );
    }
    const entries = obj.products.map((p, i): ImportEntry => {
      if (typeof p !== 'object' || p === null || typeof (p as { file?: unknown }).file !== 'string') {
        throw new CatalogInputError(
          `${manifestPath}: products[${i}] must be an object with a "file" (the image's path inside the folder)`,
          `products[${i}].file`,
        );
      }
      const e = p as ImportEntry;
      const abs = resolve(folder, e.file);
      const rel = relative(folder, abs);
      if (rel.startsWith('..') || resolve(folder, rel) !== abs || rel === '') {
        throw new CatalogInputError(
          `${manifestPath}: products[${i}].file "${e.file}" points outside the folder; files must be inside ${folder}`,
          `products[${i}].file`,
        );
      }
      return { ...e, file: rel };
    });
    return { entries, synthetic: syntheticFlag ?? obj.synthetic === true };
  }
  const entries: ImportEntry[] = [];
  for (const name of readdirSync(folder).sort()) {
    const abs = join(folder, name);
    const st = statSync(abs);
    if (st.isFile() && IMAGE_FILE_PATTERN.test(name)) entries.push({ file: name });
    else if (st.isDirectory()) {
      for (const inner of readdirSync(abs).sort()) {
        if (IMAGE_FILE_PATTERN.test(inner) && statSync(join(abs, inner)).isFile()) {
          entries.push({ file: `${name}/${inner}`, style: name });
        }
      }
    }
  }
  return { entries, synthetic: syntheticFlag ?? false };
}

async function readImportedVectors(e: {
  npy: string;
  ids: string;
}): Promise<{ data: Float32Array; dim: number; rowOf: Map<string, number> }> {
  const arr = await readNpy(resolve(e.npy));
  if (arr.shape.length !== 2) {
    throw new CatalogInputError(
      `${e.npy}: shape [${arr.shape.join(', ')}] is not a matrix [N, dim]`,
      'embeddings',
    );
  }
  const [n, dim] = arr.shape as [number, number];
  let ids: unknown;
  try {
    ids = JSON.parse(readFileSync(resolve(e.ids), 'utf8'));
  } catch (err) {
    throw new CatalogInputError(
      `${e.ids}: cannot read the product ids (${
        // JSON.parse's message would quote the file's text; the path may be any file of the server.
        err instanceof SyntaxError ? 'not valid JSON' : err instanceof Error ? err.message : String(err)
      }); expected a JSON list of product ids`,
      'ids',
    );
  }
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) {
    throw new CatalogInputError(`${e.ids}: expected a JSON list of product ids (strings)`, 'ids');
  }
  if (ids.length !== n) {
    throw new CatalogInputError(
      `${e.npy} has ${n} rows but ${e.ids} lists ${ids.length} ids; they must match one to one`,
      'ids',
    );
  }
  const rowOf = new Map<string, number>();
  (ids as string[]).forEach((id, i) => {
    if (rowOf.has(id))
      throw new CatalogInputError(
        `${e.ids}: product id ${id} is listed twice (entries ${rowOf.get(id)} and ${i})`,
        'ids',
      );
    rowOf.set(id, i);
  });
  for (let r = 0; r < n; r++) {
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      if (!Number.isFinite(arr.data[i]!))
        throw new CatalogInputError(
          `${e.npy}: row ${r} (${(ids as string[])[r]}) holds NaN or infinite values`,
          'embeddings',
        );
    }
  }
  for (let r = 0; r < n; r++) {
    const row = arr.data.subarray(r * dim, (r + 1) * dim);
    let s = 0;
    for (const x of row) s += x * x;
    if (s === 0)
      throw new CatalogInputError(`${e.npy}: row ${r} (${(ids as string[])[r]}) is all zeros`, 'embeddings');
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dim; i++) row[i]! *= inv;
  }
  return { data: arr.data, dim, rowOf };
}
