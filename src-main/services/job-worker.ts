/**
 * Entry point of a job's worker thread (bundled as job-worker.js: dist/ for the CLI and server,
 * out/main/ for the desktop app). Serves the JobHost's typed calls (workers/protocol.ts): `run` one
 * job spec through the job table, streaming its progress as events, answering with its result or
 * error; `cancel` aborts its signal, after which the job stores what it finished and throws a
 * CancelledError (see src-main/jobs/job-host.ts).
 */
import type { JobSpec, JobWorkerTasks } from '../jobs/job-host.ts';
import { defineWorker, emit } from '../workers/protocol.ts';
import { runJobSpec } from './job-table.ts';

const abort = new AbortController();

defineWorker({
  run: (spec: JobSpec): Promise<unknown> =>
    runJobSpec(spec, { signal: abort.signal, onProgress: (progress) => emit(progress) }),
  cancel(): void {
    abort.abort();
  },
} satisfies JobWorkerTasks);
