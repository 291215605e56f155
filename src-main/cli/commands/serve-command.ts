/**
 * `kfashion serve`: the recommendation REST API (Fastify) on one workspace, until Ctrl-C / SIGTERM,
 * which finish the requests in flight and close the workspace cleanly.
 */
import type { Command } from 'commander';
import { integer } from '../options.ts';

interface ServeFlags {
  workspace: string;
  port: number;
  host: string;
  uploadLimitMb: number;
  log?: boolean;
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
