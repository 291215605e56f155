/**
 * `npm run bench -- tune [--trials N] [--scale small|seed]`: a study of the quick preset on the demo
 * workspace, run twice — locally (trials one after another in this process) and on the trial queue
 * with two local `kfashion worker` processes (a redis-server is started on 127.0.0.1 at a free port;
 * the row is skipped, with the reason, when redis-server is not on PATH). For each: trials per
 * minute and, per trial, the tuning overhead beyond its training (trial wall time in the study store
 * minus the trainer's time: sampling, the study store, opening and evaluating the best checkpoint,
 * and on the queue the hand-offs through Redis). Target: < 1 s of overhead per trial.
 * Figures on a shared, loaded machine are noisy: compare rows of one run, not runs of different days.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { importDemoEmbeddings } from '../src-main/services/demo-workspace.ts';
import { createDemoDataset, Workbench } from '../src-main/services/workbench.ts';
import type { TrialRecord } from '../src-main/store/studies-store.ts';
import { ensureQueueName, QUEUE_PREFIX } from '../src-main/tuning/trial-queue.ts';
import { emit } from './machine.ts';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : null;
};

function perTrial(trials: TrialRecord[]) {
  return trials.map((t) => {
    const total = Date.parse(t.finishedAt ?? '') - Date.parse(t.startedAt ?? '');
    const train = Number(t.attrs.train_ms ?? Number.NaN);
    const evalMs = Number(t.attrs.eval_ms ?? Number.NaN);
    return {
      number: t.number,
      state: t.state,
      total_ms: total,
      train_ms: train,
      eval_ms: evalMs,
      overhead_ms: total - train,
      overhead_without_eval_ms: total - train - evalMs,
    };
  });
}

function summary(trials: TrialRecord[], wallMs: number) {
  const per = perTrial(trials);
  const overheads = per.map((p) => p.overhead_ms).filter(Number.isFinite);
  return {
    trials: trials.length,
    wall_s: Math.round(wallMs / 100) / 10,
    trials_per_minute: Math.round((trials.length / (wallMs / 60000)) * 10) / 10,
    overhead_ms_median: median(overheads),
    overhead_ms_max: overheads.length ? Math.max(...overheads) : null,
    eval_ms_median: median(per.map((p) => p.eval_ms)),
    overhead_without_eval_ms_median: median(per.map((p) => p.overhead_without_eval_ms)),
    per_trial: per,
  };
}

async function freePort(): Promise<number> {
  return await new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));

export async function tuneBench(args: string[]): Promise<void> {
  const trials = Number(option(args, '--trials') ?? '6');
  const scale = (option(args, '--scale') ?? 'small') as 'seed' | 'small';
  const root = mkdtempSync(join(tmpdir(), 'kf-tune-bench-'));
  const study = {
    preset: 'priority1' as const,
    trials,
    sampler: 'tpe' as const,
    pruner: 'none' as const,
    quick: true,
    overrides: { epochs: 2, patience: 1 },
  };
  const children: ChildProcess[] = [];
  try {
    const dataDir = join(root, 'data');
    await createDemoDataset({ outDir: dataDir, seed: 7, scale });
    const wsDir = join(root, 'ws');
    const wb = Workbench.open(wsDir);
    try {
      await wb.scan({ data: dataDir });
      await importDemoEmbeddings(wb, dataDir);
      const t0 = performance.now();
      const local = await wb.tune({ name: 'bench-local', ...study });
      const localRow = summary(local.trials, performance.now() - t0);

      let queueRow: Record<string, unknown>;
      const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
      if (!haveRedis) {
        queueRow = { skipped: 'redis-server is not on PATH (apt-get install redis-server)' };
      } else {
        const port = await freePort();
        const redis = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
          { stdio: 'ignore' },
        );
        children.push(redis);
        const url = `redis://127.0.0.1:${port}`;
        for (
          let i = 0;
          spawnSync('redis-cli', ['-p', String(port), 'ping'])
            .stdout?.toString()
            .trim() !== 'PONG';
          i++
        ) {
          if (i > 100) throw new Error('redis-server did not start');
          await sleep(100);
        }
        // The real CLI next to this bench build (dist/bench-cli.js → bin/kfashion.js).
        const bin = resolve(dirname(process.argv[1] ?? '.'), '..', 'bin', 'kfashion.js');
        // The workspace's queue name first, so the workers connect to it before the study starts: their
        // start-up (loading the CLI) is not the tuning overhead measured here.
        const queueName = ensureQueueName(wsDir);
        for (let w = 0; w < 2; w++) {
          children.push(
            spawn(process.execPath, [bin, 'worker', '--queue', url, '--workspace', wsDir], {
              stdio: 'ignore',
            }),
          );
        }
        const probe = new Queue(queueName, { connection: { host: '127.0.0.1', port }, prefix: QUEUE_PREFIX });
        try {
          for (let i = 0; (await probe.getWorkersCount()) < 2; i++) {
            if (i > 600) throw new Error('the two workers did not connect within a minute');
            await sleep(100);
          }
        } finally {
          await probe.close();
        }
        const t1 = performance.now();
        const queued = await wb.tune({ name: 'bench-queue', ...study, queue: url, parallel: 2 });
        queueRow = summary(queued.trials, performance.now() - t1);
      }
      emit({
        bench: 'tune',
        scale,
        preset: 'priority1, quick, 2 epochs, no pruning',
        target: '< 1000 ms of tuning overhead per trial beyond its training',
        overhead:
          'trial wall time (study store) minus the trainer time; includes the gallery evaluation of the best checkpoint (eval_ms) and, on the queue, the Redis hand-offs',
        note: 'figures from a machine running other work are noisy: compare rows of one run',
        local: localRow,
        two_local_workers: queueRow,
      });
    } finally {
      wb.close();
    }
  } finally {
    for (const c of children.reverse()) {
      c.kill('SIGTERM');
      await Promise.race([exited(c), sleep(15000)]);
      c.kill('SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  }
}
