/**
 * Finds the label folders under what the user pointed at. Accepted (KFASHION_FORMAT.md):
 *   <root>/Training|Validation/라벨링데이터/<스타일>/*.json   the full dataset (both splits scanned)
 *   <root>/라벨링데이터/<스타일>/*.json                        a sample
 *   a 라벨링데이터 folder, a Training/Validation folder, or one style folder inside 라벨링데이터.
 * Images are looked for in the sibling 원천데이터 folder with the same style sub-folder.
 */
import { type Dirent, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describeFsError } from './fs-errors.ts';
import { normalizeName } from './normalize.ts';

export const LABEL_DIR = '라벨링데이터';
export const IMAGE_DIR = '원천데이터';
const SPLIT_DIRS = ['Training', 'Validation'];

export interface LabelSource {
  /** Folder holding style folders of label files. */
  labelDir: string;
  /** Folder holding the matching style folders of images, when it exists. */
  imageDir: string | null;
  /** Training / Validation for the full dataset's layout, null for a sample. */
  splitFolder: string | null;
  /** Style folder names (NFC) mapped to their names on disk (which may be NFD on macOS). */
  styleFolders: Map<string, string>;
}

export interface DatasetLayout {
  root: string;
  sources: LabelSource[];
}

export const EXPECTED_LAYOUT = [
  'Expected one of:',
  `  <root>/${LABEL_DIR}/<style>/<id>.json with images in <root>/${IMAGE_DIR}/<style>/ (a sample)`,
  `  <root>/Training|Validation/${LABEL_DIR}/<style>/<id>.json (the full dataset)`,
  `  a ${LABEL_DIR} folder, a Training or Validation folder, or one <style> folder inside ${LABEL_DIR}`,
].join('\n');

export class DatasetPathError extends Error {
  override name = 'DatasetPathError';
}

/**
 * Sub-folders of `dir`, including symbolic links to folders. A link whose target cannot be reached
 * (looping, dangling, unreadable) is left out, or with `keepBrokenLinks` kept, so that the scan can
 * report it as a style folder it could not read rather than stop or stay silent.
 */
function subdirs(dir: string, keepBrokenLinks = false): Map<string, string> {
  const out = new Map<string, string>();
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new DatasetPathError(`Cannot list the folder ${dir}: ${describeFsError(e)}\n${EXPECTED_LAYOUT}`);
  }
  for (const e of entries) {
    let isDir = e.isDirectory();
    if (!isDir && e.isSymbolicLink()) {
      try {
        isDir = statSync(join(dir, e.name)).isDirectory();
      } catch {
        isDir = keepBrokenLinks;
      }
    }
    if (isDir) out.set(normalizeName(e.name), e.name);
  }
  return out;
}

function source(labelDir: string, splitFolder: string | null, onlyStyle?: string): LabelSource {
  const parent = dirname(labelDir);
  const siblings = subdirs(parent);
  const imageOnDisk = siblings.get(IMAGE_DIR);
  let styleFolders = subdirs(labelDir, true);
  if (onlyStyle !== undefined) {
    const onDisk = styleFolders.get(onlyStyle);
    styleFolders = new Map(onDisk ? [[onlyStyle, onDisk]] : []);
  }
  return {
    labelDir,
    imageDir: imageOnDisk ? join(parent, imageOnDisk) : null,
    splitFolder,
    styleFolders,
  };
}

/**
 * One spelling per folder, so one data_roots row: NFC where the file system ignores the Unicode form
 * (macOS, Windows; on Linux names are bytes and an NFD folder must keep its NFD path), and on Windows
 * an upper-case drive letter.
 */
export function canonicalPath(p: string): string {
  if (process.platform === 'linux') return p;
  const nfc = p.normalize('NFC');
  return /^[a-z]:/.test(nfc) ? nfc[0]!.toUpperCase() + nfc.slice(1) : nfc;
}

export function resolveLayout(dir: string): DatasetLayout {
  if (dir.trim() === '') throw new DatasetPathError(`The data folder path is empty.\n${EXPECTED_LAYOUT}`);
  const abs = canonicalPath(resolve(dir));
  if (!existsSync(abs)) {
    throw new DatasetPathError(`Data folder not found: ${abs}\n${EXPECTED_LAYOUT}`);
  }
  if (!statSync(abs).isDirectory()) {
    throw new DatasetPathError(
      `Not a folder: ${abs} (give the folder that holds the label files)\n${EXPECTED_LAYOUT}`,
    );
  }
  const name = normalizeName(basename(abs));
  const children = subdirs(abs);
  const splitOf = (d: string) => {
    const n = normalizeName(basename(d));
    return SPLIT_DIRS.includes(n) ? n : null;
  };

  // The root is always the dataset's top folder (above Training/Validation), however the user
  // pointed into it, so re-scans through another entry point update the same rows.
  const rootAbove = (labelDir: string) => {
    const parent = dirname(labelDir);
    return splitOf(parent) ? dirname(parent) : parent;
  };
  let layout: DatasetLayout | null = null;
  if (name === LABEL_DIR) {
    layout = { root: rootAbove(abs), sources: [source(abs, splitOf(dirname(abs)))] };
  } else if (children.has(LABEL_DIR)) {
    const labelDir = join(abs, children.get(LABEL_DIR)!);
    layout = { root: rootAbove(labelDir), sources: [source(labelDir, splitOf(abs))] };
  } else if (SPLIT_DIRS.some((s) => children.has(s))) {
    const sources: LabelSource[] = [];
    for (const s of SPLIT_DIRS) {
      const onDisk = children.get(s);
      if (!onDisk) continue;
      const labelOnDisk = subdirs(join(abs, onDisk)).get(LABEL_DIR);
      if (labelOnDisk) sources.push(source(join(abs, onDisk, labelOnDisk), s));
    }
    if (sources.length > 0) layout = { root: abs, sources };
  } else if (normalizeName(basename(dirname(abs))) === LABEL_DIR) {
    // One style folder: scan just that style.
    const labelDir = dirname(abs);
    layout = { root: rootAbove(labelDir), sources: [source(labelDir, splitOf(dirname(labelDir)), name)] };
  }
  if (!layout) {
    throw new DatasetPathError(`No ${LABEL_DIR} folder found in ${abs}\n${EXPECTED_LAYOUT}`);
  }
  if (layout.sources.every((s) => s.styleFolders.size === 0)) {
    throw new DatasetPathError(
      `No style folders found in ${layout.sources.map((s) => s.labelDir).join(', ')}\n${EXPECTED_LAYOUT}`,
    );
  }
  return layout;
}
