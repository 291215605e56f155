/**
 * Names of the result files a workspace collects (results/<kind>_<stamp>.json and friends): every
 * file carries a UTC stamp in its name, and a second file in the same millisecond gets a suffix
 * instead of replacing the first. Here, below every folder that writes results (training's sweep,
 * evaluation, services), so each of them names its files the same way.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Said in every result file computed on the demo's stand-in image embeddings. */
export const SYNTHETIC_EVAL_NOTE =
  'SYNTHETIC: the image embeddings are stand-ins generated from the attributes, not FashionCLIP; these figures say nothing about real images.';

/** 2025-11-24T04:36:15.123Z → 20251124T043615123Z: sortable, safe in file names on every OS. */
export function fileStamp(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}

/** results/<base><ext>, or <base>-2<ext>, … when a run in the same millisecond took the name. */
export function uniqueResultPath(dir: string, base: string, ext: string): string {
  let p = join(dir, `${base}${ext}`);
  for (let i = 2; existsSync(p); i++) p = join(dir, `${base}-${i}${ext}`);
  return p;
}
