/**
 * `kfashion-media://workspace/<workspace-relative path>`: the desktop app's way to show workspace
 * files (crops, charts, reports) in the window, with the same containment rules as browser mode's
 * /media/ route (src-main/services/media-path.ts). The renderer cannot read files itself (sandbox,
 * no nodeIntegration), and file:// URLs would let a page name any file on the disk.
 *
 * Keep MEDIA_SCHEME equal to src-renderer/src/lib/transport.ts's, and the CSP's img-src listing it
 * (security.ts and src-renderer/index.html).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { protocol } from 'electron';
import { MediaPathError, resolveMediaPath } from '../services/media-path.ts';

export const MEDIA_SCHEME = 'kfashion-media';

/** Must run before the app is ready (Electron's rule for privileged schemes). */
export function registerMediaScheme(): void {
  protocol.registerSchemesAsPrivileged([
    // standard: parsed like http (host + path); secure: allowed from the app's pages; stream: video
    // or big files arrive in chunks. corsEnabled: the window (a file:// page, so another origin) may
    // read a picture's bytes with fetch() — the detail panel's "find similar" sends a garment's crop
    // as the query; only images are marked readable (see the response headers). No CSP bypass.
    {
      scheme: MEDIA_SCHEME,
      privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true, corsEnabled: true },
    },
  ]);
}

/** Serves the scheme from the currently open workspace (asked per request: it can change). */
export function handleMediaProtocol(currentWorkspace: () => string | null): void {
  protocol.handle(MEDIA_SCHEME, (request) => {
    const text = (status: number, message: string) =>
      new Response(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return text(400, 'Malformed media URL');
    }
    if (url.host !== 'workspace') return text(404, `Unknown media host "${url.host}"`);
    const root = currentWorkspace();
    if (!root) return text(409, 'No workspace is open');
    try {
      const file = resolveMediaPath(root, url.pathname.replace(/^\//, ''));
      const headers: Record<string, string> = {
        'content-type': file.contentType,
        'content-length': String(file.bytes),
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      };
      if (file.contentType.startsWith('text/html')) headers['content-security-policy'] = 'sandbox';
      // Pictures only: the app's page reads a crop's bytes to search by it (registerMediaScheme).
      if (file.contentType.startsWith('image/')) headers['access-control-allow-origin'] = '*';
      const body = Readable.toWeb(createReadStream(file.path)) as unknown as ReadableStream<Uint8Array>;
      return new Response(body, { status: 200, headers });
    } catch (e) {
      if (e instanceof MediaPathError) return text(e.status, e.message);
      return text(500, (e as Error).message);
    }
  });
}
