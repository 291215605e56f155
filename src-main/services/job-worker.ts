/**
 * Entry point of a job's worker thread (bundled as job-worker.js: dist/ for the CLI and server,
 * out/main/ for the desktop app). Runs one job spec from workerData through the job table, streams
 * its progress, and answers with its result or error; a 'cancel' message aborts its signal, after
 * which the job stores what it finished and throws a CancelledError (see src-main/jobs/job-host.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { JobWorkerData, JobWorkerMessage } from '../jobs/job-host.ts';
import { runJobSpec } from './job-table.ts';

const port = parentPort;
if (!port) throw new Error('job-worker.js runs as a worker thread of the JobHost, not on its own');

const { spec } = workerData as JobWorkerData;
const abort = new AbortController();
port.on('message', (m: { type?: string }) => {
  if (m?.type === 'cancel') abort.abort();
});

const send = (m: JobWorkerMessage) => port.postMessage(m);

runJobSpec(spec, {
  signal: abort.signal,
  onProgress: (progress) => send({ type: 'progress', progress }),
}).then(
  (result) => send({ type: 'done', result }),
  (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: unknown }).code;
    send({
      type: 'failed',
      cancelled: err.name === 'CancelledError',
      error: { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) },
    });
  },
);
