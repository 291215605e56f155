/**
 * The per-step training loss kept with each epoch's record, so the Train tab can draw the loss step by
 * step (with TensorBoard-style smoothing) beside the per-epoch validation loss, and a reload or another
 * window sees the same curve.
 *
 * [Note: step-loss buckets] An epoch keeps at most STEP_LOSS_POINTS points: with more steps than that,
 * consecutive steps are averaged in equal buckets (the last one may be shorter). At 1.2M garments and
 * batch 128 an epoch has ~9,400 steps; keeping every one for 100 epochs would put about a million
 * numbers into training_results.json and every checkpoint's resume state, while a chart a few hundred
 * pixels wide cannot show more than a few hundred points per epoch anyway. Each point is
 * [global step at the bucket's end, mean loss of the bucket].
 */

export const STEP_LOSS_POINTS = 256;

export type StepLossPoint = [step: number, loss: number];

export class StepLossTrace {
  private readonly every: number;
  private readonly points: StepLossPoint[] = [];
  private sum = 0;
  private n = 0;

  /** `steps`: the epoch's number of optimiser steps (fixes the bucket size). */
  constructor(steps: number, maxPoints = STEP_LOSS_POINTS) {
    this.every = Math.max(1, Math.ceil(steps / Math.max(1, maxPoints)));
  }

  /** One optimiser step's loss; `globalStep` counts steps since the run began (1-based). */
  add(globalStep: number, loss: number): void {
    this.sum += loss;
    this.n++;
    if (this.n === this.every) this.flush(globalStep);
  }

  /** The points so far, the last partial bucket included (at `globalStep`, the last step added). */
  finish(globalStep: number): StepLossPoint[] {
    if (this.n > 0) this.flush(globalStep);
    return this.points;
  }

  private flush(globalStep: number): void {
    this.points.push([globalStep, this.sum / this.n]);
    this.sum = 0;
    this.n = 0;
  }
}
