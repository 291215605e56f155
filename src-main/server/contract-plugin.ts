/**
 * Browser mode's transport of the contract (src-shared/api.ts), as a Fastify plugin registered on the
 * server buildServer() makes (or on any Fastify instance):
 *
 *   POST /api/rpc/:method   body = the method's input (JSON); reply = the envelope dispatch() made
 *   GET  /api/events        WebSocket: every contract event as a JSON frame {event, payload}
 *   GET  /api/contract      the methods and events with their one-line summaries
 *   GET  /media/<rel path>  a file of the open workspace (crops, charts, reports, bundles), refused
 *                           outside it (services/media-path.ts)
 *   GET  /                  the built renderer (out/renderer), when given
 *
 * The envelope is the same one IPC carries ([Note: Why an envelope] in src-shared/api-errors.ts); the
 * HTTP status says roughly what happened (400 invalid input, 404 unknown method, 409 conflict, 500
 * otherwise) for logs and curl, but the client reads the envelope, not the status.
 *
 * [Note: Who may call the local server]
 * The server binds 127.0.0.1, yet any web page the user visits can send requests to it. So: an RPC
 * must be `Content-Type: application/json` (a cross-site page cannot send that without a CORS
 * preflight, which this server never grants); a request or WebSocket with an Origin header must come
 * from this server's own origin; and the Host header must name a loopback address or the host the
 * server was told to bind (which defeats DNS rebinding, where evil.example resolves to 127.0.0.1).
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { api, apiEvents, dispatch } from '../../src-shared/api.ts';
import { API_ERROR_CODES, apiError, type Envelope, errorEnvelope } from '../../src-shared/api-errors.ts';
import { createHandlers } from '../services/api-handlers.ts';
import type { ApiSession } from '../services/api-session.ts';
import { MediaPathError, resolveMediaPath } from '../services/media-path.ts';

export const MEDIA_PREFIX = '/media/';
export const RPC_BODY_LIMIT = 512 * 1024 * 1024;

export interface ContractPluginOptions {
  session: ApiSession;
  /** Folder of the built renderer (index.html + assets); null serves a page saying how to build it. */
  rendererDir: string | null;
  /**
   * Host names accepted in the Host header besides loopback ones (e.g. the name of a GPU server
   * when bound to 0.0.0.0 on purpose). Empty: loopback only.
   */
  allowedHosts?: readonly string[];
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Status for an error envelope (see the file comment: informative only). */
function statusOf(envelope: Envelope): number {
  if (envelope.ok) return 200;
  const { code, name } = envelope.error;
  if (code === API_ERROR_CODES.invalidInput) return 400;
  if (code === API_ERROR_CODES.unknownMethod || name === 'JobNotFoundError') return 404;
  if (code === API_ERROR_CODES.forbidden) return 403;
  if (name === 'JobConflictError' || name === 'NoWorkspaceError') return 409;
  if (name === 'NotAvailableError') return 501;
  return 500;
}

/**
 * Adds the Host and Origin checks of [Note: Who may call the local server] to every route of `app`'s
 * context (on the root instance: the REST routes too). A refusal is a 403 with an error envelope.
 */
export function guardLocalRequests(app: FastifyInstance, extraHosts: readonly string[] = []): void {
  const allowedHosts = new Set([...LOOPBACK_HOSTS, ...extraHosts.map((h) => h.toLowerCase())]);
  const foreign = (request: FastifyRequest): string | null => {
    const host = (request.headers.host ?? '').toLowerCase();
    const hostName = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
    if (!allowedHosts.has(hostName)) return `Host "${host}" is not this server (DNS rebinding guard)`;
    const origin = request.headers.origin;
    // 'null' (a sandboxed page, a file:// page) is a foreign origin too.
    if (origin !== undefined) {
      let originHost: string;
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        return `Malformed Origin "${origin}"`;
      }
      if (originHost !== host) return `Cross-origin request from ${origin} refused`;
    }
    return null;
  };

  app.addHook('onRequest', async (request, reply) => {
    const reason = foreign(request);
    if (reason) {
      return reply
        .status(403)
        .type('application/json')
        .send(errorEnvelope(apiError('ApiError', reason, API_ERROR_CODES.forbidden)));
    }
  });
}

