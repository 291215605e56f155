/**
 * GET /api/files/<path>: serves a workspace file the API refers to (catalog images, garment crops,
 * result charts and JSON), and nothing else. The path must be workspace-relative, inside crops/,
 * catalog/ or results/, with an image or JSON ending; after resolving symbolic links it must still be
 * inside that folder. Everything else is refused with a message saying what is allowed: the
 * workspace database and anything outside the workspace are never read.
 */
import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { badRequest, HttpError, notFound } from '../http-errors.ts';
import { errorResponses, filePathParams, requestSchema } from '../rest-schemas.ts';

export const SERVED_FOLDERS = ['catalog', 'crops', 'results'] as const;
const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  json: 'application/json; charset=utf-8',
};

/**
 * The absolute path a request may read, or an HttpError: 400 for a path that is not a plain
 * workspace-relative one, 403 for a place that is not served, 404 when the file does not exist.
 */
export function resolveServedFile(root: string, requested: string): string {
  const shown = JSON.stringify(requested.length > 120 ? `${requested.slice(0, 120)}…` : requested);
  const allowed = `a workspace-relative path inside ${SERVED_FOLDERS.map((f) => `${f}/`).join(', ')}`;
  if (
    requested.length === 0 ||
    requested.length > 1024 ||
    requested.includes('\0') ||
    requested.includes('\\') ||
    requested.startsWith('/') ||
    /^[A-Za-z]:/.test(requested)
  ) {
    throw badRequest(
      `path ${shown} is not allowed: expected ${allowed} (no absolute paths, backslashes or drive letters)`,
      'path',
    );
  }
  const segments = requested.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw badRequest(
      `path ${shown} is not allowed: expected ${allowed} without "..", "." or empty segments`,
      'path',
    );
  }
  const folder = segments[0]!;
  if (!(SERVED_FOLDERS as readonly string[]).includes(folder) || segments.length < 2) {
    throw new HttpError(
      403,
      'forbidden',
      `path ${shown} is not served: only files inside ${SERVED_FOLDERS.map((f) => `${f}/`).join(', ')} are`,
      'path',
    );
  }
  const ext = segments.at(-1)!.split('.').at(-1)!.toLowerCase();
  if (!Object.hasOwn(TYPES, ext)) {
    throw new HttpError(
      403,
      'forbidden',
      `path ${shown} is not served: only images (jpg, png, webp, gif, tiff) and JSON files are`,
      'path',
    );
  }
  const abs = join(root, ...segments);
  let real: string;
  let base: string;
  try {
    real = realpathSync(abs);
    base = realpathSync(join(root, folder));
  } catch {
    throw notFound(`no file ${shown} in the workspace`, 'path');
  }
  if (!real.startsWith(base + sep)) {
    throw new HttpError(
      403,
      'forbidden',
      `path ${shown} resolves outside the workspace's ${folder}/ folder (a link?); it is not served`,
      'path',
    );
  }
  if (!statSync(real).isFile()) throw notFound(`no file ${shown} in the workspace (it is a folder)`, 'path');
  return real;
}

export async function registerFileRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/files/*',
    {
      schema: {
        summary: 'A workspace file the API refers to (catalog images, crops, result charts and JSON)',
        tags: ['files'],
        params: requestSchema(filePathParams),
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const requested = (request.params as { '*': string })['*'];
      const path = resolveServedFile(app.workbench.workspace.root, requested);
      const ext = path.split('.').at(-1)!.toLowerCase();
      const data = await readFile(path);
      return reply
        .type(TYPES[ext]!)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .send(data);
    },
  );
}
