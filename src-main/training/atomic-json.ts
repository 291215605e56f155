/** JSON files written whole or not at all: a temporary name in the same folder, then rename. */
import { renameSync, writeFileSync } from 'node:fs';

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}
