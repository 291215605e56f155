/**
 * `kfashion serve`: the recommendation REST API (Fastify) on one workspace, until Ctrl-C / SIGTERM,
 * which finish the requests in flight and close the workspace cleanly.
 */
import type { Command } from 'commander';
import { DEFAULT_LOG_RETENTION } from '../../recommend/log-retention.ts';
import { TOKEN_ENV } from '../../server/request-guard.ts';
import { UsageError } from '../errors.ts';
import { integer, oneOf } from '../options.ts';

interface ServeFlags {
  workspace: string;
  port: number;
  host: string;
  uploadLimitMb: number;
  log?: boolean;
  logKeepDays: number;
  logKeepRows: number;
  allowHost?: string[];
  allowOrigin?: string[];
  token?: string;
  publicRead?: boolean;
  index?: 'exact' | 'ann';
}

const repeatable = (v: string, prev: string[] = []) => [...prev, v];

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Serve the recommendation API over HTTP: POST /api/recommend/top10_to_new and /api/recommend/customer_input, the catalog (/api/catalog), GET /api/kpi, /api/dashboard and /openapi.json.',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--port <n>', 'port to listen on (0 = any free port)', integer('--port', 0, 65535), 8000)
    .option(
      '--host <addr>',
      'address to bind; anything but 127.0.0.1 / ::1 / localhost exposes the API to the network and requires a token',
      '127.0.0.1',
    )
    .option(
      '--upload-limit-mb <n>',
      'largest accepted upload per file, in MB',
      integer('--upload-limit-mb', 1, 1024),
      10,
    )
    .option(
      '--index <kind>',
      'exact (default) or ann: an approximate HNSW index of the catalog for big catalogs, cached in <workspace>/ann/; every answer carries its recall@10 against exact',
      oneOf('--index', ['exact', 'ann'] as const),
    )
    .option('--log', 'log every request (JSON lines on stdout; tokens are never logged)')
    .option(
      '--log-keep-days <n>',
      'keep raw recommendation-log rows this many days; older ones become daily KPI totals',
      integer('--log-keep-days', 0, 36_500),
      DEFAULT_LOG_RETENTION.keepDays,
    )
    .option(
      '--log-keep-rows <n>',
      'keep at most this many raw recommendation-log rows (the newest 1,000 successful calls always stay)',
      integer('--log-keep-rows', 0),
      DEFAULT_LOG_RETENTION.keepRows,
    )
    .option(
      '--allow-origin <url>',
      "a shop front end's origin allowed to call the API from its pages, with CORS answers (repeatable), e.g. https://shop.example",
      repeatable,
    )
    .option(
      '--allow-host <name>',
      'extra Host header name to accept (repeatable), e.g. the DNS name of the server when --host 0.0.0.0',
      repeatable,
    )
    .option(
      '--token <token>',
      `the token callers must send as "Authorization: Bearer <token>" (default: ${TOKEN_ENV}, else one made at start when --host is not loopback; a flag shows in the process list, the variable does not)`,
    )
    .option(
      '--public-read',
      'with a token: leave reads open (recommendations, catalog list, KPIs, dashboard); catalog writes (add, remove) still need the token',
    )
    .addHelpText(
      'after',
      `
Examples:
  kfashion serve --workspace ws/demo
  curl -s -F image=@photo.jpg -F k=5 http://127.0.0.1:8000/api/recommend/customer_input
  curl -s -H 'content-type: application/json' -d '{"use_centrality_proxy": true}' http://127.0.0.1:8000/api/recommend/top10_to_new
  kfashion serve --workspace ws/demo --host 0.0.0.0 --allow-origin https://shop.example
    (prints a token; callers send  -H "Authorization: Bearer <token>")
Query images are embedded with the workspace image encoder (set by "kfashion embed"); add products with
"kfashion catalog add|import". Pages of other sites cannot call the API unless named with --allow-origin.`,
    )
    .action(async (o: ServeFlags) => {
      const { Workbench } = await import('../../services/workbench.ts');
      const { buildServer, listenUntilSignal } = await import('../../server/app.ts');
      const { resolveToken } = await import('../../server/request-guard.ts');
      let auth: { token: string | null; generated: boolean };
      try {
        auth = resolveToken(o.host, o.token);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (o.publicRead && !auth.token) {
        throw new UsageError(
          '--public-read only makes sense with a token (a server bound away from loopback, or --token): on 127.0.0.1 without a token everything is open to local programs already',
        );
      }
      const wb = Workbench.open(o.workspace, { create: false });
      try {
        let app: Awaited<ReturnType<typeof buildServer>>;
        try {
          app = await buildServer({
            workbench: wb,
            uploadLimitBytes: o.uploadLimitMb * 1024 * 1024,
            logger: Boolean(o.log),
            guard: {
              bindHost: o.host,
              allowedHosts: o.allowHost,
              allowedOrigins: o.allowOrigin,
              token: auth.token,
              publicRead: Boolean(o.publicRead),
              publicReadPosts: ['/api/recommend/'],
            },
          });
        } catch (e) {
          if (e instanceof RangeError) throw new UsageError(e.message);
          throw e;
        }
        if (o.index) wb.recommender().configureIndex(o.index);
        const { address, closed } = await listenUntilSignal(app, { host: o.host, port: o.port });
        await wb.recommender().warmUp();
        wb.recommender().configureLogRetention({ keepDays: o.logKeepDays, keepRows: o.logKeepRows });
        const enc = wb.imageEncoder();
        const products = wb.catalog().count();
        process.stderr.write(
          [
            `kfashion: serving ${wb.workspace.root} at ${address} (API description: ${address}/openapi.json)`,
            `  image encoder: ${enc ? enc.label : 'none yet (run "kfashion embed"); uploads cannot be embedded'}`,
            `  catalog: ${products} new product${products === 1 ? '' : 's'}`,
            ...(enc?.synthetic
              ? [
                  '  SYNTHETIC: the image encoder is the demo stand-in; similarities say nothing about real images.',
                ]
              : []),
            ...(auth.token
              ? [
                  // Shown once, here, and never logged ([Note: Token]).
                  auth.generated
                    ? `  token required (bound to ${o.host}): send "Authorization: Bearer ${auth.token}"`
                    : '  token required: send "Authorization: Bearer <the token of --token / KFASHION_TOKEN>"',
                  ...(o.publicRead
                    ? ['  --public-read: reads and recommendations need no token; catalog add/remove do']
                    : []),
                  `  e.g. curl -H "Authorization: Bearer <token>" ${address}/api/catalog`,
                ]
              : []),
            ...(o.allowOrigin?.length ? [`  allowed origins: ${o.allowOrigin.join(', ')}`] : []),
            '  Ctrl-C stops the server.',
            '',
          ].join('\n'),
        );
        await closed;
        process.stderr.write('kfashion: server stopped.\n');
      } finally {
        await wb.closeAsync();
      }
    });
}
