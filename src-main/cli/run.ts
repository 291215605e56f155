/** Shared plumbing for commands: Ctrl-C as a cancel, the progress bar, JSON output. */
import type { JobControls } from '../jobs/run-job.ts';
import { Workbench } from '../services/workbench.ts';
import { ProgressBar } from './progress-bar.ts';

/**
 * Runs `fn` with a cancel signal wired to Ctrl-C and a progress bar on stderr. The first Ctrl-C asks
 * the job to stop after storing what it has; a second one exits at once.
 */
export async function withJobControls<T>(
  quiet: boolean,
  fn: (controls: JobControls) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  const bar = new ProgressBar(process.stderr, quiet);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nkfashion: stopping after the current batch (Ctrl-C again to quit at once)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn({ signal: abort.signal, onProgress: bar.update });
  } finally {
    bar.done();
    process.off('SIGINT', onSigint);
  }
}

export async function withWorkbench<T>(
  dir: string,
  create: boolean,
  fn: (wb: Workbench) => Promise<T> | T,
): Promise<T> {
  const wb = Workbench.open(dir, { create });
  try {
    return await fn(wb);
  } finally {
    wb.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
