/**
 * Turns a core function's bare progress calls into JobProgress events: elapsed time, an ETA from the
 * rate so far in the current phase, and throttling so a hot loop does not flood the CLI or the IPC
 * channel (the last step of a phase, and any call carrying a typed event, always gets through).
 */
import type { JobProgress, ProgressFn } from '../../src-shared/jobs.ts';

export type ProgressListener = (event: JobProgress) => void;

export function progressTracker(job: string, listener: ProgressListener, minIntervalMs = 100): ProgressFn {
  const start = performance.now();
  let phase = '';
  let phaseStart = start;
  let phaseFirstStep = 0;
  let lastEmit = -Infinity;
  return (nextPhase, step, total, metrics = {}, detail) => {
    const now = performance.now();
    if (nextPhase !== phase) {
      phase = nextPhase;
      phaseStart = now;
      phaseFirstStep = step;
      lastEmit = -Infinity;
    }
    const final = (total > 0 && step >= total) || detail?.event !== undefined;
    if (!final && now - lastEmit < minIntervalMs) return;
    lastEmit = now;
    const done = step - phaseFirstStep;
    const rate = done > 0 ? done / (now - phaseStart) : 0;
    listener({
      job,
      phase,
      step,
      total,
      elapsedMs: Math.round(now - start),
      etaMs: total > 0 && rate > 0 ? Math.round((total - step) / rate) : null,
      metrics,
      ...(detail?.event ? { event: detail.event } : {}),
      ...(detail?.train ? { train: detail.train } : {}),
    });
  };
}
