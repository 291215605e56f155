/**
 * What the `tune` process and `kfashion worker` processes share about the trial queue: the Redis
 * connection from `--queue redis://HOST:PORT`, the queue's name for a workspace, the job's payload,
 * its progress reports and its result, and the keys the `tune` process answers prune decisions on.
 * The queue engine is BullMQ on Redis (ARCHITECTURE.md): its jobs survive the processes, a job whose
 * worker dies is handed to another worker (stalled-job handling), and a job id is unique, which is
 * what makes a trial's job idempotent by trial number.
 *
 * [Note: Trial queue protocol]
 * One job per trial, id `<study>.<study created stamp>.<trial number>`.
 *   tune → job data: the trial's full training config, the study's metric, the snapshot file to train
 *     from (store/workspace-snapshot.ts) — everything a worker needs without the database.
 *   worker → job progress: `start` (the run id and its row) when the run exists, then `epoch` (the
 *     epoch's figure, the run's metrics and headline) after each epoch's validation and checkpoints.
 *   tune → Redis list `decisionKey(run, epoch)`: `prune` or `go`, decided by the study's pruner in
 *     the tune process; the worker waits for it (BLPOP) before the next epoch, so a trial is pruned at
 *     the very epoch a local trial would be. With no answer in DECISION_TIMEOUT_S (the tune process is
 *     gone) the worker goes on; the resumed tune process reads the job's last progress.
 *   worker → job result: COMPLETE (value, figures), PRUNED (epoch) or FAIL (the error) with the run's
 *     final row and metrics. A training error is a result, not a job failure, so it is not retried.
 *     A job fails only when its worker stopped (Ctrl-C: retried on another worker, up to JOB_ATTEMPTS)
 *     or died more than MAX_STALLED_COUNT times (kill -9, power loss): the trial is then FAIL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { StudyMetric } from '../../src-shared/tuning.ts';
import { writeJsonAtomic } from '../store/atomic-file.ts';
import type { NewRun, RunHeadline, RunRow } from '../store/runs-store.ts';
import type { TrainConfig } from '../training/train-config.ts';

export class TrialQueueError extends Error {
  override name = 'TrialQueueError';
}

/** BullMQ's key prefix for our queues. */
export const QUEUE_PREFIX = 'kfashion';
/** A job whose worker stopped (Ctrl-C) goes back to the queue; after this many tries it fails. */
export const JOB_ATTEMPTS = 5;
/** A job whose worker died (no lock renewal) goes back to the queue this many times, then fails. */
export const MAX_STALLED_COUNT = 2;
/** Default seconds before a dead worker's trial goes back to the queue (BullMQ's lockDuration). */
export const DEFAULT_STALL_SECONDS = 30;
/** How long a worker waits for the tune process's prune decision after an epoch. */
export const DECISION_TIMEOUT_S = 30;

export interface QueueAddress {
  url: string;
  host: string;
  port: number;
  db: number;
  tls: boolean;
  password?: string;
  username?: string;
}

