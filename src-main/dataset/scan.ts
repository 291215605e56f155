/**
 * `kfashion scan`: walks the label folders, parses every label file, matches its image, and stores
 * images and garment items in the workspace; then re-derives the split and the vocabulary.
 *
 * Throughput and memory: files are taken folder by folder (one folder's names held at a time, in name
 * order: Note: scan in key order), read synchronously (small files: a sync read beats the async
 * machinery), and written in transactions of BATCH files. A cancel commits the batch in hand first,
 * so nothing parsed is lost.
 */
import { existsSync, lstatSync, opendirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type {
  ExclusionReason,
  ScanReport,
  SkippedFile,
  SplitSummary,
  StyleCounts,
} from '../../src-shared/dataset.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { setMeta } from '../store/database.ts';
import { DatasetStore, type ImageRow, type ItemRow } from '../store/dataset-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { describeFsError } from './fs-errors.ts';
import { type LabelBatchReader, type LabelFileResult, readLabelsInline } from './label-file.ts';
import type { ParsedLabel } from './label-parser.ts';
import {
  type DatasetLayout,
  DatasetPathError,
  EXPECTED_LAYOUT,
  type LabelSource,
  resolveLayout,
} from './layout.ts';
import { normalizeName } from './normalize.ts';
import {
  type AllowedRoots,
  allowedRoots,
  CaseTwins,
  caseKey,
  checkLinkedFile,
  checkStyleFolder,
} from './scan-guards.ts';
import { ScanReportWriter } from './scan-report-files.ts';
import { applySplit, readSplitFile } from './split.ts';
import { buildVocabulary, type VocabularyCounts } from './vocabulary.ts';

export interface ScanOptions extends WorkOptions {
  data: string;
  /** Only these style folders (NFC names); all when absent. */
  styles?: string[];
  /** A `{"val": [stems]}` file; otherwise a seeded 80/20 split. */
  splitFile?: string;
  seed?: number;
  /**
   * Parses batches of label files. Default: in this thread. The jobs layer passes a pool of worker
   * threads, so parsing runs on the other cores while this thread writes SQLite.
   */
  readLabels?: LabelBatchReader;
  /** Batches handed to `readLabels` before the oldest must be written (keeps workers busy). */
  inFlight?: number;
  /**
   * Counts the vocabulary over the workspace database file on another thread, while this one draws
   * the split. Default (or when it fails): counted here after the split.
   */
  countVocabulary?: (databaseFile: string) => Promise<VocabularyCounts>;
  /** Told as each phase starts (the scan bench measures memory and time per phase with it). */
  onPhase?: (phase: ScanPhase) => void;
}

/**
 * The scan's phases, in order: list the folders (count files, find case twins), load the rows, build
 * the indexes a bulk load dropped, remove stale images, draw the split, build the vocabulary, write
 * the report files.
 */
export type ScanPhase = 'plan' | 'load' | 'index' | 'stale' | 'split' | 'vocabulary' | 'report';

/** Files per transaction (and per progress update). */
const BATCH = 1000;
/** Files per parse request: big enough to amortise messaging, small enough to balance workers. */
const READ_BATCH = 250;
/** Compared in lower case: `.JPG` and `.Jpg` are as common as `.jpg`. */
const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png'];
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
  /** The label file's folder and name: joined only for a report line (path.join per file was 2 %). */
  labelDir: string;
  fileName: string;
}

