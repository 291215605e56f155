/**
 * Runs one long operation as a job: gives it an id, a cancel signal and a progress channel.
 *
 * [Note: Where jobs run]
 * The CLI runs jobs in its own process (it has nothing else to do while they run). The desktop app
 * and the HTTP server must not block their event loop, so they run the same job functions on worker
 * threads (job-host.ts, one thread per job, via src-main/services/job-worker.ts); the job functions
 * only take plain options plus WorkOptions and return plain data, which is what makes that possible.
 */
import { randomUUID } from 'node:crypto';
import type { WorkOptions } from '../../src-shared/jobs.ts';
import { type ProgressListener, progressTracker } from './progress-tracker.ts';

export interface JobControls {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export async function runJob<T>(
  kind: string,
  controls: JobControls,
  work: (opts: WorkOptions) => T | Promise<T>,
): Promise<T> {
  const id = `${kind}-${randomUUID().slice(0, 8)}`;
  const onProgress = controls.onProgress ? progressTracker(id, controls.onProgress) : undefined;
  return await work({ signal: controls.signal, onProgress });
}
