// The per-connection statement cache and the slow-query log (store/statements.ts).
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SLOW_QUERY_MS,
  setSlowQueryLog,
  slowQueryThreshold,
  statements,
} from '../../src-main/store/statements.ts';
import { stderrWithoutSlowQueries } from '../helpers/label-fuzzer.ts';

const restores: (() => void)[] = [];
afterEach(() => {
  while (restores.length) restores.pop()!();
});

function db() {
  const d = new Database(':memory:');
  d.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)');
  return d;
}

/** A clock that moves only when told: each read returns the next value of `ticks`. */
function fakeClock(ticks: number[]) {
  let i = 0;
  return () => ticks[Math.min(i++, ticks.length - 1)]!;
}

describe('statement cache', () => {
  it('prepares a statement once per connection and reuses it', () => {
    const d = db();
    const spy = vi.spyOn(d, 'prepare');
    const s = statements(d);
    const ins = () => s.query('t.insert', 'INSERT INTO t (name) VALUES (?)');
    for (let i = 0; i < 50; i++) ins().run(`n${i}`);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(ins()).toBe(ins());
    // The cache belongs to the connection: asking again through statements(db) finds the same one.
    expect(statements(d)).toBe(s);
    expect(statements(d).query('t.insert', 'INSERT INTO t (name) VALUES (?)')).toBe(ins());
    expect(s.query<number>('t.count', 'SELECT COUNT(*) FROM t', 'pluck').get()).toBe(50);
    expect(spy).toHaveBeenCalledTimes(2);
    d.close();
  });

  it('keeps connections apart and keys row modes separately', () => {
    const a = db();
    const b = db();
    statements(a).query('t.insert', 'INSERT INTO t (name) VALUES (?)').run('only in a');
    expect(statements(b).query<number>('t.count', 'SELECT COUNT(*) FROM t', 'pluck').get()).toBe(0);
    expect(statements(a).query<number>('t.count', 'SELECT COUNT(*) FROM t', 'pluck').get()).toBe(1);
    // Same SQL, other row mode: a different statement, so one caller's pluck never leaks into another's.
    const sql = 'SELECT id, name FROM t';
    expect(statements(a).query(sql, sql, 'raw').all()).toEqual([[1, 'only in a']]);
    expect(statements(a).query(sql, sql).all()).toEqual([{ id: 1, name: 'only in a' }]);
    expect(statements(a).size).toBe(4);
    a.close();
    b.close();
  });

  it('iterates rows and frees the statement for reuse after an early break', () => {
    const d = db();
    const s = statements(d);
    for (const n of ['a', 'b', 'c']) s.query('t.insert', 'INSERT INTO t (name) VALUES (?)').run(n);
    const q = s.query<string>('t.names', 'SELECT name FROM t ORDER BY id', 'pluck');
    for (const name of q.iterate()) {
      expect(name).toBe('a');
      break;
    }
    expect([...q.iterate()]).toEqual(['a', 'b', 'c']);
    d.close();
  });
});

describe('slow-query log', () => {
  it('logs a call slower than 50 ms by name, never with its parameters', () => {
    const lines: string[] = [];
    // Two reads per call: start and end. 10 ms (quiet), then 75 ms (slow), then exactly 50 ms (quiet).
    restores.push(
      setSlowQueryLog({
        thresholdMs: SLOW_QUERY_MS,
        now: fakeClock([0, 10, 100, 175, 200, 250]),
        write: (l) => lines.push(l),
      }),
    );
    const d = db();
    const s = statements(d);
    const secret = 'customer-photo-4711.jpg';
    s.query('t.insert', 'INSERT INTO t (name) VALUES (?)').run(secret);
    s.query('t.byName', 'SELECT id FROM t WHERE name = ?', 'pluck').get(secret);
    s.query('t.count', 'SELECT COUNT(*) FROM t', 'pluck').get();
    expect(SLOW_QUERY_MS).toBe(50);
    expect(lines).toEqual(['kfashion: slow query t.byName: 75 ms']);
    expect(lines.join('\n')).not.toContain(secret);
    d.close();
  });

  it("writes lines the fuzzers' crash check leaves out, and only those", () => {
    const lines: string[] = [];
    restores.push(
      setSlowQueryLog({ thresholdMs: SLOW_QUERY_MS, now: fakeClock([0, 80]), write: (l) => lines.push(l) }),
    );
    const d = db();
    statements(d).query('t.count', 'SELECT COUNT(*) FROM t', 'pluck').get();
    d.close();
    const crash = 'kfashion: the scan stopped: Error: disk I/O error\n';
    expect(stderrWithoutSlowQueries(`${lines[0]}\n${crash}${lines[0]}\n`)).toBe(crash);
  });

  it('times an iterator over its steps in SQLite, not the work between rows', () => {
    const lines: string[] = [];
    let t = 0;
    restores.push(setSlowQueryLog({ thresholdMs: SLOW_QUERY_MS, now: () => t, write: (l) => lines.push(l) }));
    const d = db();
    const s = statements(d);
    for (let i = 0; i < 3; i++) s.query('t.insert', 'INSERT INTO t (name) VALUES (?)').run(`n${i}`);
    lines.length = 0;
    for (const _ of s.query('t.all', 'SELECT * FROM t').iterate()) t += 1000; // slow caller, fast query
    expect(lines).toEqual([]);
    d.close();
  });

  it('logs a really slow query on the real clock', () => {
    const lines: string[] = [];
    restores.push(setSlowQueryLog({ thresholdMs: SLOW_QUERY_MS, write: (l) => lines.push(l) }));
    const d = db();
    // A recursive CTE that counts to a few million: well over 50 ms on any machine this runs on.
    const n = statements(d)
      .query<number>(
        'test.countToMillions',
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT COUNT(*) FROM c',
        'pluck',
      )
      .get();
    expect(n).toBe(3_000_000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^kfashion: slow query test\.countToMillions: \d+ ms$/);
    d.close();
  });

  it('reads its threshold from KFASHION_SLOW_QUERY_MS', () => {
    expect(slowQueryThreshold(undefined)).toBe(50);
    expect(slowQueryThreshold('')).toBe(50);
    expect(slowQueryThreshold('200')).toBe(200);
    expect(slowQueryThreshold('off')).toBe(Number.POSITIVE_INFINITY);
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(slowQueryThreshold('fast')).toBe(50);
    expect(slowQueryThreshold('-1')).toBe(50);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/KFASHION_SLOW_QUERY_MS: .*got "fast"; using 50/);
    warn.mockRestore();
  });

  it('logs a failing slow call too, and the error still reaches the caller', () => {
    const lines: string[] = [];
    restores.push(
      setSlowQueryLog({ thresholdMs: SLOW_QUERY_MS, now: fakeClock([0, 60]), write: (l) => lines.push(l) }),
    );
    const d = db();
    d.exec('CREATE TABLE u (id INTEGER PRIMARY KEY)');
    const ins = statements(d).query('u.insert', 'INSERT INTO u (id) VALUES (?)');
    restores.push(setSlowQueryLog({ thresholdMs: SLOW_QUERY_MS, now: fakeClock([0, 1]) }));
    ins.run(1);
    restores.pop()!();
    expect(() => ins.run(1)).toThrow(/UNIQUE/);
    expect(lines).toEqual(['kfashion: slow query u.insert: 60 ms']);
    d.close();
  });
});
