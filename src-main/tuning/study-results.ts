/**
 * Study results as data: the trials table, the best trial, the optimisation history and parameter
 * importance. The CLI (`kfashion study show`), the API and the charts all start from `studyResults`.
 *
 * [Note: Parameter importance]
 * Importance here is the first-order (main-effect) variance share of each parameter, η² = Var(E[y|x_p])
 * / Var(y), estimated directly from the complete trials: numeric parameters are binned by quartiles of
 * their (log for log scales) values, categorical ones by choice; the between-bin variance of the
 * objective divided by its total variance, normalised over the parameters to sum to 1. This is the term
 * fANOVA (Hutter, Hoos, Leyton-Brown, ICML 2014) estimates for each single parameter; fANOVA gets it
 * from a random-forest surrogate and adds interaction terms, which a few dozen trials cannot support.
 * With fewer than 4 complete trials no importance is given.
 */
import {
  METRIC_LABELS,
  type ParamImportance,
  type ParamValue,
  type StudyMetric,
  type StudyResults,
  TRIAL_STATES,
  type TrialRow,
  type TrialState,
} from '../../src-shared/tuning.ts';
import type { StudyRecord, TrialRecord } from '../store/studies-store.ts';
import { bestTrial } from './study-runner.ts';

export const IMPORTANCE_METHOD =
  'first-order variance share (η² of the objective over quartile bins / choices of each parameter; the main-effect term of fANOVA, estimated from the trials directly)';

export function trialRow(t: TrialRecord): TrialRow {
  return {
    number: t.number,
    state: t.state,
    value: t.value,
    params: t.params,
    runId: t.runId,
    error: t.error,
    steps: t.intermediate.size,
    startedAt: t.startedAt ?? '',
    finishedAt: t.finishedAt,
    attrs: t.attrs,
  };
}

/** Bin index of each value: quartiles of numbers (log when all positive and spread > 10×), choices otherwise. */
function bins(values: ParamValue[]): number[] {
  if (values.every((v) => typeof v === 'number')) {
    const nums = values as number[];
    const distinct = new Set(nums).size;
    const pos = nums.every((v) => v > 0);
    const t = pos && Math.max(...nums) / Math.min(...nums) > 10 ? nums.map(Math.log) : nums;
    if (distinct <= 4) {
      const keys = [...new Set(t)].sort((a, b) => a - b);
      return t.map((v) => keys.indexOf(v));
    }
    const sorted = [...t].sort((a, b) => a - b);
    const q = [1, 2, 3].map((k) => sorted[Math.floor((k * sorted.length) / 4)]!);
    return t.map((v) => q.filter((c) => v >= c).length);
  }
  const keys = new Map<string, number>();
  return values.map((v) => {
    const k = JSON.stringify(v);
    if (!keys.has(k)) keys.set(k, keys.size);
    return keys.get(k)!;
  });
}

/** First-order variance share per parameter (see [Note: Parameter importance]). */
export function parameterImportance(
  trials: readonly { state: TrialState; value: number | null; params: Record<string, ParamValue> }[],
  names: readonly string[],
): ParamImportance[] {
  const done = trials.filter((t) => t.state === 'COMPLETE' && t.value !== null);
  if (done.length < 4) return [];
  const y = done.map((t) => t.value!);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const total = y.reduce((a, v) => a + (v - mean) ** 2, 0);
  const raw = names.map((name) => {
    const has = done.filter((t) => name in t.params);
    if (has.length < 4 || total <= 0) return { name, importance: 0 };
    const b = bins(has.map((t) => t.params[name]!));
    const sums = new Map<number, { s: number; n: number }>();
    has.forEach((t, i) => {
      const e = sums.get(b[i]!) ?? { s: 0, n: 0 };
      e.s += t.value!;
      e.n++;
      sums.set(b[i]!, e);
    });
    let between = 0;
    for (const { s, n } of sums.values()) between += n * (s / n - mean) ** 2;
    return { name, importance: between / total };
  });
  const sum = raw.reduce((a, r) => a + r.importance, 0);
  return raw
    .map((r) => ({ name: r.name, importance: sum > 0 ? r.importance / sum : 0 }))
    .sort((a, b) => b.importance - a.importance);
}

export function studyResults(study: StudyRecord, trials: readonly TrialRecord[]): StudyResults {
  const rows = trials.map(trialRow);
  const counts = Object.fromEntries(TRIAL_STATES.map((s) => [s, 0])) as Record<TrialState, number>;
  for (const t of rows) counts[t.state]++;
  const history: StudyResults['history'] = [];
  let best = Number.NEGATIVE_INFINITY;
  for (const t of rows) {
    if (t.state !== 'COMPLETE' || t.value === null) continue;
    best = Math.max(best, t.value);
    history.push({ number: t.number, value: t.value, best });
  }
  const settings = study.settings as {
    sampler?: string;
    pruner?: string;
    space?: { parameters?: object };
    stages?: { space: { parameters: object } }[];
  };
  const names = [...new Set(rows.flatMap((t) => Object.keys(t.params)))];
  // A staged study tunes each stage's parameters in turn: importance covers them all.
  const tuned = settings.stages
    ? settings.stages.flatMap((s) => Object.keys(s.space.parameters))
    : settings.space?.parameters
      ? Object.keys(settings.space.parameters)
      : names;
  const metric = study.metric as StudyMetric;
  return {
    name: study.name,
    metric,
    metricLabel: `${METRIC_LABELS[metric] ?? metric} (${study.protocol})`,
    direction: 'maximize',
    status: study.status,
    sampler: settings.sampler ?? '',
    pruner: settings.pruner ?? '',
    counts,
    trials: rows,
    best: bestTrial(rows),
    history,
    importance: parameterImportance(
      rows,
      tuned.filter((n) => names.includes(n)),
    ),
    importanceMethod: IMPORTANCE_METHOD,
  };
}
