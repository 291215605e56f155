/**
 * The `tune --queue` side of a queue study: each trial becomes a BullMQ job that a `kfashion worker`
 * trains (see [Note: Trial queue protocol]); this process — the workspace's one writer — records what
 * the workers report: the trial's per-epoch values (and the pruner's answer to each), its run's row
 * and metrics, and its end. Workers never touch the database ([Note: Workers never write the SQLite
 * file]); the run folders they write are the same as a local trial's.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelledError } from '../../src-shared/jobs.ts';
import type { StudyMetric } from '../../src-shared/tuning.ts';
import type { StudiesStore, StudyRecord } from '../store/studies-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { writeWorkspaceSnapshot } from '../store/workspace-snapshot.ts';
import { adoptLegacyCheckpoint, runsStore, tagRun, writeRunStatus } from '../training/runs.ts';
import type { TrainConfig } from '../training/train-config.ts';
import { type Objective, TrialPruned } from './study-runner.ts';
import {
  connectQueue,
  decisionKey,
  ensureQueueName,
  JOB_ATTEMPTS,
  jobIdOf,
  parseQueueUrl,
  QUEUE_PREFIX,
  type ReportedRun,
  type ReportedRunEnd,
  type TrialJobData,
  type TrialJobResult,
  type TrialProgress,
} from './trial-queue.ts';

export interface QueueRunner {
  objective: Objective;
  /** Trials to keep in flight: --parallel, else the number of workers connected (at least 1). */
  parallel: () => number;
  /** The queue's name (for messages). */
  queueName: string;
  close(): Promise<void>;
}

export interface QueueRunnerOptions {
  url: string;
  /** Trials in flight (default: the workers connected to the queue, at least one). */
  parallel?: number;
  signal?: AbortSignal;
  /** Messages for the user (e.g. that no worker is connected yet). */
  onMessage?: (m: string) => void;
  /** The trial's full training settings from its parameters. */
  configOf: (params: Record<string, unknown>) => TrainConfig;
}

/** Keeps finished jobs this long in Redis, so a `tune --resume` days later still finds their results. */
const KEEP_JOBS_S = 30 * 24 * 3600;

/** A worker's error text ("Name: message") as an Error the study runner records as it is. */
function workerError(text: string): Error {
  const m = /^(\w+): ([\s\S]*)$/.exec(text);
  const e = new Error(m ? m[2] : text);
  e.name = m ? m[1]! : 'Error';
  return e;
}

const studySnapshotDir = (ws: Workspace, study: string) => join(ws.root, 'studies', study);

/** Removes a study's database snapshots (when it is done: no job of it can need them any more). */
export function removeStudySnapshots(ws: Workspace, study: string): void {
  const dir = studySnapshotDir(ws, study);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (/^snapshot-.*\.db$/.test(n)) rmSync(join(dir, n), { force: true });
}

