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
 * HTTP status comes from the one error map the REST routes use too (error-status.ts), so the same
 * error answers the same status on both transports (415 not an image, 404 unknown id, 409 busy).
 *
 * Who may call (Host, Origin, token) is decided by the request guard buildServer installs on the
 * whole server (request-guard.ts, [Note: Who may call the local server]). An RPC must also be
 * `Content-Type: application/json`, which a cross-site page cannot send without a CORS preflight; and
 * its body may hold one image at the upload limit, base64-encoded, and little more (limits.ts).
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { api, apiEvents, dispatch } from '../../src-shared/api.ts';
import { API_ERROR_CODES, apiError, type Envelope, errorEnvelope } from '../../src-shared/api-errors.ts';
import { createHandlers } from '../services/api-handlers.ts';
import type { ApiSession } from '../services/api-session.ts';
import { MediaPathError, resolveMediaPath } from '../services/media-path.ts';
import { errorStatus } from './error-status.ts';
import { DEFAULT_UPLOAD_LIMIT_BYTES, rpcBodyLimit } from './limits.ts';

export const MEDIA_PREFIX = '/media/';

export interface ContractPluginOptions {
  session: ApiSession;
  /** Folder of the built renderer (index.html + assets); null serves a page saying how to build it. */
  rendererDir: string | null;
}

/** Status for an envelope: the one error map (error-status.ts) reads the wire error's name and code. */
export function statusOfEnvelope(envelope: Envelope): number {
  return envelope.ok ? 200 : errorStatus(envelope.error).status;
}

export async function contractPlugin(app: FastifyInstance, opts: ContractPluginOptions): Promise<void> {
  const { session } = opts;
  const handlers = createHandlers(session);
  const uploadLimit = app.hasDecorator('uploadLimitBytes')
    ? app.uploadLimitBytes
    : DEFAULT_UPLOAD_LIMIT_BYTES;
  const bodyLimit = rpcBodyLimit(uploadLimit);

  // Errors Fastify raises before a handler runs (malformed JSON, body too large) still get the envelope.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    const wrapped =
      status === 413
        ? apiError(
            'PayloadTooLargeError',
            `The request body is larger than ${bodyLimit} bytes: a call may carry one image of at most ${(uploadLimit / 1024 / 1024).toFixed(1)} MB (base64-encoded) and little else`,
            'too_large',
          )
        : apiError(
            status < 500 ? 'ValidationError' : error.name,
            status < 500 ? `Bad request: ${error.message}` : error.message,
            status < 500 ? API_ERROR_CODES.invalidInput : undefined,
          );
    void reply.status(status).type('application/json').send(errorEnvelope(wrapped));
  });

  // Uploads travel as base64 in the body: one image per call (limits.ts rpcBodyLimit).
  app.post<{ Params: { method: string } }>('/api/rpc/:method', { bodyLimit }, async (request, reply) => {
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
    return reply.status(statusOfEnvelope(envelope)).type('application/json').send(envelope);
  });

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
