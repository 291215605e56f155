/** Reading one label file, with every failure turned into a skip reason: what parse workers run. */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Box, BoxSource, SkipReason } from '../../src-shared/dataset.ts';
import type { GarmentPart } from '../../src-shared/fields.ts';
import { describeFsError } from './fs-errors.ts';
import { LabelError, MAX_LABEL_BYTES, type ParsedLabel, parseLabelBytes } from './label-parser.ts';

/**
 * A garment as the scan stores it: its attributes already as the stored JSON text, and its category.
 * Made on the parse thread: the writing thread is the scan's bottleneck, and one string crosses a
 * message port far more cheaply than the attribute object it was made from.
 */
export interface StoredGarment {
  part: GarmentPart;
  box: Box;
  boxSource: BoxSource;
  category: string | null;
  attributesJson: string;
}

export interface LabelForStore extends Omit<ParsedLabel, 'garments'> {
  garments: StoredGarment[];
}

export type LabelFileResult =
  | { ok: true; label: LabelForStore }
  | { ok: false; reason: SkipReason; detail: string };

export function forStore(label: ParsedLabel): LabelForStore {
  return {
    ...label,
    garments: label.garments.map((g) => ({
      part: g.part,
      box: g.box,
      boxSource: g.boxSource,
      category: typeof g.attributes.category === 'string' ? g.attributes.category : null,
      attributesJson: JSON.stringify(g.attributes),
    })),
  };
}

/**
 * Opened non-blocking: a label path that is (or links to) a FIFO would otherwise block the scan until
 * some other program writes to it. Regular files ignore the flag. Windows has no such flag (0).
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export function readLabelFile(path: string): LabelFileResult {
  try {
    return { ok: true, label: forStore(parseLabelBytes(readBounded(path))) };
  } catch (e) {
    if (e instanceof LabelError) return { ok: false, reason: e.reason, detail: e.detail };
    return { ok: false, reason: 'unreadable', detail: describeFsError(e) };
  }
}

/**
 * The file's bytes, checked against MAX_LABEL_BYTES before anything is read: a 2 GB "label" costs one
 * fstat, not 2 GB of memory. The read stops one byte past the bound too, in case the file grows
 * between the stat and the read.
 */
function readBounded(path: string): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new LabelError(
        'unreadable',
        st.isDirectory() ? 'a folder, not a file' : 'not a regular file (a device, pipe or socket)',
      );
    }
    if (st.size > MAX_LABEL_BYTES) throw tooLarge(st.size);
    const buf = readBuffer(Math.min(st.size, MAX_LABEL_BYTES) + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_LABEL_BYTES) throw tooLarge(n, true);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * One buffer reused for every file of ordinary size: the bytes are parsed into strings before the next
 * read (readLabelFile is synchronous and keeps no reference to them). A fresh buffer per file (a real
 * label is several KB, past Node's small-buffer pool) is garbage for the parse workers' collector.
 * Larger files get their own.
 */
const SCRATCH_BYTES = 256 * 1024;
let scratch: Buffer | null = null;
function readBuffer(bytes: number): Buffer {
  if (bytes > SCRATCH_BYTES) return Buffer.allocUnsafe(bytes);
  scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES);
  return scratch.subarray(0, bytes);
}

function tooLarge(size: number, grew = false): LabelError {
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  return new LabelError(
    'too-large',
    `${grew ? 'more than ' : ''}${mb(size)}, larger than any real K-Fashion label can be (the limit is ${mb(MAX_LABEL_BYTES)}); not read`,
  );
}

/** Parses a batch of label files; the scan hands batches to this or to a pool of workers running it. */
export type LabelBatchReader = (paths: string[]) => Promise<LabelFileResult[]>;

export const readLabelsInline: LabelBatchReader = async (paths) => paths.map(readLabelFile);
