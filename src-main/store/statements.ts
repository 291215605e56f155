/**
 * Prepared statements made once per connection, each with a name, and timed.
 *
 * [Note: Statements prepared once] better-sqlite3 parses and plans SQL on every `db.prepare`; a store
 * method that prepares inline pays that on each call (an import of 100k rows, a request per search).
 * `statements(db).query(name, sql)` compiles the SQL the first time a connection sees it and hands the
 * same statement back afterwards. The cache hangs off the connection in a WeakMap, so a closed and
 * dropped connection takes its statements with it, and two workspaces open in one process never share
 * one. Signal Desktop's ts/sql/Server.ts keeps its statements the same way (a WeakMap from database to
 * a map from SQL text to statement); ours adds the name, which is what the slow-query log prints.
 *
 * [Note: Slow-query log] Every call through a named statement is timed; one that takes longer than
 * SLOW_QUERY_MS (50 ms; KFASHION_SLOW_QUERY_MS changes it) is written to stderr as
 * `kfashion: slow query <name>: <ms> ms`. Only the name
 * and the time are logged, never the parameters (they are item ids, file paths, attribute values: a
 * user's data). Signal logs slow calls of its SQL interface by method name in the same spirit. An
 * iterator is timed over the steps it takes inside SQLite, not the caller's work between rows.
 *
 * Nothing outside store/ prepares SQL: a test fails on `prepare(` anywhere else in src-main.
 */
import type Database from 'better-sqlite3';

type Db = Database.Database;
type Statement = Database.Statement<unknown[], unknown>;

export const SLOW_QUERY_MS = 50;

export interface SlowQueryLog {
  /** Calls longer than this many milliseconds are logged. */
  thresholdMs: number;
  /** Milliseconds from any fixed origin (performance.now by default; a test passes a fake clock). */
  now: () => number;
  /** Where a slow call is reported (stderr by default). */
  write: (line: string) => void;
}

/**
 * The threshold from KFASHION_SLOW_QUERY_MS (a number of milliseconds, or "off"), else (unset or not
 * a number, which is reported) SLOW_QUERY_MS.
 * The test suite turns the log off for the processes it runs (vitest.config.ts): on a machine shared by
 * many test processes a tiny query can stall past 50 ms, and several tests assert an empty stderr.
 */
export function slowQueryThreshold(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return SLOW_QUERY_MS;
  if (value.trim().toLowerCase() === 'off') return Number.POSITIVE_INFINITY;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) {
    // Read when the module loads, before any command's error handling: say so and carry on.
    process.stderr.write(
      `kfashion: KFASHION_SLOW_QUERY_MS: expected a number of milliseconds >= 0 or "off", got ${JSON.stringify(value)}; using ${SLOW_QUERY_MS}\n`,
    );
    return SLOW_QUERY_MS;
  }
  return ms;
}

const defaultLog: SlowQueryLog = {
  thresholdMs: slowQueryThreshold(process.env['KFASHION_SLOW_QUERY_MS']),
  now: () => performance.now(),
  write: (line) => process.stderr.write(`${line}\n`),
};
let slowLog: SlowQueryLog = defaultLog;

/** Replaces parts of the slow-query log (tests); returns a function that puts the previous one back. */
export function setSlowQueryLog(log: Partial<SlowQueryLog>): () => void {
  const before = slowLog;
  slowLog = { ...slowLog, ...log };
  return () => {
    slowLog = before;
  };
}

/** Times `fn` under `name` and reports it when slow ([Note: Slow-query log]). */
export function timed<T>(name: string, fn: () => T): T {
  const log = slowLog;
  const t0 = log.now();
  try {
    return fn();
  } finally {
    report(log, name, log.now() - t0);
  }
}

function report(log: SlowQueryLog, name: string, ms: number): void {
  if (ms > log.thresholdMs) log.write(`kfashion: slow query ${name}: ${Math.round(ms)} ms`);
}

/** How rows come back: objects (default), the first column only, or arrays of columns. */
export type RowMode = 'object' | 'pluck' | 'raw';

/** One named statement of one connection. `R` is the row type its reads return. */
export class Query<R = unknown> {
  constructor(
    readonly name: string,
    private readonly statement: Statement,
  ) {}

  // run/get/all time inline rather than through timed(): no closure per call on the hot paths (a scan
  // writes several rows per label file, a gallery read fetches one vector per item).
  run(...params: unknown[]): Database.RunResult {
    const log = slowLog;
    const t0 = log.now();
    try {
      return this.statement.run(...params);
    } finally {
      report(log, this.name, log.now() - t0);
    }
  }

  get(...params: unknown[]): R | undefined {
    const log = slowLog;
    const t0 = log.now();
    try {
      return this.statement.get(...params) as R | undefined;
    } finally {
      report(log, this.name, log.now() - t0);
    }
  }

  all(...params: unknown[]): R[] {
    const log = slowLog;
    const t0 = log.now();
    try {
      return this.statement.all(...params) as R[];
    } finally {
      report(log, this.name, log.now() - t0);
    }
  }

  /** Rows one by one; the connection is busy until the iteration ends (better-sqlite3's rule). */
  *iterate(...params: unknown[]): Generator<R> {
    const log = slowLog;
    let ms = 0;
    let t0 = log.now();
    const it = this.statement.iterate(...params) as IterableIterator<R>;
    try {
      for (;;) {
        const step = it.next();
        ms += log.now() - t0;
        if (step.done) return;
        yield step.value;
        t0 = log.now();
      }
    } finally {
      it.return?.();
      report(log, this.name, ms);
    }
  }
}

/** The statements of one connection ([Note: Statements prepared once]). */
export class Statements {
  private readonly cache = new Map<string, Query<unknown>>();
  constructor(readonly db: Db) {}

  /**
   * The statement for `sql`, compiled on first use. `name` (e.g. "catalog.vectors") is what the
   * slow-query log shows. Statements are keyed by their SQL text and row mode (the same SQL asked for
   * under two names is one statement, logged under the first). SQL built from a variable number of
   * `?` (an IN list) is one entry per distinct text, which stays a handful in practice.
   */
  query<R = unknown>(name: string, sql: string, mode: RowMode = 'object'): Query<R> {
    const key = `${mode}\u0000${sql}`;
    let q = this.cache.get(key);
    if (!q) {
      const st = this.db.prepare(sql);
      if (mode === 'pluck') st.pluck();
      else if (mode === 'raw') st.raw();
      q = new Query(name, st);
      this.cache.set(key, q);
    }
    return q as Query<R>;
  }

  /** Runs SQL without results (DDL on temporary tables, multi-statement updates), timed under `name`. */
  exec(name: string, sql: string): void {
    timed(name, () => this.db.exec(sql));
  }

  /** Number of statements compiled so far on this connection (tests). */
  get size(): number {
    return this.cache.size;
  }
}

const byConnection = new WeakMap<Db, Statements>();

/** The statement cache of `db`, made on first use. */
export function statements(db: Db): Statements {
  let s = byConnection.get(db);
  if (!s) {
    s = new Statements(db);
    byConnection.set(db, s);
  }
  return s;
}
