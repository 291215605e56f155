/**
 * Learning-rate schedules (the research plan's cosine, step and exponential), each after an optional
 * linear warm-up. Steps are optimiser steps counted from 0; the rate returned is the one used *for*
 * that step. Step and exponential decay per epoch (like torch.optim.lr_scheduler.StepLR /
 * ExponentialLR stepped once an epoch), counted from the end of the warm-up.
 */
import type { EncoderOptim } from '../../../src-shared/encoder-config.ts';

export interface SchedulePlan {
  kind: EncoderOptim['scheduler'];
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** cosine: final rate as a fraction of baseLr. */
  floorRatio: number;
  /** step: epochs between decays. */
  stepEvery: number;
  /** step / exponential: decay factor. */
  gamma: number;
}

export function planLrSchedule(
  o: Pick<EncoderOptim, 'scheduler' | 'warmup' | 'lrFloor' | 'stepEvery' | 'gamma'>,
  baseLr: number,
  stepsPerEpoch: number,
  epochs: number,
): SchedulePlan {
  const totalSteps = Math.max(1, stepsPerEpoch * epochs);
  const warm = o.warmup > 0 ? Math.max(1, Math.round(totalSteps * o.warmup)) : 0;
  return {
    kind: o.scheduler,
    baseLr,
    warmupSteps: Math.min(warm, Math.floor(totalSteps / 2)),
    totalSteps,
    stepsPerEpoch: Math.max(1, stepsPerEpoch),
    floorRatio: o.lrFloor,
    stepEvery: o.stepEvery,
    gamma: o.gamma,
  };
}

export function scheduledLr(s: SchedulePlan, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.baseLr * (step + 1)) / s.warmupSteps;
  const after = step - s.warmupSteps;
  switch (s.kind) {
    case 'constant':
      return s.baseLr;
    case 'cosine': {
      const floor = s.baseLr * s.floorRatio;
      const t = Math.min(1, Math.max(0, after / Math.max(1, s.totalSteps - s.warmupSteps)));
      return floor + 0.5 * (s.baseLr - floor) * (1 + Math.cos(Math.PI * t));
    }
    case 'step': {
      const epoch = Math.floor(after / s.stepsPerEpoch);
      return s.baseLr * s.gamma ** Math.floor(epoch / s.stepEvery);
    }
    case 'exponential':
      return s.baseLr * s.gamma ** Math.floor(after / s.stepsPerEpoch);
  }
}
