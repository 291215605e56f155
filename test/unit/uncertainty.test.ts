import { describe, expect, it } from 'vitest';
import { MIN_QUERIES, tooFewQueries, wilsonFromCount, wilsonInterval } from '../../src-shared/uncertainty.ts';

describe('Wilson score interval (95 %)', () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3
  // (score interval without continuity correction).
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('%i of %i → [%f, %f] as published', (x, n, low, high) => {
    const ci = wilsonFromCount(x, n)!;
    expect(ci.low).toBeCloseTo(low, 4);
    expect(ci.high).toBeCloseTo(high, 4);
  });

  it('stays inside [0, 1] and keeps width at 0 % and 100 %, where the normal interval collapses', () => {
    const all = wilsonFromCount(10, 10)!;
    expect(all.high).toBe(1);
    expect(all.low).toBeCloseTo(0.7225, 4);
    const none = wilsonInterval(0, 10)!;
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.2775, 4);
  });

  it('narrows as the number of queries grows and always contains the observed share', () => {
    const small = wilsonInterval(0.3, 20)!;
    const large = wilsonInterval(0.3, 2000)!;
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    for (const ci of [small, large]) {
      expect(ci.low).toBeLessThan(0.3);
      expect(ci.high).toBeGreaterThan(0.3);
    }
  });

  it('takes a share that is not a multiple of 1/n (an in-batch mean) and refuses n = 0', () => {
    expect(wilsonInterval(0.333, 64)).not.toBeNull();
    expect(wilsonInterval(0.5, 0)).toBeNull();
    expect(wilsonInterval(Number.NaN, 10)).toBeNull();
    expect(wilsonFromCount(0, 0)).toBeNull();
  });

  it('marks figures from fewer than 20 queries', () => {
    expect(MIN_QUERIES).toBe(20);
    expect(tooFewQueries(19)).toBe(true);
    expect(tooFewQueries(20)).toBe(false);
  });
});