export async function scanDataset(ws: Workspace, opts: ScanOptions): Promise<ScanReport> {
  const started = performance.now();
  const layout = resolveLayout(opts.data);
  const wanted = selectStyles(layout.sources, opts.styles);
  const phase = opts.onPhase ?? (() => undefined);
  phase('plan');
  const plan = planFolders(layout, wanted);
  const total = plan.folders.reduce((n, f) => n + f.files, 0);
  if (total === 0) {
    const dirs = layout.sources.map((s) => s.labelDir).join(', ');
    const why = plan.skippedFolders.map((f) => `\n  ${f.path}: ${f.detail}`).join('');
    throw new DatasetPathError(
      `No label files (*.json) found under ${dirs}${why ? `\nStyle folders that could not be read:${why}` : ''}\n${EXPECTED_LAYOUT}`,
    );
  }
  // A bad split file must fail before an hour of scanning, not after it.
  const splitStems = opts.splitFile !== undefined ? readSplitFile(opts.splitFile) : undefined;
  const synthetic = existsSync(join(layout.root, 'DEMO_MANIFEST.json'));
  const store = new DatasetStore(ws.db);
  const rootId = store.rootId(layout.root, synthetic);
  const scanId = store.startScan(rootId);
  const fresh = store.counts().images === 0;
  // Nothing to update or look up in an empty workspace: load the rows first, index them after.
  // Otherwise the upserts and deletes need the indexes, which a killed scan may have left missing.
  if (fresh) store.beginBulkLoad();
  else store.endBulkLoad();
  phase('load');

  const perStyle: Record<string, StyleCounts> = {};
  const skipped: SkippedFile[] = [];
  const skippedFolders: (SkippedFile & { style: string })[] = [];
  const foldersToWrite: { file: SkippedFile; style: string; splitFolder: string | null; keep: boolean }[] =
    [];
  // Every skip and exclusion, for results/scan_report.json and .csv (Note: report spooling).
  const reportFiles = new ScanReportWriter();
  let done = 0;
  /** Label files written since the last commit (Note: scan batches). */
  let inBatch = 0;
  const skipsToWrite: { file: SkippedFile; style: string; key: string | null }[] = [];
  let keptFromPreviousScan = 0;

  const countsFor = (style: string) => {
    perStyle[style] ??= emptyCounts();
    return perStyle[style];
  };
  /**
   * [Note: scan batches]
   * Each label is written as soon as its chunk arrives, into a transaction that stays open until a
   * batch's worth is written (BATCH files: one commit per file costs several times the insert). The
   * rows of a file are garbage right after its insert; when they waited in a list for the commit, most
   * outlived two young-generation collections and were promoted, so the writing thread's heap filled
   * with dead rows up to V8's next full collection (its peak grew with the number of files).
   */
  const storeLabel = (p: Pending) => {
    store.beginBatch();
    inBatch++;
    let stored: boolean;
    try {
      stored = store.putLabel(scanId, p.image, p.items, p.excluded, fresh);
    } catch (e) {
      // Never commit a label half-written (its image without all its garments): the batch goes.
      store.rollbackBatch();
      inBatch = 0;
      throw e;
    }
    if (stored) {
      const c = countsFor(p.image.styleFolder);
      c.labels++;
      if (p.image.imagePath !== null) c.images++;
      c.garments += p.items.length;
      c.excluded += p.excluded.length;
      for (const e of p.excluded) {
        c.excludedByReason[e.reason] = (c.excludedByReason[e.reason] ?? 0) + 1;
        reportFiles.excludedGarment({
          path: join(p.labelDir, p.fileName),
          style: p.image.styleFolder,
          item: `${p.image.key}/${e.part}`,
          reason: e.reason,
          detail: e.detail ?? EXCLUSION_TEXT[e.reason],
        });
      }
    } else {
      const first = store.labelPathOf(p.image.key);
      skip(
        {
          path: join(p.labelDir, p.fileName),
          reason: 'duplicate-id',
          detail: `${p.image.key} was already read from ${first !== null ? join(layout.root, first) : 'another label file'} in this scan`,
        },
        p.image.styleFolder,
        null,
      );
    }
  };
  /** Writes the skips in hand and commits the open batch; a failed commit rolls the batch back. */
  const flush = () => {
    store.beginBatch();
    try {
      writeSkips();
      store.commitBatch();
    } catch (e) {
      store.rollbackBatch();
      throw e;
    }
    inBatch = 0;
    foldersToWrite.length = 0;
    skipsToWrite.length = 0;
  };
  const writeSkips = () => {
    for (const f of foldersToWrite) {
      store.putSkipped(scanId, f.file, f.style);
      // A folder unreadable today (a share offline, permissions changed) keeps what an earlier scan
      // stored from it, like an unreadable label file.
      if (f.keep) keptFromPreviousScan += store.keepStyleFolder(scanId, rootId, f.style, f.splitFolder);
    }
    for (const s of skipsToWrite) {
      store.putSkipped(scanId, s.file, s.style);
      // A label that cannot be read now (locked by a sync tool, half-written) keeps what an earlier
      // scan stored for it, instead of losing its items, crops and embeddings as "stale".
      if (s.key !== null && store.keepImage(scanId, s.key)) keptFromPreviousScan++;
    }
  };
  function skip(file: SkippedFile, style: string, key: string | null) {
    countsFor(style).skippedFiles++;
    if (skipped.length < MAX_LISTED_SKIPS) skipped.push(file);
    skipsToWrite.push({ file, style, key });
    reportFiles.skippedFile({ ...file, style });
  }
  function skipFolder(file: SkippedFile, style: string, splitFolder: string | null, keep: boolean) {
    skippedFolders.push({ ...file, style });
    foldersToWrite.push({ file, style, splitFolder, keep });
    reportFiles.skippedFolder({ ...file, style });
  }
  for (const f of plan.skippedFolders)
    skipFolder(f, f.style, f.splitFolder, f.reason === 'folder-unreadable');
  const checkCancel = () => {
    if (opts.signal?.aborted) {
      throw new CancelledError(
        `Scan cancelled after ${done} of ${total} label files; what was read is stored. Run the same scan again to finish.`,
      );
    }
  };

  const readLabels = opts.readLabels ?? readLabelsInline;
  const maxInFlight = Math.max(1, opts.inFlight ?? 1);
  interface Chunk {
    style: string;
    splitFolder: string | null;
    labelStyleDir: string;
    imageStyleDir: string;
    imageNames: Map<string, string>;
    fileNames: string[];
    results: ReturnType<LabelBatchReader>;
  }
  const queue: Chunk[] = [];

  /**
   * Stores one parsed chunk: image matching and row building happen here, on the writing thread.
   *
   * [Note: in-flight labels]
   * A chunk's parsed labels (250, arrived from a parse worker) are dropped one by one as their rows are
   * built, not with the whole chunk at its end. Writing a chunk spans several young-generation
   * collections; while the chunk's array held them all, the labels already written survived two and
   * were promoted, and the old generation filled with dead labels up to V8's next full collection,
   * which it schedules at a multiple of the live heap that rises the longer the scan runs (`--trace-gc`
   * at 300,000 files: 36 MB live, 147 MB before the first full collection; peak heap 72 / 150 / 220
   * MB at 100k / 300k / 1M files). Dropped one by one, they die young: no full collection in the whole
   * load at 300,000 files, and the peak heap is 63-72 MB there, 94 MB at 1M (where the bench's style
   * folders hold 333,000 names each, held while a folder is read: Note: scan in key order).
   */
  const consume = (chunk: Chunk, results: Awaited<Chunk['results']>) => {
    const labelDirPath = portableUnder(layout.root, chunk.labelStyleDir);
    const imageDirPath = portableUnder(layout.root, chunk.imageStyleDir);
    chunk.fileNames.forEach((fileName, i) => {
      const r = results[i]!;
      // Let each label go once its rows are built (Note: in-flight labels).
      (results as (LabelFileResult | undefined)[])[i] = undefined;
      const stem = normalizeName(fileName.slice(0, -'.json'.length));
      const key = `${chunk.style}/${stem}`;
      if (!r.ok) {
        skip(
          { path: join(chunk.labelStyleDir, fileName), reason: r.reason, detail: r.detail },
          chunk.style,
          key,
        );
        return;
      }
      const parsed = r.label;
      const imageName = findImage(chunk.imageNames, stem, parsed.imageId);
      storeLabel({
        labelDir: chunk.labelStyleDir,
        fileName,
        image: {
          key,
          rootId,
          styleFolder: chunk.style,
          labelStem: stem,
          splitFolder: chunk.splitFolder,
          labelPath: labelDirPath
            ? `${labelDirPath}/${fileName}`
            : toPortable(relative(layout.root, join(chunk.labelStyleDir, fileName))),
          imagePath: imageName
            ? imageDirPath
              ? `${imageDirPath}/${imageName}`
              : toPortable(relative(layout.root, join(chunk.imageStyleDir, imageName)))
            : null,
          imageId: parsed.imageId,
          shopFile: parsed.shopFileName,
          lookKey: lookKey(parsed.shopFileName, key),
          width: parsed.width,
          height: parsed.height,
          styles: parsed.styles,
          labelCreated: parsed.createdAt,
        },
        items: parsed.garments.map((g) => ({
          id: `${key}/${g.part}`,
          part: g.part,
          box: g.box,
          boxSource: g.boxSource,
          category: g.category,
          attributesJson: g.attributesJson,
        })),
        excluded: parsed.excluded,
      });
    });
    done += chunk.fileNames.length;
  };

  /**
   * Waits for the oldest chunk, stores it, and commits when a transaction's worth is pending. A batch
   * whose worker died is read again on this thread, so one crash costs time, never files.
   */
  const drainOne = async () => {
    const chunk = queue.shift()!;
    const again = () => readLabelsInline(chunk.fileNames.map((f) => join(chunk.labelStyleDir, f)));
    consume(chunk, await chunk.results.catch(again));
    if (inBatch + skipsToWrite.length >= BATCH) {
      flush();
      opts.onProgress?.('scan', done, total, { files: done });
      // Yield to the event loop between transactions so a Ctrl-C or a cancel message can arrive.
      await new Promise((r) => setImmediate(r));
      checkCancel();
    }
  };

  const scannedStyles = new Set<string>(plan.skippedFolders.map((f) => f.style));
  try {
    let imageStyleDirs = new Map<string, string>();
    let imagesOf: LabelSource | null = null;
    for (const folder of plan.folders) {
      const { src, style, labelStyleDir } = folder;
      if (imagesOf !== src) {
        imagesOf = src;
        imageStyleDirs = new Map();
        try {
          if (src.imageDir) imageStyleDirs = listDirs(src.imageDir);
        } catch (e) {
          skipFolder(
            {
              path: src.imageDir!,
              reason: 'folder-unreadable',
              detail: `the image folder cannot be read: ${describeFsError(e)}; labels are kept without their images`,
            },
            '',
            src.splitFolder,
            false,
          );
        }
      }
      scannedStyles.add(style);
      countsFor(style);
      const imageOnDisk = imageStyleDirs.get(style);
      // Images normally sit in 원천데이터/<style>; some samples keep them next to the labels.
      const imageStyleDir = src.imageDir && imageOnDisk ? join(src.imageDir, imageOnDisk) : labelStyleDir;
      let imageNames = new Map<string, string>();
      try {
        imageNames = imageFileNames(imageStyleDir);
      } catch (e) {
        skipFolder(
          {
            path: imageStyleDir,
            reason: 'folder-unreadable',
            detail: `the image folder cannot be read: ${describeFsError(e)}; its labels are kept without their images`,
          },
          style,
          src.splitFolder,
          false,
        );
      }
      const base = {
        style,
        splitFolder: src.splitFolder,
        labelStyleDir,
        imageStyleDir,
        imageNames,
      };
      let fileNames: string[] = [];
      const submit = async () => {
        const paths = fileNames.map((f) => join(labelStyleDir, f));
        const results = readLabels(paths);
        // Awaited later, in order; until then a rejection (a worker crash) must not go unhandled.
        results.catch(() => undefined);
        queue.push({ ...base, fileNames, results });
        fileNames = [];
        while (queue.length >= maxInFlight) await drainOne();
        checkCancel();
      };
      const keyOf = (fileName: string) => `${style}/${normalizeName(fileName.slice(0, -'.json'.length))}`;
      // The folder's names, sorted (Note: scan in key order); a listing that fails midway keeps what it
      // listed and reports the rest.
      const listing = listJsonFiles(labelStyleDir);
      if (listing.error !== undefined) {
        skipFolder(
          {
            path: labelStyleDir,
            reason: 'folder-unreadable',
            detail: `listing stopped after ${listing.names.length} label files: ${describeFsError(listing.error)}`,
          },
          style,
          src.splitFolder,
          false,
        );
      }
      for (const name of listing.names) {
        const twins = listing.caseTwins.size > 0 ? listing.caseTwins.get(caseKey(name)) : undefined;
        if (twins) {
          skip(
            {
              path: join(labelStyleDir, name),
              reason: 'case-twin',
              detail: `${twins.join(', ')} differ only in letter case; none of them is read, because which is the real label cannot be told (on Windows and macOS they are one file). Keep one and remove the others.`,
            },
            style,
            keyOf(name),
          );
          continue;
        }
        if (listing.links.has(name)) {
          const refused = checkLinkedFile(join(labelStyleDir, name), folder.roots);
          if (refused) {
            skip(refused, style, refused.reason === 'unreadable' ? keyOf(name) : null);
            continue;
          }
        }
        fileNames.push(name);
        if (fileNames.length >= READ_BATCH) await submit();
      }
      if (fileNames.length > 0) await submit();
    }
    while (queue.length > 0) await drainOne();
    flush();
    phase('index');
    store.endBulkLoad();
    opts.onProgress?.('scan', done, total, { files: done });
    checkCancel();
  } catch (e) {
    // Store everything already parsed, then record how the scan ended.
    for (const chunk of queue.splice(0)) {
      const results = await chunk.results.catch(() => null);
      if (results) consume(chunk, results);
    }
    flush();
    store.endBulkLoad();
    const status = e instanceof CancelledError ? 'cancelled' : 'failed';
    try {
      reportFiles.write(join(ws.root, 'results'), {
        scanId,
        status,
        dataRoot: layout.root,
        workspace: ws.root,
      });
    } catch {
      // The scan's own error is the one to report; the lists are in the workspace database too.
    }
    reportFiles.dispose();
    store.finishScan(scanId, status, null);
    throw e;
  }

  let removedStale: number;
  let split: SplitSummary;
  try {
    // Without --styles every image of this root that was not seen is stale, including whole style
    // folders that were deleted; with --styles only the named folders were looked at.
    phase('stale');
    removedStale = store.removeStale(scanId, rootId, opts.styles?.length ? [...scannedStyles] : null);
    // The items are final here (stale ones removed, committed): another thread may count their values
    // while this one writes the split, which does not touch items.
    const counting = opts.countVocabulary?.(ws.db.name).catch(() => null);
    phase('split');
    split = applySplit(ws.db, { file: opts.splitFile, stems: splitStems, seed: opts.seed });
    opts.onProgress?.('split', 1, 1, { val: split.valImages, train: split.trainImages });
    phase('vocabulary');
    buildVocabulary(ws.db, (await counting) ?? undefined);
    const anySynthetic = store.hasSyntheticRoot();
    setMeta(ws.db, 'synthetic', anySynthetic);
  } catch (e) {
    reportFiles.dispose();
    store.finishScan(scanId, 'failed', null);
    throw e;
  }

  const totalCounts = emptyCounts();
  for (const c of Object.values(perStyle)) addCounts(totalCounts, c);
  const elapsedMs = performance.now() - started;
  phase('report');
  const report: ScanReport = {
    synthetic,
    dataRoot: layout.root,
    labelRoots: layout.sources.map((s) => s.labelDir),
    workspace: ws.root,
    perStyle,
    total: totalCounts,
    skipped,
    skippedFolders: skippedFolders.map(({ path, reason, detail }) => ({ path, reason, detail })),
    removedStale,
    keptFromPreviousScan,
    split,
    elapsedMs: Math.round(elapsedMs),
    filesPerSecond: Math.round((done / elapsedMs) * 1000),
  };
  try {
    report.reportFiles = reportFiles.write(join(ws.root, 'results'), {
      scanId,
      status: 'done',
      dataRoot: layout.root,
      workspace: ws.root,
    });
  } catch (e) {
    // The scan itself succeeded and is stored; say that the full lists could not be written.
    report.reportError = `could not write the full report to ${join(ws.root, 'results')}: ${describeFsError(e)}`;
  } finally {
    reportFiles.dispose();
  }
  store.finishScan(scanId, 'done', report);
  return report;
}

