/**
 * `kfashion scan`: walks the label folders, parses every label file, matches its image, and stores
 * images and garment items in the workspace; then re-derives the split and the vocabulary.
 *
 * Throughput and memory: files are streamed folder by folder (never listed all at once), read
 * synchronously (small files: a sync read beats the async machinery), and written in transactions of
 * BATCH files. A cancel commits the batch in hand first, so nothing parsed is lost.
 */
import { existsSync, opendirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ExclusionReason, ScanReport, SkippedFile, StyleCounts } from '../../src-shared/dataset.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { setMeta } from '../store/database.ts';
import { DatasetStore, type ImageRow, type ItemRow } from '../store/dataset-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { LabelError, type ParsedLabel, parseLabelBytes } from './label-parser.ts';
import { DatasetPathError, EXPECTED_LAYOUT, type LabelSource, resolveLayout } from './layout.ts';
import { normalizeName } from './normalize.ts';
import { applySplit } from './split.ts';
import { buildVocabulary } from './vocabulary.ts';

export interface ScanOptions extends WorkOptions {
  data: string;
  /** Only these style folders (NFC names); all when absent. */
  styles?: string[];
  /** A `{"val": [stems]}` file; otherwise a seeded 80/20 split. */
  splitFile?: string;
  seed?: number;
}

const BATCH = 1000;
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.JPG', '.JPEG', '.PNG'];
const MAX_LISTED_SKIPS = 100;
/** `PREFIX_NNN_MM.jpg`: several shots of one shop look, which must stay on one side of the split. */
const LOOK_NAME = /^(.+)_(\d+)_(\d+)\.[A-Za-z]+$/;

export const emptyCounts = (): StyleCounts => ({
  labels: 0,
  images: 0,
  garments: 0,
  excluded: 0,
  excludedByReason: {},
  skippedFiles: 0,
});

interface Pending {
  image: ImageRow;
  items: ItemRow[];
  excluded: ParsedLabel['excluded'];
  labelFile: string;
}

export async function scanDataset(ws: Workspace, opts: ScanOptions): Promise<ScanReport> {
  const started = performance.now();
  const layout = resolveLayout(opts.data);
  const wanted = selectStyles(layout.sources, opts.styles);
  const total = countLabelFiles(layout.sources, wanted);
  if (total === 0) {
    const dirs = layout.sources.map((s) => s.labelDir).join(', ');
    throw new DatasetPathError(`No label files (*.json) found under ${dirs}\n${EXPECTED_LAYOUT}`);
  }
  const synthetic = existsSync(join(layout.root, 'DEMO_MANIFEST.json'));
  const store = new DatasetStore(ws.db);
  const rootId = store.rootId(layout.root, synthetic);
  const scanId = store.startScan(rootId);

  const perStyle: Record<string, StyleCounts> = {};
  const skipped: SkippedFile[] = [];
  let done = 0;
  let pending: Pending[] = [];
  const skipsToWrite: { file: SkippedFile; style: string }[] = [];

  const countsFor = (style: string) => {
    perStyle[style] ??= emptyCounts();
    return perStyle[style];
  };
  const flush = ws.db.transaction(() => {
    for (const p of pending) {
      if (store.putLabel(scanId, p.image, p.items, p.excluded)) {
        const c = countsFor(p.image.styleFolder);
        c.labels++;
        if (p.image.imagePath !== null) c.images++;
        c.garments += p.items.length;
        c.excluded += p.excluded.length;
        for (const e of p.excluded) c.excludedByReason[e.reason] = (c.excludedByReason[e.reason] ?? 0) + 1;
      } else {
        skip(
          { path: p.labelFile, reason: 'duplicate-id', detail: `${p.image.key} was already read from another folder` },
          p.image.styleFolder,
        );
      }
    }
    for (const s of skipsToWrite) store.putSkipped(scanId, s.file, s.style);
    pending = [];
    skipsToWrite.length = 0;
  });
  function skip(file: SkippedFile, style: string) {
    countsFor(style).skippedFiles++;
    if (skipped.length < MAX_LISTED_SKIPS) skipped.push(file);
    skipsToWrite.push({ file, style });
  }

  const scannedStyles = new Set<string>();
  try {
    for (const src of layout.sources) {
      const imageStyleDirs = src.imageDir ? listDirs(src.imageDir) : new Map<string, string>();
      for (const [style, onDisk] of src.styleFolders) {
        if (!wanted.has(style)) continue;
        scannedStyles.add(style);
        countsFor(style);
        const labelStyleDir = join(src.labelDir, onDisk);
        const imageOnDisk = imageStyleDirs.get(style);
        // Images normally sit in 원천데이터/<style>; some samples keep them next to the labels.
        const imageStyleDir = src.imageDir && imageOnDisk ? join(src.imageDir, imageOnDisk) : labelStyleDir;
        for (const fileName of jsonFiles(labelStyleDir)) {
          const labelFile = join(labelStyleDir, fileName);
          const stem = normalizeName(fileName.slice(0, -'.json'.length));
          const key = `${style}/${stem}`;
          try {
            const parsed = parseLabelBytes(readFileSync(labelFile));
            const imageFile = findImage(imageStyleDir, stem, parsed.imageId);
            pending.push({
              labelFile,
              image: {
                key,
                rootId,
                styleFolder: style,
                labelStem: stem,
                splitFolder: src.splitFolder,
                labelPath: toPortable(relative(layout.root, labelFile)),
                imagePath: imageFile ? toPortable(relative(layout.root, imageFile)) : null,
                imageId: parsed.imageId,
                shopFile: parsed.shopFileName,
                lookKey: lookKey(parsed.shopFileName, key),
                width: parsed.width,
                height: parsed.height,
                styles: parsed.styles,
                labelCreated: parsed.createdAt,
              },
              items: parsed.garments.map((g) => ({ id: `${key}/${g.part}`, ...g })),
              excluded: parsed.excluded,
            });
          } catch (e) {
            if (e instanceof LabelError) {
              skip({ path: labelFile, reason: e.reason, detail: e.detail }, style);
            } else {
              const detail = e instanceof Error ? e.message : String(e);
              skip({ path: labelFile, reason: 'unreadable', detail }, style);
            }
          }
          done++;
          if (pending.length + skipsToWrite.length >= BATCH) {
            flush();
            opts.onProgress?.('scan', done, total, { files: done });
            // Yield to the event loop between batches so a Ctrl-C or a cancel message can arrive.
            await new Promise((r) => setImmediate(r));
            if (opts.signal?.aborted) {
              throw new CancelledError(
                `Scan cancelled after ${done} of ${total} label files; what was read is stored. Run the same scan again to finish.`,
              );
            }
          }
        }
      }
    }
    flush();
    opts.onProgress?.('scan', done, total, { files: done });
  } catch (e) {
    flush();
    store.finishScan(scanId, e instanceof CancelledError ? 'cancelled' : 'failed', null);
    throw e;
  }

  const removedStale = store.removeStale(scanId, rootId, [...scannedStyles]);
  opts.onProgress?.('split', 0, 1);
  const split = applySplit(ws.db, { file: opts.splitFile, seed: opts.seed });
  opts.onProgress?.('vocabulary', 0, 1);
  buildVocabulary(ws.db);
  const anySynthetic = ws.db.prepare('SELECT 1 FROM data_roots WHERE synthetic = 1 LIMIT 1').get() !== undefined;
  setMeta(ws.db, 'synthetic', anySynthetic);

  const totalCounts = emptyCounts();
  for (const c of Object.values(perStyle)) addCounts(totalCounts, c);
  const elapsedMs = performance.now() - started;
  const report: ScanReport = {
    synthetic,
    dataRoot: layout.root,
    labelRoots: layout.sources.map((s) => s.labelDir),
    workspace: ws.root,
    perStyle,
    total: totalCounts,
    skipped,
    removedStale,
    split,
    elapsedMs: Math.round(elapsedMs),
    filesPerSecond: Math.round((done / elapsedMs) * 1000),
  };
  store.finishScan(scanId, 'done', report);
  return report;
}

