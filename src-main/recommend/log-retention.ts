/**
 * Retention of the recommendation (KPI) log: raw rows are kept for a while (by age and by count) and
 * older ones are rolled up into daily aggregates (recommendation_log_daily, and a latency histogram
 * in recommendation_latency_daily) before they are deleted, so every KPI figure (kpi.ts: calls,
 * errors, calls per endpoint, latency p50/p95/p99/mean, mean top-1 similarity) is unchanged by
 * pruning. The dashboard's "most matched products" reads the newest MOST_MATCHED_CALLS successful
 * calls, so those are never pruned, whatever the settings.
 *
 * [Note: log retention defaults] 30 days and 1,000,000 rows. A row takes ~0.3 KB (a customer_input
 * call, 10 matched ids) to ~0.6 KB (top10_to_new, up to 100 ids) with its index, so the raw log stays
 * within ~0.3–0.6 GB at the row cap; 30 days keeps a month of raw calls for ad-hoc queries on a quiet
 * server, while a busy one reaches the row cap first. `kfashion serve --log-keep-days/--log-keep-rows`
 * change them (each start states them, defaults included), and the workspace keeps the last ones
 * (meta "log_retention"), so every process that logs into it (the server, the desktop app) prunes
 * alike. A row older than keepDays, or beyond the newest
 * keepRows rows, is rolled up.
 *
 * [Note: pruning never blocks requests long] Pruning runs in the process that logs (the server),
 * every PRUNE_EVERY_INSERTS logged calls and every PRUNE_INTERVAL_MS, in transactions of at most
 * PRUNE_BATCH_ROWS rows each (milliseconds, not seconds), yielding to the event loop between batches until the backlog
 * is gone. Rows are pruned as a prefix by id: ids and "at" both grow with insertion time, so the
 * oldest rows are the lowest ids, and the bounds come from index seeks, never from counting the table.
 * Each batch rolls up and deletes in one transaction: a crash loses nothing and counts nothing twice.
 */
import { type Db, getMeta, setMeta } from '../store/database.ts';
import { RecommendationLogStore, type RollUpRow } from '../store/recommendation-log-store.ts';
import { latencyCenti, MOST_MATCHED_CALLS } from './kpi.ts';

export interface LogRetentionSettings {
  /** Raw rows older than this many days are rolled up. */
  keepDays: number;
  /** At most this many raw rows are kept (the newest). */
  keepRows: number;
}

export const DEFAULT_LOG_RETENTION: Readonly<LogRetentionSettings> = { keepDays: 30, keepRows: 1_000_000 };
/** Rows per pruning transaction: ~10–20 ms each on a busy 2-core machine (~10 µs a row to roll up and delete). */
export const PRUNE_BATCH_ROWS = 1_000;
export const PRUNE_EVERY_INSERTS = 1_000;
export const PRUNE_INTERVAL_MS = 10 * 60_000;
const DAY_MS = 86_400_000;

export function checkRetention(s: LogRetentionSettings): LogRetentionSettings {
  if (!Number.isFinite(s.keepDays) || s.keepDays < 0) {
    throw new Error(`log retention: keepDays must be a number of days >= 0, got ${s.keepDays}`);
  }
  if (!Number.isSafeInteger(s.keepRows) || s.keepRows < 0) {
    throw new Error(`log retention: keepRows must be a whole number >= 0, got ${s.keepRows}`);
  }
  return s;
}

const LOG_RETENTION_META = 'log_retention';

function storedSettings(db: Db): LogRetentionSettings | null {
  try {
    const s = getMeta<LogRetentionSettings>(db, LOG_RETENTION_META);
    return s ? checkRetention({ keepDays: s.keepDays, keepRows: s.keepRows }) : null;
  } catch {
    return null; // unreadable or nonsensical: the defaults, as if never set
  }
}

/**
 * One bounded step of pruning: rolls up and deletes at most `batchRows` of the rows that retention
 * no longer keeps, in one transaction. `done` is true when no such rows are left.
 */
export function pruneRecommendationLogBatch(
  db: Db,
  settings: LogRetentionSettings,
  opts: { now?: Date; batchRows?: number } = {},
): { rolledUp: number; done: boolean } {
  checkRetention(settings);
  const log = new RecommendationLogStore(db);
  const now = opts.now ?? new Date();
  const batchRows = opts.batchRows ?? PRUNE_BATCH_ROWS;
  return db
    .transaction(() => {
      const { lo, hi } = log.idRange();
      if (lo === null || hi === null) return { rolledUp: 0, done: true };
      const cutoff = new Date(now.getTime() - settings.keepDays * DAY_MS).toISOString();
      const ageBound = log.firstIdAtOrAfter(cutoff) ?? hi + 1;
      let bound = Math.max(ageBound, hi - settings.keepRows + 1);
      // Never the calls the dashboard's "most matched" reads.
      const floor = log.okMatchedIdFromNewest(MOST_MATCHED_CALLS - 1) ?? log.oldestOkMatchedId();
      if (floor !== null && floor !== undefined) bound = Math.min(bound, floor);
      if (bound <= lo) return { rolledUp: 0, done: true };
      const upper = Math.min(bound, lo + batchRows);
      const rows = log.rowsBefore(upper);
      rollUp(log, rows);
      log.deleteBefore(upper);
      return { rolledUp: rows.length, done: upper >= bound };
    })
    .immediate();
}

