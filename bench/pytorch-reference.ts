/**
 * Running the PyTorch reference scripts (bench/reference/*.py) beside a benchmark: PERFORMANCE.md asks
 * for ratios measured side by side, and the reference is Debian's python3-torch on 2 threads.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NO_TORCH =
  'PyTorch not available (no python3 can `import torch`; apt-get install -y python3-torch libopenblas0-openmp)';

/** A python3 that can import torch, or null. Debian's lives in /usr/bin; a venv python3 on PATH may not. */
export function findTorchPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return python;
  }
  return null;
}

/** bench/reference/<name>, from the sources (bench/*.ts) or the bundle (dist/bench-cli.js). */
export function findReferenceScript(name: string): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, 'reference', name), join(here, '..', 'bench', 'reference', name)]) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** Runs a reference script with OMP_NUM_THREADS=2 (unless set); its JSON lines, or the error. */
export function runReference(
  name: string,
  args: string[],
): { lines: Record<string, unknown>[]; python: string } | { error: string } {
  const script = findReferenceScript(name);
  if (!script) return { error: `bench/reference/${name} not found next to the bench` };
  const python = findTorchPython();
  if (!python) return { error: NO_TORCH };
  const run = spawnSync(python, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
  });
  if (run.status !== 0) return { error: `${name} failed: ${run.stderr.trim().slice(-300)}` };
  const lines = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, python };
}
