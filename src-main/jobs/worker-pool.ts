/**
 * A small pool of worker threads running the tasks of worker-tasks.ts, so CPU-bound work uses the
 * machine's other cores while the calling thread does I/O (e.g. SQLite writes during a scan).
 *
 * The worker script is the bundled dist/worker.js next to the running bundle. Under the test runner
 * the code runs from TypeScript sources and there is no such file: `create` then returns null and
 * callers run the same task functions inline, so behaviour is identical, only slower.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Connection, connect, workerEntry } from '../workers/protocol.ts';
import type { WORKER_TASKS, WorkerTaskInput, WorkerTaskName, WorkerTaskOutput } from './worker-tasks.ts';

type PoolTasks = typeof WORKER_TASKS;

export class WorkerPool {
  private readonly busy = new Map<Connection<PoolTasks>, number>();
  private closed = false;

  private readonly workers: Connection<PoolTasks>[];

  private constructor(workers: Worker[]) {
    this.workers = workers.map((w) => connect<PoolTasks>(w, { name: 'label-parsing worker thread' }));
    for (const c of this.workers) {
      this.busy.set(c, 0);
      // A dead worker leaves the rotation; its pending tasks fail (the protocol rejects them), and the
      // caller decides what to redo.
      void c.exited.then(() => {
        const i = this.workers.indexOf(c);
        if (i >= 0) this.workers.splice(i, 1);
        this.busy.delete(c);
      });
    }
  }

  /**
   * Default size: one worker per core. The calling thread is not counted: in a scan it mostly waits
   * for parse results and SQLite, and on 2 cores two parse workers measured 20-30 % faster than one.
   */
  static defaultSize(): number {
    return Math.max(1, availableParallelism());
  }

  static scriptPath(): string | null {
    return workerEntry('worker', { fromSources: false });
  }

  static create(size = WorkerPool.defaultSize()): WorkerPool | null {
    const script = WorkerPool.scriptPath();
    if (!script) return null;
    return new WorkerPool(Array.from({ length: Math.max(1, size) }, () => new Worker(script)));
  }

  get size(): number {
    return this.workers.length;
  }

  async run<K extends WorkerTaskName>(task: K, payload: WorkerTaskInput<K>): Promise<WorkerTaskOutput<K>> {
    if (this.closed) throw new Error('worker pool is closed');
    if (this.workers.length === 0) throw new Error('every worker thread of the pool has died');
    // The least busy worker takes the task.
    let worker = this.workers[0]!;
    for (const w of this.workers) if ((this.busy.get(w) ?? 0) < (this.busy.get(worker) ?? 0)) worker = w;
    this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
    try {
      const call = worker.call[task] as (p: WorkerTaskInput<K>) => Promise<WorkerTaskOutput<K>>;
      return await call(payload);
    } finally {
      if (this.busy.has(worker)) this.busy.set(worker, (this.busy.get(worker) ?? 1) - 1);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}
