/**
 * `kfashion web`: browser mode. Serves the desktop app's UI (out/renderer) and the contract over
 * HTTP + WebSocket on 127.0.0.1, for a GPU server without a screen and for the end-to-end tests.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { integer } from '../options.ts';
import { withJobControls } from '../run.ts';

declare const __KFASHION_VERSION__: string | undefined;

interface WebFlags {
  workspace?: string;
  port: number;
  host: string;
  renderer?: string;
  allowHost?: string[];
}

export function registerWebCommand(program: Command): void {
  program
    .command('web')
    .description(
      'Serve the workbench UI in a browser (browser mode): the same renderer as the desktop app, talking to this process over HTTP and a WebSocket. Without --workspace it opens the SYNTHETIC demo workspace in the per-user data folder (made on first use).',
    )
    .option('--workspace <dir>', 'workspace folder to open (created if missing)')
    .option('--port <n>', 'port to listen on (0 = any free port)', integer('--port', 0, 65535), 5199)
    .option(
      '--host <addr>',
      'address to bind; anything but 127.0.0.1 / ::1 / localhost exposes the workbench to the network',
      '127.0.0.1',
    )
    .option('--renderer <dir>', 'built UI folder (default: out/renderer of this project)')
    .option(
      '--allow-host <name>',
      'extra Host header name to accept (repeatable), e.g. the server name when --host 0.0.0.0',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npm run web                                   (builds the UI, then runs this)\n  kfashion web --workspace ws/demo --port 5199\n  kfashion web --host 0.0.0.0 --allow-host gpu-box   (on a trusted network only)',
    )
    .action(async (o: WebFlags) => {
      const { isAbsolute, resolve } = await import('node:path');
      const { existsSync } = await import('node:fs');
      const { ApiSession } = await import('../../services/api-session.ts');
      const { JobHost } = await import('../../jobs/job-host.ts');
      const { runJobSpec } = await import('../../services/job-table.ts');
      const { defaultDataDir, PRODUCT_NAME } = await import('../../services/data-dir.ts');
      const { ensureDemoWorkspace } = await import('../../services/demo-workspace.ts');
      const { createWebServer } = await import('../../server/web-server.ts');

      const renderer = o.renderer === undefined ? undefined : resolve(o.renderer);
      if (renderer !== undefined && !existsSync(`${renderer}/index.html`)) {
        throw new UsageError(
          `--renderer ${o.renderer}: no index.html there (build the UI with "npm run build")`,
        );
      }
      const jobs = new JobHost({ inline: runJobSpec });
      const session = new ApiSession({
        mode: 'browser',
        appName: PRODUCT_NAME,
        version: typeof __KFASHION_VERSION__ === 'string' ? __KFASHION_VERSION__ : 'dev',
        dataDir: defaultDataDir(),
        jobs,
      });
      if (o.workspace !== undefined) {
        const dir = isAbsolute(o.workspace) ? o.workspace : resolve(o.workspace);
        session.openWorkspace(dir, { create: true });
      } else {
        process.stderr.write(`Opening the SYNTHETIC demo workspace in ${session.options.dataDir} …\n`);
        const demo = await withJobControls(false, (controls) =>
          ensureDemoWorkspace(session.options.dataDir, controls),
        );
        session.openWorkspace(demo.workspace, { reason: 'demo' });
      }

      const app = await createWebServer({ session, rendererDir: renderer, allowedHosts: o.allowHost });
      const address = await app.listen({ host: o.host, port: o.port });
      const url = new URL(address);
      // Show the address the user typed (localhost stays localhost), with the real port.
      const shown = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${url.port}/`;
      const info = session.info();
      console.log(`K-Fashion Workbench (browser mode) at ${shown}`);
      console.log(`  workspace: ${info.workspace}${info.synthetic ? ' (SYNTHETIC demo data)' : ''}`);
      console.log(
        `  jobs run on ${jobs.mode === 'worker' ? 'worker threads' : 'this thread (no bundled job-worker.js found)'}`,
      );
      if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) {
        console.log(
          `  WARNING: bound to ${o.host}: anyone who can reach this machine can use the workbench (no login).`,
        );
      }
      console.log('  Ctrl-C stops the server (running jobs store what they finished first).');

      await new Promise<void>((done) => {
        let stopping = false;
        const stop = () => {
          if (stopping) process.exit(130);
          stopping = true;
          process.stderr.write('\nkfashion web: stopping jobs and closing (Ctrl-C again to quit at once)…\n');
          void app
            .close()
            .then(() => session.close())
            .finally(() => {
              process.off('SIGINT', stop);
              process.off('SIGTERM', stop);
              done();
            });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
