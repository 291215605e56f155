/**
 * What the UI knows about jobs: every job the serving side announces (started, progress, done,
 * failed), kept by id, so a view can show a job's bar and wait for its result — also a job started
 * before the view was opened, or before the window was reloaded (`job.list` at start-up).
 *
 * The UI only listens: the work itself runs in the job host off the main thread (src-main/jobs), so
 * a long job never freezes the window.
 */
import type { ApiClient } from '../../../src-shared/api.ts';
import { ApiError, type WireError } from '../../../src-shared/api-errors.ts';
import type { JobInfo, JobKind } from '../../../src-shared/api-schemas.ts';
import type { JobProgress } from '../../../src-shared/jobs.ts';

export type JobStatus = JobInfo['status'];

export interface JobView {
  job: string;
  kind: JobKind;
  status: JobStatus;
  startedAt: string | null;
  progress: JobProgress | null;
  result: unknown;
  error: WireError | null;
}

/** How often a job that is waited on is also asked about, in case an event was lost (e.g. a reconnect). */
const POLL_MS = 2000;

export class Jobs {
  /** Every job seen in this window, newest last. */
  all = $state<JobView[]>([]);
  private waiters = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }[]>();

  constructor(private readonly client: ApiClient) {}

  /** Subscribes to the job events; returns the unsubscribe function. */
  listen(): () => void {
    const offs = [
      this.client.on('job.started', (p) =>
        this.upsert(p.job, p.kind, { status: 'running', startedAt: p.startedAt }),
      ),
      this.client.on('job.progress', (p) => {
        const { kind, ...progress } = p;
        this.upsert(p.job, kind, { progress });
      }),
      this.client.on('job.done', (p) => {
        this.upsert(p.job, p.kind, { status: 'done', result: p.result });
        this.settle(p.job);
      }),
      this.client.on('job.failed', (p) => {
        this.upsert(p.job, p.kind, { status: p.cancelled ? 'cancelled' : 'failed', error: p.error });
        this.settle(p.job);
      }),
    ];
    // Jobs started before this window (a reload during training) still show their progress.
    void this.client.call('job.list', {}).then(
      (list) => {
        for (const info of list) this.absorb(info);
      },
      () => undefined,
    );
    return () => {
      for (const off of offs) off();
    };
  }

  get(job: string | null | undefined): JobView | undefined {
    return job ? this.all.find((j) => j.job === job) : undefined;
  }

  running(kind: JobKind): JobView | undefined {
    return this.all.findLast((j) => j.kind === kind && j.status === 'running');
  }

  /** Registers a job the UI just started (its events may already have arrived). */
  track(handle: { job: string; kind: JobKind }): void {
    this.upsert(handle.job, handle.kind, {});
  }

  /**
   * Resolves with the job's result once it is done; rejects with its error (message kept) when it
   * fails or is cancelled.
   */
  wait(job: string): Promise<unknown> {
    const settled = this.outcome(job);
    if (settled) return settled;
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(job) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(job, list);
      const poll = setInterval(() => {
        if (!this.waiters.has(job)) {
          clearInterval(poll);
          return;
        }
        void this.client.call('job.get', { job }).then(
          (info) => {
            this.absorb(info);
            if (info.status !== 'running') this.settle(job);
          },
          () => undefined,
        );
      }, POLL_MS);
    });
  }

  private outcome(job: string): Promise<unknown> | undefined {
    const view = this.get(job);
    if (!view || view.status === 'running') return undefined;
    if (view.status === 'done') return Promise.resolve(view.result);
    return Promise.reject(
      new ApiError(view.error ?? { name: 'Error', message: `job ${job} ${view.status}` }),
    );
  }

  private settle(job: string): void {
    // Waiters first: outcome() makes a rejected promise for a failed job, which must not be left
    // unhandled when nobody waits (a job another window started).
    const list = this.waiters.get(job);
    if (!list) return;
    const outcome = this.outcome(job);
    if (!outcome) return;
    this.waiters.delete(job);
    for (const w of list) outcome.then(w.resolve, w.reject);
  }

  private absorb(info: JobInfo): void {
    this.upsert(info.job, info.kind, {
      status: info.status,
      startedAt: info.startedAt,
      progress: info.progress,
      error: info.error,
      ...(info.result === undefined ? {} : { result: info.result }),
    });
  }

  private upsert(job: string, kind: JobKind, patch: Partial<JobView>): void {
    const existing = this.all.find((j) => j.job === job);
    if (existing) {
      // A late progress event or a stale poll must not turn a finished job back into a running one.
      if (existing.status !== 'running' && (patch.status ?? 'running') === 'running') return;
      Object.assign(existing, patch);
      return;
    }
    this.all.push({
      job,
      kind,
      status: 'running',
      startedAt: null,
      progress: null,
      result: undefined,
      error: null,
      ...patch,
    });
  }
}
