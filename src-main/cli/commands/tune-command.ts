/** `kfashion tune` (a tuning study), `kfashion study show|list`, `kfashion baseline` (the ridge baseline). */
import type { Command } from 'commander';
import {
  METRIC_LABELS,
  PRESETS,
  PRUNERS,
  type PresetName,
  type PrunerName,
  SAMPLERS,
  type SamplerName,
  STUDY_METRICS,
  type StudyMetric,
} from '../../../src-shared/tuning.ts';
import type { BaselineResult } from '../../evaluation/baseline-run.ts';
import { BACKEND_NAMES, type TrainConfig } from '../../training/train-config.ts';
import type { FieldStudyReport } from '../../tuning/field-study.ts';
import { formatStudy } from '../../tuning/study-text.ts';
import type { TuneResult } from '../../tuning/tune-study.ts';
import { commaList, integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

interface TuneFlags {
  workspace: string;
  space?: string;
  preset?: PresetName;
  trials?: number;
  sampler?: SamplerName;
  pruner?: PrunerName;
  metric?: StudyMetric;
  seed?: number;
  timeout?: number;
  name?: string;
  resume?: string;
  fieldSeeds?: string[];
  epochs?: number;
  batchSize?: number;
  backend?: TrainConfig['backend'];
  model?: string;
  quick?: boolean;
  json?: boolean;
  queue?: string;
  parallel?: number;
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`;

export function formatFieldStudy(r: FieldStudyReport): string {
  const out = [
    `Field study: each set trained with the same settings under seeds ${r.seeds.join(', ')}; ${r.uncertainty}`,
    '',
    table(
      [
        'set',
        'R@10',
        'ceiling',
        'Δ R@10 (min…max)',
        'Top-5',
        'ceiling',
        'Δ Top-5',
        'MRR',
        'ceiling',
        'Δ MRR',
        'all seeds agree',
      ],
      r.entries.map((e) => [
        e.label,
        pct(e.mean.recall10),
        pct(e.ceiling.recall10),
        e.delta
          ? `${pts(e.delta.recall10.mean)} (${pts(e.delta.recall10.min)}…${pts(e.delta.recall10.max)})`
          : '—',
        pct(e.mean.top5),
        pct(e.ceiling.top5),
        e.delta ? pts(e.delta.top5.mean) : '—',
        e.mean.mrr.toFixed(3),
        e.ceiling.mrr.toFixed(3),
        e.delta ? pts(e.delta.mrr.mean) : '—',
        e.delta ? (e.delta.recall10.consistent ? 'yes' : 'no') : '',
      ]),
    ),
    '',
    `Fields by what they add to Recall@10: ${r.ranking.map((x) => `${x.field} ${pts(x.effect)}${x.consistent ? '' : '?'}`).join(', ')}`,
    `Recommendation: use ${r.recommendation.fields.join(', ')}`,
    ...r.recommendation.reasons.map((s) => `  ${s}`),
  ];
  return out.join('\n');
}

function formatTune(r: TuneResult, workspace: string): string {
  const label = `${METRIC_LABELS[r.study.metric as StudyMetric]} (${r.study.protocol})`;
  const out = [
    `Study ${r.study.name}: ${r.study.status}; ${r.ran} trial(s) run now, ${r.trials.length} in the study.`,
  ];
  for (const s of r.stages) {
    out.push(
      `  stage ${s.name}: best ${s.best ? `trial ${s.best.number}, ${label} ${s.best.value!.toFixed(4)}` : 'none'}`,
    );
  }
  if (r.best) {
    const ceiling = r.best.attrs.ceiling as number | undefined;
    out.push(
      `Best: trial ${r.best.number}, ${label} ${r.best.value!.toFixed(4)}${ceiling !== undefined ? ` (ceiling ${ceiling.toFixed(4)})` : ''}, run ${r.best.runId ?? '—'}`,
    );
  }
  if (r.fieldStudy) out.push('', formatFieldStudy(r.fieldStudy));
  if (r.stoppedBy === 'timeout')
    out.push(
      `Stopped by --timeout; go on with: kfashion tune --workspace ${workspace} --resume ${r.study.name}`,
    );
  out.push(`Details: kfashion study show ${r.study.name} --workspace ${workspace}`);
  return out.join('\n');
}

export function formatBaseline(b: BaselineResult): string {
  const f = b.figures;
  return [
    `Ridge baseline run ${b.runId} (run ${b.seq}): fields ${b.fields.join(', ')}; ${b.train} train / ${b.val} val items; ${b.model}${b.synthetic ? ' (SYNTHETIC embeddings)' : ''}; ${b.ms} ms`,
    `λ = ${b.lambda.toPrecision(3)} (${b.relativeLambda} × mean diagonal), chosen on validation by ${b.selectedBy} from ${b.tried.map((t) => t.relativeLambda).join(', ')}`,
    '',
    table(
      ['JSON → image (' + b.protocol + ')', 'value', 'ceiling', '% of ceiling'],
      [
        [
          'Top-1',
          pct(f.recall['1']),
          pct(f.ceiling.recall['1']),
          f.of_ceiling.recall['1'] === null ? '—' : pct(f.of_ceiling.recall['1']!),
        ],
        [
          'Top-5',
          pct(f.recall['5']),
          pct(f.ceiling.recall['5']),
          f.of_ceiling.recall['5'] === null ? '—' : pct(f.of_ceiling.recall['5']!),
        ],
        [
          'Recall@10',
          pct(f.recall['10']),
          pct(f.ceiling.recall['10']),
          f.of_ceiling.recall['10'] === null ? '—' : pct(f.of_ceiling.recall['10']!),
        ],
        [
          'MRR',
          f.mrr.toFixed(3),
          f.ceiling.mrr.toFixed(3),
          f.of_ceiling.mrr === null ? '—' : pct(f.of_ceiling.mrr),
        ],
      ],
    ),
    '',
    `Written: ${b.file}`,
  ].join('\n');
}

export function registerTuneCommands(program: Command): void {
  program
    .command('tune')
    .description(
      'Tuning study: each trial trains a run (kind tune, tagged with the study) with sampled settings; TPE/random/grid sampling, ASHA/median pruning on per-epoch validation figures; stored in the workspace and resumable.',
    )
    .requiredOption('--workspace <dir>', 'a workspace with a scan and image embeddings')
    .option(
      '--space <file.json>',
      'search space file: {"parameters": {"lr": {"type": "log-uniform", "low": 1e-4, "high": 1e-3}, …}, "fixed": {…}}',
    )
    .option('--preset <name>', `a preset space: ${PRESETS.join(', ')}`, oneOf('--preset', PRESETS))
    .option(
      '--trials <n>',
      'trials to finish (default 20; grid: the grid size; staged: 20+15+10)',
      integer('--trials', 1),
    )
    .option('--sampler <name>', `${SAMPLERS.join(', ')} (default tpe)`, oneOf('--sampler', SAMPLERS))
    .option('--pruner <name>', `${PRUNERS.join(', ')} (default asha)`, oneOf('--pruner', PRUNERS))
    .option(
      '--metric <name>',
      `${STUDY_METRICS.join(', ')} (default top5; gallery protocol)`,
      oneOf('--metric', STUDY_METRICS),
    )
    .option('--seed <n>', "the sampler's seed (default 42)", integer('--seed', 0))
    .option('--timeout <seconds>', 'start no trial after this long', integer('--timeout', 1))
    .option('--name <name>', 'the study name (default tune-<timestamp>)')
    .option('--resume <name>', 'finish a stopped or killed study with its stored settings')
    .option('--field-seeds <list>', 'seeds of --preset fields (default 1,2)', commaList('--field-seeds'))
    .option('--epochs <n>', 'epochs of every trial unless the space tunes them', integer('--epochs', 1))
    .option(
      '--batch-size <n>',
      'batch size of every trial unless the space tunes it',
      integer('--batch-size', 2),
    )
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option('--model <id>', 'image-embedding model to align with')
    .option('--quick', 'smoke study: every trial with the training --quick preset')
    .option(
      '--queue <redis-url>',
      'put trials on a BullMQ queue in Redis (redis://HOST:PORT) for `kfashion worker` processes; this process records them',
    )
    .option(
      '--parallel <n>',
      'with --queue: trials in flight at once (default: the workers connected, at least 1)',
      integer('--parallel', 1),
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion tune --workspace ws/demo --preset priority1 --trials 20\n  kfashion tune --workspace ws/demo --space space.json --sampler random --pruner none\n  kfashion tune --workspace ws/demo --resume tune-20261204T090000Z\n  kfashion tune --workspace /shared/ws --preset priority1 --queue redis://10.0.0.5:6379   (with kfashion worker on each machine)',
    )
    .action((o: TuneFlags) =>
      withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const fieldSeeds = o.fieldSeeds?.map((s) => {
            const n = Number(s);
            if (!Number.isInteger(n) || n < 0)
              throw new Error(`--field-seeds expects whole numbers ≥ 0, got "${s}".`);
            return n;
          });
          const r = await wb.tune(
            {
              name: o.name,
              resume: o.resume,
              spaceFile: o.space,
              preset: o.preset,
              trials: o.trials,
              sampler: o.sampler,
              pruner: o.pruner,
              metric: o.metric,
              seed: o.seed,
              timeoutS: o.timeout,
              fieldSeeds,
              quick: o.quick,
              queue: o.queue,
              parallel: o.parallel,
              overrides: { epochs: o.epochs, batchSize: o.batchSize, backend: o.backend, model: o.model },
              onStage: o.json ? undefined : (m) => process.stderr.write(`${m}\n`),
              onTrial: o.json
                ? undefined
                : (t) =>
                    process.stderr.write(
                      `trial ${t.number}: ${t.state}${t.value !== null ? ` ${t.value.toFixed(4)}` : ''}${t.error ? ` — ${t.error}` : ''}\n`,
                    ),
            },
            controls,
          );
          if (o.json) printJson(r);
          else console.log(formatTune(r, o.workspace));
        }),
      ),
    );

  program
    .command('worker')
    .description(
      "Trains tuning trials from a study run with `tune --queue`: takes them from the workspace's BullMQ queue, writes each run folder under the workspace, reports every epoch for pruning; never opens the workspace database (the tune process records everything). Runs until Ctrl-C, which hands its trials back to the queue.",
    )
    .requiredOption('--queue <redis-url>', 'the Redis of the study (redis://HOST:PORT)')
    .requiredOption(
      '--workspace <dir>',
      'the workspace folder as this machine sees it (e.g. a shared folder)',
    )
    .option(
      '--concurrency <n>',
      'trials trained at once by this process (default 1)',
      integer('--concurrency', 1),
    )
    .option(
      '--stall-seconds <n>',
      'seconds without a sign of life before a trial of a dead worker goes back to the queue (default 30)',
      integer('--stall-seconds', 1),
    )
    .action(async (o: { queue: string; workspace: string; concurrency?: number; stallSeconds?: number }) => {
      const { runTrialWorker } = await import('../../jobs/trial-worker.ts');
      const abort = new AbortController();
      let interrupts = 0;
      const stop = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\nkfashion worker: stopping; trials in progress go back to the queue…\n');
        abort.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      try {
        const r = await runTrialWorker({
          queue: o.queue,
          workspace: o.workspace,
          concurrency: o.concurrency,
          stallSeconds: o.stallSeconds,
          signal: abort.signal,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stderr.write(`kfashion worker: stopped after ${r.trials} trial(s).\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        // With Redis gone, ioredis keeps reconnecting and would keep the process alive after the
        // worker stopped: exit shortly after, whatever still holds the event loop.
        setTimeout(() => process.exit(), 2000).unref();
      }
    });

  const study = program
    .command('study')
    .description('Tuning studies stored in a workspace: list them, show one.');
  study
    .command('show <name>')
    .description(
      'A study: trials table, best trial (with commands to promote it or train it longer), history, parameter importance; writes history/parallel-coordinates/slice PNGs',
    )
    .requiredOption('--workspace <dir>', 'the workspace holding the study')
    .option('--json', 'print the results as JSON')
    .action((name: string, o: { workspace: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, async (wb) => {
        const r = await wb.studyShow(name);
        if (o.json) printJson(r);
        else {
          console.log(formatStudy(r.results, { workspace: o.workspace, charts: r.charts }));
          if (r.fieldStudy) console.log(`\n${formatFieldStudy(r.fieldStudy)}`);
        }
      }),
    );
  study
    .command('list')
    .description('Every study of the workspace with its state and best value')
    .requiredOption('--workspace <dir>', 'the workspace')
    .option('--json', 'print as JSON')
    .action((o: { workspace: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, async (wb) => {
        const list = await wb.studyList();
        if (o.json) printJson(list);
        else
          console.log(
            list.length === 0
              ? 'No studies in this workspace yet: kfashion tune --workspace … --preset priority1'
              : table(
                  ['name', 'status', 'metric', 'trials', 'best'],
                  list.map((s) => [
                    s.name,
                    s.status,
                    s.metric,
                    String(s.trials),
                    s.best === null ? '—' : s.best.toFixed(4),
                  ]),
                ),
          );
      }),
    );
  for (const c of study.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');

  program
    .command('baseline')
    .description(
      'Fits the linear baseline every model must beat: closed-form ridge from the multi-hot fields to the image vectors (centred, λ chosen on validation, the mean image direction projected out of queries); stored as a run of kind baseline and evaluated with the gallery protocol.',
    )
    .requiredOption('--workspace <dir>', 'a workspace with a scan and image embeddings')
    .option('--fields <list>', 'encoder fields (default: the training default five)', commaList('--fields'))
    .option('--model <id>', 'image-embedding model')
    .option('--json', 'print the result as JSON')
    .action((o: { workspace: string; fields?: string[]; model?: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, async (wb) => {
        const r = await wb.baseline({ fields: o.fields as never, model: o.model });
        if (o.json) printJson(r);
        else console.log(formatBaseline(r));
      }),
    );
}
