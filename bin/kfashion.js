#!/usr/bin/env node
// The `kfashion` command. The TypeScript sources are bundled to dist/ by `npm install` (the
// `prepare` script); this stub only checks that the bundle exists so the error says what to do.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
if (!existsSync(bundle)) {
  console.error(
    `kfashion: ${bundle} is missing. Run "npm install" (or "npm run build:cli") in the project folder first.`,
  );
  process.exit(1);
}
// A file URL, not a path: on Windows the ESM loader reads `C:\...` as a URL with scheme "c:".
await import(pathToFileURL(bundle).href);
