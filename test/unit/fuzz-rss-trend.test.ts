/** The API fuzzer's memory verdict (bench/api-fuzz.ts): medians of the early and late thirds. */
import { describe, expect, it } from 'vitest';
import { rssTrend } from '../../bench/api-fuzz.ts';

describe('rssTrend', () => {
  it('reads steady growth as growth (the web server before the job bound)', () => {
    const t = rssTrend([
      189, 224, 268, 273, 343, 430, 477, 561, 543, 594, 601, 642, 629, 640, 672, 708, 758, 811, 780, 577, 620,
    ]);
    expect(t!.late).toBeGreaterThan(t!.early * 1.34);
  });

  it('does not read one sample taken before a collection as growth', () => {
    const t = rssTrend([190, 192, 188, 191, 260, 189, 193, 190, 191]);
    expect(t).toEqual({ early: 190, late: 191 });
  });

  it('skips missing samples and needs two', () => {
    expect(rssTrend([null, 200])).toBeNull();
    expect(rssTrend([200, null, 210])).toEqual({ early: 200, late: 210 });
  });
});
