/**
 * `npm run bench -- scale [--items N] [--train-steps S] [--val-sample G] [--dir DIR] [--keep]`: the
 * whole pipeline at the full K-Fashion size (default N = 1,200,000 garments) on generated labels and
 * vectors (scale-tree.ts), measured through the real `kfashion` CLI where a command does the work
 * (scan, embed --import, centrality, report) and through the product's own modules in a child process
 * where the CLI would add an unrelated step (training for a fixed number of steps, validation, the
 * exact index). Every phase runs in a fresh process, so its peak RSS is its own.
 *
 * [Note: peak memory of a child] Node reports a process's peak RSS only to itself
 * (`process.resourceUsage().maxRSS`), so each child is started with a tiny `--import` module that
 * writes it to a file when the process exits (worker threads share the process, so their memory is
 * included). `baselineRssMB` is the RSS before the phase's heavy work: at start-up for the CLI
 * commands (bare Node), after the modules loaded for the in-process phases. `rssPerItemKB` =
 * (peak − baseline) / N, the figure that must stay flat as N grows; `boundKB` is the ceiling the
 * bench asserts (see MEMORY_BOUNDS for why each is what it is).
 *
 * Labelled extrapolations: with `--train-steps S` below an epoch's steps the epoch is S steps timed
 * and multiplied out; validation over a gallery larger than `--val-sample` is timed on a sample and
 * scaled by (G / sample)², since the full ranking is quadratic in the gallery.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Workbench } from '../src-main/services/workbench.ts';
import { DatasetStore } from '../src-main/store/dataset-store.ts';
import { EmbeddingStore } from '../src-main/store/embedding-store.ts';
import { DEFAULT_TRAIN_CONFIG } from '../src-main/training/train-config.ts';
import { CancelledError } from '../src-shared/jobs.ts';
import { emit } from './machine.ts';
import { writeScaleTree } from './scale-tree.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const BIN = join(ROOT, 'bin', 'kfashion.js');

/**
 * What each phase may hold per garment (KB) beyond its start-up baseline, plus a fixed allowance (MB)
 * for what does not grow with N (SQLite's page cache, ONNX Runtime's arena, tfjs's wasm heap, the
 * V8 heap's slack). The per-item figures:
 * - scan: streamed in batches of 1,000 files; what grows with N is the split (image keys, look
 *   names) and the vocabulary counts: well under 1 KB per garment.
 * - import: streamed in blocks of 16,384 rows; the ids list (≈ 60 B of string per id) and the set of
 *   known ids: under 1 KB per garment.
 * - train: the image vectors ONCE (2 KB per garment, 512 float32) plus ids and attribute indices
 *   (≈ 0.5–1 KB): 4 KB allows them once with slack, never twice.
 * - search: the gallery once (2 KB), its int8 copy for single queries (0.5 KB) + ids: 4 KB allows
 *   them, not a second float32 copy (4.5 KB+).
 * - centrality: the vectors once (2 KB) + ids, style and the value per item: 3.5 KB.
 * - validate: the 20 % validation gallery (0.4 KB per garment of N) + its queries: 1.5 KB.
 * - report: reads result files, never vectors: 0.5 KB.
 */
export const MEMORY_BOUNDS: Record<string, { fixedMB: number; perItemKB: number }> = {
  scan: { fixedMB: 350, perItemKB: 1 },
  import: { fixedMB: 300, perItemKB: 1 },
  train: { fixedMB: 500, perItemKB: 4 },
  validate: { fixedMB: 400, perItemKB: 1.5 },
  search: { fixedMB: 400, perItemKB: 4 },
  centrality: { fixedMB: 300, perItemKB: 3.5 },
  report: { fixedMB: 350, perItemKB: 0.5 },
};

const RSS_PRELOAD = `data:text/javascript,${encodeURIComponent(
  [
    "import { writeFileSync } from 'node:fs';",
    "import { isMainThread } from 'node:worker_threads';",
    'const f = process.env.KF_PEAK_RSS_FILE;',
    'const base = process.memoryUsage().rss;',
    'if (f && isMainThread) process.on("exit", () => writeFileSync(f, JSON.stringify({ peak: process.resourceUsage().maxRSS * 1024, base, baseInProcess: globalThis.__kfBaselineRss ?? null })));',
  ].join('\n'),
)}`;

interface ChildRun {
  ms: number;
  stdout: string;
  peakMB: number;
  baselineMB: number;
}

