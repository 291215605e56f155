/**
 * Imports image embeddings computed elsewhere: an `.npy` [N, 512] matrix plus a JSON list of the N item
 * ids (`<style folder>/<label stem>/<part>`), which is how researchers bring the FashionCLIP vectors
 * they already computed in Python. Everything that would silently poison training is checked first,
 * and what was fixed on the way (dtype conversion, normalisation) is reported, never hidden:
 *   - shape [N, D] with D = 512, N = number of ids (errors);
 *   - dtype float32 as is, float64/float16 converted (reported);
 *   - every value finite (error naming how many rows are not);
 *   - unit L2 norm: rows off by more than 1e-3 are normalised (reported), zero rows are an error;
 *   - ids: duplicates are an error; ids the workspace does not know are counted, listed (first 10) and
 *     skipped, since a vector must belong to a scanned garment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEMO_MANIFEST } from '../dataset/synthetic/generate-demo.ts';
import { type EmbeddingSource, EmbeddingStore } from '../store/embedding-store.ts';
import { readNpy } from '../store/npy.ts';
import type { Workspace } from '../store/workspace.ts';
import { DEFAULT_IMAGE_MODEL } from './image-encoder/model-registry.ts';

export const IMPORT_DIM = 512;
const NORM_TOLERANCE = 1e-3;

export interface ImportEmbeddingsOptions {
  npy: string;
  ids: string;
  /** Id the vectors are stored under (default fashion-clip). */
  model?: string;
  /**
   * 'import' (default) or 'synthetic' for the demo's stand-in vectors. A file inside a demo dataset
   * folder (one with DEMO_MANIFEST.json) is always imported as synthetic, whatever is asked.
   */
  source?: Extract<EmbeddingSource, 'import' | 'synthetic'>;
}

export interface ImportReport {
  model: string;
  source: 'import' | 'synthetic';
  /** True for the demo's stand-in vectors: they are not FashionCLIP embeddings. */
  synthetic: boolean;
  file: string;
  idsFile: string;
  rows: number;
  dim: number;
  dtype: string;
  /** Set when the file was not float32, e.g. "float64 → float32". */
  converted: string | null;
  /** Rows whose L2 norm was off 1 by more than 1e-3 and were normalised. */
  normalised: number;
  unknownIds: { count: number; first: string[] };
  stored: number;
  notes: string[];
}

export class ImportEmbeddingsError extends Error {
  override name = 'ImportEmbeddingsError';
}

const DTYPE_NAMES: Record<string, string> = { f2: 'float16', f4: 'float32', f8: 'float64' };

function readIds(path: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ImportEmbeddingsError(
      `${path}: cannot read the ids (${e instanceof Error ? e.message : String(e)}); expected a JSON list of item ids like ["로맨틱/100026/상의", ...]`,
    );
  }
  const list = Array.isArray(raw)
    ? raw
    : typeof raw === 'object' && raw !== null && Array.isArray((raw as { ids?: unknown }).ids)
      ? (raw as { ids: unknown[] }).ids
      : null;
  if (!list) {
    throw new ImportEmbeddingsError(
      `${path}: expected a JSON list of item ids (or {"ids": [...]}), got ${typeof raw === 'object' ? (raw === null ? 'null' : 'an object without "ids"') : typeof raw}`,
    );
  }
  const bad = list.findIndex((x) => typeof x !== 'string' || x.length === 0);
  if (bad >= 0) {
    throw new ImportEmbeddingsError(
      `${path}: entry ${bad} is ${JSON.stringify(list[bad])}; every id must be a non-empty string "<style>/<label stem>/<part>"`,
    );
  }
  return list as string[];
}

