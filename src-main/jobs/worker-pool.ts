/**
 * A small pool of worker threads running the tasks of worker-tasks.ts, so CPU-bound work uses the
 * machine's other cores while the calling thread does I/O (e.g. SQLite writes during a scan).
 *
 * The worker script is the bundled dist/worker.js next to the running bundle. Under the test runner
 * the code runs from TypeScript sources and there is no such file: `create` then returns null and
 * callers run the same task functions inline, so behaviour is identical, only slower.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerTaskInput, WorkerTaskName, WorkerTaskOutput } from './worker-tasks.ts';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  worker: Worker;
}

export class WorkerPool {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private closed = false;

  private readonly workers: Worker[];

  private constructor(workers: Worker[]) {
    this.workers = [...workers];
    for (const w of workers) {
      this.busy.set(w, 0);
      w.on(
        'message',
        (m: { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string } }) => {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          this.busy.set(w, (this.busy.get(w) ?? 1) - 1);
          if (m.ok) p.resolve(m.result);
          else
            p.reject(
              Object.assign(new Error(m.error?.message ?? 'worker task failed'), {
                name: m.error?.name ?? 'Error',
              }),
            );
        },
      );
      w.on('error', (e) => this.failAll(w, e));
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(w, new Error(`worker thread exited with code ${code}`));
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
    // Beside the entry bundle; one folder up when this code sits in a shared chunk (chunks/), which
    // happens as soon as a second entry (the job worker) imports it too.
    for (const rel of ['./worker.js', '../worker.js']) {
      const p = fileURLToPath(new URL(rel, import.meta.url));
      if (existsSync(p)) return p;
    }
    return null;
  }

  static create(size = WorkerPool.defaultSize()): WorkerPool | null {
    const script = WorkerPool.scriptPath();
    if (!script) return null;
    return new WorkerPool(Array.from({ length: Math.max(1, size) }, () => new Worker(script)));
  }

  get size(): number {
    return this.workers.length;
  }

  run<K extends WorkerTaskName>(task: K, payload: WorkerTaskInput<K>): Promise<WorkerTaskOutput<K>> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    if (this.workers.length === 0)
      return Promise.reject(new Error('every worker thread of the pool has died'));
    // The least busy worker takes the task.
    let worker = this.workers[0]!;
    for (const w of this.workers) if ((this.busy.get(w) ?? 0) < (this.busy.get(worker) ?? 0)) worker = w;
    const id = this.nextId++;
    this.busy.set(worker, (this.busy.get(worker) ?? 0) + 1);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, worker });
      worker.postMessage({ id, task, payload });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.terminate()));
    for (const p of this.pending.values()) p.reject(new Error('worker pool closed'));
    this.pending.clear();
  }

  /** A dead worker leaves the rotation; its pending tasks fail, and the caller decides what to redo. */
  private failAll(worker: Worker, e: Error): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    this.busy.delete(worker);
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(id);
      p.reject(e);
    }
  }
}
