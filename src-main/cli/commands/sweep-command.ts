/** `kfashion sweep`: the InfoNCE temperature study (one training run per temperature, gallery evaluation). */
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_SWEEP_TEMPERATURES, type TemperatureStudy } from '../../../src-shared/evaluation.ts';
import { BACKEND_NAMES, type TrainConfig } from '../../training/train-config.ts';
import { integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { formatDuration, table } from '../terminal-text.ts';

function temperatureList(raw: string): number[] {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const values = parts.map(Number);
  const bad = parts.filter((_p, i) => !Number.isFinite(values[i]!) || values[i]! <= 0);
  if (parts.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `--temperatures expects comma-separated positive numbers (e.g. 0.05,0.07,0.1), got "${raw}"${bad.length ? `: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not` : ''}.`,
    );
  }
  if (new Set(values).size !== values.length)
    throw new InvalidArgumentError(`--temperatures lists a value twice: "${raw}".`);
  return values;
}

interface SweepFlags {
  workspace: string;
  temperatures: number[];
  epochs?: number;
  batchSize?: number;
  seed?: number;
  backend?: TrainConfig['backend'];
  model?: string;
  quick?: boolean;
  json?: boolean;
}

export function registerSweepCommand(program: Command): void {
  program
    .command('sweep')
    .description(
      'Temperature study: trains the JSON encoder once per InfoNCE temperature (same seed, data and settings; own folder under sweeps/, the workspace checkpoints stay), evaluates each on the whole validation gallery, recommends a temperature and checks the earlier finding (best 0.1, 0.15 ≈ 8.8 points worse).',
    )
    .requiredOption('--workspace <dir>', 'a workspace with a scan and image embeddings')
    .option(
      '--temperatures <list>',
      `comma-separated temperatures (default ${DEFAULT_SWEEP_TEMPERATURES.join(',')})`,
      temperatureList,
      [...DEFAULT_SWEEP_TEMPERATURES],
    )
    .option(
      '--epochs <n>',
      'maximum epochs per run (default: the training default; early stopping applies)',
      integer('--epochs', 1),
    )
    .option('--batch-size <n>', 'pairs per step (default: the training default)', integer('--batch-size', 2))
    .option('--seed <n>', 'seed shared by every run (default: the training default)', integer('--seed', 0))
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option('--model <id>', 'image-embedding model to align with')
    .option('--quick', 'smoke run: every temperature with the training --quick preset (batch 4, 2 epochs)')
    .option('--json', 'print the study as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion sweep --workspace ws/demo --epochs 10\n  kfashion sweep --workspace ws/demo --temperatures 0.07,0.1,0.15 --quick',
    )
    .action((o: SweepFlags) =>
      withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const r = await wb.sweep(
            {
              temperatures: o.temperatures,
              epochs: o.epochs,
              quick: o.quick,
              overrides: { batchSize: o.batchSize, seed: o.seed, backend: o.backend, model: o.model },
            },
            controls,
          );
          if (o.json) printJson(r);
          else console.log(formatSweep(r));
        }),
      ),
    );
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)} %`);

export function formatSweep(s: TemperatureStudy): string {
  const out: string[] = [];
  if (s.synthetic) out.push(s.note ?? 'SYNTHETIC', '');
  out.push(
    `Temperature study ${s.run_id}: ${s.runs.length} runs, same seed ${String(s.config.seed)} and data; evaluated JSON → image (${s.protocol_label}).`,
    '',
    table(
      [
        'T',
        'Top-1',
        'Top-5',
        'MRR',
        'Recall@10',
        'Top-5 % of ceiling',
        'R@10 % of ceiling',
        'best epoch',
        'epochs',
        'time',
      ],
      s.runs.map((r) => [
        `${r.temperature}${r.temperature === s.best.temperature ? ' *' : ''}`,
        pct(r.top1),
        pct(r.top5),
        r.mrr.toFixed(3),
        pct(r.recall10),
        pct(r.of_ceiling.top5),
        pct(r.of_ceiling.recall10),
        String(r.best_epoch),
        `${r.epochs_run}${r.stopped_early ? ' (early stop)' : ''}`,
        formatDuration(r.train_ms),
      ]),
    ),
  );
  for (const f of s.failed) out.push(`T=${f.temperature}: the run FAILED and is not compared: ${f.error}`);
  const c = s.runs[0]?.ceiling;
  if (c) {
    out.push(
      `Ceiling on these queries: Top-1 ${pct(c.recall['1'])}, Top-5 ${pct(c.recall['5'])}, Recall@10 ${pct(c.recall['10'])}, MRR ${c.mrr.toFixed(3)}. Standard error of a Top-5 figure: ${s.top5_standard_error_points.toFixed(1)} points.`,
    );
  }
  out.push(
    '',
    `Recommendation: ${s.recommendation}`,
    '',
    `Earlier finding: ${s.earlier_finding.statement}`,
    '',
    `Written: ${s.files.json}, ${s.files.chart}; per-temperature checkpoints in ${s.files.runs_dir}/ (in ${s.workspace})`,
  );
  return out.join('\n');
}
