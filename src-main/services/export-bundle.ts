/**
 * The result bundle of a workspace (`kfashion export`, the UI's Export button): one zip holding what a
 * run produced — its config, the best checkpoint (safetensors + json + README), the results JSONs,
 * charts, HTML reports and similarity-search folders — plus manifest.json naming the run, the time,
 * every file with its SHA-256, and whether the data was synthetic.
 *
 * Streamed: yazl reads each file from disk as the zip is written, so a multi-hundred-MB checkpoint
 * never sits in memory. The zip is written to a hidden temporary name beside `<out>` and renamed at the end, so a cancelled or
 * failed export never leaves a truncated file under the final name (and touches nothing else).
 *
 * `--run ID` makes a run bundle instead: that run's folder only (run/config.json with the data
 * fingerprint, run/run.json, run/split.json with the ordered train and validation item ids, its best
 * checkpoint, results and evaluations) — never another run's files. `kfashion train --from-bundle`
 * replays it (readBundleRun).
 *
 * Left out on purpose: workspace.db (the dataset index, large and machine-specific), crops (derived
 * from the images), checkpoints/last.* (optimizer state for resuming, twice the size of the weights),
 * and exports/ itself (earlier bundles).
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { diskFullError, isTempName, removeStaleTempFiles, tempPathFor } from '../store/atomic-file.ts';
import { getMeta } from '../store/database.ts';
import type { Workspace } from '../store/workspace.ts';
import { checkpointExists, RUN_CHECKPOINT_FILES } from '../training/checkpoints.ts';
import { readRunConfig, resolveRun, runPaths } from '../training/runs.ts';
import { type ReplaySource, replayFromJson } from './run-replay.ts';

export const BUNDLE_FORMAT = 'kfashion-result-bundle';
export const BUNDLE_VERSION = 1;

export interface ExportBundleOptions {
  /** Bundle this run only (id, number, start of the id, or "current"). */
  run?: string;
  /** Where to write the zip; default <workspace>/exports/<name>. */
  out?: string;
  /** File name in <workspace>/exports/ when `out` is not given (default bundle-<run>-<time>.zip). */
  name?: string;
}

export interface BundleFile {
  /** Path inside the zip (forward slashes). */
  path: string;
  bytes: number;
  sha256: string;
}

export interface BundleSummary {
  path: string;
  /** Workspace-relative path of the zip when it lies inside the workspace, else null. */
  relPath: string | null;
  bytes: number;
  runId: string | null;
  timestamp: string;
  synthetic: boolean;
  files: BundleFile[];
  /** What the bundle lacks, e.g. "no best checkpoint (the workspace has not trained)". */
  missing: string[];
}

export class ExportError extends Error {
  override name = 'ExportError';
}

/** Files under results/ and temp_logs/ that belong in a bundle (everything a run writes there). */
const RESULT_FILE = /\.(json|png|jpe?g|html|csv|md|txt|svg)$/i;

interface Source {
  abs: string;
  zipPath: string;
}

