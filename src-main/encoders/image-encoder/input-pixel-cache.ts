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
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cropRelPath } from '../../dataset/crops.ts';
import { writeFileAtomic } from '../../store/atomic-file.ts';
import { outputSize, type PreprocessConfig } from './preprocess.ts';

export const INPUT_CACHE_DIR = 'input-cache';
const MAGIC = 'KFPIX1\n';
/** Magic, a 40-hex-digit crop key, newline. */
const HEADER_BYTES = MAGIC.length + 40 + 1;
/** Bump when the geometric preprocessing changes, so old caches are left alone and redone. */
const GEOMETRY_RECIPE = 'v1';

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
  private readonly dir: string;
  private readonly bytes: number;
  private readonly madeDirs = new Set<string>();

  constructor(workspaceRoot: string, cfg: PreprocessConfig) {
    const { height, width } = outputSize(cfg);
    this.bytes = height * width * 3;
    this.dir = join(workspaceRoot, INPUT_CACHE_DIR, geometryId(cfg));
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

  /** Stores `pixels` (from `preprocessToRgb`) for `itemId`'s crop with `cropKey`, atomically. */
  put(itemId: string, cropKey: string, pixels: Uint8Array): void {
    if (pixels.length !== this.bytes) {
      throw new RangeError(`input pixel cache: ${pixels.length} bytes for ${itemId}, expected ${this.bytes}`);
    }
    if (!/^[0-9a-f]{40}$/.test(cropKey)) {
      throw new RangeError(`input pixel cache: crop key ${JSON.stringify(cropKey)} is not 40 hex digits`);
    }
    const path = this.pathOf(itemId);
    const dir = dirname(path);
    if (!this.madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const file = Buffer.allocUnsafe(HEADER_BYTES + this.bytes);
    file.write(`${MAGIC}${cropKey}\n`, 0, 'latin1');
    file.set(pixels, HEADER_BYTES);
    writeFileAtomic(path, file);
  }
}
