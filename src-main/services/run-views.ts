/**
 * What `runs show` and `runs compare` answer (CLI, API): one run in full, or several side by side —
 * the settings that differ, the headline figures with the best one marked, and a chart overlaying
 * their validation curves (same axes, one colour per run).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { figureSvg, linePanel, svgToPng } from '../charts/evaluation-charts.ts';
import { type EvaluationRecord, fileStamp, listEvaluations } from '../evaluation/results.ts';
import type { Workspace } from '../store/workspace.ts';
import type { EpochRecord } from '../training/checkpoints.ts';
import {
  currentRunId,
  type RunConfigFile,
  RunError,
  type RunStatusFile,
  type RunView,
  readJsonFile,
  readRunConfig,
  relPath,
  resolveRun,
  runPaths,
  runsStore,
  viewRun,
} from '../training/runs.ts';

export interface RunDetail {
  run: RunView;
  config: RunConfigFile | null;
  status: RunStatusFile | null;
  /** Per-epoch figures (from its results file, else from the database). */
  history: EpochRecord[];
  /** Evaluations of this run, newest first; stale when the run is not current. */
  evaluations: (EvaluationRecord & { stale: boolean })[];
  /** Workspace-relative paths of its files that exist. */
  files: { dir: string | null; charts: string | null; results: string | null };
}

/** A run's per-epoch history: its results file, else what the database kept. */
export function runHistory(ws: Workspace, runId: string): EpochRecord[] {
  const file = readJsonFile<{ history?: EpochRecord[] }>(runPaths(ws, runId).resultsJson);
  if (file?.history?.length) return file.history;
  return runsStore(ws)
    .metrics(runId)
    .map(
      (m) =>
        ({
          epoch: m.epoch,
          step: m.step,
          trainLoss: m.values.train_loss ?? Number.NaN,
          valLoss: m.values.val_loss ?? Number.NaN,
          top1: m.values.top1 ?? Number.NaN,
          top5: m.values.top5 ?? Number.NaN,
          mrr: m.values.mrr ?? Number.NaN,
          posSim: m.values.pos_sim ?? Number.NaN,
          negSim: m.values.neg_sim ?? Number.NaN,
          meanNorm: m.values.mean_norm ?? Number.NaN,
          lr: m.values.lr ?? Number.NaN,
          gradNorm: m.values.grad_norm ?? Number.NaN,
          msPerStep: m.values.ms_per_step ?? Number.NaN,
          epochMs: Number.NaN,
          finishedAt: '',
        }) as EpochRecord,
    );
}

export function runEvaluations(ws: Workspace, runId: string, current = currentRunId(ws)) {
  return listEvaluations(ws, 'evaluation')
    .filter((e) => e.checkpoint === runId)
    .map((e) => ({ ...e, stale: e.checkpoint !== current }));
}

export function runDetail(ws: Workspace, ref: string): RunDetail {
  const row = resolveRun(ws, ref);
  const run = viewRun(ws, row);
  const p = runPaths(ws, row.id);
  const exists = (f: string) => (run.dir ? relPath(ws, f) : null);
  return {
    run,
    config: readRunConfig(ws, row.id),
    status: readJsonFile<RunStatusFile>(p.status),
    history: runHistory(ws, row.id),
    evaluations: runEvaluations(ws, row.id),
    files: {
      dir: run.dir ? relPath(ws, run.dir) : null,
      charts: exists(p.charts),
      results: exists(p.resultsJson),
    },
  };
}

/** A headline figure across runs, with the index of the best one (ties: the first). */
export interface ComparedMetric {
  name: string;
  /** How it was measured, e.g. "gallery, N=800 (training validation, best epoch)". */
  protocol: string;
  higherIsBetter: boolean;
  values: (number | null)[];
  /** The run whose figure is best (null when no run has the figure). */
  best: string | null;
}

export interface RunComparison {
  runs: RunView[];
  /** Settings that differ between the runs (every key of any run's config), values in run order. */
  configDiff: { key: string; values: unknown[] }[];
  /** Settings shared by all runs. */
  configSame: Record<string, unknown>;
  metrics: ComparedMetric[];
  /** Whether every run trained on the same data (split ids and vectors); null when not recorded. */
  sameData: boolean | null;
  /** Per run, its validation curve (for a UI overlay). */
  curves: {
    runId: string;
    points: { epoch: number; valLoss: number; top1: number; top5: number; mrr: number }[];
  }[];
  /** Workspace-relative path of the overlay chart, when written. */
  chart: string | null;
  timestamp: string;
}

const RUN_COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
];