export async function exportBundle(
  ws: Workspace,
  opts: ExportBundleOptions = {},
  work: WorkOptions = {},
): Promise<BundleSummary> {
  if (opts.run !== undefined) return exportRunBundle(ws, opts.run, opts, work);
  const timestamp = new Date().toISOString();
  const { runId, synthetic, config } = runFacts(ws);
  const stamp = timestamp.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const out = resolve(
    opts.out ?? join(ws.root, 'exports', opts.name ?? `bundle-${runId ?? 'no-run'}-${stamp}.zip`),
  );
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new ExportError(`--out ${out} is a folder; expected a .zip file path`);
  }

  const missing: string[] = [];
  const sources: Source[] = [];
  const add = (abs: string, zipPath: string) => {
    if (existsSync(abs) && statSync(abs).isFile()) sources.push({ abs, zipPath });
  };
  const ck = ws.paths.checkpoints;
  if (existsSync(join(ck, 'best_model.safetensors')) && existsSync(join(ck, 'best_model.json'))) {
    add(join(ck, 'best_model.safetensors'), 'checkpoint/best_model.safetensors');
    add(join(ck, 'best_model.json'), 'checkpoint/best_model.json');
    add(join(ck, 'README.md'), 'checkpoint/README.md');
  } else {
    missing.push(
      'no best checkpoint (checkpoints/best_model.*): the workspace has not finished a training epoch',
    );
  }
  const resultFiles = walk(ws.paths.results).filter((p) => RESULT_FILE.test(p));
  if (resultFiles.length === 0) missing.push('no result files under results/');
  for (const abs of resultFiles) add(abs, `results/${toZipPath(relative(ws.paths.results, abs))}`);
  for (const abs of walk(ws.paths.tempLogs).filter((p) => RESULT_FILE.test(p))) {
    add(abs, `temp_logs/${toZipPath(relative(ws.paths.tempLogs, abs))}`);
  }
  return writeBundle(
    ws,
    out,
    sources,
    { runId, timestamp, synthetic, config, missing, kind: 'workspace' },
    work,
  );
}

/** A bundle of one run's folder (see the file comment). */
async function exportRunBundle(
  ws: Workspace,
  ref: string,
  opts: ExportBundleOptions,
  work: WorkOptions,
): Promise<BundleSummary> {
  const row = resolveRun(ws, ref, '--run');
  const p = runPaths(ws, row.id);
  if (!existsSync(p.dir)) {
    throw new ExportError(
      `--run ${ref}: run ${row.id} has no folder (runs/${row.id}/), so there is nothing to bundle.`,
    );
  }
  const timestamp = new Date().toISOString();
  const stamp = timestamp.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const out = resolve(opts.out ?? join(ws.root, 'exports', opts.name ?? `run-${row.id}-${stamp}.zip`));
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new ExportError(`--out ${out} is a folder; expected a .zip file path`);
  }
  const runConfig = readRunConfig(ws, row.id);
  const synthetic =
    runConfig?.imageEmbedding?.synthetic === true || getMeta<boolean>(ws.db, 'synthetic') === true;
  const missing: string[] = [];
  const sources: Source[] = [];
  const add = (abs: string, zipPath: string) => {
    if (existsSync(abs) && statSync(abs).isFile()) sources.push({ abs, zipPath });
  };
  add(p.config, 'run/config.json');
  add(p.status, 'run/run.json');
  add(p.split, 'run/split.json');
  if (!runConfig)
    missing.push(`no run/config.json (run ${row.id} was made before runs recorded their config)`);
  if (!existsSync(p.split))
    missing.push('no run/split.json: the split item ids were not recorded for this run');
  if (checkpointExists(p.checkpoints, 'best')) {
    add(p.bestWeights, `run/checkpoints/${RUN_CHECKPOINT_FILES.best.weights}`);
    add(p.bestInfo, `run/checkpoints/${RUN_CHECKPOINT_FILES.best.info}`);
    add(join(p.checkpoints, 'README.md'), 'run/checkpoints/README.md');
  } else missing.push('no best checkpoint: no epoch of this run finished');
  for (const dir of [p.results, p.evaluations]) {
    for (const abs of walk(dir).filter((f) => RESULT_FILE.test(f))) {
      add(abs, `run/${toZipPath(relative(p.dir, abs))}`);
    }
  }
  return writeBundle(
    ws,
    out,
    sources,
    {
      runId: row.id,
      timestamp,
      synthetic,
      config: runConfig?.config ?? row.config,
      missing,
      kind: 'run',
      data: runConfig?.data ?? null,
    },
    work,
  );
}

