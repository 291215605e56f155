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

export const BUNDLE_FORMAT = 'kfashion-result-bundle';
export const BUNDLE_VERSION = 1;

export interface ExportBundleOptions {
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
    runId,
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
