/**
 * Builds dist/ (the CLI, the worker and bench bundles) once before the tests, so tests that spawn
 * `kfashion` run the code under test even when vitest is started directly rather than by `npm test`.
 * Also rebuilds out/ (electron-vite, a few seconds) when its sources changed: out/renderer is the UI the
 * end-to-end tests drive, out/main the desktop main process test/integration/electron-main runs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mainBundleStaleReason } from './helpers/main-build.ts';
import { ROOT, rendererStaleReason } from './helpers/renderer-build.ts';

export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build-cli.js'], { stdio: 'inherit' });
  const stale = rendererStaleReason() ?? mainBundleStaleReason();
  if (stale) {
    console.log(`Building out/ for the end-to-end and desktop tests (${stale}) …`);
    try {
      execFileSync(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'),
          'build',
          '--logLevel',
          'warn',
        ],
        {
          cwd: ROOT,
          stdio: 'inherit',
        },
      );
    } catch {
      // Not fatal for the other tests; the end-to-end tests check freshness again and fail with the reason.
      console.error(
        'electron-vite build failed: the end-to-end and desktop tests will report a stale build.',
      );
    }
  }
}