/** What an excluded garment's reason means, for the report files. */
const EXCLUSION_TEXT: Record<ExclusionReason, string> = {
  'no-box': 'neither a polygon nor a rect',
  'degenerate-box': 'the polygon and the rect collapse to (almost) nothing inside the image',
  'no-attributes': 'a box, but no attribute at all',
  'bad-coordinates': 'a coordinate far outside the image',
};

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

interface PlannedFolder {
  src: LabelSource;
  style: string;
  labelStyleDir: string;
  roots: AllowedRoots;
  /** Label files counted by the plan's listing: the progress bar's total. */
  files: number;
}

/**
 * The style folders to scan, each listed once to count its label files (holding no names), and the
 * folders that cannot be scanned, with why. Nothing here throws for one folder.
 */
function planFolders(
  layout: DatasetLayout,
  wanted: Set<string>,
): {
  folders: PlannedFolder[];
  skippedFolders: (SkippedFile & { style: string; splitFolder: string | null })[];
} {
  const folders: PlannedFolder[] = [];
  const skippedFolders: (SkippedFile & { style: string; splitFolder: string | null })[] = [];
  const seen = new Map<string, string>();
  for (const src of layout.sources) {
    const roots = allowedRoots(layout.root, src.labelDir);
    // Real folders first: where a link points at a style folder, the folder is read under its own
    // name and the link is reported, whatever order the directory lists them in.
    const styles = [...src.styleFolders]
      .filter(([style]) => wanted.has(style))
      .map(([style, onDisk]) => ({ style, labelStyleDir: join(src.labelDir, onDisk) }))
      .map((f) => ({ ...f, link: isLinkOrUnknown(f.labelStyleDir) }))
      .sort((a, b) => Number(a.link) - Number(b.link));
    for (const { style, labelStyleDir } of styles) {
      const check = checkStyleFolder(labelStyleDir, roots, seen);
      if (!check.ok) {
        skippedFolders.push({ ...check.skip, style, splitFolder: src.splitFolder });
        continue;
      }
      let files = 0;
      try {
        for (const _ of jsonFiles(labelStyleDir)) files++;
      } catch (e) {
        skippedFolders.push({
          path: labelStyleDir,
          reason: 'folder-unreadable',
          detail: `the style folder cannot be listed: ${describeFsError(e)}; its labels were not read`,
          style,
          splitFolder: src.splitFolder,
        });
        continue;
      }
      folders.push({ src, style, labelStyleDir, roots, files });
    }
  }
  return { folders, skippedFolders };
}