async function writeBundle(
  ws: Workspace,
  out: string,
  sources: Source[],
  facts: {
    runId: string | null;
    timestamp: string;
    synthetic: boolean;
    config: unknown;
    missing: string[];
    kind: 'workspace' | 'run';
    data?: unknown;
  },
  work: WorkOptions,
): Promise<BundleSummary> {
  const { runId, timestamp, synthetic, config, missing } = facts;
  // The bundle may be asked to go inside results/ by hand; never zip the file being written.
  const kept = sources.filter((s) => resolve(s.abs) !== out && !isTempName(basename(s.abs)));

  // Hash first (one streaming read per file), so the manifest can be written with the zip's files.
  const files: BundleFile[] = [];
  const total = kept.length;
  for (const [i, s] of kept.entries()) {
    if (work.signal?.aborted)
      throw new CancelledError('Export cancelled before the zip was written; nothing was written.');
    files.push({ path: s.zipPath, bytes: statSync(s.abs).size, sha256: await sha256File(s.abs) });
    work.onProgress?.('hash', i + 1, total);
  }
  // config.json: the run's training settings, taken out of best_model.json (or the results file).
  let configBuf: Buffer | null = null;
  if (config !== undefined && config !== null) {
    configBuf = Buffer.from(`${JSON.stringify({ runId, timestamp, synthetic, config }, null, 2)}\n`, 'utf8');
    files.unshift({ path: 'config.json', bytes: configBuf.length, sha256: sha256(configBuf) });
  } else {
    missing.push(
      'no config.json: no training run found (checkpoints/best_model.json, results/training_results.json)',
    );
  }
  const manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    kind: facts.kind,
    runId,
    ...(facts.kind === 'run' ? { data: facts.data ?? null } : {}),
    timestamp,
    synthetic,
    ...(synthetic
      ? {
          note: 'SYNTHETIC: this workspace holds generated demo data and stand-in image embeddings, not K-Fashion photos or FashionCLIP; its figures say nothing about real images.',
        }
      : {}),
    producer: 'K-Fashion Workbench',
    missing,
    files,
  };

  mkdirSync(dirname(out), { recursive: true });
  // A hidden temporary name (`.<name>.<pid>.tmp`), cleared by the next export if this process is
  // killed: a visible `<out>.part` stayed beside the bundles for good, since every default name differs.
  removeStaleTempFiles(dirname(out));
  const part = tempPathFor(out);
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(part));
  try {
    if (configBuf) zip.addBuffer(configBuf, 'config.json');
    for (const s of kept) {
      if (work.signal?.aborted) throw new CancelledError('Export cancelled; the partial zip was removed.');
      // Safetensors and pictures barely compress; storing them saves the CPU time for nothing.
      const compress = !/\.(safetensors|png|jpe?g)$/i.test(s.abs);
      zip.addFile(s.abs, s.zipPath, { compress });
    }
    zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'), 'manifest.json');
    zip.end();
    // yazl reads the files while the stream drains: one step for the whole write.
    work.onProgress?.('zip', 0, 1);
    await written;
    work.onProgress?.('zip', 1, 1);
    renameSync(part, out);
  } catch (e) {
    (zip.outputStream as unknown as Readable).destroy();
    await written.catch(() => {});
    rmSync(part, { force: true });
    // A full disk: name the bundle and what it needed (the files it holds, before compression).
    throw (
      diskFullError(
        e,
        out,
        files.reduce((a, f) => a + f.bytes, 0),
      ) ?? e
    );
  }
  const rel = relative(ws.root, out);
  return {
    path: out,
    relPath: rel.startsWith('..') || resolve(ws.root, rel) !== out ? null : toZipPath(rel),
    bytes: statSync(out).size,
    runId,
    timestamp,
    synthetic,
    files,
    missing,
  };
}

