/**
 * The Tuning tab's figures as data (pure, no DOM): the optimisation history (value per trial and the
 * best so far), parallel coordinates (each complete trial a line over the tuned parameters, each
 * axis normalised to [0, 1] between the parameter's bounds — on a log scale for log parameters — and
 * the value on the last axis), slice points (value against one parameter) and the label every figure
 * carries: protocol, metric and ceiling.
 */
import type { StudyParam, StudyView } from '../../../../src-shared/api-tuning.ts';
import type { ParamValue } from '../../../../src-shared/tuning.ts';

export type Trial = StudyView['results']['trials'][number];

/** "Top-5 (gallery) · ceiling 98.0 %": what every figure of a study names. */
export function figureLabel(view: StudyView): string {
  const c = view.ceiling;
  return `${view.results.metricLabel}${c === null ? '' : ` · ceiling ${(c * 100).toFixed(1)} %`}`;
}

/** Complete trials with a value, in trial order. */
export function completeTrials(view: StudyView): Trial[] {
  return view.results.trials.filter((t) => t.state === 'COMPLETE' && t.value !== null);
}

/** History as chart series: x = trial number; value, best so far, and the baseline when known. */
export function historySeries(view: StudyView): {
  labels: number[];
  value: (number | null)[];
  best: (number | null)[];
  baseline: (number | null)[] | null;
} {
  const h = view.results.history;
  const labels = h.map((p) => p.number);
  return {
    labels,
    value: h.map((p) => p.value),
    best: h.map((p) => p.best),
    baseline: view.baseline ? labels.map(() => view.baseline!.value) : null,
  };
}

const key = (v: ParamValue) => JSON.stringify(v);

/** Where a parameter's value sits on its axis, in [0, 1] (null when it has no value there). */
export function normalise(p: StudyParam, v: ParamValue | undefined): number | null {
  if (v === undefined) return null;
  if (p.choices) {
    const i = p.choices.findIndex((c) => key(c) === key(v));
    if (i < 0) return null;
    return p.choices.length === 1 ? 0.5 : i / (p.choices.length - 1);
  }
  if (typeof v !== 'number' || p.low === null || p.high === null) return null;
  if (p.high === p.low) return 0.5;
  const t = (x: number) => (p.log && x > 0 ? Math.log(x) : x);
  const r = (t(v) - t(p.low)) / (t(p.high) - t(p.low));
  return Math.min(1, Math.max(0, r));
}

/** A value as an axis tick or table cell shows it. */
export function valueText(v: ParamValue | undefined): string {
  if (v === undefined) return '–';
  if (Array.isArray(v)) return v.join('+');
  if (typeof v === 'number')
    return Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : String(+v.toPrecision(4));
  return String(v);
}

/**
 * Parallel coordinates: one line per complete trial over the parameter axes and a last axis for the
 * value (normalised between the worst and best complete value, or the baseline when it is lower).
 */
export function parallelLines(view: StudyView): {
  axes: string[];
  lines: { trial: number; value: number; points: (number | null)[] }[];
  valueRange: [number, number];
} {
  const trials = completeTrials(view);
  const values = trials.map((t) => t.value!);
  const lo = Math.min(...values, view.baseline?.value ?? Number.POSITIVE_INFINITY);
  const hi = Math.max(...values);
  const axes = [...view.params.map((p) => p.name), view.results.metricLabel];
  const lines = trials.map((t) => ({
    trial: t.number,
    value: t.value!,
    points: [
      ...view.params.map((p) => normalise(p, t.params[p.name])),
      hi > lo ? (t.value! - lo) / (hi - lo) : 0.5,
    ],
  }));
  return { axes, lines, valueRange: values.length ? [lo, hi] : [0, 0] };
}

/** Slice: every complete trial as (parameter value, objective); categorical values by choice index. */
export function slicePoints(
  view: StudyView,
  p: StudyParam,
): { points: { x: number; y: number; trial: number }[]; ticks: string[] | null } {
  const points: { x: number; y: number; trial: number }[] = [];
  for (const t of completeTrials(view)) {
    const v = t.params[p.name];
    if (v === undefined) continue;
    if (p.choices) {
      const i = p.choices.findIndex((c) => key(c) === key(v));
      if (i >= 0) points.push({ x: i, y: t.value!, trial: t.number });
    } else if (typeof v === 'number') points.push({ x: v, y: t.value!, trial: t.number });
  }
  return { points, ticks: p.choices ? p.choices.map(valueText) : null };
}

/** A colour from worst (light) to best (dark blue) value, so the best lines stand out. */
export function valueColor(share: number): string {
  const s = Math.min(1, Math.max(0, share));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * s);
  return `rgb(${mix(230, 0)}, ${mix(159, 70)}, ${mix(0, 160)})`;
}
