/**
 * Hooks for run logs beside the run folder's own files (e.g. TensorBoard event files in
 * runs/<id>/tensorboard/): the trainer calls each logger at the start, after every optimiser step,
 * after every epoch's validation and at the end. A logger that throws stops the run like any other
 * error, so a logger should catch what it can live without.
 */
import type { EpochRecord } from './checkpoints.ts';
import type { TrainConfig } from './train-config.ts';

export interface RunLogStart {
  runId: string;
  /** Absolute path of runs/<id>/. */
  dir: string;
  config: TrainConfig;
  startedAt: string;
  /** The epoch a resumed run continues after (0 for a new run). */
  startEpoch: number;
  stepsPerEpoch: number;
}

export interface RunLogStep {
  runId: string;
  epoch: number;
  /** Optimiser steps completed, over the whole run. */
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export interface RunLogEnd {
  runId: string;
  status: 'done' | 'stopped' | 'failed';
  history: EpochRecord[];
  bestEpoch: number;
  /** training_charts.png, when the run has at least one epoch. */
  chartsPng: Uint8Array | null;
  error?: string;
}

export interface RunLogger {
  start?(info: RunLogStart): void | Promise<void>;
  step?(s: RunLogStep): void;
  epoch?(runId: string, record: EpochRecord): void | Promise<void>;
  end?(info: RunLogEnd): void | Promise<void>;
}
