/** `kfashion train --from-bundle FILE.zip`: the run config inside a result bundle, for a replay. */
import type { ReplaySource } from '../../services/run-replay.ts';

export async function bundleReplay(zip: string, warn: (m: string) => void): Promise<ReplaySource> {
  const { readBundleRun } = await import('../../services/export-bundle.ts');
  const r = await readBundleRun(zip);
  for (const w of r.notes) warn(w);
  return r.replay;
}