interface JsonEntry {
  name: string;
  /** A symbolic link: its target is checked before it is read. */
  link: boolean;
}

/**
 * [Note: scan in key order]
 * A folder's label files are read in the order of their names, not in the directory's (on ext4 a hash
 * order, i.e. random). The rows' keys (`<style>/<stem>`, and `<key>/<part>` for garments) follow the
 * file names, so the unique indexes of images, items and exclusions, which a bulk load cannot drop, are
 * appended to at their right edge instead of being inserted into at random places. At random, once
 * those B-trees outgrow SQLite's page cache, each label touched pages that had to be read back, and
 * each commit wrote scattered pages all over them: the time per file rose with the number of files.
 * In name order the pages a batch touches are a few, and stay cached. Measured against directory
 * order, the writing thread's CPU a file: 22 against 29-34 µs at 100k files, 23-24 against 36-37 at
 * 300k, 30 against 46 at 1M.
 * The price: one folder's names are held while it is read (about 40 bytes a name, released with the
 * folder), bounded by the largest style folder, not by the dataset. The order of names is JavaScript's
 * (UTF-16 code units), which is the stored keys' byte order for every name outside the surrogate range,
 * and an order is all this needs.
 */
export function listJsonFiles(dir: string): {
  names: string[];
  links: Set<string>;
  /** Case key → the names sharing it, in the directory's order (caseTwinGroups). */
  caseTwins: Map<string, string[]>;
  error?: unknown;
} {
  const names: string[] = [];
  const links = new Set<string>();
  let error: unknown;
  try {
    for (const e of jsonFiles(dir)) {
      names.push(e.name);
      if (e.link) links.add(e.name);
    }
  } catch (e) {
    error = e;
  }
  // Twins are named in the directory's order, as before the names were sorted.
  const caseTwins = caseTwinGroups(names);
  names.sort();
  return error === undefined ? { names, links, caseTwins } : { names, links, caseTwins, error };
}

