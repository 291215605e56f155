/**
 * The KPI log (one row per recommendation call, table recommendation_log) and the figures made from
 * it: call count, latency percentiles, mean top-1 similarity; plus the last evaluation's accuracy
 * (results/evaluation_*.json) and the embedding health of the vectors recommendation uses.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddingHealth } from '../../src-shared/evaluation.ts';
import type { LastEvaluation, LatencySummary } from '../../src-shared/recommend.ts';
import type { Db } from '../store/database.ts';

export interface LogEntry {
  runId: string;
  endpoint: 'top10_to_new' | 'customer_input';
  inputKind: string;
  inputs: number;
  k: number;
  model: string | null;
  latencyMs: number;
  top1: number | null;
  matched: string[];
  status: 'ok' | 'error';
  error?: string;
}

/** Matched ids kept per call: enough for "most recommended", small enough for 100k calls. */
const MATCHED_KEPT = 100;

export function logRecommendation(db: Db, e: LogEntry): void {
  db.prepare(
    `INSERT INTO recommendation_log (at, run_id, endpoint, input_kind, inputs, k, model, latency_ms, top1, matched, status, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    new Date().toISOString(),
    e.runId,
    e.endpoint,
    e.inputKind,
    e.inputs,
    e.k,
    e.model,
    e.latencyMs,
    e.top1,
    JSON.stringify(e.matched.slice(0, MATCHED_KEPT)),
    e.status,
    e.error ?? null,
  );
}

/** Nearest-rank percentile of sorted values (the value at rank ⌈p·n⌉). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface LogFigures {
  count: number;
  errors: number;
  byEndpoint: Record<string, number>;
  latencyMs: LatencySummary;
  meanTop1Similarity: number | null;
}

export function logFigures(db: Db): LogFigures {
  const lat = db
    .prepare(`SELECT latency_ms FROM recommendation_log WHERE status = 'ok' ORDER BY latency_ms`)
    .pluck()
    .all() as number[];
  const errors = db
    .prepare(`SELECT COUNT(*) FROM recommendation_log WHERE status = 'error'`)
    .pluck()
    .get() as number;
  const top1 = db
    .prepare(`SELECT AVG(top1) FROM recommendation_log WHERE status = 'ok' AND top1 IS NOT NULL`)
    .pluck()
    .get() as number | null;
  const by = db
    .prepare(`SELECT endpoint, COUNT(*) AS n FROM recommendation_log WHERE status = 'ok' GROUP BY endpoint`)
    .all() as { endpoint: string; n: number }[];
  const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    count: lat.length,
    errors,
    byEndpoint: Object.fromEntries(by.map((r) => [r.endpoint, r.n])),
    latencyMs: {
      p50: round(percentile(lat, 0.5)),
      p95: round(percentile(lat, 0.95)),
      p99: round(percentile(lat, 0.99)),
      mean: round(lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : null),
    },
    meanTop1Similarity: top1,
  };
}

/** The products matched most often over the last `calls` logged calls. */
export function mostMatched(db: Db, limit: number, calls = 1000): { productId: string; count: number }[] {
  const rows = db
    .prepare(
      `SELECT matched FROM recommendation_log WHERE status = 'ok' AND matched IS NOT NULL ORDER BY id DESC LIMIT ?`,
    )
    .pluck()
    .all(calls) as string[];
  const counts = new Map<string, number>();
  for (const r of rows) for (const id of JSON.parse(r) as string[]) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([productId, count]) => ({ productId, count }));
}

const NORM_TOLERANCE = 1e-5;

/** EVALUATION.md's embedding health of [n × dim] vectors. Mean pairwise cosine via ‖Σv‖² (exact for unit rows, O(n·dim)). */
export function embeddingHealth(vectors: Float32Array, dim: number): EmbeddingHealth {
  const n = vectors.length / dim;
  const sum = new Float64Array(dim);
  const sumSq = new Float64Array(dim);
  let min = Infinity;
  let max = -Infinity;
  let normSum = 0;
  let maxDev = 0;
  let off = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const v = vectors[r * dim + i]!;
      s += v * v;
      sum[i]! += v;
      sumSq[i]! += v * v;
    }
    const norm = Math.sqrt(s);
    min = Math.min(min, norm);
    max = Math.max(max, norm);
    normSum += norm;
    const dev = Math.abs(norm - 1);
    maxDev = Math.max(maxDev, dev);
    if (dev > NORM_TOLERANCE) off++;
  }
  const variances: number[] = [];
  let total = 0;
  for (let i = 0; i < dim; i++) {
    const m = n ? sum[i]! / n : 0;
    variances.push(n ? sumSq[i]! / n - m * m : 0);
    total += sum[i]! * sum[i]!;
  }
  // Σ_{i≠j} v_i·v_j = ‖Σ v‖² − Σ ‖v_i‖²; with unit rows the second term is n.
  let selfDots = 0;
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += vectors[r * dim + i]! ** 2;
    selfDots += s;
  }
  const pairs = n * (n - 1);
  const vmin = variances.length ? Math.min(...variances) : 0;
  const vmax = variances.length ? Math.max(...variances) : 0;
  return {
    vectors: n,
    dim,
    norm: {
      min: n ? min : 0,
      max: n ? max : 0,
      mean: n ? normSum / n : 0,
      max_deviation: maxDev,
      tolerance: NORM_TOLERANCE,
      ok: off === 0,
      off,
    },
    per_dimension_variance: {
      mean: variances.reduce((a, b) => a + b, 0) / Math.max(1, dim),
      min: vmin,
      max: vmax,
      near_zero: variances.filter((v) => v < 1e-8).length,
    },
    mean_pairwise_cosine: pairs > 0 ? (total - selfDots) / pairs : 0,
  };
}

/** The newest results/evaluation_*.json (by the timestamp it states, else its name), in brief. */
export function lastEvaluation(resultsDir: string): LastEvaluation | null {
  if (!existsSync(resultsDir)) return null;
  const files = readdirSync(resultsDir).filter((f) => /^evaluation_.*\.json$/.test(f));
  let best: { file: string; stamp: string; data: Record<string, unknown> } | null = null;
  for (const f of files) {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Record<string, unknown>;
    } catch {
      continue; // a file being written, or not ours: skip it rather than fail the KPI page
    }
    const stamp = typeof data['timestamp'] === 'string' ? (data['timestamp'] as string) : f;
    if (!best || stamp > best.stamp) best = { file: f, stamp, data };
  }
  if (!best) return null;
  const d = best.data;
  const recall = (d['recall'] ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    file: `results/${best.file}`,
    timestamp: typeof d['timestamp'] === 'string' ? (d['timestamp'] as string) : null,
    runId: typeof d['run_id'] === 'string' ? (d['run_id'] as string) : null,
    top1: num(recall['1']),
    top5: num(recall['5']),
    recall10: num(recall['10']),
    mrr: num(d['mrr']),
    protocol: typeof d['protocol_label'] === 'string' ? (d['protocol_label'] as string) : null,
    synthetic: d['synthetic'] === true,
    ...(typeof d['note'] === 'string' ? { note: d['note'] as string } : {}),
  };
}
