/** Entry point of a worker thread (bundled to dist/worker.js): serves worker-tasks.ts for a WorkerPool. */
import { defineWorker } from '../workers/protocol.ts';
import { WORKER_TASKS } from './worker-tasks.ts';

defineWorker(WORKER_TASKS);