/** The run the bundle is about: the best checkpoint's, else the latest results file's. */
function runFacts(ws: Workspace): { runId: string | null; synthetic: boolean; config: unknown } {
  const read = (p: string): Record<string, unknown> | null => {
    try {
      return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  const best = read(join(ws.paths.checkpoints, 'best_model.json'));
  const results = read(join(ws.paths.results, 'training_results.json'));
  const runId = (best?.runId ?? results?.runId ?? null) as string | null;
  const embeddingSynthetic =
    (best?.imageEmbedding as { synthetic?: boolean } | undefined)?.synthetic ?? results?.synthetic;
  const synthetic = embeddingSynthetic === true || getMeta<boolean>(ws.db, 'synthetic') === true;
  return {
    runId: typeof runId === 'string' ? runId : null,
    synthetic,
    config: best?.config ?? results?.config,
  };
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    // Symbolic links are not followed: a bundle holds the workspace's own files only.
    if (entry.isDirectory()) out.push(...walk(p));
    else if (entry.isFile()) out.push(p);
  }
  return out.sort();
}

const toZipPath = (p: string) => p.split(sep).join('/');

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** JSON entries a replay reads from a bundle, at most this big each (a split of 1M ids is ~40 MB). */
const MAX_JSON_ENTRY = 256 * 1024 * 1024;

/** Reads the named entries of a zip (yauzl: streaming, checks sizes and names). */
async function readZipEntries(zipPath: string, wanted: readonly string[]): Promise<Map<string, Buffer>> {
  const { default: yauzl } = await import('yauzl');
  return await new Promise((resolvePromise, reject) => {
    yauzl.open(zipPath, { lazyEntries: true, strictFileNames: true }, (err, zip) => {
      if (err || !zip) {
        reject(
          new ExportError(`${zipPath} is not a readable zip file (${err?.message ?? 'unknown error'}).`),
        );
        return;
      }
      const found = new Map<string, Buffer>();
      zip.on('error', (e: Error) => reject(new ExportError(`${zipPath}: ${e.message}`)));
      zip.on('end', () => resolvePromise(found));
      zip.on('entry', (entry: import('yauzl').Entry) => {
        if (!wanted.includes(entry.fileName) || entry.uncompressedSize > MAX_JSON_ENTRY) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) {
            reject(new ExportError(`${zipPath}: cannot read ${entry.fileName} (${e2?.message})`));
            return;
          }
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', (e3: Error) =>
            reject(new ExportError(`${zipPath}: ${entry.fileName}: ${e3.message}`)),
          );
          stream.on('end', () => {
            found.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** The run a bundle holds, as a replay source, with what the user should be told about it. */
export async function readBundleRun(zipPath: string): Promise<{ replay: ReplaySource; notes: string[] }> {
  if (!existsSync(zipPath)) throw new ExportError(`--from-bundle ${zipPath}: no such file.`);
  const entries = await readZipEntries(zipPath, ['manifest.json', 'run/config.json', 'config.json']);
  const json = (name: string): unknown => {
    const b = entries.get(name);
    if (!b) return undefined;
    try {
      return JSON.parse(b.toString('utf8'));
    } catch (e) {
      throw new ExportError(`--from-bundle ${zipPath}: ${name} is not valid JSON (${(e as Error).message}).`);
    }
  };
  const manifest = json('manifest.json') as
    | { format?: string; kind?: string; runId?: string; synthetic?: boolean }
    | undefined;
  if (!manifest || manifest.format !== BUNDLE_FORMAT) {
    throw new ExportError(
      `--from-bundle ${zipPath}: not a K-Fashion result bundle (no ${BUNDLE_FORMAT} manifest.json).`,
    );
  }
  const runConfig = json('run/config.json');
  const notes: string[] = [];
  let replay: ReplaySource;
  if (runConfig !== undefined) {
    replay = replayFromJson(runConfig, `${zipPath} → run/config.json`);
  } else {
    // A workspace bundle: its config.json holds the settings but no data fingerprint.
    const c = json('config.json') as { config?: unknown; runId?: string } | undefined;
    if (!c?.config)
      throw new ExportError(
        `--from-bundle ${zipPath}: the bundle holds no run config (run/config.json or config.json).`,
      );
    replay = { ...replayFromJson(c.config, `${zipPath} → config.json`), runId: c.runId ?? null };
    notes.push(
      `${zipPath} is a workspace bundle, not a run bundle (kfashion export --run ID): it records no data fingerprint, so whether this workspace holds the same data cannot be checked.`,
    );
  }
  return { replay, notes };
}
