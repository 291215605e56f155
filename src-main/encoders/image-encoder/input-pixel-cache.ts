/**
 * Garment crops already brought to the model's input size: the bytes `preprocessToRgb` makes from a
 * crop (decoded, resized, centre-cropped, 8-bit RGB), kept per item so that embedding a crop a second
 * time is a file read and the float pass (`rgbToChw`) instead of a JPEG decode and a bicubic resize.
 * On 2 cores every millisecond of decoding is taken from the model, and re-embedding (another model
 * run, a resumed job, the views) is common.
 *
 * [Note: input pixel cache] `input-cache/<H>x<W>-<geometry>/<style>/<stem>__<part>.rgb`: a 48-byte
 * header (`KFPIX1\n`, the crop key the pixels were made from, `\n`) then H × W × 3 bytes. The folder
 * names the preprocessing geometry (input size, resize rule, kernel, centre crop), so a model with
 * another input size or resize reads and writes other files; the header's crop key makes a re-cut
 * crop (moved box, replaced image) a miss. The bytes are exactly what the preprocessing would make
 * from the crop file again, and the float pass is the same function either way, so the model's input
 * (and so every vector) is bit-identical with or without the cache. Files are written to a temporary
 * name and renamed; a missing, short, foreign or stale file is recomputed and rewritten, never trusted.
 * The database does not know these files: deleting the folder only costs the next run its decodes.
 *
 * [Note: input cache budget] A file is ≈ 150 KB at 224 × 224, so the whole K-Fashion set (≈ 2M
 * garments) would take ≈ 300 GB: the cache is kept under a limit (`DEFAULT_INPUT_CACHE_GB`, and never
 * more than half the disk space free when the run starts). Its size is counted once, at the first
 * file a run writes (files of one geometry all have the same size, so a listing counts it without a
 * stat per file); past the limit new crops are not kept (counted, and reported by the run: a
 * re-embedding decodes those again). Files already there are still rewritten when stale: that does
 * not grow the folder. A limit of 0 turns the cache off.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, opendirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_INPUT_CACHE_GB } from '../../../src-shared/explore.ts';
import { cropRelPath } from '../../dataset/crops.ts';
import { freeSpace, writeFileAtomic } from '../../store/atomic-file.ts';
import { outputSize, type PreprocessConfig } from './preprocess.ts';

export const INPUT_CACHE_DIR = 'input-cache';
const MAGIC = 'KFPIX1\n';
/** Magic, a 40-hex-digit crop key, newline. */
const HEADER_BYTES = MAGIC.length + 40 + 1;
/** Bump when the geometric preprocessing changes, so old caches are left alone and redone. */
const GEOMETRY_RECIPE = 'v1';

const GB = 1e9;

/** How a run used the input cache: its limit, its size after the run, and crops not kept for space. */
export interface InputCacheUse {
  limitBytes: number;
  usedBytes: number;
  notKept: number;
}

/** The folder name for `cfg`'s geometry: `<H>x<W>-<8 hex digits>`. */
export function geometryId(cfg: PreprocessConfig): string {
  const { height, width } = outputSize(cfg);
  const hash = createHash('sha1')
    .update(JSON.stringify([GEOMETRY_RECIPE, cfg.resize, cfg.crop, cfg.kernel]))
    .digest('hex')
    .slice(0, 8);
  return `${height}x${width}-${hash}`;
}

export class InputPixelCache {
  private readonly root: string;
  private readonly dir: string;
  private readonly bytes: number;
  private readonly madeDirs = new Set<string>();
  private readonly maxBytes: number;
  /** The limit and the cache's size, counted at the first write (see [Note: input cache budget]). */
  private budget: { limit: number; used: number } | null = null;
  /** Crops not kept because the cache reached its limit. */
  notKept = 0;

  constructor(workspaceRoot: string, cfg: PreprocessConfig, opts: { maxBytes?: number } = {}) {
    const { height, width } = outputSize(cfg);
    this.bytes = height * width * 3;
    this.root = workspaceRoot;
    this.dir = join(workspaceRoot, INPUT_CACHE_DIR, geometryId(cfg));
    this.maxBytes = opts.maxBytes ?? DEFAULT_INPUT_CACHE_GB * GB;
  }

