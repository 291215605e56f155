/**
 * Which workspace file a media URL names — and the refusal of everything else. Shared by browser
 * mode's `/media/*` route (server/contract-plugin.ts) and the desktop app's `kfashion-media:`
 * protocol (electron/media-protocol.ts), so both apply the same rules:
 *
 * - the path is relative to the open workspace, in forward-slash segments, percent-decoded once by
 *   the caller's URL parser and once here (so `%2e%2e%2f` and `%252e` tricks meet the same checks);
 * - no empty, `.` or `..` segment, no backslash, NUL, drive letter or leading slash;
 * - the resolved path, after following symbolic links (realpath), must still lie inside the
 *   workspace's real folder: a link inside the workspace that points out of it is refused;
 * - only file types the UI shows or downloads (images, JSON, HTML reports, zips, CSV, text); never
 *   workspace.db or anything else.
 */
import { realpathSync, statSync } from 'node:fs';
import { extname, resolve, sep } from 'node:path';

export const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.json': 'application/json; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.zip': 'application/zip',
};

export class MediaPathError extends Error {
  override name = 'MediaPathError';
  /** The status said as a code, so it survives the RPC envelope (server/error-status.ts). */
  readonly code: 'bad_path' | 'path_refused' | 'not_found';
  constructor(
    message: string,
    /** HTTP-like status: 400 malformed, 403 outside the workspace or a refused type, 404 missing. */
    readonly status: 400 | 403 | 404,
  ) {
    super(message);
    this.code = status === 400 ? 'bad_path' : status === 403 ? 'path_refused' : 'not_found';
  }
}

export interface MediaFile {
  /** Real absolute path of the file (inside the workspace). */
  path: string;
  contentType: string;
  bytes: number;
}

/**
 * Resolves a workspace-relative media path to a file inside `workspaceRoot`, or throws a
 * MediaPathError saying why not. `relPath` is the URL path after the media prefix, still encoded or
 * already decoded once (decoding is applied until stable, at most twice, to catch double encoding).
 */
export function resolveMediaPath(workspaceRoot: string, relPath: string): MediaFile {
  let rel = relPath;
  for (let i = 0; i < 2; i++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      throw new MediaPathError(`Malformed media path (bad percent-encoding): ${relPath}`, 400);
    }
    if (decoded === rel) break;
    rel = decoded;
  }
  if (rel.length === 0) throw new MediaPathError('Empty media path', 400);
  if (rel.length > 1024) throw new MediaPathError('Media path longer than 1024 characters', 400);
  if (/[\0\\]/.test(rel) || /^[a-zA-Z]:/.test(rel) || rel.startsWith('/')) {
    throw new MediaPathError(`Media paths are workspace-relative with forward slashes; got ${relPath}`, 400);
  }
  const segments = rel.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new MediaPathError(`Media path with an empty, "." or ".." segment refused: ${relPath}`, 403);
  }
  const type = MEDIA_TYPES[extname(rel).toLowerCase()];
  if (!type) throw new MediaPathError(`Media path of a type that is not served: ${relPath}`, 403);

  let realRoot: string;
  try {
    realRoot = realpathSync(workspaceRoot);
  } catch {
    throw new MediaPathError(`The workspace folder ${workspaceRoot} is not there`, 404);
  }
  const candidate = resolve(realRoot, ...segments);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new MediaPathError(`No such file in the workspace: ${rel}`, 404);
  }
  // After realpath, so a symbolic link anywhere on the way that leaves the workspace is refused.
  if (!real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new MediaPathError(`Media path leads outside the workspace: ${relPath}`, 403);
  }
  const st = statSync(real);
  if (!st.isFile()) throw new MediaPathError(`Not a file: ${rel}`, 404);
  return { path: real, contentType: type, bytes: st.size };
}

/** The URL path of a workspace file under a media prefix, each segment percent-encoded. */
export function mediaUrlPath(prefix: string, relPath: string): string {
  return `${prefix}${relPath.split('/').map(encodeURIComponent).join('/')}`;
}
