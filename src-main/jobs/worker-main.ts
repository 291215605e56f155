/** Entry point of a worker thread (bundled to dist/worker.js): runs named tasks for a WorkerPool. */
import { parentPort } from 'node:worker_threads';
import { WORKER_TASKS, type WorkerTaskName } from './worker-tasks.ts';

interface Request {
  id: number;
  task: WorkerTaskName;
  payload: unknown;
}

parentPort?.on('message', (req: Request) => {
  try {
    const fn = WORKER_TASKS[req.task] as (payload: unknown) => unknown;
    if (!fn) throw new Error(`unknown worker task "${req.task}"`);
    parentPort!.postMessage({ id: req.id, ok: true, result: fn(req.payload) });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort!.postMessage({ id: req.id, ok: false, error: { name: err.name, message: err.message } });
  }
});
