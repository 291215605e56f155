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
}

/** What a core function reports while it works; the jobs layer adds timing and ETA to make a JobProgress. */
export type ProgressFn = (
  phase: string,
  step: number,
  total: number,
  metrics?: Record<string, number>,
  event?: JobEvent,
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
