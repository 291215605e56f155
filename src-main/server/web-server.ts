/**
 * Browser mode's server: the contract transport (contract-plugin.ts) on a Fastify instance, with the
 * session behind it. `kfashion web` and the integration tests start it the same way.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { ApiSession } from '../services/api-session.ts';
import { buildServer } from './app.ts';
import { contractPlugin } from './contract-plugin.ts';
import type { RequestGuardOptions } from './request-guard.ts';

export interface WebServerOptions {
  session: ApiSession;
  /** Built renderer folder; default: out/renderer of the project this code runs from, if built. */
  rendererDir?: string | null;
  /** Who may call: Host, Origin and token rules (see [Note: Who may call the local server]). */
  guard?: RequestGuardOptions;
  /** Largest image a caller may send, in bytes (sizes the RPC body limit); default 10 MB. */
  uploadLimitBytes?: number;
  logger?: boolean;
}

/**
 * out/renderer of this project: walks up from this file (src-main/server/ in the sources, dist/ or
 * dist/chunks/ in the CLI bundle) to the folder holding package.json.
 */
export function defaultRendererDir(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const out = join(dir, 'out', 'renderer');
      return existsSync(join(out, 'index.html')) ? out : null;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * The REST server of the recommendation API (buildServer, /api/...) with the contract transport on
 * it. The REST routes read `app.workbench` per request, so when the session opens another workspace
 * that decoration follows it. The request guard (Host, Origin, token) covers every route, REST ones
 * included; in browser mode a token given on the first page load becomes a cookie ([Note: Token]).
 */
export async function createWebServer(opts: WebServerOptions): Promise<FastifyInstance> {
  const { session } = opts;
  const app = await buildServer({
    workbench: session.workbench(),
    logger: opts.logger,
    uploadLimitBytes: opts.uploadLimitBytes,
    guard: { ...opts.guard, tokenCookie: true },
  });
  const off = session.onEvent((event) => {
    if (event === 'workspace.changed' && session.workspace) app.workbench = session.workbench();
  });
  app.addHook('onClose', async () => off());
  await app.register(contractPlugin, {
    session: opts.session,
    rendererDir: opts.rendererDir === undefined ? defaultRendererDir() : opts.rendererDir,
  });
  return app;
}
