/**
 * A fact a job announces with a progress event, typed so a reader acts on it without parsing the
 * phase text (which is for people): `epoch-end` when a training epoch's validation, checkpoints and
 * results file are written (the Train tab then reads the results back for its charts).
 */
export type JobEvent = { kind: 'epoch-end'; epoch: number };

/** The progress event every long operation emits; the CLI draws it as a bar, the UI as a bar and charts. */
export interface JobProgress {
  job: string; // job id
  phase: string; // e.g. 'scan', 'split', 'crop', 'epoch 3/10'
  step: number;
  total: number; // 0 when unknown
  elapsedMs: number;
  etaMs: number | null;
  metrics: Record<string, number>;
  /** Present on the progress call that announces it (never throttled away). */
  event?: JobEvent;
  /** Training jobs only: where the run stands, typed (the phase text is for people). */
  train?: TrainProgressDetail;
}

/**
 * Where a training run stands at a progress event: the epoch under way of the run's planned epochs
 * (a resumed run counts from its first epoch), its stage, and during the training stage the global
 * optimiser step and that step's own loss (metrics.loss is the epoch's running mean).
 */
export interface TrainProgressDetail {
  epoch: number;
  epochs: number;
  stage: 'train' | 'validate';
  globalStep?: number;
  stepLoss?: number;
}

/** The typed extras of a progress call: an announced fact, and a training run's position. */
export interface ProgressDetail {
  event?: JobEvent;
  train?: TrainProgressDetail;
}

/** What a core function reports while it works; the jobs layer adds timing and ETA to make a JobProgress. */
export type ProgressFn = (
  phase: string,
  step: number,
  total: number,
  metrics?: Record<string, number>,
  detail?: ProgressDetail,
) => void;

/** Options every long core operation takes. */
export interface WorkOptions {
  signal?: AbortSignal;
  onProgress?: ProgressFn;
}

/** Raised by a cancelled operation after it has stored what it finished. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}
