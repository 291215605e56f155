/**
 * A tqdm-style progress line on stderr:
 *   scan |██████████▌         | 1234/2188 [00:01<00:01, 4521.3/s] files=1234
 * Hand-written rather than cli-progress because it must draw our JobProgress events as they come
 * (phase changes, unknown totals, metrics) and degrade to periodic plain lines when stderr is not a
 * terminal (CI logs, pipes), which is a few lines either way.
 */
import type { JobProgress } from '../../src-shared/jobs.ts';
import { formatDuration } from './terminal-text.ts';

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * One bar line. `phaseStart` is the event that opened this phase: like tqdm, the elapsed time and the
 * rate are the phase's own (epoch 9 of a long run shows its own steps/s, not the run's average).
 */
export function renderBar(
  e: JobProgress,
  phaseStart: { elapsedMs: number; step: number } = { elapsedMs: 0, step: 0 },
  width = 24,
): string {
  const frac = e.total > 0 ? Math.min(1, e.step / e.total) : 0;
  const cells = frac * width;
  const full = Math.floor(cells);
  const partial = BLOCKS[Math.floor((cells - full) * 8)] ?? '';
  const bar = `${'█'.repeat(full)}${partial}`.padEnd(width, ' ');
  const phaseMs = e.elapsedMs - phaseStart.elapsedMs;
  const rate = phaseMs > 0 ? (e.step - phaseStart.step) / (phaseMs / 1000) : 0;
  const counts = e.total > 0 ? `${e.step}/${e.total}` : `${e.step}`;
  const eta = e.etaMs === null ? '?' : formatDuration(e.etaMs);
  const metrics = Object.entries(e.metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(' ');
  const pct = e.total > 0 ? `${Math.floor(frac * 100)}%`.padStart(4) : '';
  return `${e.phase} ${pct}|${bar}| ${counts} [${formatDuration(phaseMs)}<${eta}, ${rate.toFixed(1)}/s]${metrics ? ` ${metrics}` : ''}`;
}

export class ProgressBar {
  private lastPlain = 0;
  private lastPhase = '';
  private drawn = false;
  private phaseStart = { elapsedMs: 0, step: 0 };
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  readonly update = (e: JobProgress): void => {
    if (this.quiet) return;
    if (e.phase !== this.lastPhase) this.phaseStart = { elapsedMs: e.elapsedMs, step: e.step };
    const line = renderBar(e, this.phaseStart);
    if (this.stream.isTTY) {
      if (e.phase !== this.lastPhase && this.drawn) this.stream.write('\n');
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      // Plain logs: one line at most every 5 s, plus the end of each phase.
      const now = Date.now();
      const phaseEnd = e.total > 0 && e.step >= e.total;
      if (phaseEnd || e.phase !== this.lastPhase || now - this.lastPlain > 5000) {
        this.stream.write(`${line}\n`);
        this.lastPlain = now;
      }
    }
    this.lastPhase = e.phase;
  };

  /** Ends the bar's line so the next output starts on a fresh one. */
  done(): void {
    if (this.drawn && this.stream.isTTY) this.stream.write('\n');
    this.drawn = false;
  }
}
