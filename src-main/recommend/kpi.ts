/**
 * The KPI log (one row per recommendation call, table recommendation_log) and the figures made from
 * it: call count, latency percentiles, mean top-1 similarity (over the raw rows plus the daily
 * aggregates that log retention rolled older rows into: log-retention.ts); plus the last
 * evaluation's accuracy (results/evaluation_*.json) and the embedding health of the vectors
 * recommendation uses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddingHealth } from '../../src-shared/evaluation.ts';
import type { LastEvaluation, LatencySummary } from '../../src-shared/recommend.ts';
import { listEvaluations } from '../evaluation/results.ts';
import type { Db } from '../store/database.ts';
import { RecommendationLogStore } from '../store/recommendation-log-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { currentRunId } from '../training/runs.ts';

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
/** Calls "most matched" counts over; log retention never prunes these. */
export const MOST_MATCHED_CALLS = 1000;

/** Latency in the log's unit, 0.01 ms: calls are logged at that resolution, aggregates count in it. */
export function latencyCenti(ms: number): number {
  return Math.round(ms * 100);
}

export function logRecommendation(db: Db, e: LogEntry): void {
  new RecommendationLogStore(db).insert({
    at: new Date().toISOString(),
    runId: e.runId,
    endpoint: e.endpoint,
    inputKind: e.inputKind,
    inputs: e.inputs,
    k: e.k,
    model: e.model,
    latencyMs: latencyCenti(e.latencyMs) / 100,
    top1: e.top1,
    matched: JSON.stringify(e.matched.slice(0, MATCHED_KEPT)),
    status: e.status,
    error: e.error ?? null,
  });
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

/**
 * The KPI figures over all calls ever logged: the raw rows still in recommendation_log plus the daily
 * aggregates of those log retention removed. Latencies are counted in 0.01 ms (the log's resolution),
 * so the percentiles and the mean are exact and the same before and after pruning.
 */
export function logFigures(db: Db): LogFigures {
  const log = new RecommendationLogStore(db);
  const latencies = new Map<number, number>();
  for (const ms of log.okLatencies()) {
    const c = latencyCenti(ms);
    latencies.set(c, (latencies.get(c) ?? 0) + 1);
  }
  for (const r of log.rolledUpLatencies()) {
    latencies.set(r.c, (latencies.get(r.c) ?? 0) + r.n);
  }
  const hist = [...latencies].sort((a, b) => a[0] - b[0]);
  let count = 0;
  let centiSum = 0;
  for (const [c, n] of hist) {
    count += n;
    centiSum += c * n;
  }
  const errors = log.errorCount();
  const top1 = log.top1Totals();
  const by = log.okCallsByEndpoint();
  const ms = (centi: number | null) => (centi === null ? null : centi / 100);
  return {
    count,
    errors,
    byEndpoint: Object.fromEntries(by.map((r) => [r.endpoint, r.n])),
    latencyMs: {
      p50: ms(percentileOfCounts(hist, count, 0.5)),
      p95: ms(percentileOfCounts(hist, count, 0.95)),
      p99: ms(percentileOfCounts(hist, count, 0.99)),
      mean: count ? Math.round(centiSum / count) / 100 : null,
    },
    meanTop1Similarity: top1.n ? top1.s! / top1.n : null,
  };
}

/** percentile() over a histogram: [value, count] pairs sorted by value, `total` counts in all. */
export function percentileOfCounts(
  hist: readonly (readonly [number, number])[],
  total: number,
  p: number,
): number | null {
  if (total === 0) return null;
  const rank = Math.min(Math.max(1, Math.ceil(p * total)), total);
  let seen = 0;
  for (const [v, n] of hist) {
    seen += n;
    if (seen >= rank) return v;
  }
  return hist.at(-1)![0];
}

/** The products matched most often over the last `calls` logged calls. */
export function mostMatched(
  db: Db,
  limit: number,
  calls = MOST_MATCHED_CALLS,
): { productId: string; count: number }[] {
  const rows = new RecommendationLogStore(db).recentMatched(calls);
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

/**
 * The evaluation the KPI page shows: the newest gallery/in-batch evaluation of the workspace's
 * current run, or, when the current run has none, the newest of any run marked stale with the run it
 * came from (an older run's figures must never pass for the current model's). Evaluations are found
 * through the workspace's `evaluations` table (each lives in its run's evaluations/ folder); a
 * workspace from before runs keeps its reports in results/, which the table also points at.
 */
export function lastEvaluation(ws: Workspace): LastEvaluation | null {
  const current = currentRunId(ws);
  const all = listEvaluations(ws, 'evaluation');
  // `checkpoint` is the training run the evaluated weights come from; `runId` the evaluation's own id.
  // The current run's evaluations first (newest first), then the others; a report that cannot be read
  // (removed by hand, half-written by hand) is passed over rather than failing the KPI page.
  const ordered = [
    ...all.filter((e) => e.checkpoint === current),
    ...all.filter((e) => e.checkpoint !== current),
  ];
  let pick: (typeof all)[number] | undefined;
  let d: Record<string, unknown> = {};
  for (const e of ordered) {
    try {
      d = JSON.parse(readFileSync(join(ws.paths.root, e.file), 'utf8')) as Record<string, unknown>;
      pick = e;
      break;
    } catch {}
  }
  if (!pick) return null;
  const recall = (d['recall'] ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const stale = pick.checkpoint !== current;
  return {
    file: pick.file,
    timestamp: typeof d['timestamp'] === 'string' ? (d['timestamp'] as string) : null,
    runId: pick.runId,
    trainingRunId: pick.checkpoint,
    checkpointEpoch: pick.checkpointEpoch ?? null,
    stale,
    currentRunId: current,
    top1: num(recall['1']),
    top5: num(recall['5']),
    recall10: num(recall['10']),
    mrr: num(d['mrr']),
    protocol: typeof d['protocol_label'] === 'string' ? (d['protocol_label'] as string) : null,
    synthetic: d['synthetic'] === true,
    ...(typeof d['note'] === 'string' ? { note: d['note'] as string } : {}),
  };
}
