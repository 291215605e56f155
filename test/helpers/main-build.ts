/**
 * Whether out/main and out/preload (the desktop app's main-process and preload bundles, built by
 * `electron-vite build` with the UI) are older than their sources. test/integration/electron-main
 * runs the built bundle, so it must not run a stale one; the global setup rebuilds when this says so.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './renderer-build.ts';

const BUNDLES = [
  join('out', 'main', 'index.js'),
  join('out', 'main', 'job-worker.js'),
  join('out', 'preload', 'index.cjs'),
];
/** What those bundles are built from (src-main/cli and server included: cheaper than a precise graph). */
const SOURCES = ['src-main', 'src-shared', 'resources', 'electron.vite.config.ts', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Null when the main-process and preload bundles are up to date, else why they are not. */
export function mainBundleStaleReason(): string | null {
  let built = Number.POSITIVE_INFINITY;
  for (const bundle of BUNDLES) {
    const path = join(ROOT, bundle);
    if (!existsSync(path)) return `${bundle} does not exist`;
    built = Math.min(built, statSync(path).mtimeMs);
  }
  for (const source of SOURCES) {
    const path = join(ROOT, source);
    if (existsSync(path) && newestMtime(path) > built) return `${source} changed after the last build`;
  }
  return null;
}