/** Runs `node [preload] args`, timing it and reading its peak RSS (see [Note: peak memory of a child]). */
async function measured(args: string[], what: string, dir: string): Promise<ChildRun> {
  const rssFile = join(dir, `rss-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', RSS_PRELOAD, ...args], {
    env: { ...process.env, KF_PEAK_RSS_FILE: rssFile, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${stderr}`);
  const r = JSON.parse(readFileSync(rssFile, 'utf8')) as {
    peak: number;
    base: number;
    baseInProcess: number | null;
  };
  rmSync(rssFile, { force: true });
  return { ms, stdout, peakMB: r.peak / 2 ** 20, baselineMB: (r.baseInProcess ?? r.base) / 2 ** 20 };
}

function lastJson(stdout: string): Record<string, unknown> {
  // `--json` prints one JSON document; the in-process children print one JSON line last.
  const t = stdout.trim();
  try {
    return JSON.parse(t) as Record<string, unknown>;
  } catch {
    return JSON.parse(t.split('\n').at(-1)!) as Record<string, unknown>;
  }
}

function memoryFields(phase: string, run: ChildRun, items: number): Record<string, unknown> {
  const b = MEMORY_BOUNDS[phase]!;
  const grown = Math.max(0, run.peakMB - run.baselineMB);
  const boundMB = b.fixedMB + (b.perItemKB * items) / 1024;
  return {
    peakRssMB: Math.round(run.peakMB),
    baselineRssMB: Math.round(run.baselineMB),
    rssPerItemKB: +((grown * 1024) / items).toFixed(3),
    memoryBoundMB: Math.round(boundMB),
    memoryBound: `${b.fixedMB} MB + ${b.perItemKB} KB × items above the baseline`,
    withinMemoryBound: grown <= boundMB,
  };
}

