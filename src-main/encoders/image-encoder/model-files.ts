/**
 * Where image-encoder model files live and how they get there. A model loads from `models/<id>/`
 * (the project's `models/` folder, or `KFASHION_MODELS_DIR`); a missing file is downloaded from the
 * model hub (`KFASHION_MODEL_HUB` overrides https://huggingface.co, e.g. for a mirror or a test
 * server) into `<file>.part`, checked, then renamed, so an interrupted download never leaves a file
 * that looks complete. Offline, the error lists each missing file with the full path to put it at and
 * the URL to fetch it from on another machine.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ModelFile, onnxFileFor, type Precision, type RegistryModel } from './model-registry.ts';

export const DEFAULT_HUB = 'https://huggingface.co';

export class ModelFilesError extends Error {
  override name = 'ModelFilesError';
}

/** Bytes received so far of one file; `total` is 0 when the server does not say. */
export type DownloadProgress = (file: string, received: number, total: number) => void;

export interface ModelFilesOptions {
  /** Folder holding one sub-folder per model id (default: see defaultModelsDir). */
  modelsDir?: string;
  /** Base URL of the hub (default KFASHION_MODEL_HUB or https://huggingface.co). */
  hub?: string;
  /** False (or KFASHION_OFFLINE=1) never tries the network: missing files are an error at once. */
  download?: boolean;
  onProgress?: DownloadProgress;
  signal?: AbortSignal;
}

/**
 * `KFASHION_MODELS_DIR`, else the `models/` folder of the project this code runs from (found by
 * walking up to the package.json, which works both from the sources and from the dist/ bundle), else
 * `./models`.
 */
export function defaultModelsDir(): string {
  const env = process.env.KFASHION_MODELS_DIR;
  if (env) return resolve(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'models');
    const up = dirname(dir);
    if (up === dir) return resolve('models');
    dir = up;
  }
}

export function hubBase(opts: { hub?: string } = {}): string {
  return (opts.hub ?? process.env.KFASHION_MODEL_HUB ?? DEFAULT_HUB).replace(/\/+$/, '');
}

export function hubFileUrl(repo: string, path: string, hub?: string): string {
  const enc = path.split('/').map(encodeURIComponent).join('/');
  return `${hubBase({ hub })}/${repo}/resolve/main/${enc}`;
}

export interface RegistryModelFiles {
  dir: string;
  onnxPath: string;
  preprocessorPath: string;
  /** Files fetched from the hub by this call (empty when all were already there). */
  downloaded: string[];
}

/** Makes sure `model`'s files for `precision` are in `models/<id>/`, downloading what is missing. */
export async function ensureRegistryModelFiles(
  model: RegistryModel,
  precision: Precision,
  opts: ModelFilesOptions = {},
): Promise<RegistryModelFiles> {
  const dir = join(opts.modelsDir ?? defaultModelsDir(), model.id);
  const onnx = onnxFileFor(model, precision);
  const downloaded = await ensureFiles(dir, model.repo, [onnx, model.preprocessor], opts);
  return {
    dir,
    onnxPath: join(dir, onnx.path),
    preprocessorPath: join(dir, model.preprocessor.path),
    downloaded,
  };
}

/** A local file counts as present when it exists and, where the size is known, has that size. */
function present(path: string, f: ModelFile): boolean {
  if (!existsSync(path)) return false;
  return f.size === undefined || statSync(path).size === f.size;
}

/**
 * Makes sure each of `files` exists under `dir`, fetching missing ones from `repo` on the hub. Returns
 * the paths it downloaded; throws one error naming every file that is still missing.
 */
