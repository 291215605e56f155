/**
 * `kfashion study show NAME` as text: the trials table, the best trial with its settings and the
 * commands to train it longer, the importance ranking and where the charts are.
 */
import type { ParamValue, StudyResults, TrialRow } from '../../src-shared/tuning.ts';

export const formatParam = (v: ParamValue | undefined): string => {
  if (v === undefined) return '—';
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString();
  return String(v);
};

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The `train` flags that reproduce a trial's settings (camelCase → --kebab-case; fields joined). */
export function trainFlags(params: Record<string, ParamValue>): string {
  return Object.entries(params)
    .map(([k, v]) => {
      const flag = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      if (typeof v === 'boolean') return v ? flag : `${flag}=false`;
      return `${flag} ${Array.isArray(v) ? v.join(',') : String(v)}`;
    })
    .join(' ');
}

export function formatStudy(
  r: StudyResults,
  opts: { workspace: string; charts?: Record<string, string> },
): string {
  const names = [...new Set(r.trials.flatMap((t) => Object.keys(t.params)))];
  const value = (t: TrialRow) => (t.value === null ? '—' : t.value.toFixed(4));
  const rows = r.trials.map((t) => [
    String(t.number),
    t.state,
    value(t),
    String(t.steps),
    ...names.map((n) => formatParam(t.params[n])),
    t.runId ?? '—',
    t.error ? t.error.slice(0, 60) : '',
  ]);
  const out: string[] = [];
  out.push(
    `Study ${r.name}: ${r.status} · maximise ${r.metricLabel} · sampler ${r.sampler} · pruner ${r.pruner}`,
  );
  out.push(
    `Trials: ${r.counts.COMPLETE} complete, ${r.counts.PRUNED} pruned, ${r.counts.FAIL} failed, ${r.counts.RUNNING} running, ${r.counts.WAITING} waiting`,
  );
  out.push('');
  out.push(table(['#', 'state', r.metricLabel, 'epochs run', ...names, 'run', 'error'], rows));
  out.push('');
  if (r.best) {
    const b = r.best;
    out.push(
      `Best: trial ${b.number}, ${r.metricLabel} ${b.value!.toFixed(4)}${b.runId ? ` (run ${b.runId})` : ''}`,
    );
    const ceiling = b.attrs.ceiling as number | undefined;
    if (ceiling !== undefined)
      out.push(`  ceiling of ${r.metricLabel} on these fields: ${ceiling.toFixed(4)}`);
    for (const n of names) out.push(`  ${n} = ${formatParam(b.params[n])}`);
    if (b.runId)
      out.push(`  make it the current run:  kfashion runs promote ${b.runId} --workspace ${opts.workspace}`);
    out.push(
      `  train it longer:          kfashion train --workspace ${opts.workspace} ${trainFlags(b.params)} --epochs 100`,
    );
  } else {
    out.push('Best: no complete trial yet.');
  }
  out.push('');
  if (r.importance.length > 0) {
    out.push(`Parameter importance (${r.importanceMethod}):`);
    for (const i of r.importance) out.push(`  ${pad(i.name, 14)} ${(i.importance * 100).toFixed(1)} %`);
  } else {
    out.push('Parameter importance: needs at least 4 complete trials.');
  }
  if (opts.charts) {
    out.push('');
    for (const [k, p] of Object.entries(opts.charts)) out.push(`${pad(`${k}:`, 10)} ${p}`);
  }
  return out.join('\n');
}
