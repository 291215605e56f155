/**
 * Log retention on a real workspace database: calls logged over several days, then pruned by age and
 * by row count (in small batches), keep every KPI figure the dashboard shows equal; the calls behind
 * "most matched" are never pruned; the server-side background pruning does the same on its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { type LogEntry, logFigures, logRecommendation, mostMatched } from '../../src-main/recommend/kpi.ts';
import { pruneRecommendationLog } from '../../src-main/recommend/log-retention.ts';
import { Workbench } from '../../src-main/services/workbench.ts';

const DAYS = 6;
const PER_DAY = 450;
const START = Date.parse('2026-11-01T00:00:00.000Z');
const DAY = 86_400_000;

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'kf-log-retention-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

/** Calls spread over DAYS days: both endpoints, some errors, latencies and similarities that vary. */
function fill(wb: Workbench, seed: number): void {
  const rng = Rng.derive('log-retention', seed);
  const db = wb.workspace.db;
  vi.useFakeTimers({ toFake: ['Date'] });
  db.transaction(() => {
    for (let d = 0; d < DAYS; d++) {
      for (let i = 0; i < PER_DAY; i++) {
        vi.setSystemTime(START + d * DAY + Math.floor((i * DAY) / PER_DAY));
        const error = rng.int(0, 19) === 0;
        const endpoint = rng.int(0, 2) === 0 ? 'top10_to_new' : 'customer_input';
        const entry: LogEntry = {
          runId: `rec-${d}-${i}`,
          endpoint,
          inputKind: 'catalog',
          inputs: endpoint === 'top10_to_new' ? rng.int(1, 10) : 1,
          k: 10,
          model: 'm',
          latencyMs: Math.round((0.5 + rng.int(0, 40_000) / 100 + d) * 100) / 100,
          top1: error ? null : rng.int(0, 1) === 0 ? null : 0.2 + rng.int(0, 1_000_000) / 2e6,
          matched: error ? [] : Array.from({ length: 3 }, () => `p-${rng.int(0, 30)}`),
          status: error ? 'error' : 'ok',
          ...(error ? { error: 'boom' } : {}),
        };
        logRecommendation(db, entry);
      }
    }
  })();
  vi.useRealTimers();
}

/** What the dashboard shows from the log (KPI figures without their timestamp, and most matched). */
async function shown(wb: Workbench) {
  const { timestamp: _t, ...kpi } = wb.kpi();
  const dash = await wb.dashboard();
  return { kpi, dashKpi: { ...dash.kpi, timestamp: '' }, most: mostMatched(wb.workspace.db, 10) };
}

function expectSame(a: Awaited<ReturnType<typeof shown>>, b: Awaited<ReturnType<typeof shown>>): void {
  const { meanTop1Similarity: ta, ...ra } = a.kpi;
  const { meanTop1Similarity: tb, ...rb } = b.kpi;
  expect(rb).toEqual(ra);
  // A sum of floats in another order: equal to ~1e-15 relative, not necessarily to the last bit.
  expect(tb).toBeCloseTo(ta!, 12);
  expect(b.dashKpi.count).toBe(a.dashKpi.count);
  expect(b.dashKpi.latencyMs).toEqual(a.dashKpi.latencyMs);
  expect(b.most).toEqual(a.most);
}

const count = (wb: Workbench, sql: string) => wb.workspace.db.prepare(sql).pluck().get() as number;

