import { describe, expect, it } from 'vitest';
import { type FieldTrialFigures, fieldStudyReport } from '../../../src-main/tuning/field-study.ts';
import { fieldStudySets } from '../../../src-main/tuning/search-space.ts';

const DEFAULTS = ['category', 'style', 'silhouette', 'material', 'detail'];

/** Scripted figures: color adds 10 points in every seed, print adds noise, removing category costs 5. */
function rows(): FieldTrialFigures[] {
  const out: FieldTrialFigures[] = [];
  for (const seed of [1, 2, 3]) {
    for (const s of fieldStudySets(DEFAULTS)) {
      let r = 0.4 + seed * 0.001;
      if (s.label === '+ color') r += 0.1;
      if (s.label === '+ print') r += seed === 2 ? -0.01 : 0.01;
      if (s.label === '− category') r -= 0.05;
      out.push({
        label: s.label,
        fields: s.fields,
        seed,
        recall10: r,
        top5: r - 0.1,
        mrr: r / 2,
        ceiling: { recall10: 0.9 + s.fields.length / 100, top5: 0.8, mrr: 0.7 },
      });
    }
  }
  return out;
}

describe('field study report', () => {
  it('pairs by seed, ranks the planted field first and recommends adding it', () => {
    const rep = fieldStudyReport(DEFAULTS, rows());
    expect(rep.seeds).toEqual([1, 2, 3]);
    expect(rep.ranking[0]).toMatchObject({ field: 'color', consistent: true });
    expect(rep.ranking[0]!.effect).toBeCloseTo(0.1, 10);
    expect(rep.ranking[1]).toMatchObject({ field: 'category', consistent: true });
    const print = rep.entries.find((e) => e.label === '+ print')!;
    expect(print.delta!.recall10.consistent).toBe(false);
    expect(rep.recommendation.fields).toEqual([...DEFAULTS, 'color']);
    expect(rep.recommendation.reasons.join(' ')).toMatch(/add color: Recall@10 \+10\.0 pts/);
    const color = rep.entries.find((e) => e.label === '+ color')!;
    expect(color.ceiling.recall10).toBeCloseTo(0.96, 10);
    expect(color.delta!.top5.mean).toBeCloseTo(0.1, 10);
  });
});
