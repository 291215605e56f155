/**
 * `kfashion web`: browser mode. Serves the desktop app's UI (out/renderer) and the contract over
 * HTTP + WebSocket on 127.0.0.1, for a GPU server without a screen and for the end-to-end tests.
 */
import type { Command } from 'commander';
import { TOKEN_ENV } from '../../server/request-guard.ts';
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
  allowOrigin?: string[];
  root?: string[];
  token?: string;
}

const repeatable = (v: string, prev: string[] = []) => [...prev, v];

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
      'address to bind; anything but 127.0.0.1 / ::1 / localhost exposes the workbench to the network and requires a token',
      '127.0.0.1',
    )
    .option('--renderer <dir>', 'built UI folder (default: out/renderer of this project)')
    .option(
      '--allow-host <name>',
      'extra Host header name to accept (repeatable), e.g. the DNS name of the server when --host 0.0.0.0',
      repeatable,
    )
    .option(
      '--allow-origin <url>',
      'another origin allowed to call this server, with CORS answers (repeatable), e.g. https://tools.example',
      repeatable,
    )
    .option(
      '--root <dir>',
      'a folder whose paths the browser may name (workspaces, data to scan, .npy files, catalog folders); repeatable. Always allowed: the data folder and the workspaces opened in this session',
      repeatable,
    )
    .option(
      '--token <token>',
      `the token callers must give (default: ${TOKEN_ENV}, else one made at start when --host is not loopback; a flag shows in the process list, the variable does not)`,
    )
    .addHelpText(
      'after',
      `
Examples:
  npm run web                                   (builds the UI, then runs this)
  kfashion web --workspace ws/demo --port 5199 --root ~/kfashion-data
  kfashion web --host 0.0.0.0 --allow-host gpu-box   (prints a URL with its token: open that one)
Away from loopback every request needs the token: the printed URL's ?token= sets a cookie in the
browser; scripts send "Authorization: Bearer <token>".`,
    )
    .action(async (o: WebFlags) => {
      const { isAbsolute, resolve } = await import('node:path');
      const { existsSync } = await import('node:fs');
      const { ApiSession } = await import('../../services/api-session.ts');
      const { JobHost } = await import('../../jobs/job-host.ts');
      const { CHILD_PROCESS_KINDS, runJobSpec } = await import('../../services/job-table.ts');
      const { defaultDataDir, PRODUCT_NAME } = await import('../../services/data-dir.ts');
      const { ensureDemoWorkspace } = await import('../../services/demo-workspace.ts');
      const { createWebServer } = await import('../../server/web-server.ts');

      const renderer = o.renderer === undefined ? undefined : resolve(o.renderer);
      if (renderer !== undefined && !existsSync(`${renderer}/index.html`)) {
        throw new UsageError(
          `--renderer ${o.renderer}: no index.html there (build the UI with "npm run build")`,
        );
      }
      const { resolveToken } = await import('../../server/request-guard.ts');
      let auth: { token: string | null; generated: boolean };
      try {
        auth = resolveToken(o.host, o.token);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const roots = (o.root ?? []).map((r) => {
        const dir = resolve(r);
        if (!existsSync(dir)) throw new UsageError(`--root ${r}: no such folder (${dir})`);
        return dir;
      });
      const jobs = new JobHost({ inline: runJobSpec, processKinds: CHILD_PROCESS_KINDS });
      const session = new ApiSession({
        mode: 'browser',
        appName: PRODUCT_NAME,
        version: typeof __KFASHION_VERSION__ === 'string' ? __KFASHION_VERSION__ : 'dev',
        dataDir: defaultDataDir(),
        jobs,
        allowedRoots: roots,
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

      let app: Awaited<ReturnType<typeof createWebServer>>;
      try {
        app = await createWebServer({
          session,
          rendererDir: renderer,
          guard: {
            bindHost: o.host,
            allowedHosts: o.allowHost,
            allowedOrigins: o.allowOrigin,
            token: auth.token,
          },
        });
      } catch (e) {
        await session.close();
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
      const address = await app.listen({ host: o.host, port: o.port });
      const url = new URL(address);
      // Show the address the user typed (localhost stays localhost), with the real port.
      const shown = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${url.port}/`;
      const info = session.info();
      console.log(`K-Fashion Workbench (browser mode) at ${shown}`);
      console.log(`  workspace: ${info.workspace}${info.synthetic ? ' (SYNTHETIC demo data)' : ''}`);
      console.log(
        `  jobs run on ${jobs.mode === 'worker' ? 'worker threads (training, tuning, embedding and evaluation in child processes)' : 'this thread (no bundled job-worker.js found)'}`,
      );
      console.log(`  paths the browser may name: inside ${session.pathRoots?.list().join(', ')}`);
      if (auth.token) {
        // Shown once, here, and never logged ([Note: Token]).
        const { hostname } = await import('node:os');
        const wildcard = o.host === '0.0.0.0' || o.host === '::';
        const reach = wildcard ? `http://${hostname()}:${url.port}/` : shown;
        console.log(
          auth.generated
            ? `  token required (bound to ${o.host}); open this URL (it sets a cookie): ${reach}?token=${auth.token}`
            : `  token required: open ${reach}?token=<the token of --token / KFASHION_TOKEN>`,
        );
        console.log('  scripts: send "Authorization: Bearer <token>"');
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
