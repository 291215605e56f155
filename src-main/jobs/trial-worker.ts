/**
 * `kfashion worker --queue redis://HOST:PORT --workspace PATH`: takes tuning trials from the
 * workspace's BullMQ queue and trains each as a run folder under PATH/runs/, reporting every epoch to
 * the `tune` process and waiting for its prune decision (see [Note: Trial queue protocol]). It never
 * opens workspace.db: it trains from the study's snapshot file as a private in-memory database (see
 * [Note: Workers never write the SQLite file]), so PATH may be a shared folder on another machine.
 *
 * A worker killed mid-trial stops renewing its job's lock; after `stallSeconds` another worker's
 * stalled-job check puts the job back in the queue and the trial starts again there (the `tune`
 * process marks the dead attempt's run interrupted). Ctrl-C stops the trials this worker holds after
 * their current step and hands them back to the queue at once.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Job, Worker } from 'bullmq';
import type { RunRow } from '../store/runs-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { openWorkspaceSnapshot } from '../store/workspace-snapshot.ts';
import { runsStore } from '../training/runs.ts';
import type { EncoderFactory } from '../training/trainer.ts';
import { TrialPruned } from '../tuning/study-runner.ts';
import {
  connectQueue,
  DECISION_TIMEOUT_S,
  DEFAULT_STALL_SECONDS,
  decisionKey,
  MAX_STALLED_COUNT,
  parseQueueUrl,
  QUEUE_PREFIX,
  queueFilePath,
  type ReportedRun,
  type ReportedRunEnd,
  readQueueName,
  type TrialJobData,
  type TrialJobResult,
  TrialQueueError,
} from '../tuning/trial-queue.ts';
import { metricOfRecord, trainTrial } from '../tuning/tune-study.ts';

export interface TrialWorkerOptions {
  /** --queue redis://HOST:PORT */
  queue: string;
  /** --workspace: the workspace folder as this machine sees it. */
  workspace: string;
  /** Trials trained at once by this process (default 1). */
  concurrency?: number;
  /** Seconds without a lock renewal before a trial counts as its worker's death (BullMQ lockDuration). */
  stallSeconds?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  createEncoder?: EncoderFactory;
  evalEncoder?: EncoderFactory;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function reportedRun(row: RunRow): ReportedRun {
  return {
    id: row.id,
    kind: row.kind,
    config: row.config,
    backend: row.backend,
    startedAt: row.startedAt,
    parentId: row.parentId,
    replayOf: row.replayOf,
    study: row.study,
    tags: row.tags,
    folder: row.folder ?? `runs/${row.id}`,
    pid: row.pid ?? process.pid,
    host: row.host ?? '',
    status: row.status,
  };
}

function runEnd(ws: Workspace, runId: string): ReportedRunEnd | null {
  const store = runsStore(ws);
  const row = store.get(runId);
  if (!row) return null;
  return {
    run: reportedRun(row),
    finishedAt: row.finishedAt,
    summary: row.summary,
    bestEpoch: row.bestEpoch,
    epochsRun: row.epochsRun ?? 0,
    headline: row.headline,
    metrics: store.metrics(runId),
  };
}

