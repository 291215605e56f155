/**
 * A stored study as the Tuning tab and the HTML report show it: the results (study-results.ts), each
 * tuned parameter's distribution (so charts choose a linear or log axis and its bounds), the staged
 * preset's stages with what each fixed and why (rebuilt from the stored trials, so a resumed or
 * finished study tells the same story the running one printed), and the newest ridge baseline run's
 * figure for the study's metric, drawn as a reference line.
 */
import type {
  StudyBaseline,
  StudyListEntry,
  StudyParam,
  StudyStage,
  StudyView,
} from '../../src-shared/api-tuning.ts';
import { METRIC_LABELS, type ParamValue, type StudyMetric } from '../../src-shared/tuning.ts';
import type { RunRow } from '../store/runs-store.ts';
import { StudiesStore, type TrialRecord } from '../store/studies-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { runsStore } from '../training/runs.ts';
import type { Distribution } from './search-space.ts';
import { bestTrial } from './study-runner.ts';
import { showStudy } from './study-show.ts';
import { describeParams, type StudySettings } from './tune-study.ts';

/** The baseline's figure for a study metric (Recall@10 only when the baseline run measured it). */
function baselineValue(h: NonNullable<RunRow['headline']>, metric: StudyMetric): number | null {
  if (metric === 'recall10') return h.recall10 ?? null;
  return h[metric];
}

/** The newest finished ridge baseline run of the workspace, with its figure for `metric`. */
export function latestBaseline(ws: Workspace, metric: StudyMetric): StudyBaseline | null {
  const runs = runsStore(ws)
    .list()
    .filter((r) => r.kind === 'baseline' && r.status === 'done' && r.headline);
  const r = runs.at(-1);
  if (!r?.headline) return null;
  const value = baselineValue(r.headline, metric);
  if (value === null) return null;
  const fields = r.config.fields;
  return {
    runId: r.id,
    value,
    figures: {
      top1: r.headline.top1,
      top5: r.headline.top5,
      mrr: r.headline.mrr,
      recall10: r.headline.recall10 ?? null,
    },
    protocol: r.headline.protocol,
    fields: Array.isArray(fields) ? fields.map(String) : [],
  };
}

function paramOf(name: string, d: Distribution): StudyParam {
  if (d.kind === 'categorical')
    return { name, type: 'categorical', low: null, high: null, log: false, choices: d.choices };
  return {
    name,
    type: d.kind === 'int' ? 'int' : d.log ? 'log-uniform' : 'uniform',
    low: d.low,
    high: d.high,
    log: d.log,
    choices: null,
  };
}

/**
 * The staged preset's stages from the stored trials: a stage fixes the best complete trial of the
 * stage before (as tune-study.ts does while it runs), which is what "why" says.
 */
export function studyStages(settings: StudySettings, trials: readonly TrialRecord[]): StudyStage[] {
  if (!settings.stages) return [];
  const out: StudyStage[] = [];
  let fixed: Record<string, ParamValue> = { ...settings.space.fixed };
  let prev: { name: string; best: TrialRecord | null } | null = null;
  for (const stage of settings.stages) {
    const best = bestTrial(trials.filter((t) => t.attrs.stage === stage.name));
    const tunes = Object.keys(stage.space.parameters);
    const why = !prev
      ? `tunes ${tunes.join(', ')} from the defaults`
      : prev.best
        ? `fixes ${describeParams(prev.best.params)}: the best of stage ${prev.name} (trial ${prev.best.number}, value ${prev.best.value!.toFixed(4)}); tunes ${tunes.join(', ')}`
        : `stage ${prev.name} has no complete trial, so nothing is fixed; tunes ${tunes.join(', ')}`;
    out.push({
      name: stage.name,
      tunes,
      trials: stage.trials,
      fixed: { ...fixed },
      why,
      best: best && best.value !== null ? { number: best.number, value: best.value } : null,
    });
    if (best) fixed = { ...fixed, ...best.params };
    prev = { name: stage.name, best };
  }
  return out;
}

/** Whether a trial of the study is running in a live process on this machine. */
function hasLiveTrial(trials: readonly TrialRecord[]): boolean {
  return trials.some((t) => {
    if (t.state !== 'RUNNING' || t.pid === null) return false;
    try {
      process.kill(t.pid, 0);
      return true;
    } catch (e) {
      // EPERM: the process exists but belongs to another user.
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  });
}

export async function studyView(
  ws: Workspace,
  name: string,
  opts: { charts?: boolean } = {},
): Promise<StudyView> {
  const shown = await showStudy(ws, name, { charts: opts.charts ?? false });
  const store = new StudiesStore(ws.db);
  const study = store.requireStudy(name);
  const trials = store.trials(study.id);
  const settings = study.settings as unknown as StudySettings;
  const metric = shown.results.metric;
  const spaces = settings.stages?.map((s) => s.space) ?? [settings.space];
  const params = new Map<string, StudyParam>();
  for (const space of spaces) {
    for (const [p, d] of Object.entries(space.parameters)) if (!params.has(p)) params.set(p, paramOf(p, d));
  }
  const ceiling = shown.results.best?.attrs.ceiling;
  return {
    results: shown.results,
    ceiling: typeof ceiling === 'number' ? ceiling : null,
    params: [...params.values()],
    stages: studyStages(settings, trials),
    baseline: latestBaseline(ws, metric),
    base: settings.base as unknown as Record<string, unknown>,
    charts: shown.charts,
    running: hasLiveTrial(trials),
  };
}

export function studyList(ws: Workspace): StudyListEntry[] {
  const store = new StudiesStore(ws.db);
  return store.listStudies().map((s) => {
    const trials = store.trials(s.id);
    const done = trials.filter((t) => t.state === 'COMPLETE' && t.value !== null).map((t) => t.value!);
    const metric = s.metric as StudyMetric;
    return {
      name: s.name,
      status: s.status,
      metric: s.metric,
      metricLabel: `${METRIC_LABELS[metric] ?? s.metric} (${s.protocol})`,
      trials: trials.length,
      best: done.length ? Math.max(...done) : null,
    };
  });
}

/** The study changed last (the one a report shows), or null when the workspace has none. */
export function newestStudy(ws: Workspace): string | null {
  const all = new StudiesStore(ws.db).listStudies();
  const newest = all.sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id).at(-1);
  return newest?.name ?? null;
}
