import { describe, expect, it } from 'vitest';
import { anchorOrder, centralityOf, centralityStats } from '../../src-main/evaluation/centrality.ts';

describe('embedding centrality', () => {
  it('centre = normalised mean of the normalised vectors; centrality = cosine to it', () => {
    // (2,0) counts as (1,0): rows are normalised first.
    const { centre, values } = centralityOf(Float32Array.from([1, 0, 0, 1, 2, 0]), 2);
    expect(centre[0]).toBeCloseTo(2 / Math.sqrt(5), 6);
    expect(centre[1]).toBeCloseTo(1 / Math.sqrt(5), 6);
    expect(values[0]).toBeCloseTo(2 / Math.sqrt(5), 6);
    expect(values[1]).toBeCloseTo(1 / Math.sqrt(5), 6);
    expect(values[2]).toBeCloseTo(2 / Math.sqrt(5), 6);
  });

  it('the anchor set is the top 10 % (rounded up), ties broken by id', () => {
    const values = [0.5, 0.9, 0.9, 0.1, 0.7, 0.3, 0.2, 0.6, 0.4, 0.8, 0.05];
    const ids = values.map((_, i) => `item${String(i).padStart(2, '0')}`);
    const { order, count } = anchorOrder(values, ids);
    expect(count).toBe(2); // ⌈1.1⌉
    expect(order.slice(0, 3)).toEqual([1, 2, 9]);
    // Same values, ids reversed: the tie goes the other way.
    const { order: o2 } = anchorOrder(values, [...ids].reverse());
    expect(o2.slice(0, 2)).toEqual([2, 1]);
    expect(anchorOrder(values.slice(0, 10), ids.slice(0, 10)).count).toBe(1);
  });

  it('statistics: mean, min, max, population std; the anchor mean exceeds the overall mean', () => {
    const values = [0.2, 0.4, 0.6, 0.8];
    const all = centralityStats(values);
    expect(all).toEqual({
      count: 4,
      mean: expect.closeTo(0.5, 12),
      min: 0.2,
      max: 0.8,
      std: expect.closeTo(Math.sqrt(0.05), 12),
    });
    const top = centralityStats(values, [3, 2]);
    expect(top.mean).toBeCloseTo(0.7, 12);
    expect(top.mean).toBeGreaterThan(all.mean);
    expect(centralityStats([], []).count).toBe(0);
  });

  it('a planted cluster is central, an outlier is not', () => {
    // Nine vectors around (1, 1, 0) and one at (0, 0, 1).
    const rows: number[][] = [];
    for (let i = 0; i < 9; i++) rows.push([1, 1 + (i - 4) * 0.05, 0.01 * i]);
    rows.push([0, 0, 1]);
    const { values } = centralityOf(Float32Array.from(rows.flat()), 3);
    const { order } = anchorOrder(
      values,
      rows.map((_, i) => `r${i}`),
    );
    expect(order.at(-1)).toBe(9);
    expect(values[9]).toBeLessThan(0.2);
    expect(Math.min(...Array.from(values).slice(0, 9))).toBeGreaterThan(0.95);
  });

  it('refuses vectors that cancel out', () => {
    expect(() => centralityOf(Float32Array.from([1, 0, -1, 0]), 2)).toThrow('no centre');
  });
});