/** Parses `--queue redis://[user:pass@]HOST[:PORT][/DB]`; errors name the flag. */
export function parseQueueUrl(url: string, flag = '--queue'): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrialQueueError(
      `${flag} "${url}": not a URL; expected redis://HOST:PORT (e.g. redis://127.0.0.1:6379).`,
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TrialQueueError(
      `${flag} "${url}": expected a redis:// (or rediss://) URL, got ${u.protocol}//; e.g. redis://127.0.0.1:6379.`,
    );
  }
  if (!u.hostname) throw new TrialQueueError(`${flag} "${url}": the URL names no host (redis://HOST:PORT).`);
  const port = u.port ? Number(u.port) : 6379;
  const dbPath = u.pathname.replace(/^\//, '');
  const db = dbPath === '' ? 0 : Number(dbPath);
  if (!Number.isInteger(db) || db < 0) {
    throw new TrialQueueError(`${flag} "${url}": the database number "${dbPath}" is not a whole number ≥ 0.`);
  }
  return {
    url,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    tls: u.protocol === 'rediss:',
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

function redisOptions(a: QueueAddress): RedisOptions {
  return {
    host: a.host,
    port: a.port,
    db: a.db,
    password: a.password,
    username: a.username,
    ...(a.tls ? { tls: {} } : {}),
    // BullMQ's blocking commands need ioredis to wait for a reconnect instead of failing a command.
    maxRetriesPerRequest: null,
  };
}

/**
 * A connection for BullMQ, after checking that Redis answers: an unreachable server is a clear error
 * naming the flag at once, not a process retrying forever in silence.
 */
export async function connectQueue(a: QueueAddress, flag = '--queue'): Promise<Redis> {
  const probe = new Redis({
    ...redisOptions(a),
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: Error | null = null;
  probe.on('error', (e: Error) => {
    cause ??= e; // the socket's own error (ECONNREFUSED, ENOTFOUND…), reported below
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    throw new TrialQueueError(
      `${flag} ${a.url}: cannot reach Redis at ${a.host}:${a.port} (${(cause ?? (e as Error)).message}). Start a Redis server there (e.g. "redis-server --port ${a.port}") or fix the URL.`,
    );
  } finally {
    probe.disconnect();
  }
  const conn = new Redis(redisOptions(a));
  conn.on('error', () => {}); // ioredis reconnects by itself; BullMQ reports what fails
  return conn;
}

export interface QueueFile {
  format: 'kfashion-trial-queue';
  version: 1;
  /** The BullMQ queue of this workspace's trials (random, so two workspaces never share one). */
  queue: string;
}

/** studies/queue.json: the workspace's queue name, where workers (which never open the database) find it. */
export const queueFilePath = (root: string): string => join(root, 'studies', 'queue.json');

export function readQueueName(root: string): string | null {
  const p = queueFilePath(root);
  if (!existsSync(p)) return null;
  try {
    const f = JSON.parse(readFileSync(p, 'utf8')) as QueueFile;
    return typeof f.queue === 'string' && /^[\w-]+$/.test(f.queue) ? f.queue : null;
  } catch {
    return null;
  }
}

/** The workspace's queue name, made (and written) on first use by the tune process. */
export function ensureQueueName(root: string): string {
  const have = readQueueName(root);
  if (have) return have;
  const queue = `trials-${randomBytes(6).toString('hex')}`;
  mkdirSync(join(root, 'studies'), { recursive: true });
  writeJsonAtomic(queueFilePath(root), {
    format: 'kfashion-trial-queue',
    version: 1,
    queue,
  } satisfies QueueFile);
  return queue;
}

export interface TrialJobData {
  study: string;
  number: number;
  config: TrainConfig;
  metric: StudyMetric;
  /** The database snapshot to train from, relative to the workspace. */
  snapshot: string;
}

/** The run row as the worker's copy holds it, for the tune process to record. */
export type ReportedRun = Omit<NewRun, 'status'> & { status: RunRow['status'] };

export type TrialProgress =
  | { kind: 'start'; runId: string; run: ReportedRun }
  | {
      kind: 'epoch';
      runId: string;
      run: ReportedRun;
      epoch: number;
      step: number;
      /** The study metric's validation figure at this epoch (what the pruner sees). */
      value: number;
      metrics: Record<string, number>;
      bestEpoch: number | null;
      epochsRun: number;
      headline: RunHeadline | null;
    };

export interface ReportedRunEnd {
  run: ReportedRun;
  finishedAt: string | null;
  summary: Record<string, unknown> | null;
  bestEpoch: number | null;
  epochsRun: number;
  headline: RunHeadline | null;
  metrics: { epoch: number; step: number; values: Record<string, number> }[];
}

export type TrialJobResult =
  | { state: 'COMPLETE'; value: number; attrs: Record<string, unknown>; runId: string; end: ReportedRunEnd }
  | { state: 'PRUNED'; step: number; runId: string | null; end: ReportedRunEnd | null }
  | { state: 'FAIL'; error: string; runId: string | null; end: ReportedRunEnd | null };

export const jobIdOf = (study: { name: string; createdAt: string }, number: number): string =>
  // BullMQ job ids may not contain ':'; the creation stamp keeps a re-made study of the same name
  // from meeting the old study's finished jobs.
  `${study.name}.${study.createdAt.replace(/\D/g, '')}.${number}`;

export const decisionKey = (queue: string, runId: string, epoch: number): string =>
  `${QUEUE_PREFIX}:${queue}:decision:${runId}:${epoch}`;
