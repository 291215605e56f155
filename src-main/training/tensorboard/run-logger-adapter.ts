/**
 * Every run's TensorBoard log: plugs the event-file writer (training-logger.ts) into the trainer's
 * run-logging hook (run-logger.ts), writing `runs/<id>/tensorboard/events.out.tfevents.*`, so
 * `tensorboard --logdir <workspace>/runs` shows and compares runs with the tool researchers know.
 *
 * [Note: The TensorBoard log never stops a run]
 * The event files are a second copy of what the run folder already holds (history, charts, config).
 * A failure to write them (a full disk, a read-only folder) is reported once on stderr and the
 * logger goes quiet; the run itself carries on. A resumed run opens a new event file in the same
 * folder, which TensorBoard reads as one run (its steps continue where the earlier file stopped).
 */
import { join } from 'node:path';
import type { RunLogger } from '../run-logger.ts';
import { type TrainingLogger, tensorBoardLogger } from './training-logger.ts';

export function tensorBoardRunLogger(warn: (message: string) => void = defaultWarn): RunLogger {
  let log: (TrainingLogger & { readonly path: string }) | null = null;
  let failed = false;
  const guard = (what: string, fn: () => void) => {
    if (failed || !log) return;
    try {
      fn();
    } catch (e) {
      failed = true;
      warn(
        `TensorBoard log ${log.path}: ${what} failed (${(e as Error).message}); the run goes on without it`,
      );
      try {
        log.close();
      } catch {
        // Already failing: the warning above says so.
      }
      log = null;
    }
  };
  return {
    start(info) {
      try {
        log = tensorBoardLogger(join(info.dir, 'tensorboard'));
      } catch (e) {
        failed = true;
        warn(
          `TensorBoard log in ${join(info.dir, 'tensorboard')} cannot be opened (${(e as Error).message}); the run goes on without it`,
        );
        return;
      }
      guard('writing the config', () =>
        log?.onStart({ run_id: info.runId, started_at: info.startedAt, ...info.config }),
      );
    },
    step(s) {
      guard('writing a step', () => log?.onStep(s.step, s.loss, s.lr));
    },
    epoch(_runId, record) {
      const metrics: Record<string, number> = {};
      for (const [k, v] of Object.entries(record)) {
        if (typeof v === 'number' && Number.isFinite(v) && k !== 'epoch' && k !== 'step') metrics[k] = v;
      }
      guard('writing an epoch', () => log?.onEpoch(record.epoch, metrics));
    },
    end(info) {
      if (info.chartsPng) {
        const png = Buffer.from(info.chartsPng.buffer, info.chartsPng.byteOffset, info.chartsPng.byteLength);
        guard('writing the charts', () => log?.onCharts(png));
      }
      guard('closing', () => log?.close());
      log = null;
    },
  };
}

function defaultWarn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