export async function contractPlugin(app: FastifyInstance, opts: ContractPluginOptions): Promise<void> {
  const { session } = opts;
  const handlers = createHandlers(session);
  guardLocalRequests(app, opts.allowedHosts);

  // Errors Fastify raises before a handler runs (malformed JSON, body too large) still get the envelope.
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const wrapped = apiError(
      status < 500 ? 'ValidationError' : error.name,
      status < 500 ? `Bad request: ${error.message}` : error.message,
      status < 500 ? API_ERROR_CODES.invalidInput : undefined,
    );
    void reply.status(status).type('application/json').send(errorEnvelope(wrapped));
  });

  // Uploads travel as base64 in the body (up to 32 images of 10 MB for recommend.top10ToNew).
  app.post<{ Params: { method: string } }>(
    '/api/rpc/:method',
    { bodyLimit: RPC_BODY_LIMIT },
    async (request, reply) => {
      const type = request.headers['content-type'] ?? '';
      if (!/^application\/json\b/i.test(type)) {
        return reply
          .status(415)
          .type('application/json')
          .send(
            errorEnvelope(
              apiError(
                'ValidationError',
                `POST /api/rpc/${request.params.method} takes Content-Type: application/json, got "${type || 'none'}"`,
                API_ERROR_CODES.invalidInput,
              ),
            ),
          );
      }
      const envelope = await dispatch(api, handlers, request.params.method, request.body ?? {});
      return reply.status(statusOf(envelope)).type('application/json').send(envelope);
    },
  );

  app.get('/api/contract', async () => ({
    methods: Object.values(api).map((m) => ({ name: m.name, summary: m.summary ?? null })),
    events: Object.values(apiEvents).map((e) => ({ name: e.name, summary: e.summary ?? null })),
    transport: {
      rpc: 'POST /api/rpc/:method with the input as a JSON body; reply {ok:true,result} | {ok:false,error}',
      events: 'WebSocket /api/events; frames {event, payload}',
      media: `GET ${MEDIA_PREFIX}<workspace-relative path>`,
    },
  }));

  if (!app.hasDecorator('websocketServer')) {
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  }
  app.get('/api/events', { websocket: true }, (socket) => {
    const unsubscribe = session.onEvent((event, payload) => {
      // OPEN = 1; a closing socket is dropped by the close handler below.
      if (socket.readyState === 1) socket.send(JSON.stringify({ event, payload }));
    });
    socket.on('close', unsubscribe);
    socket.on('error', unsubscribe);
    // Events flow one way; whatever a client sends is ignored.
  });

  app.get<{ Params: { '*': string } }>(`${MEDIA_PREFIX}*`, async (request, reply) => {
    const root = session.workspace;
    if (!root) return reply.status(409).type('text/plain').send('No workspace is open');
    // The raw URL, not the router's decoded param: the checks must see what the client sent.
    const raw = request.raw.url ?? '';
    const rel = raw.slice(raw.indexOf(MEDIA_PREFIX) + MEDIA_PREFIX.length).split('?')[0]!;
    try {
      const file = resolveMediaPath(root, rel);
      reply
        .type(file.contentType)
        .header('Content-Length', file.bytes)
        .header('X-Content-Type-Options', 'nosniff')
        .header('Cache-Control', 'no-cache');
      // A report's HTML is shown, never trusted: no scripts, no same-origin access to the API.
      if (file.contentType.startsWith('text/html')) reply.header('Content-Security-Policy', 'sandbox');
      if (file.contentType === 'application/zip') {
        reply.header(
          'Content-Disposition',
          `attachment; filename="${encodeURIComponent(rel.split('/').at(-1)!)}"`,
        );
      }
      return reply.send(createReadStream(file.path));
    } catch (e) {
      if (e instanceof MediaPathError) return reply.status(e.status).type('text/plain').send(e.message);
      throw e;
    }
  });

  if (opts.rendererDir && existsSync(join(opts.rendererDir, 'index.html'))) {
    await app.register(fastifyStatic, {
      root: opts.rendererDir,
      prefix: '/',
      index: 'index.html',
      // buildServer's own routes may have registered @fastify/static already.
      decorateReply: false,
      wildcard: false,
      serveDotFiles: false,
    });
  } else {
    app.get('/', async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>K-Fashion Workbench</title><p>The UI is not built: run <code>npm run build</code> (or <code>npm run web</code>), then reload. The API answers at <code>/api/rpc/&lt;method&gt;</code>; see <a href="/api/contract">/api/contract</a>.</p>',
        ),
    );
  }
}