/**
 * [Note: case twins without every name]
 * Names that collide by case (Note in scan-guards: CaseTwins) used to be found with a map of every
 * name of a folder, built while planning, and kept per folder. A name that is its own case key (NFC,
 * lower case: every K-Fashion label's numeric name) can only collide with one that is not, so only
 * the keys of names that are not their own are collected (none in K-Fashion), and only when there are
 * some are the names grouped, just those with such a key: the same groups as before, each naming its
 * files in the order given (the directory's).
 */
export function caseTwinGroups(names: readonly string[]): Map<string, string[]> {
  const unusual = new Set<string>();
  for (const name of names) {
    const key = caseKey(name);
    if (key !== name) unusual.add(key);
  }
  if (unusual.size === 0) return new Map();
  const twins = new CaseTwins();
  for (const name of names) if (unusual.has(caseKey(name))) twins.add(name);
  return twins.groups;
}

/** Streams the `*.json` file names of a folder without holding the whole listing. */
function* jsonFiles(dir: string): Generator<JsonEntry> {
  const d = opendirSync(dir, { bufferSize: 256 });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      if (!e.name.toLowerCase().endsWith('.json') || e.isDirectory()) continue;
      // Some network and FUSE file systems report no entry type: ask stat() for those.
      const typeKnown =
        e.isFile() ||
        e.isSymbolicLink() ||
        e.isFIFO() ||
        e.isSocket() ||
        e.isBlockDevice() ||
        e.isCharacterDevice();
      if (e.isFile() || e.isSymbolicLink() || (!typeKnown && isFileOrUnknown(join(dir, e.name))))
        yield { name: e.name, link: e.isSymbolicLink() };
    }
  } finally {
    d.closeSync();
  }
}

