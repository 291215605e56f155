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
import { CancelledError, type ProgressFn } from '../../src-shared/jobs.ts';
import { DEMO_MANIFEST } from '../dataset/synthetic/generate-demo.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { type EmbeddingSource, EmbeddingStore } from '../store/embedding-store.ts';
import { NpyRowReader } from '../store/npy.ts';
import type { Workspace } from '../store/workspace.ts';
import { DEFAULT_IMAGE_MODEL } from './image-encoder/model-registry.ts';

export const IMPORT_DIM = 512;
const NORM_TOLERANCE = 1e-3;
/** Rows read per block: 16,384 × 512 float32 = 32 MB, small next to the file, large for SQLite. */
const IMPORT_BLOCK_ROWS = 16_384;

/** L2 norm of row `r`; NaN or Infinity when the row holds a non-finite value. */
function rowNorm(block: Float32Array, r: number, dim: number): number {
  let s = 0;
  for (let i = r * dim, end = i + dim; i < end; i++) s += block[i]! * block[i]!;
  return Math.sqrt(s);
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError('import cancelled; the blocks already stored are kept');
}

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
  signal?: AbortSignal;
  /** Rows read and stored per block (default 16,384); small values let tests cross block edges. */
  blockRows?: number;
  /** Phases 'check' (every row validated) then 'store', in rows of the file. */
  onProgress?: ProgressFn;
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
      `${path}: cannot read the ids (${
        // A JSON.parse message quotes the text around the fault; the file may be any file of the
        // server, so only "not valid JSON" is said. Read errors name the path, never the content.
        e instanceof SyntaxError ? 'not valid JSON' : e instanceof Error ? e.message : String(e)
      }); expected a JSON list of item ids like ["로맨틱/100026/상의", ...]`,
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
      `${path}: entry ${bad} is ${typeof list[bad] === 'string' ? 'an empty string' : list[bad] === null ? 'null' : typeof list[bad]}; every id must be a non-empty string "<style>/<label stem>/<part>"`,
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
  const reader = NpyRowReader.open(file);
  try {
    const ids = readIds(idsFile);
    const { shape, dtype } = reader.header;
    if (shape.length !== 2) {
      throw new ImportEmbeddingsError(
        `${file}: shape [${shape.join(', ')}] is not a matrix; expected [N, ${IMPORT_DIM}] (one row per item id)`,
      );
    }
    const [n, dim] = shape as [number, number];
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

    // Two passes over the file, a block of rows at a time, so a 1.2M-row file (2.4 GB) never has to
    // fit in memory: the first checks every row (nothing is stored if one is bad), the second
    // normalises and stores, committing block by block.
    const blockRows = Math.max(1, Math.floor(opts.blockRows ?? IMPORT_BLOCK_ROWS));
    const signal = opts.signal;
    const progress = opts.onProgress;
    const nonFinite: number[] = [];
    const zero: number[] = [];
    let normalised = 0;
    for (let start = 0; start < n; start += blockRows) {
      // Between blocks, let Ctrl-C (and a UI's cancel) through: the loop itself is synchronous.
      await new Promise<void>((r) => setImmediate(r));
      throwIfCancelled(signal);
      const block = reader.readRows(start, blockRows);
      const rows = block.length / dim;
      for (let r = 0; r < rows; r++) {
        const norm = rowNorm(block, r, dim);
        if (!Number.isFinite(norm)) nonFinite.push(start + r);
        else if (norm === 0) zero.push(start + r);
        else if (Math.abs(norm - 1) > NORM_TOLERANCE) normalised++;
      }
      progress?.('check', start + rows, n);
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

    const kind = /^[<>|=]?(f[248])$/.exec(dtype)?.[1] ?? dtype;
    const dtypeName = DTYPE_NAMES[kind] ?? dtype;
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
      dtype,
      normalised,
      ...(source === 'synthetic'
        ? { note: 'SYNTHETIC stand-in vectors from the demo generator, not FashionCLIP' }
        : {}),
    });

    const dataset = new DatasetStore(ws.db);
    const unknown: string[] = [];
    let stored = 0;
    for (let start = 0; start < n; start += blockRows) {
      // Between blocks, let Ctrl-C (and a UI's cancel) through: the loop itself is synchronous.
      await new Promise<void>((r) => setImmediate(r));
      throwIfCancelled(signal);
      const block = reader.readRows(start, blockRows);
      const rows = block.length / dim;
      const keepIds: string[] = [];
      const keep = new Float32Array(block.length);
      for (let r = 0; r < rows; r++) {
        const id = ids[start + r]!;
        if (!dataset.hasItem(id)) {
          unknown.push(id);
          continue;
        }
        const row = block.subarray(r * dim, (r + 1) * dim);
        const norm = rowNorm(block, r, dim);
        if (Math.abs(norm - 1) > NORM_TOLERANCE) for (let i = 0; i < dim; i++) row[i]! /= norm;
        keep.set(row, keepIds.length * dim);
        keepIds.push(id);
      }
      store.put(model, keepIds, keep.subarray(0, keepIds.length * dim));
      stored += keepIds.length;
      progress?.('store', start + rows, n, { stored });
    }
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
      dtype,
      converted,
      normalised,
      unknownIds: { count: unknown.length, first: unknown.slice(0, 10) },
      stored,
      notes,
    };
  } finally {
    reader.close();
  }
}
