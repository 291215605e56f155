/**
 * The HTTP server: Fastify with a JSON schema on every route (generated from the contract's zod
 * schemas, rest-schemas.ts), multipart uploads with a size limit, OpenAPI 3.1 at /openapi.json, and
 * one JSON error shape `{ error: { message, code, status, field? } }` with the right status
 * (http-errors.ts). Routes call the contract's handlers (services/api-handlers.ts), so HTTP, IPC and
 * the CLI share one implementation of each feature.
 *
 * `buildServer` returns the instance before `listen`, so other parts (the contract transport of the
 * browser mode) can register their plugins on it.
 */
import fastifyMultipart from '@fastify/multipart';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { quoteShort } from '../../src-shared/short-text.ts';
import { createRecommendHandlers } from '../services/api-handlers.ts';
import type { Workbench } from '../services/workbench.ts';
import { toHttpError } from './http-errors.ts';
import { DEFAULT_UPLOAD_LIMIT_BYTES, MAX_UPLOAD_FILES } from './limits.ts';
import { installRequestGuard, type RequestGuardOptions, withoutTokenQuery } from './request-guard.ts';
import { registerCatalogRoutes } from './routes/catalog-routes.ts';
import { registerFileRoutes } from './routes/file-routes.ts';
import { registerInfoRoutes } from './routes/info-routes.ts';
import { registerRecommendRoutes } from './routes/recommend-routes.ts';

export { DEFAULT_UPLOAD_LIMIT_BYTES, MAX_UPLOAD_FILES } from './limits.ts';

export interface BuildServerOptions {
  workbench: Workbench;
  /** Largest accepted upload (each file) and JSON body, in bytes; default 10 MB. */
  uploadLimitBytes?: number;
  /** Fastify's request log (pino) on stdout; default off. */
  logger?: boolean;
  /** Who may call ([Note: Who may call the local server]); default: loopback only, no token. */
  guard?: RequestGuardOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    workbench: Workbench;
    uploadLimitBytes: number;
  }
}

export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const limit = opts.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`uploadLimitBytes must be a whole number of bytes >= 1, got ${limit}`);
  }
  const app = Fastify({
    logger: opts.logger
      ? {
          serializers: {
            // Fastify's own request serializer, but the URL without a `?token=` ([Note: Token]).
            req: (req: {
              method: string;
              url: string;
              host?: string;
              ip?: string;
              socket?: { remotePort?: number };
            }) => ({
              method: req.method,
              url: withoutTokenQuery(req.url),
              host: req.host,
              remoteAddress: req.ip,
              remotePort: req.socket?.remotePort,
            }),
          },
        }
      : false,
    // The JSON bodies are small (ids, k); the upload limit bounds them too.
    bodyLimit: limit,
    ajv: {
      // Strict types: `"k": "5"` or `"ids": "a"` is a client error, not something to guess about.
      // strictTypes off: the multipart schemas document fields without `type: object`, because a
      // multipart body reaches validation as null (the handler reads it from the stream).
      customOptions: { coerceTypes: false, allErrors: false, removeAdditional: false, strictTypes: false },
      // OpenAPI's `format: binary` documents multipart file fields; it is never validated by ajv.
      plugins: [(ajv) => ajv.addFormat('binary', true)],
    },
    routerOptions: { ignoreTrailingSlash: true },
    // A URL the router cannot read (bad %-escape) or a path parameter over its length limit: Fastify's
    // default answer has another shape and quotes the whole URL. Answer in ours, quoting it short.
    frameworkErrors: (error, _request, typedReply) => {
      const reply = typedReply as unknown as FastifyReply;
      const e = error as Error & { statusCode?: number; code?: string };
      const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 400;
      const what =
        e.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is too long' : 'the URL cannot be read';
      void reply
        .status(status)
        .type('application/json')
        .send({ error: { message: `Refused: ${what} (${shortText(e.message)})`, code: 'bad_url', status } });
    },
    schemaErrorFormatter: formatSchemaError,
  });
  // The API speaks JSON and multipart only; a text/plain body is refused with 415 rather than parsed
  // into a string that would then fail validation with a less helpful message.
  app.removeContentTypeParser('text/plain');
  // First of all hooks, so a refused caller reaches no route (REST, RPC, WebSocket, media).
  installRequestGuard(app, opts.guard);
  app.decorate('workbench', opts.workbench);
  app.decorate('uploadLimitBytes', limit);

  await app.register(fastifySwagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema 2020-12, which is what z.toJSONSchema writes (rest-schemas.ts).
      openapi: '3.1.0',
      info: {
        title: 'K-Fashion Workbench API',
        description:
          'Recommendation of new products (image → image with the workspace image encoder), the new-product catalog, KPIs and the dashboard. Errors are JSON `{ error: { message, code, status, field? } }`.',
        version: '1',
      },
    },
  });
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: limit, files: MAX_UPLOAD_FILES, fields: 20, fieldSize: 64 * 1024, parts: 60 },
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: {
        message: `No route ${request.method} ${request.url.split('?')[0]}. The API is described at /openapi.json.`,
        code: 'no_route',
        status: 404,
      },
    });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The contract's own handlers (services/api-handlers.ts), over this server's Workbench.
  // `app.workbench`, read per call: browser mode points it at the newly opened workspace (web-server.ts).
  const handlers = createRecommendHandlers(() => app.workbench);
  await registerInfoRoutes(app, handlers);
  await registerCatalogRoutes(app, handlers);
  await registerRecommendRoutes(app, handlers);
  await registerFileRoutes(app);
  return app;
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * One sentence naming the field, e.g. `k must be integer`, `ids[0] must be string`,
 * `unknown field "colour" in body`; the field rides along for the error body (`error.field`).
 */
export function formatSchemaError(errors: readonly AjvError[], dataVar: string): Error & { field?: string } {
  const e = errors[0]!;
  const path = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((seg, i) => (/^\d+$/.test(seg) ? `[${seg}]` : i > 0 ? `.${seg}` : seg))
    .join('');
  const join = (name: string) => (path ? `${path}.${name}` : name);
  let field: string | undefined = path || undefined;
  let message: string;
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params['additionalProperty']);
    field = join(extra).slice(0, 200);
    message = `unknown field ${quoteShort(extra)} in ${path || dataVar}`;
  } else if (e.keyword === 'required') {
    const missing = String(e.params['missingProperty']);
    field = join(missing);
    message = `${path || dataVar} must have required property '${missing}'`;
  } else {
    message = `${path || dataVar} ${e.message ?? 'is invalid'}`;
  }
  return Object.assign(new Error(message), field ? { field } : {});
}

/**
 * Listens on `host:port` and closes the server (waiting for requests in flight) and the workbench on
 * SIGINT / SIGTERM. Resolves with the address once listening; `closed` resolves after shutdown.
 */
export async function listenUntilSignal(
  app: FastifyInstance,
  opts: { host: string; port: number; onClose?: () => Promise<void> | void },
): Promise<{ address: string; closed: Promise<void> }> {
  const address = await app.listen({ host: opts.host, port: opts.port });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      // A second signal while draining: stop now.
      process.exit(130);
    }
    closing = true;
    app.log.info(`${signal}: closing`);
    void app
      .close()
      .then(() => opts.onClose?.())
      .finally(() => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolveClosed();
      });
  };
  const onInt = () => shutdown('SIGINT');
  const onTerm = () => shutdown('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return { address, closed };
}

/** User input quoted in an error: at most 200 characters. */
function shortText(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text;
}