function isLinkOrUnknown(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return true;
  }
}

/** Unknown entries that stat() cannot answer for are read, so their error is reported, not lost. */
function isFileOrUnknown(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true;
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

/**
 * Image file names of one style folder, NFC-normalised. One directory listing replaces a handful of
 * failed stat() calls per label (the scan's biggest cost when images are missing); memory is bounded
 * by the largest style folder, not by the dataset, and is released when the folder is done.
 */
function imageFileNames(dir: string): Map<string, string> {
  const names = new Map<string, string>();
  const d = opendirSync(dir, { bufferSize: 256 });
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) {
      const dot = e.name.lastIndexOf('.');
      const ext = e.name.slice(dot).toLowerCase();
      if (dot > 0 && IMAGE_EXTENSIONS.includes(ext))
        names.set(normalizeName(e.name.slice(0, dot)) + ext, e.name);
    }
  } finally {
    d.closeSync();
  }
  return names;
}

/** The image of a label: by the label's stem first, then by its 이미지 식별자 (KFASHION_FORMAT.md). */
function findImage(names: Map<string, string>, stem: string, imageId: number | null): string | null {
  const candidates = imageId !== null && String(imageId) !== stem ? [stem, String(imageId)] : [stem];
  for (const base of candidates) {
    for (const ext of IMAGE_EXTENSIONS) {
      const onDisk = names.get(base + ext);
      if (onDisk !== undefined) return onDisk;
    }
  }
  return null;
}

export function lookKey(shopFile: string | null, imageKey: string): string {
  const m = shopFile ? LOOK_NAME.exec(shopFile) : null;
  return m ? `look:${m[1]}_${m[2]}` : `image:${imageKey}`;
}

/**
 * The portable path of `dir` relative to `root` when it lies strictly inside it, else null. A file
 * name (no separator, not `..`) appended with '/' then gives what toPortable(relative(root, file))
 * gives, without resolving both paths again for every label file.
 */
function portableUnder(root: string, dir: string): string | null {
  const rel = relative(root, dir);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  return toPortable(rel);
}

/** Paths are stored with forward slashes so a workspace made on Windows reads on Linux and back. */
function toPortable(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}
