/**
 * `npm run bench -- tune [--trials N] [--scale small|seed]`: a study of the quick preset on the demo
 * workspace — trials per minute and, per trial, the tuning overhead beyond its training (sampling,
 * the study store, opening and evaluating the best checkpoint), from the times each trial records.
 * Target: < 1 s of overhead per trial. Trials spread over two local workers are not measured: the
 * queue runner does not exist yet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDemoEmbeddings } from '../src-main/services/demo-workspace.ts';
import { createDemoDataset, Workbench } from '../src-main/services/workbench.ts';
import { emit } from './machine.ts';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function tuneBench(args: string[]): Promise<void> {
  const trials = Number(option(args, '--trials') ?? '6');
  const scale = (option(args, '--scale') ?? 'small') as 'seed' | 'small';
  const root = mkdtempSync(join(tmpdir(), 'kf-tune-bench-'));
  try {
    const dataDir = join(root, 'data');
    await createDemoDataset({ outDir: dataDir, seed: 7, scale });
    const wb = Workbench.open(join(root, 'ws'));
    try {
      await wb.scan({ data: dataDir });
      await importDemoEmbeddings(wb, dataDir);
      const t0 = performance.now();
      const r = await wb.tune({
        name: 'bench',
        preset: 'priority1',
        trials,
        sampler: 'tpe',
        pruner: 'none',
        quick: true,
        overrides: { epochs: 2, patience: 1 },
      });
      const wallMs = performance.now() - t0;
      const per = r.trials.map((t) => {
        const total = Date.parse(t.finishedAt ?? '') - Date.parse(t.startedAt ?? '');
        const train = Number(t.attrs.train_ms ?? Number.NaN);
        return {
          number: t.number,
          state: t.state,
          total_ms: total,
          train_ms: train,
          overhead_ms: total - train,
          eval_ms: t.attrs.eval_ms,
        };
      });
      const overheads = per
        .map((p) => p.overhead_ms)
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      emit({
        bench: 'tune',
        scale,
        trials: r.trials.length,
        local_trials_per_minute: Math.round((r.trials.length / (wallMs / 60000)) * 10) / 10,
        overhead_ms_median: overheads[Math.floor(overheads.length / 2)] ?? null,
        overhead_ms_max: overheads.at(-1) ?? null,
        target: '< 1000 ms of tuning overhead per trial beyond its training',
        two_local_workers: 'not measured: the Redis/BullMQ queue runner is not built yet',
        per_trial: per,
      });
    } finally {
      wb.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
