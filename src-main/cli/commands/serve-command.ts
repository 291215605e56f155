/**
 * `kfashion serve`: the recommendation REST API (Fastify) on one workspace, until Ctrl-C / SIGTERM,
 * which finish the requests in flight and close the workspace cleanly.
 */
import type { Command } from 'commander';
import { DEFAULT_LOG_RETENTION } from '../../recommend/log-retention.ts';
import { integer } from '../options.ts';

interface ServeFlags {
  workspace: string;
  port: number;
  host: string;
  uploadLimitMb: number;
  log?: boolean;
  logKeepDays: number;
  logKeepRows: number;
}

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
      'address to bind; anything but 127.0.0.1 / ::1 exposes the API to the network (it has no authentication)',
      '127.0.0.1',
    )
    .option(
      '--upload-limit-mb <n>',
      'largest accepted upload per file, in MB',
      integer('--upload-limit-mb', 1, 1024),
      10,
    )
    .option('--log', 'log every request (JSON lines on stdout)')
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
    .addHelpText(
      'after',
      `
Examples:
  kfashion serve --workspace ws/demo
  curl -s -F image=@photo.jpg -F k=5 http://127.0.0.1:8000/api/recommend/customer_input
  curl -s -H 'content-type: application/json' -d '{"use_centrality_proxy": true}' http://127.0.0.1:8000/api/recommend/top10_to_new
Query images are embedded with the workspace image encoder (set by "kfashion embed"); add products with
"kfashion catalog add|import".`,
    )
    .action(async (o: ServeFlags) => {
      const { Workbench } = await import('../../services/workbench.ts');
      const { buildServer, listenUntilSignal } = await import('../../server/app.ts');
      const wb = Workbench.open(o.workspace, { create: false });
      try {
        const app = await buildServer({
          workbench: wb,
          uploadLimitBytes: o.uploadLimitMb * 1024 * 1024,
          logger: Boolean(o.log),
        });
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