export async function openQueueRunner(
  ws: Workspace,
  store: StudiesStore,
  study: StudyRecord,
  metric: StudyMetric,
  opts: QueueRunnerOptions,
): Promise<QueueRunner> {
  const address = parseQueueUrl(opts.url);
  const conn: Redis = await connectQueue(address);
  const queueName = ensureQueueName(ws.root);
  // The data every trial of this process trains from (see [Note: Workers never write the SQLite file]).
  // A legacy checkpoint is adopted first, so no worker's copy tries to adopt it again.
  adoptLegacyCheckpoint(ws);
  const dir = studySnapshotDir(ws, study.name);
  mkdirSync(dir, { recursive: true });
  const snapshotName = `snapshot-${new Date().toISOString().replace(/\D/g, '').slice(0, 17)}-${process.pid}.db`;
  writeWorkspaceSnapshot(ws.db, join(dir, snapshotName));
  const snapshot = `studies/${study.name}/${snapshotName}`;

  const queue = new Queue<TrialJobData, TrialJobResult>(queueName, {
    connection: conn,
    prefix: QUEUE_PREFIX,
  });
  // QueueEvents blocks on its connection (XREAD): its own, closed with it below.
  const eventsConn = conn.duplicate();
  eventsConn.on('error', () => {});
  const events = new QueueEvents(queueName, { connection: eventsConn, prefix: QUEUE_PREFIX });
  events.on('error', () => {});
  await events.waitUntilReady();
  const handlers = new Map<string, (p: TrialProgress) => void>();
  // Jobs whose trial this process recorded: an attempt still reporting on one (its worker was taken
  // for dead and the trial finished elsewhere) is told to stop at once instead of waiting for an answer.
  const finishedJobs = new Set<string>();
  events.on('progress', ({ jobId, data }) => {
    if (!data || typeof data !== 'object') return;
    const handler = handlers.get(jobId);
    if (handler) handler(data as TrialProgress);
    else if (finishedJobs.has(jobId) && (data as TrialProgress).kind === 'epoch') {
      const p = data as Extract<TrialProgress, { kind: 'epoch' }>;
      const key = decisionKey(queueName, p.runId, p.epoch);
      conn
        .multi()
        .rpush(key, 'prune')
        .expire(key, 3600)
        .exec()
        .catch(() => {});
    }
  });

  let workers = 0;
  const countWorkers = async () => {
    try {
      workers = await queue.getWorkersCount();
    } catch {
      // keep the last count; the next poll tries again
    }
  };
  await countWorkers();
  const poll = setInterval(countWorkers, 2000);
  poll.unref();
  if (workers === 0) {
    opts.onMessage?.(
      `No worker is connected to the trial queue yet; trials wait until one is: kfashion worker --queue ${opts.url} --workspace ${ws.root}`,
    );
  }

  const runs = runsStore(ws);
  const ensureRun = (r: ReportedRun) => {
    if (!runs.get(r.id)) runs.insert({ ...r, status: 'running' });
  };
  const markInterrupted = (runId: string | null) => {
    if (!runId) return;
    const row = runs.get(runId);
    if (row && row.status === 'running') {
      runs.setStatus(runId, 'interrupted');
      writeRunStatus(ws, { ...row, status: 'interrupted' });
    }
  };
  const metricName = metric === 'top1' ? 'top1' : metric === 'mrr' ? 'mrr' : 'top5';
  const recordEnd = (trialId: number, end: ReportedRunEnd) => {
    const id = end.run.id;
    ensureRun(end.run);
    for (const m of end.metrics) {
      runs.putMetrics(id, m.epoch, m.step, m.values);
      const v = m.values[metricName];
      if (v !== undefined && Number.isFinite(v)) store.reportIntermediate(trialId, m.epoch, v);
    }
    if (end.run.status !== 'running') {
      runs.finish(id, {
        status: end.run.status,
        finishedAt: end.finishedAt ?? new Date().toISOString(),
        summary: end.summary ?? {},
        bestEpoch: end.bestEpoch,
        epochsRun: end.epochsRun,
        headline: end.headline,
      });
    }
    // run.json from the row this process keeps (the worker's copy numbered the run on its own).
    const row = runs.get(id);
    if (row) writeRunStatus(ws, row);
  };

  const objective: Objective = async (trial) => {
    const jobId = jobIdOf(study, trial.number);
    let currentRun: string | null = store.trial(trial.trialId).runId;
    // Runs of attempts given up: a worker BullMQ wrongly took for dead (its event loop blocked for
    // longer than the lock) may still report on one; it is told to stop, and nothing of it is recorded.
    const retired = new Set<string>();
    const startRun = (runId: string, run: ReportedRun) => {
      if (currentRun === runId) {
        ensureRun(run);
        return;
      }
      // A new attempt: the last one's worker died or stopped; its run stays as interrupted.
      if (currentRun) {
        markInterrupted(currentRun);
        retired.add(currentRun);
      }
      store.clearIntermediate(trial.trialId);
      currentRun = runId;
      ensureRun(run);
      trial.setRunId(runId);
    };
    const handle = async (p: TrialProgress) => {
      const stale = retired.has(p.runId);
      if (!stale) startRun(p.runId, p.run);
      if (p.kind !== 'epoch') return;
      let prune = true;
      if (!stale) {
        runs.putMetrics(p.runId, p.epoch, p.step, p.metrics);
        runs.progress(p.runId, p.bestEpoch, p.epochsRun, p.headline);
        prune = trial.report(p.epoch, p.value);
      }
      const key = decisionKey(queueName, p.runId, p.epoch);
      await conn
        .multi()
        .rpush(key, prune ? 'prune' : 'go')
        .expire(key, 3600)
        .exec();
    };
    // Reports are handled one at a time, in order.
    let chain: Promise<void> = Promise.resolve();
    const onProgress = (p: TrialProgress) => {
      chain = chain.then(() => handle(p)).catch(() => {});
    };
    handlers.set(jobId, onProgress);
    try {
      let job = await Job.fromId<TrialJobData, TrialJobResult>(queue, jobId);
      if (job) {
        // Adopted after a restart of tune: the job's last report may await an answer nobody gave.
        if (job.progress && typeof job.progress === 'object') onProgress(job.progress as TrialProgress);
      } else {
        job = await queue.add(
          'trial',
          {
            study: study.name,
            number: trial.number,
            config: opts.configOf(trial.params),
            metric,
            snapshot,
          },
          {
            jobId,
            attempts: JOB_ATTEMPTS,
            removeOnComplete: { age: KEEP_JOBS_S },
            removeOnFail: { age: KEEP_JOBS_S },
          },
        );
      }
      let result: TrialJobResult;
      try {
        result = await untilAborted(job.waitUntilFinished(events), opts.signal);
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        await chain;
        markInterrupted(currentRun);
        throw new Error(
          `its queue job failed: ${(e as Error).message} (a worker was stopped or died while training it)`,
        );
      }
      await chain;
      if (result.end) recordEnd(trial.trialId, result.end);
      if (result.runId && result.runId !== currentRun) {
        markInterrupted(currentRun);
        trial.setRunId(result.runId);
      }
      if (result.state === 'COMPLETE') return { value: result.value, attrs: result.attrs };
      if (result.state === 'PRUNED') {
        if (result.runId) tagRun(ws, result.runId, 'pruned');
        throw new TrialPruned(result.step);
      }
      throw workerError(result.error);
    } finally {
      handlers.delete(jobId);
      finishedJobs.add(jobId);
    }
  };

  return {
    objective,
    queueName,
    parallel: () => opts.parallel ?? Math.max(1, workers),
    async close() {
      clearInterval(poll);
      await events.close().catch(() => {});
      await queue.close().catch(() => {});
      eventsConn.disconnect();
      conn.disconnect();
    },
  };
}

/** `p`, or a CancelledError as soon as `signal` aborts (the job itself goes on in its worker). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
