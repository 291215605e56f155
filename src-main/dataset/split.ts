/**
 * The train/validation split, stored on each image row; every later step reads it from there.
 *
 * Seeded (default): per style folder, groups are ordered by a seeded hash and taken into validation
 * until 20 % of that folder's images are reached. A group is one shop look (`PREFIX_NNN_*` shots) or a
 * single image, so near-duplicate shots never straddle the split, and all garments of an image follow
 * their image. The result depends only on the seed and the set of images, not on scan order, so a
 * re-scan of the same data gives the same split.
 *
 * From a file: `{"val": ["<label stem>", ...]}`; every other image is train. Kept in the workspace and
 * re-applied by later scans until another split is asked for.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { SplitSummary } from '../../src-shared/dataset.ts';
import { type Db, getMeta, setMeta } from '../store/database.ts';
import { SplitStore } from '../store/split-store.ts';
import { normalizeName } from './normalize.ts';
import { hashSeed } from './rng.ts';

export const DEFAULT_SPLIT_SEED = 42;
export const DEFAULT_VAL_RATIO = 0.2;

interface StoredSplit {
  method: 'seeded' | 'file';
  seed?: number;
  file?: string;
  valRatio?: number;
}

export class SplitFileError extends Error {
  override name = 'SplitFileError';
}

/**
 * Applies a split: from `file` when given; else the stored file split when one exists and no seed is
 * asked for; else the seeded split (seed from options, then the stored one, then 42).
 */
export function applySplit(
  db: Db,
  opts: { file?: string; stems?: string[]; seed?: number; valRatio?: number } = {},
): SplitSummary {
  const stored = getMeta<StoredSplit>(db, 'split');
  if (opts.file !== undefined) {
    const stems = opts.stems ?? readSplitFile(opts.file);
    new SplitStore(db).replaceValStems(stems);
    const file = resolve(opts.file);
    setMeta(db, 'split', { method: 'file', file } satisfies StoredSplit);
    return applyFileSplit(db, file);
  }
  if (stored?.method === 'file' && opts.seed === undefined) return applyFileSplit(db, stored.file ?? '');
  const seed = opts.seed ?? stored?.seed ?? DEFAULT_SPLIT_SEED;
  const valRatio = opts.valRatio ?? DEFAULT_VAL_RATIO;
  setMeta(db, 'split', { method: 'seeded', seed, valRatio } satisfies StoredSplit);
  return applySeededSplit(db, seed, valRatio);
}

export function readSplitFile(file: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new SplitFileError(
      `--split ${file}: ${why}. Expected JSON like {"val": ["100026", "100027", ...]}.`,
    );
  }
  const val = (json as { val?: unknown } | null)?.val;
  if (!Array.isArray(val) || !val.every((v) => typeof v === 'string' || typeof v === 'number')) {
    throw new SplitFileError(
      `--split ${file}: expected an object with a "val" list of label file stems (strings), e.g. {"val": ["100026", "100027"]}.`,
    );
  }
  if (val.length === 0) throw new SplitFileError(`--split ${file}: the "val" list is empty.`);
  // Accept file names too ("100026.json", "100026.jpg"): researchers often dump these from Python.
  return val.map((v) => normalizeName(String(v).trim()).replace(/\.(json|jpe?g|png)$/i, ''));
}

function applyFileSplit(db: Db, file: string): SplitSummary {
  const { unknown, lookLeaks: across } = new SplitStore(db).applyValStems();
  const warnings: string[] = [];
  if (unknown.length > 0)
    warnings.push(`${unknown.length} stems in ${basename(file)} match no scanned image`);
  if (across > 0)
    warnings.push(`${across} shop looks have shots on both sides of this split (near-duplicates leak)`);
  return {
    method: 'file',
    file,
    ...summaryCounts(db),
    unknownStems: unknown.slice(0, 20),
    unknownStemCount: unknown.length,
    warnings,
  };
}

function applySeededSplit(db: Db, seed: number, valRatio: number): SplitSummary {
  const warnings: string[] = [];
  const val = new Map<string, number>();
  // A seeded hash gives each group its place in the order; it must be the same on every machine.
  const totals = new SplitStore(db).applyGroupSplit(
    (key) => hashSeed(seed, key),
    // Greedy in hash order: a group joins validation when it still fits under the style's target,
    // so one large look early in the order cannot fill (or block) a style's whole share.
    (styleTotals) => (_group, style, n) => {
      const target = Math.round((styleTotals.get(style) ?? 0) * valRatio);
      const taken = val.get(style) ?? 0;
      if (taken + n > target) return false;
      val.set(style, taken + n);
      return true;
    },
  );
  for (const [style, total] of totals) {
    if (total >= 2 && (val.get(style) ?? 0) === 0) {
      warnings.push(
        `${style}: no validation images (its ${total} images form groups larger than its 20 % share)`,
      );
    }
  }
  return { method: 'seeded', seed, ...summaryCounts(db), warnings };
}

function summaryCounts(db: Db): Omit<SplitSummary, 'method' | 'warnings'> {
  const rows = new SplitStore(db).counts();
  const get = (s: string) => rows.find((r) => r.split === s) ?? { images: 0, items: 0 };
  const train = get('train');
  const val = get('val');
  const all = train.images + val.images;
  return {
    valRatio: all === 0 ? 0 : val.images / all,
    trainImages: train.images,
    valImages: val.images,
    trainItems: train.items,
    valItems: val.items,
  };
}