describe('recommendation log retention', () => {
  it('the figures are the same as computed the old way straight from the raw rows', () => {
    const wb = Workbench.open(join(base, 'reference'), { create: true });
    try {
      fill(wb, 1);
      const db = wb.workspace.db;
      const lat = db
        .prepare(`SELECT latency_ms FROM recommendation_log WHERE status = 'ok' ORDER BY latency_ms`)
        .pluck()
        .all() as number[];
      const at = (p: number) => lat[Math.max(1, Math.ceil(p * lat.length)) - 1]!;
      const r2 = (x: number) => Math.round(x * 100) / 100;
      const f = logFigures(db);
      expect(f.count).toBe(lat.length);
      expect(f.latencyMs).toEqual({
        p50: r2(at(0.5)),
        p95: r2(at(0.95)),
        p99: r2(at(0.99)),
        mean: r2(lat.reduce((a, b) => a + b, 0) / lat.length),
      });
      expect(f.errors).toBe(count(wb, `SELECT COUNT(*) FROM recommendation_log WHERE status = 'error'`));
      expect(f.meanTop1Similarity).toBeCloseTo(
        db.prepare(`SELECT AVG(top1) FROM recommendation_log WHERE status = 'ok'`).pluck().get() as number,
        12,
      );
    } finally {
      wb.close();
    }
  });

  it('pruning by age, then by row count, in small batches, keeps every dashboard figure equal', async () => {
    const wb = Workbench.open(join(base, 'prune'), { create: true });
    try {
      fill(wb, 2);
      const before = await shown(wb);
      const total = DAYS * PER_DAY;
      expect(before.kpi.count + before.kpi.errors).toBe(total);

      // Keep 3 days, measured from the last day's noon: the first 2.5 days are rolled up.
      const now = new Date(START + (DAYS - 1) * DAY + DAY / 2);
      const rolled = pruneRecommendationLog(
        wb.workspace.db,
        { keepDays: 3, keepRows: 1_000_000 },
        { now, batchRows: 97 },
      );
      expect(rolled).toBeGreaterThan(2 * PER_DAY);
      const cutoff = new Date(now.getTime() - 3 * DAY).toISOString();
      expect(count(wb, `SELECT COUNT(*) FROM recommendation_log WHERE at < '${cutoff}'`)).toBe(0);
      expect(count(wb, 'SELECT COUNT(*) FROM recommendation_log')).toBe(total - rolled);
      expect(count(wb, 'SELECT SUM(calls) FROM recommendation_log_daily')).toBe(rolled);
      expect(count(wb, 'SELECT COUNT(DISTINCT day) FROM recommendation_log_daily')).toBe(3);
      expectSame(before, await shown(wb));

      // Then a row cap: only the newest 1,200 rows stay raw.
      const rolled2 = pruneRecommendationLog(
        wb.workspace.db,
        { keepDays: 30, keepRows: 1200 },
        { now, batchRows: 250 },
      );
      expect(rolled2).toBeGreaterThan(0);
      expect(count(wb, 'SELECT COUNT(*) FROM recommendation_log')).toBe(1200);
      expect(count(wb, 'SELECT SUM(calls) FROM recommendation_log_daily')).toBe(total - 1200);
      expectSame(before, await shown(wb));

      // Pruning again changes nothing.
      expect(pruneRecommendationLog(wb.workspace.db, { keepDays: 30, keepRows: 1200 }, { now })).toBe(0);
      expectSame(before, await shown(wb));
    } finally {
      wb.close();
    }
  });

  it('never prunes the newest 1,000 successful calls ("most matched" reads them), whatever the settings', async () => {
    const wb = Workbench.open(join(base, 'floor'), { create: true });
    try {
      fill(wb, 3);
      const before = await shown(wb);
      const db = wb.workspace.db;
      pruneRecommendationLog(db, { keepDays: 0, keepRows: 0 }, { now: new Date(START + 100 * DAY) });
      expect(count(wb, `SELECT COUNT(*) FROM recommendation_log WHERE status = 'ok'`)).toBe(1000);
      expectSame(before, await shown(wb));
    } finally {
      wb.close();
    }
  });

  it('the recommendation service prunes in the background once configured (as kfashion serve does)', async () => {
    const wb = Workbench.open(join(base, 'background'), { create: true });
    try {
      fill(wb, 4);
      const before = await shown(wb);
      // The fixture's calls are weeks old by the real clock: a 1-day window rolls up all but the floor.
      wb.recommender().configureLogRetention({ keepDays: 1, keepRows: 1_000_000 });
      await vi.waitFor(
        () => expect(count(wb, 'SELECT COUNT(*) FROM recommendation_log')).toBeLessThan(1100),
        {
          timeout: 10_000,
        },
      );
      expect(count(wb, `SELECT COUNT(*) FROM recommendation_log WHERE status = 'ok'`)).toBe(1000);
      expectSame(before, await shown(wb));
    } finally {
      await wb.closeAsync();
    }
  });

  it('settings are kept in the workspace, so every process that logs into it prunes alike', () => {
    const dir = join(base, 'settings');
    const a = Workbench.open(dir, { create: true });
    expect(a.recommender().logRetentionSettings()).toEqual({ keepDays: 30, keepRows: 1_000_000 });
    a.recommender().configureLogRetention({ keepDays: 7, keepRows: 50_000 });
    a.close();
    const b = Workbench.open(dir);
    try {
      expect(b.recommender().logRetentionSettings()).toEqual({ keepDays: 7, keepRows: 50_000 });
    } finally {
      b.close();
    }
  });

  it('refuses settings that make no sense, naming them', () => {
    const wb = Workbench.open(join(base, 'bad'), { create: true });
    try {
      expect(() => wb.recommender().configureLogRetention({ keepDays: -1, keepRows: 10 })).toThrow(
        /keepDays must be a number of days >= 0, got -1/,
      );
      expect(() => wb.recommender().configureLogRetention({ keepDays: 1, keepRows: 1.5 })).toThrow(
        /keepRows must be a whole number >= 0, got 1.5/,
      );
    } finally {
      wb.close();
    }
  });
});
