import { describe, expect, it } from 'vitest';
import {
  earlyStoppingFromJson,
  earlyStoppingToJson,
  initialEarlyStopping,
  updateEarlyStopping,
} from '../../src-main/training/early-stopping.ts';
import { learningRate, planSchedule } from '../../src-main/training/lr-schedule.ts';

describe('learning-rate schedule', () => {
  const s = { baseLr: 1e-3, warmupSteps: 4, totalSteps: 14, floorRatio: 0.1 };
  it('warms up linearly, peaks, then follows a cosine down to the floor', () => {
    expect([0, 1, 2, 3].map((i) => learningRate(s, i))).toEqual([2.5e-4, 5e-4, 7.5e-4, 1e-3]);
    expect(learningRate(s, 4)).toBeCloseTo(1e-3, 12);
    // Halfway through the 10 decay steps: the middle of floor and peak.
    expect(learningRate(s, 9)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(learningRate(s, 14)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 100)).toBeCloseTo(1e-4, 12);
    for (let i = 4; i < 14; i++) expect(learningRate(s, i + 1)).toBeLessThan(learningRate(s, i));
  });

  it('works without warm-up and plans from epochs', () => {
    expect(learningRate({ ...s, warmupSteps: 0 }, 0)).toBe(1e-3);
    expect(
      planSchedule({ baseLr: 1, warmupFraction: 0.05, floorRatio: 0, stepsPerEpoch: 10, epochs: 10 }),
    ).toEqual({
      baseLr: 1,
      warmupSteps: 5,
      totalSteps: 100,
      floorRatio: 0,
    });
    // A tiny run still warms up for one step but never for more than half of it.
    expect(
      planSchedule({ baseLr: 1, warmupFraction: 0.05, floorRatio: 0, stepsPerEpoch: 1, epochs: 2 })
        .warmupSteps,
    ).toBe(1);
    expect(
      planSchedule({ baseLr: 1, warmupFraction: 0.5, floorRatio: 0, stepsPerEpoch: 1, epochs: 1 })
        .warmupSteps,
    ).toBe(0);
  });
});

describe('early stopping', () => {
  it('stops after `patience` epochs without improvement and remembers the best epoch', () => {
    const st = initialEarlyStopping(2);
    expect(updateEarlyStopping(st, 1.0, 1)).toEqual({ improved: true, stop: false });
    expect(updateEarlyStopping(st, 0.8, 2)).toEqual({ improved: true, stop: false });
    expect(updateEarlyStopping(st, 0.8, 3)).toEqual({ improved: false, stop: false }); // equal is no gain
    expect(updateEarlyStopping(st, 0.7, 4)).toEqual({ improved: true, stop: false });
    expect(updateEarlyStopping(st, 0.9, 5)).toEqual({ improved: false, stop: false });
    expect(updateEarlyStopping(st, 0.75, 6)).toEqual({ improved: false, stop: true });
    expect(st).toMatchObject({ best: 0.7, bestEpoch: 4, badEpochs: 2, stopped: true });
  });

  it('needs more than minDelta to count, never takes NaN as best, and survives JSON', () => {
    const st = initialEarlyStopping(3, 0.05);
    updateEarlyStopping(st, 1.0, 1);
    expect(updateEarlyStopping(st, 0.97, 2).improved).toBe(false);
    expect(updateEarlyStopping(st, Number.NaN, 3).improved).toBe(false);
    expect(st.best).toBe(1.0);
    const fresh = initialEarlyStopping(10);
    const json = JSON.parse(JSON.stringify(earlyStoppingToJson(fresh)));
    expect(json.best).toBeNull();
    expect(earlyStoppingFromJson(json)).toEqual(fresh);
  });
});
