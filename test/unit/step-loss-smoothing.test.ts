import { describe, expect, it } from 'vitest';
import { STEP_LOSS_POINTS, StepLossTrace } from '../../src-main/training/step-loss.ts';
import { emaSmooth } from '../../src-renderer/src/lib/chart-data.ts';

describe('per-step loss kept with each epoch', () => {
  it('keeps every step when an epoch is short, at its global step', () => {
    const t = new StepLossTrace(3);
    t.add(11, 2);
    t.add(12, 1.5);
    t.add(13, 1);
    expect(t.finish(13)).toEqual([
      [11, 2],
      [12, 1.5],
      [13, 1],
    ]);
  });

  it('averages consecutive steps into at most STEP_LOSS_POINTS buckets, the last one partial', () => {
    const steps = STEP_LOSS_POINTS * 3 + 2;
    const t = new StepLossTrace(steps);
    for (let s = 1; s <= steps; s++) t.add(s, s);
    const points = t.finish(steps);
    expect(points.length).toBeLessThanOrEqual(STEP_LOSS_POINTS);
    // Buckets of 4 steps: 1..4 → mean 2.5 at step 4.
    expect(points[0]).toEqual([4, 2.5]);
    expect(points.at(-1)![0]).toBe(steps);
    // The bucket means weighted by their sizes give back the epoch's mean loss.
    const sizes = points.map((p, i) => p[0] - (i === 0 ? 0 : points[i - 1]![0]));
    const mean = points.reduce((a, p, i) => a + p[1] * sizes[i]!, 0) / steps;
    expect(mean).toBeCloseTo((steps + 1) / 2, 9);
  });
});

describe('TensorBoard-style smoothing', () => {
  it('is the raw series at weight 0 and leaves gaps as gaps', () => {
    expect(emaSmooth([3, null, 1], 0)).toEqual([3, null, 1]);
  });

  it('is debiased (the first point is itself) and lags a step change by the weight', () => {
    const s = emaSmooth([1, 1, 1, 0, 0], 0.5);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[2]).toBeCloseTo(1, 12);
    // After the drop: (0.5·0.875 + 0)/(1 - 0.5^4) = 0.4375 / 0.9375.
    expect(s[3]).toBeCloseTo(0.4375 / 0.9375, 12);
    expect(s[4]!).toBeLessThan(s[3]!);
    expect(s[4]!).toBeGreaterThan(0);
  });
});
