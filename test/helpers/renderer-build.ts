/**
 * Whether out/renderer (the built UI that `kfashion web` serves) is older than its sources. The
 * end-to-end tests drive the built UI, so they must not run against a stale one.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const RENDERER_INDEX = join(ROOT, 'out', 'renderer', 'index.html');

/** What the renderer bundle is built from: its own sources, the shared contract, the build config. */
const SOURCES = ['src-renderer', 'src-shared', 'electron.vite.config.ts', 'svelte.config.js', 'package.json'];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Null when out/renderer is up to date, else why it is not. */
export function rendererStaleReason(): string | null {
  if (!existsSync(RENDERER_INDEX)) return 'out/renderer/index.html does not exist';
  const built = statSync(RENDERER_INDEX).mtimeMs;
  for (const source of SOURCES) {
    const path = join(ROOT, source);
    if (existsSync(path) && newestMtime(path) > built) return `${source} changed after the last build`;
  }
  return null;
}