export function addCounts(into: StyleCounts, c: StyleCounts): void {
  into.labels += c.labels;
  into.images += c.images;
  into.garments += c.garments;
  into.excluded += c.excluded;
  into.skippedFiles += c.skippedFiles;
  for (const [r, n] of Object.entries(c.excludedByReason) as [ExclusionReason, number][]) {
    into.excludedByReason[r] = (into.excludedByReason[r] ?? 0) + n;
  }
}

function selectStyles(sources: LabelSource[], styles: string[] | undefined): Set<string> {
  const available = new Set(sources.flatMap((s) => [...s.styleFolders.keys()]));
  if (!styles || styles.length === 0) return available;
  const wanted = new Set(styles.map((s) => normalizeName(s.trim())).filter(Boolean));
  const missing = [...wanted].filter((s) => !available.has(s));
  if (missing.length > 0) {
    throw new DatasetPathError(
      `--styles: no style folder named ${missing.join(', ')} in ${sources.map((s) => s.labelDir).join(', ')}. Available: ${[...available].sort().join(', ')}`,
    );
  }
  return wanted;
}

function countLabelFiles(sources: LabelSource[], wanted: Set<string>): number {
  let n = 0;
  for (const src of sources) {
    for (const [style, onDisk] of src.styleFolders) {
      if (!wanted.has(style)) continue;
      for (const _ of jsonFiles(join(src.labelDir, onDisk))) n++;
    }
  }
  return n;
}

/** Streams the `*.json` file names of a folder without holding the whole listing. */
function* jsonFiles(dir: string): Generator<string> {
  const d = opendirSync(dir, { bufferSize: 256 });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (e.name.toLowerCase().endsWith('.json') && (e.isFile() || e.isSymbolicLink())) yield e.name;
    }
  } finally {
    d.closeSync();
  }
}

function listDirs(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const d = opendirSync(dir);
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (e.isDirectory()) out.set(normalizeName(e.name), e.name);
    }
  } finally {
    d.closeSync();
  }
  return out;
}

/** The image of a label: by the label's stem first, then by its 이미지 식별자 (KFASHION_FORMAT.md). */
function findImage(dir: string, stem: string, imageId: number | null): string | null {
  const candidates = imageId !== null && String(imageId) !== stem ? [stem, String(imageId)] : [stem];
  for (const base of candidates) {
    for (const ext of IMAGE_EXTENSIONS) {
      const p = join(dir, base + ext);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

export function lookKey(shopFile: string | null, imageKey: string): string {
  const m = shopFile ? LOOK_NAME.exec(shopFile) : null;
  return m ? `look:${m[1]}_${m[2]}` : `image:${imageKey}`;
}

/** Paths are stored with forward slashes so a workspace made on Windows reads on Linux and back. */
function toPortable(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}
