/**
 * The recommendation (KPI) log: one raw row per recommendation call (recommendation_log) and the
 * daily aggregates older rows are rolled up into (recommendation_log_daily, and the latency histogram
 * recommendation_latency_daily). What the figures mean is recommend/kpi.ts's business and when rows
 * are rolled up recommend/log-retention.ts's; this module reads and writes the rows.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export interface RecommendationLogRow {
  at: string;
  runId: string;
  endpoint: string;
  inputKind: string;
  inputs: number;
  k: number;
  model: string | null;
  latencyMs: number;
  top1: number | null;
  /** JSON list of matched product ids. */
  matched: string;
  status: 'ok' | 'error';
  error: string | null;
}

/** A raw row as retention rolls it up. */
export interface RollUpRow {
  id: number;
  at: string;
  endpoint: string;
  status: string;
  inputs: number;
  latency_ms: number;
  top1: number | null;
}

export interface DailyAggregate {
  day: string;
  endpoint: string;
  status: string;
  calls: number;
  inputs: number;
  latencyCentiSum: number;
  top1Sum: number;
  top1Calls: number;
}

export class RecommendationLogStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  insert(r: RecommendationLogRow): void {
    this.s
      .query(
        'recommendationLog.insert',
        `INSERT INTO recommendation_log (at, run_id, endpoint, input_kind, inputs, k, model, latency_ms, top1, matched, status, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.at,
        r.runId,
        r.endpoint,
        r.inputKind,
        r.inputs,
        r.k,
        r.model,
        r.latencyMs,
        r.top1,
        r.matched,
        r.status,
        r.error,
      );
  }

  // Figures over raw rows and daily aggregates ------------------------------------------------------

  /** Latency (ms) of every successful raw call, streamed. */
  okLatencies(): Generator<number> {
    return this.s
      .query<number>(
        'recommendationLog.okLatencies',
        `SELECT latency_ms FROM recommendation_log WHERE status = 'ok'`,
        'pluck',
      )
      .iterate();
  }

  /** Successful calls already rolled up, per latency in 0.01 ms. */
  rolledUpLatencies(): { c: number; n: number }[] {
    return this.s
      .query<{ c: number; n: number }>(
        'recommendationLog.rolledUpLatencies',
        'SELECT latency_centi AS c, SUM(calls) AS n FROM recommendation_latency_daily GROUP BY latency_centi',
      )
      .all();
  }

  /** Failed calls, raw and rolled up. */
  errorCount(): number {
    const raw = this.s
      .query<number>(
        'recommendationLog.rawErrors',
        `SELECT COUNT(*) FROM recommendation_log WHERE status = 'error'`,
        'pluck',
      )
      .get()!;
    const rolled = this.s
      .query<number>(
        'recommendationLog.rolledUpErrors',
        `SELECT COALESCE(SUM(calls), 0) FROM recommendation_log_daily WHERE status = 'error'`,
        'pluck',
      )
      .get()!;
    return raw + rolled;
  }

  /** Sum and count of the top-1 similarities of successful calls, raw and rolled up. */
  top1Totals(): { s: number | null; n: number | null } {
    return this.s
      .query<{ s: number | null; n: number | null }>(
        'recommendationLog.top1Totals',
        `SELECT SUM(s) AS s, SUM(n) AS n FROM (
           SELECT SUM(top1) AS s, COUNT(top1) AS n FROM recommendation_log WHERE status = 'ok' AND top1 IS NOT NULL
           UNION ALL
           SELECT SUM(top1_sum), SUM(top1_calls) FROM recommendation_log_daily WHERE status = 'ok')`,
      )
      .get()!;
  }

  /** Successful calls per endpoint, raw and rolled up, by endpoint name. */
  okCallsByEndpoint(): { endpoint: string; n: number }[] {
    return this.s
      .query<{ endpoint: string; n: number }>(
        'recommendationLog.okCallsByEndpoint',
        `SELECT endpoint, SUM(n) AS n FROM (
           SELECT endpoint, COUNT(*) AS n FROM recommendation_log WHERE status = 'ok' GROUP BY endpoint
           UNION ALL
           SELECT endpoint, SUM(calls) FROM recommendation_log_daily WHERE status = 'ok' GROUP BY endpoint)
         GROUP BY endpoint ORDER BY endpoint`,
      )
      .all();
  }

  /** The matched-ids JSON of the newest `calls` successful calls, newest first. */
  recentMatched(calls: number): string[] {
    return this.s
      .query<string>(
        'recommendationLog.recentMatched',
        `SELECT matched FROM recommendation_log WHERE status = 'ok' AND matched IS NOT NULL ORDER BY id DESC LIMIT ?`,
        'pluck',
      )
      .all(calls);
  }

  // Retention ---------------------------------------------------------------------------------------

  /** The lowest and highest raw row id (null when the log is empty). */
  idRange(): { lo: number | null; hi: number | null } {
    return this.s
      .query<{ lo: number | null; hi: number | null }>(
        'recommendationLog.idRange',
        'SELECT MIN(id) AS lo, MAX(id) AS hi FROM recommendation_log',
      )
      .get()!;
  }

  /** The id of the first raw row logged at or after `at` (an index seek on at). */
  firstIdAtOrAfter(at: string): number | undefined {
    return this.s
      .query<number>(
        'recommendationLog.firstIdAtOrAfter',
        'SELECT id FROM recommendation_log WHERE at >= ? ORDER BY at LIMIT 1',
        'pluck',
      )
      .get(at);
  }

  /** The id of the successful call with matches `offset` rows below the newest one. */
  okMatchedIdFromNewest(offset: number): number | undefined {
    return this.s
      .query<number>(
        'recommendationLog.okMatchedIdFromNewest',
        `SELECT id FROM recommendation_log WHERE status = 'ok' AND matched IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET ?`,
        'pluck',
      )
      .get(offset);
  }

  /** The id of the oldest successful call with matches (null when there is none). */
  oldestOkMatchedId(): number | null {
    return (
      this.s
        .query<number | null>(
          'recommendationLog.oldestOkMatchedId',
          `SELECT MIN(id) FROM recommendation_log WHERE status = 'ok' AND matched IS NOT NULL`,
          'pluck',
        )
        .get() ?? null
    );
  }

  /** Raw rows with an id below `id`, in id order. */
  rowsBefore(id: number): RollUpRow[] {
    return this.s
      .query<RollUpRow>(
        'recommendationLog.rowsBefore',
        'SELECT id, at, endpoint, status, inputs, latency_ms, top1 FROM recommendation_log WHERE id < ? ORDER BY id',
      )
      .all(id);
  }

  /** Adds calls to a day's aggregate of one endpoint and status. */
  addDaily(d: DailyAggregate): void {
    this.s
      .query(
        'recommendationLog.addDaily',
        `INSERT INTO recommendation_log_daily (day, endpoint, status, calls, inputs, latency_centi_sum, top1_sum, top1_calls)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, endpoint, status) DO UPDATE SET
           calls = calls + excluded.calls,
           inputs = inputs + excluded.inputs,
           latency_centi_sum = latency_centi_sum + excluded.latency_centi_sum,
           top1_sum = top1_sum + excluded.top1_sum,
           top1_calls = top1_calls + excluded.top1_calls`,
      )
      .run(d.day, d.endpoint, d.status, d.calls, d.inputs, d.latencyCentiSum, d.top1Sum, d.top1Calls);
  }

  /** Adds successful calls to a day's latency histogram bucket (0.01 ms). */
  addLatency(day: string, latencyCenti: number, calls: number): void {
    this.s
      .query(
        'recommendationLog.addLatency',
        `INSERT INTO recommendation_latency_daily (day, latency_centi, calls) VALUES (?, ?, ?)
         ON CONFLICT (day, latency_centi) DO UPDATE SET calls = calls + excluded.calls`,
      )
      .run(day, latencyCenti, calls);
  }

  /** Deletes the raw rows with an id below `id`. */
  deleteBefore(id: number): void {
    this.s.query('recommendationLog.deleteBefore', 'DELETE FROM recommendation_log WHERE id < ?').run(id);
  }
}
