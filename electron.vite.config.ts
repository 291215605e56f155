/**
 * Builds the desktop app into out/: out/main (ESM, Node side), out/preload (CommonJS, sandboxed),
 * out/renderer (the Svelte UI). `npm run build:cli` builds the CLI separately with esbuild.
 */
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

const root = import.meta.dirname;
const at = (path: string): string => resolve(root, path);

/**
 * [Note: Native modules stay external]
 * Native addons (.node files) and packages that load files from their own folder at run time
 * (sharp's libvips, onnxruntime's shared libraries, tfjs-node's
 * libtensorflow, tfjs-backend-wasm's .wasm) cannot be bundled: they must be `import`ed from
 * node_modules as installed, and electron-builder unpacks them from the asar (electron-builder.yml).
 * electron-vite externalizes everything in package.json `dependencies` by default; the list below
 * adds the ones that are, or will be, optional or peer dependencies, which it does not read.
 */
const NATIVE_OR_SELF_LOADING = [
  'better-sqlite3',
  'sharp',
  'onnxruntime-node',
  'usearch',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs-backend-wasm',
];

export default defineConfig({
  main: {
    build: {
      externalizeDeps: { include: NATIVE_OR_SELF_LOADING },
      rolldownOptions: {
        // Named `index` so the bundle lands at out/main/index.js, package.json's "main"; `worker` is
        // the worker-thread entry that WorkerPool looks for next to it (src-main/jobs/worker-pool.ts),
        // `job-worker` the one JobHost runs each job in (src-main/jobs/job-host.ts).
        input: {
          index: at('src-main/electron/main.ts'),
          worker: at('src-main/jobs/worker-main.ts'),
          'job-worker': at('src-main/services/job-worker.ts'),
          // The JSON encoder's matrix-product helper thread (encoders/json-encoder/matmul-threads.ts).
          'matmul-worker': at('src-main/encoders/json-encoder/matmul-worker.ts'),
          // The JSON encoder's hidden-shard helper thread (encoders/json-encoder/shard-worker.ts).
          'shard-helper': at('src-main/encoders/json-encoder/shard-helper.ts'),
          // One ONNX Runtime session per thread: image encoder and vector index (encoders/onnx-session-host.ts).
          'onnx-session-worker': at('src-main/encoders/onnx-session-worker.ts'),
          // The vector index's search worker: its ONNX session and the int8 scan (retrieval/vector-index.ts).
          'search-worker': at('src-main/retrieval/search-worker.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require 'electron' and little else, so everything it uses (the
      // contract, zod) is bundled into the one file instead of being left to node_modules.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: at('src-main/electron/preload.ts') },
        // Sandboxed preloads cannot be ES modules, and package.json says "type": "module", so the
        // CommonJS bundle needs the .cjs extension to be read as what it is.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: at('src-renderer'),
    build: {
      rolldownOptions: { input: at('src-renderer/index.html') },
    },
    // The plugin looks for svelte.config.js in Vite's root (src-renderer); ours sits at the
    // repository root, where svelte-check also finds it.
    plugins: [svelte({ configFile: at('svelte.config.js') })],
  },
});
