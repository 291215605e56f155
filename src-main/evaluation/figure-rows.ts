/**
 * How evaluation figures are written for people, shared by the CLI's tables and the HTML report so
 * both show the same rows, the same rounding and the same mark for a missing value.
 */
import type { RetrievalFigures } from '../../src-shared/evaluation.ts';

/** A share as a percentage with one decimal; '–' when there is no figure. */
export const formatPct = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`;

/** A plain number with `d` decimals; '–' when there is no figure. */
export const formatNum = (v: number | null | undefined, d = 3): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d);

/** The headline rows: each Recall@K and MRR beside its ceiling and as a % of it (EVALUATION.md). */
export function headlineRows(f: RetrievalFigures, labels: Record<'1' | '5' | '10', string>): string[][] {
  return [
    ...(['1', '5', '10'] as const).map((k) => [
      labels[k],
      formatPct(f.recall[k]),
      formatPct(f.ceiling.recall[k]),
      formatPct(f.of_ceiling.recall[k]),
    ]),
    ['MRR', formatNum(f.mrr), formatNum(f.ceiling.mrr), formatPct(f.of_ceiling.mrr)],
  ];
}

/** Labels of the headline rows for a protocol, e.g. "Top-5 (in-batch, B=64)" (the image → JSON table). */
export function protocolLabels(protocolLabel: string): Record<'1' | '5' | '10', string> {
  return {
    '1': `Top-1 (${protocolLabel})`,
    '5': `Top-5 (${protocolLabel})`,
    '10': `Recall@10 (${protocolLabel})`,
  };
}
