/**
 * Picks the TensorFlow.js backend at run time: tfjs-node-gpu → tfjs-node → wasm → cpu.
 *
 * The native backends are optional dependencies (their install downloads libtensorflow, which fails on
 * machines without internet, e.g. this build machine), so they are imported dynamically and each
 * failure is remembered with its reason: the backend that ran is printed and recorded with every run,
 * and `--backend X` that cannot load says which package to install.
 *
 * The wasm binaries are loaded from the installed package folder (setWasmPaths), never fetched: this
 * works offline and from the esbuild bundle, where tfjs-backend-wasm stays an external package.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** What `--backend` accepts. */
export const BACKEND_CHOICES = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason: string;
}

export interface BackendInfo {
  /** The backend that runs (our name: node-gpu, node, wasm, cpu). */
  name: BackendName;
  /** tfjs's own name for it (`tensorflow`, `wasm`, `cpu`). */
  tfName: string;
  /** Threads the backend computes with (wasm in Node: 1; see PERFORMANCE.md). */
  threads: number;
  /** Why this one: forced, or the earlier candidates that failed and why. */
  reason: string;
  attempts: BackendAttempt[];
}

export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

const PACKAGE: Record<BackendName, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs',
};

const require = createRequire(import.meta.url);
/** Failures are remembered so a second `initTfBackend` does not retry a package that cannot load. */
const failures = new Map<BackendName, string>();
let current: BackendInfo | null = null;

/** The folder holding tfjs-backend-wasm's .wasm files (with a trailing separator, as tfjs wants). */
export function wasmBinaryFolder(): string {
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return join(dirname(pkg), 'dist') + (process.platform === 'win32' ? '\\' : '/');
}

async function tryLoad(name: BackendName): Promise<{ tfName: string; threads: number }> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      // Both register the `tensorflow` backend (CUDA build or CPU build of libtensorflow). A variable
      // specifier keeps bundlers from trying to resolve a package that is not installed.
      const spec = PACKAGE[name];
      await import(/* @vite-ignore */ spec);
      if (!(await tf.setBackend('tensorflow')))
        throw new Error(`${spec} loaded but its backend did not start`);
      return { tfName: 'tensorflow', threads: availableParallelism() };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      try {
        // A plain path: in Node, Emscripten reads the binary with fs.
        wasm.setWasmPaths(wasmBinaryFolder());
      } catch {
        // setWasmPaths throws once the module has been initialised: the earlier paths still hold.
      }
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm module did not initialise');
      let threads = 1;
      try {
        threads = wasm.getThreadsCount();
      } catch {
        // Older builds do not report it; Node runs the single-threaded binary.
      }
      return { tfName: 'wasm', threads };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return { tfName: 'cpu', threads: 1 };
    }
  }
}

function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(msg)) return 'not installed';
  return msg.split('\n')[0]!.slice(0, 200);
}

/**
 * Starts a backend and makes it tfjs's current one. `auto` tries node-gpu, node, wasm, cpu in order;
 * a named backend is forced and a failure throws BackendUnavailableError naming the package.
 * Idempotent: asking again for the running backend (or `auto` once one runs) returns the same info.
 */
export async function initTfBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new BackendUnavailableError(
      `unknown backend '${choice}': expected one of ${BACKEND_CHOICES.join(', ')}`,
    );
  }
  if (current && (choice === 'auto' || choice === current.name)) {
    if (tf.getBackend() !== current.tfName) await tf.setBackend(current.tfName);
    return current;
  }
  const order: BackendName[] = choice === 'auto' ? ['node-gpu', 'node', 'wasm', 'cpu'] : [choice];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    const known = failures.get(name);
    if (known) {
      attempts.push({ name, ok: false, reason: known });
      continue;
    }
    try {
      const { tfName, threads } = await tryLoad(name);
      attempts.push({ name, ok: true, reason: 'loaded' });
      const skipped = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
      current = {
        name,
        tfName,
        threads,
        reason:
          choice === 'auto'
            ? skipped.length
              ? `auto (${skipped.join('; ')})`
              : 'auto (first choice)'
            : 'forced with --backend',
        attempts,
      };
      return current;
    } catch (e) {
      const reason = shortReason(e);
      failures.set(name, reason);
      attempts.push({ name, ok: false, reason });
    }
  }
  if (choice !== 'auto') {
    throw new BackendUnavailableError(
      `backend '${choice}' cannot load (${attempts[0]?.reason}): install ${PACKAGE[choice]}` +
        (choice === 'node-gpu' ? ' (and CUDA/cuDNN as its README says)' : '') +
        ', or pick another with --backend auto|wasm|cpu',
    );
  }
  throw new BackendUnavailableError(
    `no TensorFlow.js backend could start: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`,
  );
}

/** The backend started by initTfBackend, if any. */
export function currentTfBackend(): BackendInfo | null {
  return current;
}

/** One line for logs and result files, e.g. `wasm (1 thread; auto (node-gpu: not installed; ...))`. */
export function describeBackend(info: BackendInfo): string {
  return `${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'}; ${info.reason})`;
}
