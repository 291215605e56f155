/**
 * The trainer's side of TensorBoard: `tensorBoardLogger(dir)` turns the training's events (start,
 * step, epoch, charts) into event-file records under fixed tags, so every run's log reads the same in
 * `tensorboard --logdir <workspace>/runs`:
 *   config            the run's settings as a markdown table (text plugin), at step 0
 *   train/loss, train/lr   per training step
 *   epoch/<metric>    per epoch (validation loss, Top-1, ...), step = epoch; flushed to disk each epoch
 *   charts            the training charts PNG, at the last epoch seen
 */
import { openTensorBoardRun, type TensorBoardRun } from './event-file-writer.ts';

export interface TrainingLogger {
  onStart(config: unknown): void;
  onStep(step: number, loss: number, lr: number): void;
  onEpoch(epoch: number, metrics: Record<string, number>): void;
  onCharts(pngBytes: Buffer): void;
  close(): void;
}

export function tensorBoardLogger(dir: string): TrainingLogger & { readonly path: string } {
  const run: TensorBoardRun = openTensorBoardRun(dir);
  let lastEpoch = 0;
  return {
    path: run.path,
    onStart(config) {
      run.text('config', configMarkdown(config), 0);
      run.flush();
    },
    onStep(step, loss, lr) {
      run.scalar('train/loss', loss, step);
      run.scalar('train/lr', lr, step);
    },
    onEpoch(epoch, metrics) {
      lastEpoch = epoch;
      for (const [name, value] of Object.entries(metrics)) {
        if (typeof value === 'number') run.scalar(`epoch/${name}`, value, epoch);
      }
      run.flush();
    },
    onCharts(pngBytes) {
      run.image('charts', pngBytes, lastEpoch);
      run.flush();
    },
    close() {
      run.close();
    },
  };
}

/** Settings as a two-column markdown table, nested objects flattened to dotted names. */
export function configMarkdown(config: unknown): string {
  const rows: [string, string][] = [];
  const walk = (value: unknown, name: string): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0 && name) rows.push([name, '{}']);
      for (const [k, v] of entries) walk(v, name ? `${name}.${k}` : k);
    } else {
      rows.push([name || '(value)', JSON.stringify(value) ?? String(value)]);
    }
  };
  walk(config, '');
  // A pipe would end a table cell; a newline would end the row.
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| setting | value |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
  ].join('\n');
}
