/**
 * Importing a folder of product images into the catalog: with a catalog.json the listed files, else
 * every image in the folder and in its style sub-folders; vectors computed with the workspace encoder
 * or read from an .npy.
 *
 * Importing is idempotent: a product is identified by its id (given in the folder's catalog.json,
 * else derived from the image's hash); one whose image and fields are unchanged and whose vector
 * exists is left alone, so importing the same folder twice changes nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { CatalogImportReport } from '../../src-shared/recommend.ts';
import type { ImageEncoder } from '../encoders/image-encoder/onnx-image-encoder.ts';
import { readNpy } from '../store/npy.ts';
import {
  CATALOG_DIR,
  type Catalog,
  CatalogInputError,
  checkAttributes,
  checkProductId,
  checkText,
  EMBED_BATCH,
  sha256Hex,
} from './catalog.ts';
import { checkImage, embedImageBytes, IMAGE_FILE_PATTERN, ImageInputError } from './image-input.ts';

/** Manifest an import folder may hold (else every image in it, or in its style sub-folders, is a product). */
export const CATALOG_MANIFEST = 'catalog.json';
/** Products whose rows are committed in one transaction during an import. */
const WRITE_BATCH = 500;

/**
 * Imports a folder of product images: with a catalog.json (a list of {file, id?, name?, style?,
 * category?, attributes?}, or {synthetic?, products: [...]}) the listed files, else every image in
 * the folder and in its sub-folders one level down (the sub-folder's name is the style). Vectors are
 * computed with `encoder`, or read from `embeddings` (.npy [N, dim] + JSON list of the N product ids).
 */
export async function importCatalogFolder(
  catalog: Catalog,
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
  const store = catalog.store;
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
    store.transaction(() => {
      for (const w of batch) w();
    });
  };
  const flush = async () => {
    commit();
    if (!opts.encoder || toEmbed.length === 0) return;
    const batch = toEmbed.splice(0, toEmbed.length);
    const v = await embedImageBytes(
      opts.encoder,
      batch.map((b) => b.bytes),
    );
    catalog.putVectors(
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
    const old = store.get(id);
    const same =
      old !== undefined &&
      old.image_sha256 === img.sha &&
      old.name === name &&
      old.style === style &&
      old.category === category &&
      (old.attributes ?? null) === (attributes ? JSON.stringify(attributes) : null) &&
      (old.synthetic === 1) === synthetic;
    if (!same) {
      catalog.storeImage(bytesOf, img.sha, img.ext);
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
        catalog.upsertRow(row);
        if (old && old.image_sha256 !== row.sha) store.removeVectorsOf(row.id);
      });
      if (old && old.image_path !== rel) dropLater.push(old.image_path);
      (old ? report.updated : report.added).push(id);
    } else report.unchanged.push(id);
    // The vector: imported, or computed unless one from this very image exists.
    if (model) {
      const have = store.vectorOrigin(model, id);
      if (imported) {
        const row = imported.rowOf.get(id);
        if (row !== undefined) {
          const v = imported.data.subarray(row * imported.dim, (row + 1) * imported.dim);
          const stored = have ? catalog.vector(model, id) : null;
          if (!stored || !sameVector(stored, v)) {
            pending.push(() => catalog.putVectors(model, [id], v, null, 'import'));
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
  catalog.dropUnusedImages(dropLater);
  report.elapsedMs = Math.round(performance.now() - t0);
  return report;
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
