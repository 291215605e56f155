/**
 * Learning-rate schedule: linear warm-up from near zero to the base rate, then a half cosine down to a
 * floor. Warm-up keeps AdamW's first, badly-estimated moments from throwing the freshly initialised
 * tables around; the cosine tail lets the model settle instead of bouncing around a minimum.
 *
 * Steps are optimiser steps counted from 0; the rate returned is the one used *for* that step.
 */

export interface LrSchedule {
  /** Peak rate, reached at the end of the warm-up. */
  baseLr: number;
  /** Optimiser steps of linear warm-up (0 = none). */
  warmupSteps: number;
  /** Steps the cosine is planned over (warm-up included): the whole run if it is not stopped early. */
  totalSteps: number;
  /** The rate at the end of the cosine, as a fraction of `baseLr` (e.g. 0.01). */
  floorRatio: number;
}

export function learningRate(s: LrSchedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) {
    // (step + 1) rather than step: the very first update already moves a little, never with lr 0.
    return (s.baseLr * (step + 1)) / s.warmupSteps;
  }
  const floor = s.baseLr * s.floorRatio;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, Math.max(0, (step - s.warmupSteps) / decaySteps));
  return floor + 0.5 * (s.baseLr - floor) * (1 + Math.cos(Math.PI * t));
}

/**
 * The schedule of a run: warm-up over `warmupFraction` of the planned steps (at least one step when the
 * fraction is positive, at most half the run).
 */
export function planSchedule(opts: {
  baseLr: number;
  warmupFraction: number;
  floorRatio: number;
  stepsPerEpoch: number;
  epochs: number;
}): LrSchedule {
  const totalSteps = Math.max(1, opts.stepsPerEpoch * opts.epochs);
  const warm = opts.warmupFraction > 0 ? Math.max(1, Math.round(totalSteps * opts.warmupFraction)) : 0;
  return {
    baseLr: opts.baseLr,
    warmupSteps: Math.min(warm, Math.floor(totalSteps / 2)),
    totalSteps,
    floorRatio: opts.floorRatio,
  };
}