function dirBytes(path: string): number {
  return ['', '-wal', '-shm'].reduce((a, s) => a + (existsSync(path + s) ? statSync(path + s).size : 0), 0);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function wholeNumber(args: string[], name: string, dflt: number, min = 1): number {
  const raw = flag(args, name);
  if (raw === undefined) return dflt;
  const n = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} expects a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

export async function scaleBench(args: string[]): Promise<void> {
  const items = wholeNumber(args, '--items', 1_200_000, 100);
  const trainSteps = wholeNumber(args, '--train-steps', 300, 10);
  const valSample = wholeNumber(args, '--val-sample', 24_000, 100);
  const keep = args.includes('--keep');
  const parent = flag(args, '--dir') ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'kf-bench-scale-'));
  const ws = join(dir, 'ws');
  const self = fileURLToPath(import.meta.url);
  const base = { bench: 'scale', items };
  try {
    // 1. Generate (not timed as a product figure; reported so the reader knows the cost).
    const t0 = performance.now();
    const tree = writeScaleTree(dir, items);
    emit({
      ...base,
      phase: 'generate',
      files: tree.files,
      garments: tree.garments,
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      labelMB: Math.round(tree.labelBytes / 2 ** 20),
      npyMB: Math.round(tree.npyBytes / 2 ** 20),
      note: 'labels only (no JPEGs) + vectors.npy [N, 512] float32 + ids JSON; generator streamed, not a product figure',
    });

    // 2. Scan through the CLI.
    const scan = await measured(
      [BIN, 'scan', '--data', tree.data, '--workspace', ws, '--json'],
      'kfashion scan',
      dir,
    );
    const scanReport = lastJson(scan.stdout) as {
      total: { labels: number; garments: number; skippedFiles: number };
    };
    if (scanReport.total.garments !== items) {
      throw new Error(`the scan stored ${scanReport.total.garments} garments, expected ${items}`);
    }
    emit({
      ...base,
      phase: 'scan',
      files: tree.files,
      garments: scanReport.total.garments,
      seconds: +(scan.ms / 1000).toFixed(2),
      filesPerSecond: Math.round(tree.files / (scan.ms / 1000)),
      garmentsPerSecond: Math.round(items / (scan.ms / 1000)),
      ...memoryFields('scan', scan, items),
      note: 'kfashion scan --json, wall time of the whole command (start-up included)',
    });

    // 3. Embedding import through the CLI.
    const imp = await measured(
      [BIN, 'embed', '--workspace', ws, '--import', tree.npy, '--ids', tree.ids, '--json'],
      'kfashion embed --import',
      dir,
    );
    const impReport = lastJson(imp.stdout) as { stored?: number; rows?: number };
    const stored = impReport.stored ?? impReport.rows ?? 0;
    if (stored !== items) throw new Error(`the import stored ${stored} vectors, expected ${items}`);
    emit({
      ...base,
      phase: 'import',
      rows: stored,
      seconds: +(imp.ms / 1000).toFixed(2),
      rowsPerSecond: Math.round(stored / (imp.ms / 1000)),
      ...memoryFields('import', imp, items),
      note: 'kfashion embed --import --json (check every row, then store), wall time',
    });
    const dbBytes = dirBytes(join(ws, 'workspace.db'));
    emit({
      ...base,
      phase: 'database',
      databaseMB: Math.round(dbBytes / 2 ** 20),
      bytesPerItem: Math.round(dbBytes / items),
      note: 'workspace.db (+ -wal) after scan and import; vectors alone are 2,048 bytes per garment',
    });

    // 4. One training epoch at the default batch (or S steps of it, extrapolated).
    const train = await measured([self, 'scale-train', ws, String(trainSteps)], 'training', dir);
    const t = lastJson(train.stdout) as {
      backend: string;
      batch: number;
      trainItems: number;
      stepsPerEpoch: number;
      stepsTimed: number;
      msPerStep: number;
      loadMs: number;
      fullEpoch: boolean;
      epochMs: number;
    };
    const epochMs = t.fullEpoch ? t.epochMs : t.msPerStep * t.stepsPerEpoch;
    emit({
      ...base,
      phase: 'train',
      backend: t.backend,
      batch: t.batch,
      trainItems: t.trainItems,
      stepsPerEpoch: t.stepsPerEpoch,
      stepsTimed: t.stepsTimed,
      msPerStep: +t.msPerStep.toFixed(2),
      epochMs: Math.round(epochMs),
      samplesPerSecond: Math.round((t.batch * 1000) / t.msPerStep),
      dataLoadMs: Math.round(t.loadMs),
      extrapolated: !t.fullEpoch,
      ...memoryFields('train', train, items),
      note: t.fullEpoch
        ? 'one full epoch of the real trainer (validation included in epochMs)'
        : `EXTRAPOLATED: ${t.stepsTimed} steps of the real trainer timed (after 5 warm-up steps), × ${t.stepsPerEpoch} steps per epoch; validation below`,
    });

    // 5. Validation over the 20 % gallery.
    const val = await measured([self, 'scale-validate', ws, String(valSample)], 'validation', dir);
    const v = lastJson(val.stdout) as { gallery: number; measured: number; ms: number };
    const factor = (v.gallery / v.measured) ** 2;
    emit({
      ...base,
      phase: 'validate',
      gallery: v.gallery,
      measuredGallery: v.measured,
      ms: Math.round(v.ms * factor),
      measuredMs: Math.round(v.ms),
      sampled: v.measured < v.gallery,
      ...memoryFields('validate', val, items),
      note:
        v.measured < v.gallery
          ? `SAMPLED: the trainer's validation ranking (validationMetricsBlocked) timed over ${v.measured} of the ${v.gallery} validation garments, × (${v.gallery}/${v.measured})² since it is quadratic`
          : "the trainer's validation ranking (validationMetricsBlocked) over the whole validation gallery",
    });

    // 6. Exact search at N.
    const search = await measured([self, 'scale-search', ws], 'search', dir);
    const s = lastJson(search.stdout) as {
      rows: number;
      loadMs: number;
      buildMs: number;
      p50: number;
      p95: number;
      engine: string;
    };
    emit({
      ...base,
      phase: 'search',
      rows: s.rows,
      engine: s.engine,
      idsMs: Math.round(s.loadMs),
      buildMs: Math.round(s.buildMs),
      p50Ms: +s.p50.toFixed(1),
      p95Ms: +s.p95.toFixed(1),
      ...memoryFields('search', search, items),
      note: 'the search service path: ids, then VectorIndex.buildFromRows reading the store a chunk at a time (load + transpose = buildMs), exact, then 20 single queries (k = 10) after a warm-up',
    });

    // 7. Centrality through the CLI.
    const cen = await measured([BIN, 'centrality', '--workspace', ws, '--json'], 'kfashion centrality', dir);
    emit({
      ...base,
      phase: 'centrality',
      seconds: +(cen.ms / 1000).toFixed(2),
      ...memoryFields('centrality', cen, items),
      note: 'kfashion centrality --json: read every vector, centre, cosine per item, store, chart',
    });

    // 8. The HTML report through the CLI.
    const rep = await measured(
      [BIN, 'report', '--workspace', ws, '--no-searches', '--json'],
      'kfashion report',
      dir,
    );
    const repReport = lastJson(rep.stdout) as { bytes?: number };
    emit({
      ...base,
      phase: 'report',
      seconds: +(rep.ms / 1000).toFixed(2),
      htmlKB: repReport.bytes ? Math.round(repReport.bytes / 1024) : null,
      ...memoryFields('report', rep, items),
      note: 'kfashion report --no-searches --json',
    });
  } finally {
    if (keep) console.error(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const markBaseline = () => {
  (globalThis as { __kfBaselineRss?: number }).__kfBaselineRss = process.memoryUsage().rss;
};

/** Child: the real trainer (1 epoch, default batch), stopped after `steps` steps when an epoch is longer. */
export async function scaleTrainChild(ws: string, steps: number): Promise<void> {
  const wb = Workbench.open(ws);
  const warmup = 5;
  const ac = new AbortController();
  const t0 = performance.now();
  let loadMs = 0;
  let total = 0;
  let firstAt = 0;
  let firstStep = 0;
  let lastAt = 0;
  let lastStep = 0;
  markBaseline();
  let result: Awaited<ReturnType<Workbench['train']>> | null = null;
  try {
    result = await wb.train(
      { overrides: { epochs: 1 } },
      {
        signal: ac.signal,
        onProgress: (e) => {
          if (!e.phase.startsWith('epoch')) return;
          const now = performance.now();
          total = e.total;
          if (e.step === 0) loadMs = now - t0;
          if (firstAt === 0 && e.step >= warmup) {
            firstAt = now;
            firstStep = e.step;
          } else if (firstAt > 0) {
            lastAt = now;
            lastStep = e.step;
          }
          if (e.step >= steps + warmup && e.step < e.total) ac.abort();
        },
      },
    );
  } catch (e) {
    if (!(e instanceof CancelledError)) throw e;
  }
  const backend =
    result?.backend ??
    (
      wb.workspace.db.prepare('SELECT backend FROM runs ORDER BY started_at DESC LIMIT 1').get() as
        | { backend: string }
        | undefined
    )?.backend ??
    'unknown';
  const trainItems = result?.data.train ?? new DatasetStore(wb.workspace.db).countItems({ split: 'train' });
  wb.close();
  const stepsTimed = lastStep - firstStep;
  process.stdout.write(
    `${JSON.stringify({
      backend,
      batch: DEFAULT_TRAIN_CONFIG.batchSize,
      trainItems,
      stepsPerEpoch: result?.data.stepsPerEpoch ?? total,
      stepsTimed: result ? result.data.stepsPerEpoch : stepsTimed,
      msPerStep: result ? result.msPerStep : (lastAt - firstAt) / Math.max(1, stepsTimed),
      loadMs,
      fullEpoch: result !== null,
      epochMs: result?.history[0]?.epochMs ?? 0,
    })}\n`,
  );
}

/** Child: the trainer's validation ranking over the validation gallery (or a sample of it). */
export async function scaleValidateChild(ws: string, sample: number): Promise<void> {
  const { validationMetricsBlocked } = await import('../src-main/training/validation-metrics.ts');
  const wb = Workbench.open(ws);
  markBaseline();
  const model = new EmbeddingStore(wb.workspace.db).models()[0]!.model;
  const ids: string[] = [];
  let gallery = 0;
  // Every k-th validation garment, so the sample spans every style.
  const all = new DatasetStore(wb.workspace.db).countItems({ split: 'val' });
  const every = Math.max(1, Math.ceil(all / sample));
  for (const it of new DatasetStore(wb.workspace.db).iterateItems({ split: 'val' })) {
    if (gallery++ % every === 0) ids.push(it.id);
  }
  const images = new EmbeddingStore(wb.workspace.db).matrix(model, ids);
  wb.close();
  // The timing does not depend on the query values: the gallery's own vectors stand in for encoded queries.
  const t0 = performance.now();
  await validationMetricsBlocked(images, images, 512, 0);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ gallery, measured: ids.length, ms })}\n`);
}

/** Child: the search service's loading path and the exact index at N. */
export async function scaleSearchChild(ws: string): Promise<void> {
  const { VectorIndex } = await import('../src-main/retrieval/vector-index.ts');
  const wb = Workbench.open(ws);
  markBaseline();
  const store = new EmbeddingStore(wb.workspace.db);
  const model = store.models()[0]!.model;
  const t0 = performance.now();
  const ids = wb.workspace.db
    .prepare('SELECT item_id FROM image_embeddings WHERE model = ? ORDER BY item_id')
    .pluck()
    .all(model) as string[];
  // As the search service loads its gallery (services/similarity-search.ts).
  const t1 = performance.now();
  const index = await VectorIndex.buildFromRows(ids, 512, (start, count) =>
    store.matrix(model, ids.slice(start, start + count)),
  );
  const buildMs = performance.now() - t1;
  const loadMs = t1 - t0; // the ids
  const query = store.matrix(model, ids.slice(0, 21));
  wb.close();
  const times: number[] = [];
  for (let q = 0; q < 21; q++) {
    const t = performance.now();
    await index.search(query.subarray(q * 512, (q + 1) * 512), 10);
    if (q > 0) times.push(performance.now() - t);
  }
  await index.close();
  times.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      rows: ids.length,
      loadMs,
      buildMs,
      p50: times[Math.floor(times.length / 2)]!,
      p95: times[Math.floor(times.length * 0.95)]!,
      engine: index.backend,
    })}\n`,
  );
}
