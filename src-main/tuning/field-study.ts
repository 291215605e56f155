/**
 * The field study (`--preset fields`): how much each K-Fashion attribute adds. Every field set —
 * the default five, each leave-one-out, each add-one — is trained with the same settings under the
 * same seeds; this module turns those trials into differences against the default set.
 *
 * [Note: Field-study uncertainty]
 * The differences are paired by seed (the same seed gives the same split order, initial weights and
 * batches, so only the fields differ): per seed Δ = figure(set) − figure(default), reported as the mean
 * over seeds with the spread (min … max) and the sample standard deviation. A difference counts as
 * real only when every seed agrees on its sign — with 2–3 seeds a t-interval would be too wide to say
 * anything, while "every seed agrees" is a plain rule a reader can check in the table. Ceilings are
 * reported per set because they change with the fields (more fields → fewer identical encoder inputs
 * → a higher ceiling), so a Δ is read next to the Δ of its ceiling.
 */
import type { TrialRecord } from '../store/studies-store.ts';

export interface FieldTrialFigures {
  /** "default", "− color", "+ print", … */
  label: string;
  fields: string[];
  seed: number;
  recall10: number;
  top5: number;
  mrr: number;
  ceiling: { recall10: number; top5: number; mrr: number };
}

export interface DeltaStat {
  mean: number;
  sd: number;
  min: number;
  max: number;
  /** Every seed's Δ has the same sign (and is not 0). */
  consistent: boolean;
}

export interface FieldStudyEntry {
  label: string;
  kind: 'default' | 'leave-one-out' | 'add-one';
  /** The field removed or added. */
  field: string | null;
  fields: string[];
  seeds: number[];
  mean: { recall10: number; top5: number; mrr: number };
  ceiling: { recall10: number; top5: number; mrr: number };
  delta: { recall10: DeltaStat; top5: DeltaStat; mrr: DeltaStat } | null;
}

export interface FieldStudyReport {
  defaults: string[];
  seeds: number[];
  entries: FieldStudyEntry[];
  /** Fields by what they add (Δ Recall@10 of adding them, minus Δ of removing them), most first. */
  ranking: { field: string; effect: number; consistent: boolean }[];
  recommendation: { fields: string[]; reasons: string[] };
  uncertainty: string;
}

export const FIELD_STUDY_UNCERTAINTY =
  'Δ against the default field set, paired by seed: mean over seeds with min … max; a difference counts only when every seed agrees on its sign.';

function stat(values: number[]): DeltaStat {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const pos = values.every((v) => v > 0);
  const neg = values.every((v) => v < 0);
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), consistent: n > 0 && (pos || neg) };
}

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export function fieldStudyReport(
  defaults: readonly string[],
  rows: readonly FieldTrialFigures[],
): FieldStudyReport {
  const byLabel = new Map<string, FieldTrialFigures[]>();
  for (const r of rows) {
    const list = byLabel.get(r.label) ?? [];
    list.push(r);
    byLabel.set(r.label, list);
  }
  const base = byLabel.get('default') ?? [];
  const baseBySeed = new Map(base.map((r) => [r.seed, r]));
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const entries: FieldStudyEntry[] = [];
  for (const [label, list] of byLabel) {
    const fields = list[0]!.fields;
    const removed = defaults.find((d) => !fields.includes(d)) ?? null;
    const added = fields.find((f) => !defaults.includes(f)) ?? null;
    const kind: FieldStudyEntry['kind'] =
      label === 'default' ? 'default' : removed ? 'leave-one-out' : 'add-one';
    const paired = list.filter((r) => baseBySeed.has(r.seed));
    const d = (k: 'recall10' | 'top5' | 'mrr') => stat(paired.map((r) => r[k] - baseBySeed.get(r.seed)![k]));
    entries.push({
      label,
      kind,
      field: kind === 'default' ? null : (removed ?? added),
      fields,
      seeds: list.map((r) => r.seed).sort((a, b) => a - b),
      mean: {
        recall10: avg(list.map((r) => r.recall10)),
        top5: avg(list.map((r) => r.top5)),
        mrr: avg(list.map((r) => r.mrr)),
      },
      ceiling: {
        recall10: avg(list.map((r) => r.ceiling.recall10)),
        top5: avg(list.map((r) => r.ceiling.top5)),
        mrr: avg(list.map((r) => r.ceiling.mrr)),
      },
      delta:
        kind === 'default' || paired.length === 0
          ? null
          : { recall10: d('recall10'), top5: d('top5'), mrr: d('mrr') },
    });
  }
  const order = { default: 0, 'leave-one-out': 1, 'add-one': 2 };
  entries.sort((a, b) => order[a.kind] - order[b.kind] || a.label.localeCompare(b.label));
  // A field's effect: what adding it gains, or what removing it loses (as a positive number).
  const ranking = entries
    .filter((e) => e.delta && e.field)
    .map((e) => ({
      field: e.field!,
      effect: e.kind === 'add-one' ? e.delta!.recall10.mean : -e.delta!.recall10.mean,
      consistent: e.delta!.recall10.consistent,
    }))
    .sort((a, b) => b.effect - a.effect);
  const keep = new Set(defaults);
  const reasons: string[] = [];
  for (const e of entries) {
    if (!e.delta || !e.field) continue;
    const r = e.delta.recall10;
    const pts = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`;
    if (e.kind === 'add-one' && r.consistent && r.mean > 0) {
      keep.add(e.field);
      reasons.push(
        `add ${e.field}: Recall@10 ${pts(r.mean)} (every seed higher; ${pts(r.min)} … ${pts(r.max)})`,
      );
    }
    if (e.kind === 'leave-one-out' && r.consistent && r.mean > 0) {
      keep.delete(e.field);
      reasons.push(`drop ${e.field}: Recall@10 ${pts(r.mean)} without it (every seed higher)`);
    }
  }
  if (reasons.length === 0)
    reasons.push('no field changed Recall@10 consistently across seeds: keep the default set');
  return {
    defaults: [...defaults],
    seeds,
    entries,
    ranking,
    recommendation: {
      fields: [...defaults.filter((f) => keep.has(f)), ...[...keep].filter((f) => !defaults.includes(f))],
      reasons,
    },
    uncertainty: FIELD_STUDY_UNCERTAINTY,
  };
}

/** The field study's rows from its complete trials. */
export function fieldRows(trials: readonly TrialRecord[]): FieldTrialFigures[] {
  return trials
    .filter((t) => t.state === 'COMPLETE' && typeof t.attrs.label === 'string' && t.attrs.figures)
    .map((t) => {
      const f = t.attrs.figures as {
        top5: number;
        recall10: number;
        mrr: number;
        ceiling: { top5: number; recall10: number; mrr: number };
      };
      return {
        label: t.attrs.label as string,
        fields: t.params.fields as string[],
        seed: t.params.seed as number,
        recall10: f.recall10,
        top5: f.top5,
        mrr: f.mrr,
        ceiling: f.ceiling,
      };
    });
}