export async function importEmbeddings(ws: Workspace, opts: ImportEmbeddingsOptions): Promise<ImportReport> {
  const file = resolve(opts.npy);
  const idsFile = resolve(opts.ids);
  // The demo's stand-in vectors must never pass for FashionCLIP ones, however they are imported.
  const fromDemo = existsSync(join(dirname(file), DEMO_MANIFEST));
  const source = fromDemo ? 'synthetic' : (opts.source ?? 'import');
  const model = opts.model ?? (fromDemo ? 'synthetic-demo' : DEFAULT_IMAGE_MODEL);
  const arr = await readNpy(file);
  const ids = readIds(idsFile);

  if (arr.shape.length !== 2) {
    throw new ImportEmbeddingsError(
      `${file}: shape [${arr.shape.join(', ')}] is not a matrix; expected [N, ${IMPORT_DIM}] (one row per item id)`,
    );
  }
  const [n, dim] = arr.shape as [number, number];
  if (dim !== IMPORT_DIM) {
    throw new ImportEmbeddingsError(
      `${file}: rows are ${dim}-d (shape [${n}, ${dim}]); expected ${IMPORT_DIM}-d FashionCLIP image embeddings`,
    );
  }
  if (n !== ids.length) {
    throw new ImportEmbeddingsError(
      `${file} has ${n} rows but ${idsFile} lists ${ids.length} ids; they must match one to one, in order`,
    );
  }
  const seen = new Map<string, number>();
  const dups: string[] = [];
  ids.forEach((id, i) => {
    const first = seen.get(id);
    if (first !== undefined) dups.push(`${id} (entries ${first} and ${i})`);
    else seen.set(id, i);
  });
  if (dups.length > 0) {
    throw new ImportEmbeddingsError(
      `${idsFile}: ${dups.length} duplicate ids, e.g. ${dups.slice(0, 5).join(', ')}; each item may have one vector`,
    );
  }

  const data = arr.data;
  const nonFinite: number[] = [];
  const zero: number[] = [];
  let normalised = 0;
  for (let r = 0; r < n; r++) {
    const row = data.subarray(r * dim, (r + 1) * dim);
    let s = 0;
    let finite = true;
    for (let i = 0; i < dim; i++) {
      const v = row[i]!;
      if (!Number.isFinite(v)) finite = false;
      s += v * v;
    }
    if (!finite) {
      nonFinite.push(r);
      continue;
    }
    const norm = Math.sqrt(s);
    if (norm === 0) {
      zero.push(r);
      continue;
    }
    if (Math.abs(norm - 1) > NORM_TOLERANCE) {
      for (let i = 0; i < dim; i++) row[i]! /= norm;
      normalised++;
    }
  }
  const rowsText = (rows: number[]) =>
    rows
      .slice(0, 5)
      .map((r) => `${r} (${ids[r]})`)
      .join(', ');
  if (nonFinite.length > 0) {
    throw new ImportEmbeddingsError(
      `${file}: ${nonFinite.length} of ${n} rows hold NaN or infinite values, e.g. rows ${rowsText(nonFinite)}; fix or drop them before importing`,
    );
  }
  if (zero.length > 0) {
    throw new ImportEmbeddingsError(
      `${file}: ${zero.length} of ${n} rows are all zeros (cannot be normalised), e.g. rows ${rowsText(zero)}`,
    );
  }

  const exists = ws.db.prepare('SELECT 1 FROM items WHERE id = ?').pluck();
  const knownIds: string[] = [];
  const knownRows: number[] = [];
  const unknown: string[] = [];
  ids.forEach((id, r) => {
    if (exists.get(id)) {
      knownIds.push(id);
      knownRows.push(r);
    } else unknown.push(id);
  });
  const vectors = unknown.length === 0 ? data : new Float32Array(knownRows.length * dim);
  if (unknown.length > 0) {
    knownRows.forEach((r, k) => {
      vectors.set(data.subarray(r * dim, (r + 1) * dim), k * dim);
    });
  }

  const kind = /^[<>|=]?(f[248])$/.exec(arr.dtype)?.[1] ?? arr.dtype;
  const dtypeName = DTYPE_NAMES[kind] ?? arr.dtype;
  const converted = dtypeName === 'float32' ? null : `${dtypeName} → float32`;
  const store = new EmbeddingStore(ws.db);
  const existing = store.models().find((m) => m.model === model);
  if (existing && existing.source !== source) {
    throw new ImportEmbeddingsError(
      `This workspace already has "${model}" embeddings of source ${existing.source} (${existing.count} vectors); importing ${source} vectors under the same id would mix them. Use another id (--model NEW_ID).`,
    );
  }
  store.defineModel(model, dim, source, {
    file,
    idsFile,
    dtype: arr.dtype,
    normalised,
    ...(source === 'synthetic'
      ? { note: 'SYNTHETIC stand-in vectors from the demo generator, not FashionCLIP' }
      : {}),
  });
  store.put(model, knownIds, vectors);

  const notes: string[] = [];
  if (source === 'synthetic') {
    const why = fromDemo && opts.source !== 'synthetic' ? ` (${DEMO_MANIFEST} is beside ${file})` : '';
    notes.push(
      `SYNTHETIC: these are the demo generator's stand-in vectors, not FashionCLIP embeddings${why}.`,
    );
  }
  if (converted) notes.push(`The file holds ${dtypeName}; converted to float32.`);
  if (normalised > 0) {
    notes.push(
      `${normalised} of ${n} rows were not unit-length (off by more than ${NORM_TOLERANCE}) and were L2-normalised.`,
    );
  }
  if (unknown.length > 0) {
    notes.push(
      `${unknown.length} ids are not garments of this workspace and were skipped, e.g. ${unknown.slice(0, 10).join(', ')}.`,
    );
  }
  return {
    model,
    source,
    synthetic: source === 'synthetic',
    file,
    idsFile,
    rows: n,
    dim,
    dtype: arr.dtype,
    converted,
    normalised,
    unknownIds: { count: unknown.length, first: unknown.slice(0, 10) },
    stored: knownIds.length,
    notes,
  };
}