export async function compareRuns(
  ws: Workspace,
  refs: readonly string[],
  opts: { chart?: boolean; out?: string; now?: Date } = {},
): Promise<RunComparison> {
  if (refs.length < 2) throw new RunError('runs compare needs at least two runs, e.g. "runs compare 1 2".');
  const current = currentRunId(ws);
  const rows = refs.map((r) => resolveRun(ws, r));
  const ids = rows.map((r) => r.id);
  if (new Set(ids).size !== ids.length)
    throw new RunError(`runs compare: a run is named twice (${ids.join(', ')}).`);
  const runs = rows.map((r) => viewRun(ws, r, current));
  const configs = rows.map((r) => readRunConfig(ws, r.id));
  const settings = rows.map((r, i) => (configs[i]?.config ?? r.config) as Record<string, unknown>);
  const keys = [...new Set(settings.flatMap((c) => Object.keys(c)))].sort();
  const configDiff: RunComparison['configDiff'] = [];
  const configSame: Record<string, unknown> = {};
  for (const k of keys) {
    const values = settings.map((c) => c[k] ?? null);
    if (new Set(values.map((v) => JSON.stringify(v))).size > 1) configDiff.push({ key: k, values });
    else configSame[k] = values[0];
  }
  // Where a parent or replay source differs, that is part of the story too.
  const parents = rows.map((r) => r.parentId);
  if (parents.some((p) => p !== parents[0])) configDiff.push({ key: 'parent (init-from)', values: parents });

  const fps = configs.map((c) => c?.data ?? null);
  const sameData = fps.some((f) => f === null)
    ? null
    : fps.every((f) => JSON.stringify(f) === JSON.stringify(fps[0]));

  const headlines = rows.map((r) => r.headline);
  const latestEval = rows.map((r) => runEvaluationsLatest(ws, r.id));
  const metric = (
    name: string,
    protocol: string,
    higherIsBetter: boolean,
    values: (number | null)[],
  ): ComparedMetric => {
    let best: number | null = null;
    values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const b = best === null ? null : values[best]!;
      if (b === null || (higherIsBetter ? v > b : v < b)) best = i;
    });
    return { name, protocol, higherIsBetter, values, best: best === null ? null : ids[best]! };
  };
  const validation = (() => {
    const protos = new Set(headlines.map((h) => h?.protocol).filter(Boolean));
    return protos.size === 1 ? `${[...protos][0]}, best epoch` : 'training validation, best epoch (gallery)';
  })();
  const metrics: ComparedMetric[] = [
    metric(
      'validation loss',
      validation,
      false,
      headlines.map((h) => h?.valLoss ?? null),
    ),
    metric(
      'Top-1',
      validation,
      true,
      headlines.map((h) => h?.top1 ?? null),
    ),
    metric(
      'Top-5',
      validation,
      true,
      headlines.map((h) => h?.top5 ?? null),
    ),
    metric(
      'Recall@10',
      validation,
      true,
      headlines.map((h) => h?.recall10 ?? null),
    ),
    metric(
      'MRR',
      validation,
      true,
      headlines.map((h) => h?.mrr ?? null),
    ),
  ];
  if (latestEval.some((e) => e !== null)) {
    const protos = [...new Set(latestEval.map((e) => e?.protocol).filter(Boolean))].join(' / ');
    metrics.push(
      metric(
        'Recall@10 (evaluation)',
        `latest evaluation of each run (${protos || 'gallery'})`,
        true,
        latestEval.map((e) => e?.recall10 ?? null),
      ),
    );
  }
  const curves = rows.map((r) => ({
    runId: r.id,
    points: runHistory(ws, r.id).map((h) => ({
      epoch: h.epoch,
      valLoss: h.valLoss,
      top1: h.top1,
      top5: h.top5,
      mrr: h.mrr,
    })),
  }));
  const now = opts.now ?? new Date();
  let chart: string | null = null;
  if (opts.chart !== false && curves.some((c) => c.points.length > 0)) {
    const out = opts.out ?? join(ws.paths.results, `runs_compare_${fileStamp(now)}.png`);
    mkdirSync(join(out, '..'), { recursive: true });
    const synthetic = configs.some((c) => c?.imageEmbedding?.synthetic);
    writeFileSync(out, await svgToPng(compareChartSvg(runs, curves, synthetic)));
    chart = relPath(ws, out);
  }
  return { runs, configDiff, configSame, metrics, sameData, curves, chart, timestamp: now.toISOString() };
}

function runEvaluationsLatest(ws: Workspace, runId: string): { recall10: number; protocol: string } | null {
  const e = runEvaluations(ws, runId)[0];
  const recall = (e?.summary as { recall?: Record<string, number> } | undefined)?.recall;
  return e && recall && typeof recall['10'] === 'number'
    ? { recall10: recall['10'], protocol: e.protocol ?? '?' }
    : null;
}

/** Validation loss and Top-5 per epoch, every run on the same axes. */
export function compareChartSvg(
  runs: RunView[],
  curves: RunComparison['curves'],
  synthetic: boolean,
): string {
  const W = 1600;
  const name = (r: RunView) => `#${r.seq} ${r.id}${r.current ? ' (current)' : ''}`;
  const series = (f: (p: RunComparison['curves'][number]['points'][number]) => number) =>
    curves.map((c, i) => ({
      name: name(runs[i]!),
      color: RUN_COLORS[i % RUN_COLORS.length]!,
      dashed: i >= RUN_COLORS.length,
      points: c.points.map((p) => ({ x: p.epoch, y: f(p) })),
    }));
  return figureSvg({
    width: W,
    height: 1300,
    title: `Runs compared: ${runs.map((r) => `#${r.seq}`).join(', ')}`,
    subtitle: 'Validation after every epoch (JSON → image over the whole validation gallery)',
    synthetic,
    panels: [
      linePanel(
        { x: 8, y: 96, w: W - 16, h: 590 },
        {
          title: 'Validation loss (symmetric InfoNCE)',
          xLabel: 'epoch',
          yLabel: 'loss',
          series: series((p) => p.valLoss),
          format: (v) => v.toFixed(3),
        },
      ),
      linePanel(
        { x: 8, y: 700, w: W - 16, h: 590 },
        {
          title: 'Top-5 (gallery)',
          xLabel: 'epoch',
          yLabel: 'Top-5',
          series: series((p) => p.top5),
        },
      ),
    ],
  });
}