/** Runs until `signal` aborts; resolves with the number of trials this worker finished. */
export async function runTrialWorker(opts: TrialWorkerOptions): Promise<{ trials: number }> {
  const log = opts.log ?? (() => {});
  const address = parseQueueUrl(opts.queue);
  const root = resolve(opts.workspace);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new TrialQueueError(
      `--workspace ${opts.workspace}: no such folder (the workspace the study runs in).`,
    );
  }
  const concurrency = opts.concurrency ?? 1;
  const stallMs = Math.round((opts.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000);
  const conn = await connectQueue(address);
  try {
    // The queue's name is in the workspace (the tune process writes it on its first queue study).
    let queueName = readQueueName(root);
    if (!queueName) log(`Waiting for a queue study in ${root} (${queueFilePath(root)} does not exist yet)…`);
    while (!queueName) {
      if (opts.signal?.aborted) return { trials: 0 };
      await sleep(1000);
      queueName = readQueueName(root);
    }

    // Snapshots in use, opened once each and closed when no trial uses them and a newer one is open.
    const snapshots = new Map<string, { ws: Workspace; users: number }>();
    const acquire = (file: string) => {
      let s = snapshots.get(file);
      if (!s) {
        for (const [f, o] of snapshots) {
          if (o.users === 0) {
            o.ws.close();
            snapshots.delete(f);
          }
        }
        s = { ws: openWorkspaceSnapshot(root, file), users: 0 };
        snapshots.set(file, s);
      }
      s.users++;
      return s;
    };
    const active = new Set<AbortController>();
    /** Each trial's stop switch, by job id (a trial whose lock is lost is stopped here). */
    const byJob = new Map<string, AbortController>();
    let finished = 0;

    const processTrial = async (job: Job<TrialJobData, TrialJobResult>): Promise<TrialJobResult> => {
      const d = job.data;
      const file = join(root, d.snapshot);
      if (!existsSync(file)) {
        // Another worker may see the right folder: thrown, so the job goes back to the queue.
        throw new TrialQueueError(
          `${file} does not exist: this worker's --workspace ${opts.workspace} is not the workspace of study ${d.study} (or not the same files).`,
        );
      }
      const snap = acquire(file);
      const ws = snap.ws;
      const ctl = new AbortController();
      active.add(ctl);
      if (job.id) byJob.set(job.id, ctl);
      if (opts.signal?.aborted) ctl.abort();
      const replies = conn.duplicate();
      replies.on('error', () => {});
      let runId: string | null = null;
      try {
        const r = await trainTrial(ws, {
          study: d.study,
          number: d.number,
          config: d.config,
          metric: d.metric,
          signal: ctl.signal,
          createEncoder: opts.createEncoder,
          evalEncoder: opts.evalEncoder,
          onRunStart: async (id) => {
            runId = id;
            const row = runsStore(ws).get(id);
            if (row) await job.updateProgress({ kind: 'start', runId: id, run: reportedRun(row) });
          },
          onEpoch: async (record, id) => {
            const store = runsStore(ws);
            const row = store.get(id);
            if (!row) return false;
            await job.updateProgress({
              kind: 'epoch',
              runId: id,
              run: reportedRun(row),
              epoch: record.epoch,
              step: record.step,
              value: metricOfRecord(d.metric, record),
              metrics: store.metrics(id).find((m) => m.epoch === record.epoch)?.values ?? {},
              bestEpoch: row.bestEpoch,
              epochsRun: row.epochsRun ?? 0,
              headline: row.headline,
            });
            // The tune process's pruner decides; no answer in time (tune is gone): go on.
            const got = await replies.blpop(decisionKey(queueName!, id, record.epoch), DECISION_TIMEOUT_S);
            return got?.[1] === 'prune';
          },
        });
        finished++;
        return {
          state: 'COMPLETE',
          value: r.value,
          attrs: r.attrs,
          runId: r.runId,
          end: runEnd(ws, r.runId)!,
        };
      } catch (e) {
        if (e instanceof TrialPruned) {
          finished++;
          return { state: 'PRUNED', step: e.step, runId, end: runId ? runEnd(ws, runId) : null };
        }
        if (ctl.signal.aborted) {
          // Thrown: BullMQ puts the job back in the queue for another worker (up to its attempts).
          throw new TrialQueueError('the worker was stopped mid-trial; the trial goes back to the queue');
        }
        finished++;
        const err = e as Error;
        return {
          state: 'FAIL',
          error: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`,
          runId,
          end: runId ? runEnd(ws, runId) : null,
        };
      } finally {
        active.delete(ctl);
        if (job.id && byJob.get(job.id) === ctl) byJob.delete(job.id);
        replies.disconnect();
        snap.users--;
      }
    };

    const worker = new Worker<TrialJobData, TrialJobResult>(queueName, processTrial, {
      connection: conn,
      prefix: QUEUE_PREFIX,
      concurrency,
      // [Note: Stalled trials] A killed worker's lock runs out after lockDuration; a live worker's
      // stalled check (every stalledInterval) then puts the job back in the queue. The lock is renewed
      // every lockDuration / 2 while training yields to the event loop after every step.
      lockDuration: stallMs,
      stalledInterval: Math.max(1000, Math.round(stallMs / 2)),
      maxStalledCount: MAX_STALLED_COUNT,
    });
    worker.on('error', (e) => {
      if (!/^could not renew lock/.test(e.message)) log(`worker: ${e.message}`);
    });
    // This process was taken for dead (its event loop blocked longer than the lock): the job is back
    // in the queue or already with another worker, so the trial stops here; nothing of it is recorded.
    worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) {
        const ctl = byJob.get(id);
        if (!ctl || ctl.signal.aborted) continue;
        log(`job ${id}: its lock was lost (this worker was taken for dead); stopping the trial here`);
        ctl.abort();
      }
    });
    worker.on('active', (job) =>
      log(`trial ${job.data.number} of study ${job.data.study}: started (job ${job.id})`),
    );
    worker.on('completed', (job, r) =>
      log(
        `trial ${job.data.number} of study ${job.data.study}: ${r.state}${r.state === 'COMPLETE' ? ` ${r.value.toFixed(4)}` : r.state === 'FAIL' ? ` — ${r.error}` : ''}`,
      ),
    );
    worker.on('failed', (job, e) =>
      log(`trial ${job?.data.number} of study ${job?.data.study}: handed back (${e.message})`),
    );
    await worker.waitUntilReady();
    log(
      `Worker ready: queue ${queueName} on ${address.host}:${address.port}, workspace ${root}, ${concurrency} at a time.`,
    );

    await new Promise<void>((res) => {
      if (opts.signal?.aborted) res();
      opts.signal?.addEventListener('abort', () => res(), { once: true });
    });
    for (const c of active) c.abort();
    // With Redis gone, a graceful close would wait for it forever: give it 15 s, then force it.
    const closed = await Promise.race([worker.close().then(() => true), sleep(15_000).then(() => false)]);
    if (!closed) await Promise.race([worker.close(true), sleep(2000)]);
    for (const s of snapshots.values()) s.ws.close();
    return { trials: finished };
  } finally {
    conn.disconnect();
  }
}