  /** This run's use of the cache so far (its size counted now if nothing was written yet). */
  use(): InputCacheUse {
    const b = this.resolveBudget();
    return { limitBytes: b.limit, usedBytes: b.used, notKept: this.notKept };
  }

  private resolveBudget(): { limit: number; used: number } {
    if (this.budget) return this.budget;
    const used = cacheBytes(join(this.root, INPUT_CACHE_DIR));
    // Without a free-space figure (an unusual file system) the limit alone applies.
    const free = freeSpace(this.root) ?? Number.POSITIVE_INFINITY;
    this.budget = { limit: Math.min(this.maxBytes, used + Math.floor(free / 2)), used };
    return this.budget;
  }

  pathOf(itemId: string): string {
    return join(
      this.dir,
      cropRelPath(itemId)
        .replace(/^crops\//, '')
        .replace(/\.jpg$/, '.rgb'),
    );
  }

  /** The cached pixels of `itemId` made from the crop with `cropKey`, or null (missing or stale). */
  async get(itemId: string, cropKey: string): Promise<Buffer | null> {
    let file: Buffer;
    try {
      file = await readFile(this.pathOf(itemId));
    } catch {
      return null;
    }
    if (
      file.length !== HEADER_BYTES + this.bytes ||
      file.toString('latin1', 0, HEADER_BYTES) !== `${MAGIC}${cropKey}\n`
    ) {
      return null;
    }
    return file.subarray(HEADER_BYTES);
  }

  /**
   * Stores `pixels` (from `preprocessToRgb`) for `itemId`'s crop with `cropKey`, atomically. False
   * when the cache is at its limit and the crop is not kept (see [Note: input cache budget]).
   */
  put(itemId: string, cropKey: string, pixels: Uint8Array): boolean {
    if (pixels.length !== this.bytes) {
      throw new RangeError(`input pixel cache: ${pixels.length} bytes for ${itemId}, expected ${this.bytes}`);
    }
    if (!/^[0-9a-f]{40}$/.test(cropKey)) {
      throw new RangeError(`input pixel cache: crop key ${JSON.stringify(cropKey)} is not 40 hex digits`);
    }
    const path = this.pathOf(itemId);
    const budget = this.resolveBudget();
    const fileBytes = HEADER_BYTES + this.bytes;
    const grows = !existsSync(path);
    if (grows && budget.used + fileBytes > budget.limit) {
      this.notKept++;
      return false;
    }
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const file = Buffer.allocUnsafe(HEADER_BYTES + this.bytes);
    file.write(`${MAGIC}${cropKey}\n`, 0, 'latin1');
    file.set(pixels, HEADER_BYTES);
    writeFileAtomic(path, file);
    if (grows) budget.used += fileBytes;
    return true;
  }
}

/**
 * Bytes held by the input cache under `root`: per geometry folder (`<H>x<W>-…`, whose files all hold
 * a header and H × W × 3 bytes), its `.rgb` files counted by listing, not by a stat each.
 */
function cacheBytes(root: string): number {
  let total = 0;
  for (const geometry of listNames(root, true)) {
    const m = /^(\d+)x(\d+)-/.exec(geometry);
    if (!m) continue;
    const fileBytes = HEADER_BYTES + Number(m[1]) * Number(m[2]) * 3;
    for (const style of listNames(join(root, geometry), true)) {
      for (const name of listNames(join(root, geometry, style), false)) {
        if (name.endsWith('.rgb')) total += fileBytes;
      }
    }
  }
  return total;
}

/** Names of the folders (`dirs`) or files in `dir`, read one entry at a time; none if it is missing. */
function* listNames(dir: string, dirs: boolean): Generator<string> {
  let d: ReturnType<typeof opendirSync>;
  try {
    d = opendirSync(dir);
  } catch {
    return;
  }
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (dirs ? e.isDirectory() : e.isFile()) yield e.name;
    }
  } finally {
    d.closeSync();
  }
}
