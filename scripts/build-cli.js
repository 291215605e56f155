// Runs on `npm install` (the `prepare` script) and before tests and benchmarks.
// 1. Bundles the Node side's command-line entry points with esbuild, so `npx kfashion` starts fast and
//    needs no TypeScript loader. Dependencies stay external: native modules (better-sqlite3, sharp,
//    onnxruntime-node) must be loaded from node_modules as installed.
// 2. Links `kfashion` into node_modules/.bin: npm links the bins of dependencies there, but never the
//    root package's own, so without this `npx kfashion` would fail in a fresh clone.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const common = {
  absWorkingDir: root,
  outdir: 'dist',
  bundle: true,
  // Dynamic imports become their own chunks, so the CLI loads ONNX Runtime and tfjs only for the
  // commands that use them.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { __KFASHION_VERSION__: JSON.stringify(version) },
};
// Two builds: chunks shared between the CLI and the benchmarks would make the CLI import what only a
// benchmark needs at start-up (esbuild hoists a shared chunk's import into every entry using it).
await build({
  ...common,
  entryPoints: {
    cli: 'src-main/cli/main.ts',
    worker: 'src-main/jobs/worker-main.ts',
    // One job per worker thread (src-main/jobs/job-host.ts): `kfashion web` runs scans and training here.
    'job-worker': 'src-main/services/job-worker.ts',
    // The JSON encoder's matrix-product helper thread (src-main/encoders/json-encoder/matmul-threads.ts).
    'matmul-worker': 'src-main/encoders/json-encoder/matmul-worker.ts',
    // The JSON encoder's hidden-shard helper thread (src-main/encoders/json-encoder/shard-worker.ts).
    'shard-helper': 'src-main/encoders/json-encoder/shard-helper.ts',
    // One ONNX Runtime session per thread: image encoder and vector index (encoders/onnx-session-host.ts).
    'onnx-session-worker': 'src-main/encoders/onnx-session-worker.ts',
    // The vector index's search worker: its ONNX session and the int8 scan (src-main/retrieval/vector-index.ts).
    'search-worker': 'src-main/retrieval/search-worker.ts',
  },
});
await build({
  ...common,
  // The fault campaign (`npm run faults`) shares the bench build: both are tools, never the product.
  entryPoints: { 'bench-cli': 'bench/main.ts', 'faults-cli': 'test/faults/campaign-main.ts' },
  chunkNames: 'bench-chunks/[name]-[hash]',
});

const binDir = join(root, 'node_modules', '.bin');
if (existsSync(join(root, 'node_modules'))) {
  mkdirSync(binDir, { recursive: true });
  const target = join(root, 'bin', 'kfashion.js');
  if (process.platform === 'win32') {
    // npm's own shims on Windows are .cmd/.ps1 wrappers, not symlinks.
    writeFileSync(join(binDir, 'kfashion.cmd'), `@node "%~dp0\\${relative(binDir, target)}" %*\r\n`);
    writeFileSync(
      join(binDir, 'kfashion.ps1'),
      `#!/usr/bin/env pwsh\n& node "$PSScriptRoot/${relative(binDir, target).replaceAll('\\', '/')}" @args\nexit $LASTEXITCODE\n`,
    );
  } else {
    const link = join(binDir, 'kfashion');
    rmSync(link, { force: true });
    symlinkSync(relative(binDir, target), link);
    chmodSync(target, 0o755);
  }
}