export async function ensureFiles(
  dir: string,
  repo: string,
  files: readonly ModelFile[],
  opts: ModelFilesOptions = {},
): Promise<string[]> {
  const missing = files.filter((f) => !present(join(dir, f.path), f));
  if (missing.length === 0) return [];
  const offline = opts.download === false || process.env.KFASHION_OFFLINE === '1';
  const downloaded: string[] = [];
  const failures: string[] = [];
  if (!offline) {
    for (const f of missing) {
      const dest = join(dir, f.path);
      try {
        await downloadFile(hubFileUrl(repo, f.path, opts.hub), dest, f, opts);
        downloaded.push(dest);
      } catch (e) {
        if (opts.signal?.aborted) throw e;
        failures.push(`${f.path}: ${describeFetchError(e)}`);
      }
    }
    if (failures.length === 0) return downloaded;
  }
  const still = missing.filter((f) => !downloaded.includes(join(dir, f.path)));
  const lines = still.map((f) => {
    const path = join(dir, f.path);
    const wrong = existsSync(path)
      ? ` (the file there is ${statSync(path).size} bytes, expected ${f.size})`
      : '';
    return `  ${path}${wrong}\n    from ${hubFileUrl(repo, f.path, opts.hub)}${f.size ? ` (${f.size} bytes)` : ''}`;
  });
  throw new ModelFilesError(
    [
      `Model files of ${repo} are missing ${offline ? 'and downloading is off (offline)' : 'and could not be downloaded'}.`,
      ...failures.map((r) => `  download failed: ${r}`),
      'Put each file at the path shown (fetch it on a machine with internet from the URL below it):',
      ...lines,
      'Or point KFASHION_MODELS_DIR at a folder holding <model id>/<file>, or KFASHION_MODEL_HUB at a mirror.',
    ].join('\n'),
  );
}

/**
 * Downloads `url` to `dest` through `dest.part`. Follows redirects by hand so the hub's own headers
 * are seen: Hugging Face answers a Git LFS file with a redirect carrying `X-Linked-Size` and
 * `X-Linked-Etag` (the file's sha256), which the CDN response that follows no longer has. The size is
 * checked against `expected.size`, else the hub's size, else Content-Length; the sha256 against
 * `expected.sha256`, else the hub's. Anything wrong removes the part file and throws.
 */
export async function downloadFile(
  url: string,
  dest: string,
  expected: { size?: number; sha256?: string },
  opts: { onProgress?: DownloadProgress; signal?: AbortSignal } = {},
): Promise<void> {
  let current = url;
  let linkedSize: number | undefined;
  let linkedSha: string | undefined;
  let res: Response | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const r = await fetch(current, {
      redirect: 'manual',
      signal: opts.signal,
      headers: { 'user-agent': 'kfashion-workbench' },
    });
    linkedSize ??= numberHeader(r.headers.get('x-linked-size'));
    linkedSha ??= sha256Header(r.headers.get('x-linked-etag'));
    if (r.status >= 300 && r.status < 400) {
      const loc = r.headers.get('location');
      await r.body?.cancel();
      if (!loc) throw new ModelFilesError(`${current}: HTTP ${r.status} redirect without a Location`);
      current = new URL(loc, current).href;
      continue;
    }
    if (!r.ok) {
      await r.body?.cancel();
      throw new ModelFilesError(`${current}: HTTP ${r.status} ${r.statusText}`.trim());
    }
    res = r;
    break;
  }
  if (!res?.body) throw new ModelFilesError(`${url}: too many redirects or an empty response`);
  const contentLength = numberHeader(res.headers.get('content-length'));
  linkedSha ??= sha256Header(res.headers.get('etag'));
  const wantSize = expected.size ?? linkedSize ?? contentLength;
  const wantSha = expected.sha256?.toLowerCase() ?? linkedSha;

  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const out = createWriteStream(part);
  const hash = createHash('sha256');
  let received = 0;
  const name = dest;
  try {
    opts.onProgress?.(name, 0, wantSize ?? 0);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.byteLength;
      if (!out.write(chunk)) await once(out, 'drain');
      opts.onProgress?.(name, received, wantSize ?? 0);
    }
    out.end();
    await once(out, 'finish');
    if (wantSize !== undefined && received !== wantSize) {
      throw new ModelFilesError(`${url}: received ${received} bytes, expected ${wantSize}`);
    }
    const sha = hash.digest('hex');
    if (wantSha !== undefined && sha !== wantSha) {
      throw new ModelFilesError(`${url}: sha256 ${sha} does not match the expected ${wantSha}`);
    }
    renameSync(part, dest);
  } catch (e) {
    out.destroy();
    rmSync(part, { force: true });
    throw e;
  }
}

/** Node's fetch says only "fetch failed"; the reason (ENOTFOUND, ECONNREFUSED, …) is in `cause`. */
function describeFetchError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as { code?: string; message?: string } | undefined;
  const why = cause?.code ?? cause?.message;
  return why && !e.message.includes(why) ? `${e.message} (${why})` : e.message;
}

function numberHeader(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

/** A sha256 in an ETag (`"<64 hex>"`, maybe weak `W/`); a git sha1 ETag (40 hex) is not one. */
function sha256Header(v: string | null): string | undefined {
  const m = v ? /^(?:W\/)?"?([0-9a-fA-F]{64})"?$/.exec(v.trim()) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}