function rollUp(log: RecommendationLogStore, rows: RollUpRow[]): void {
  const daily = new Map<
    string,
    {
      day: string;
      endpoint: string;
      status: string;
      calls: number;
      inputs: number;
      centi: number;
      top1: number;
      top1Calls: number;
    }
  >();
  const latency = new Map<string, number>();
  for (const r of rows) {
    const day = r.at.slice(0, 10);
    const key = `${day}\u0000${r.endpoint}\u0000${r.status}`;
    let d = daily.get(key);
    if (!d) {
      d = {
        day,
        endpoint: r.endpoint,
        status: r.status,
        calls: 0,
        inputs: 0,
        centi: 0,
        top1: 0,
        top1Calls: 0,
      };
      daily.set(key, d);
    }
    const centi = latencyCenti(r.latency_ms);
    d.calls++;
    d.inputs += r.inputs;
    d.centi += centi;
    if (r.status === 'ok' && r.top1 !== null) {
      d.top1 += r.top1;
      d.top1Calls++;
    }
    if (r.status === 'ok') {
      const lk = `${day}\u0000${centi}`;
      latency.set(lk, (latency.get(lk) ?? 0) + 1);
    }
  }
  for (const d of daily.values()) {
    log.addDaily({
      day: d.day,
      endpoint: d.endpoint,
      status: d.status,
      calls: d.calls,
      inputs: d.inputs,
      latencyCentiSum: d.centi,
      top1Sum: d.top1,
      top1Calls: d.top1Calls,
    });
  }
  for (const [k, n] of latency) {
    const [day, centi] = k.split('\u0000') as [string, string];
    log.addLatency(day, Number(centi), n);
  }
}

/** Prunes until nothing is left to prune (tests, tools); the server uses LogRetention instead. */
export function pruneRecommendationLog(
  db: Db,
  settings: LogRetentionSettings,
  opts: { now?: Date; batchRows?: number } = {},
): number {
  let total = 0;
  for (;;) {
    const r = pruneRecommendationLogBatch(db, settings, opts);
    total += r.rolledUp;
    if (r.done) return total;
  }
}

/**
 * Prunes in the background of the process that logs: every PRUNE_EVERY_INSERTS calls and every
 * PRUNE_INTERVAL_MS, one batch per event-loop turn ([Note: pruning never blocks requests long]).
 */
export class LogRetention {
  private inserts = 0;
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Immediate | null = null;
  private stopped = false;
  private lastError: string | null = null;

  private settings: LogRetentionSettings;

  /** Uses the workspace's stored settings, else the defaults. */
  constructor(private readonly db: Db) {
    this.settings = storedSettings(db) ?? { ...DEFAULT_LOG_RETENTION };
  }

  get current(): Readonly<LogRetentionSettings> {
    return this.settings;
  }

  /** New settings, stored in the workspace; starts the periodic pruning and prunes what they no longer keep. */
  configure(settings: LogRetentionSettings): void {
    const s = { keepDays: settings.keepDays, keepRows: settings.keepRows };
    checkRetention(s);
    setMeta(this.db, LOG_RETENTION_META, s);
    this.settings = s;
    this.start();
    this.schedule();
  }

  /** Called after each logged call. */
  noteInsert(): void {
    this.start();
    if (++this.inserts % PRUNE_EVERY_INSERTS === 0) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearImmediate(this.pending);
    this.timer = null;
    this.pending = null;
  }

  private start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.schedule(), PRUNE_INTERVAL_MS);
    // Pruning alone never keeps a process alive (a CLI command finishes when its work does).
    this.timer.unref();
    this.schedule();
  }

  private schedule(): void {
    if (this.pending || this.stopped) return;
    this.pending = setImmediate(() => {
      this.pending = null;
      if (this.stopped || !this.db.open) return;
      try {
        const r = pruneRecommendationLogBatch(this.db, this.settings);
        this.lastError = null;
        if (!r.done) this.schedule();
      } catch (e) {
        // A busy or failing database must not take the server down: say so once, try again later.
        const msg = e instanceof Error ? e.message : String(e);
        if (msg !== this.lastError)
          process.stderr.write(`kfashion: recommendation log pruning failed: ${msg}\n`);
        this.lastError = msg;
      }
    });
    this.pending.unref();
  }
}
