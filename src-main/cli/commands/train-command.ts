/** `kfashion train`: contrastive training of the JSON encoder against the workspace's image embeddings. */
import { relative } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import {
  type AugmentationSettings,
  augmentationSchema,
  DEFAULT_FIELD_DROPOUT,
  DEFAULT_MIX_PROBABILITY,
  DEFAULT_SYNONYM_PROBABILITY,
  parseJsonAugFlag,
} from '../../../src-shared/augmentation-config.ts';
import { encoderSettingsSchema } from '../../../src-shared/encoder-config.ts';
import type { EmbeddingModelInfo } from '../../store/embedding-store.ts';
import { BACKEND_NAMES, DEFAULT_TRAIN_CONFIG as D, type TrainConfig } from '../../training/train-config.ts';
import type { TrainResult } from '../../training/trainer.ts';
import { chooseEmbeddingModel } from '../../training/training-data.ts';
import { commaList, integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { formatDuration, table } from '../terminal-text.ts';
import { pickZodOptions, zodOptions } from '../zod-options.ts';
import { bundleReplay } from './bundle-replay.ts';

function positiveNumber(flag: string, allowZero = false) {
  return (raw: string): number => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(
        `${flag} expects a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}".`,
      );
    }
    return n;
  };
}

interface TrainFlags {
  workspace: string;
  stage?: '1' | '2';
  epochs?: number;
  batchSize?: number;
  lr?: number;
  temperature?: number;
  weightDecay?: number;
  seed?: number;
  valQueries?: number;
  fields?: string[];
  jsonAug?: string;
  imageViews?: number;
  viewSeed?: number;
  backend?: TrainConfig['backend'];
  model?: string;
  resume?: boolean | string;
  initFrom?: string;
  fromRun?: string;
  config?: string;
  fromBundle?: string;
  tag?: string[];
  quick?: boolean;
  json?: boolean;
}

/** Settings of the encoder schema exposed as `train` flags (the others already have their own flags). */
const ENCODER_FLAG_SHAPE = encoderSettingsSchema.pick({
  embedDim: true,
  hiddenDim: true,
  dropout: true,
  gradClip: true,
  warmup: true,
  lrFloor: true,
  engine: true,
  depth: true,
  residual: true,
  norm: true,
  activation: true,
  scheduler: true,
  stepEvery: true,
  gamma: true,
}).shape;

/** The encoder flags as training-config keys (three of them predate the encoder schema's names). */
function encoderOverrides(o: Record<string, unknown>): Partial<TrainConfig> {
  const { gradClip, warmup, lrFloor, ...rest } = pickZodOptions(ENCODER_FLAG_SHAPE, o);
  return { ...rest, clipNorm: gradClip, warmupFraction: warmup, lrFloorRatio: lrFloor };
}

export function registerTrainCommand(program: Command): void {
  const train = program
    .command('train')
    .description(
      'Train the JSON encoder (symmetric InfoNCE against the frozen image embeddings) with validation every epoch, early stopping, checkpoints and charts.',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace with a scan and image embeddings')
    .option(
      '--stage <n>',
      'research-plan preset: 1 = 5 epochs of the default settings (sanity training); 2 = the earlier pipeline: 10 epochs, batch 64, lr 1e-4, T 0.07',
      oneOf('--stage', ['1', '2'] as const),
    )
    .option(
      '--epochs <n>',
      `maximum epochs (early stopping may end sooner; default ${D.epochs})`,
      integer('--epochs', 1),
    )
    .option(
      '--batch-size <n>',
      `pairs per step, at least 2 (default ${D.batchSize})`,
      integer('--batch-size', 2),
    )
    .option('--lr <x>', `peak AdamW learning rate after warm-up (default ${D.lr})`, positiveNumber('--lr'))
    .option(
      '--temperature <x>',
      `InfoNCE temperature (default ${D.temperature})`,
      positiveNumber('--temperature'),
    )
    .option(
      '--weight-decay <x>',
      `decoupled weight decay (default ${D.weightDecay})`,
      positiveNumber('--weight-decay', true),
    )
    .option(
      '--seed <n>',
      `seed for initialisation, data order and dropout (default ${D.seed})`,
      integer('--seed', 0),
    )
    .option(
      '--val-queries <n>',
      'rank a seeded sample of N validation items (the same every epoch) against the whole validation gallery, instead of all of them: the epoch figures become an estimate, labelled so (default: all; for galleries of hundreds of thousands)',
      integer('--val-queries', 1),
    )
    .option(
      '--fields <list>',
      `encoder input fields, comma-separated (default ${D.fields.join(',')})`,
      commaList('--fields'),
    )
    .option(
      '--json-aug <spec>',
      `JSON augmentation per step, comma-separated: dropout[=p] (each field masked, one always kept; p ${DEFAULT_FIELD_DROPOUT}), synonym[=p] (style/material synonyms; p ${DEFAULT_SYNONYM_PROBABILITY}), mix[=p] (swap a multi-valued field with a same-category garment of the batch; p ${DEFAULT_MIX_PROBABILITY}), mix-fields=a+b, strength=STYLE:FACTOR+… (e.g. strength=레트로:2), or none`,
      jsonAugFlag,
    )
    .option(
      '--image-views <n>',
      'per epoch, each garment uses its original or one of its first N augmented views (embedded beforehand with kfashion embed --views N)',
      integer('--image-views', 0, 64),
    )
    .option(
      '--view-seed <n>',
      'the --view-seed the views were embedded with (default 0)',
      integer('--view-seed', 0, 2 ** 31 - 1),
    )
    .option(
      '--mixup <p>',
      'MixUp of image vectors: per batch row, with probability p, the image vector is mixed with another garment of the batch and the InfoNCE target split λ / 1−λ (default 0: off)',
      unitNumber('--mixup', 0, 1),
    )
    .option(
      '--mixup-alpha <a>',
      'MixUp λ ~ Beta(a, a), folded to λ ≥ 0.5 (default 0.4)',
      unitNumber('--mixup-alpha', 0, 10, true),
    )
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option('--model <id>', 'image-embedding model to align with (default: the only one, else fashion-clip)')
    .option(
      '--resume [run]',
      'continue a run from its last checkpoint (same data order, optimiser and RNG): the newest run, or the one named (id, number or start of the id)',
    )
    .option(
      '--init-from <run>',
      "start from that run's best weights with a fresh optimiser (e.g. stage 2 after stage 1); recorded as the new run's parent",
    )
    .option(
      '--from-run <run>',
      "repeat that run's config (runs/<id>/config.json); flags given here override it",
    )
    .option('--config <file>', "repeat the config in FILE (a run's config.json, or a training config object)")
    .option(
      '--from-bundle <zip>',
      'repeat the run in a result bundle (kfashion export --run ID) on this workspace; warns when the data differ',
    )
    .option('--tag <tag>', 'tag the new run (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--quick', 'smoke run: batch 4, 2 epochs')
    .option('--json', 'print the result as JSON');
  // The encoder's shape and schedule flags, derived from src-shared/encoder-config.ts.
  for (const opt of zodOptions(ENCODER_FLAG_SHAPE)) train.addOption(opt);
  train
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion train --workspace ws/demo\n  kfashion train --workspace ws/demo --stage 2\n  kfashion train --workspace ws/demo --quick\n  kfashion train --workspace ws/demo --resume\n  kfashion train --workspace ws/demo --stage 2 --init-from 1\n  kfashion train --workspace ws/demo --from-run 3\n  kfashion train --workspace ws/demo --config ws/demo/runs/<id>/config.json\n  kfashion train --workspace ws/fresh --from-bundle bundle-<id>.zip',
    )
    .action((o: TrainFlags) =>
      withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          if (!o.json) warnIfSynthetic(wb.embeddingModels(), o.model);
          const warn = (m: string) => process.stderr.write(`WARNING: ${m}\n`);
          const replay = o.fromBundle ? await bundleReplay(o.fromBundle, warn) : undefined;
          const result = await wb.train(
            {
              stage: o.stage === undefined ? undefined : (Number(o.stage) as 1 | 2),
              quick: o.quick,
              resume: o.resume,
              initFrom: o.initFrom,
              fromRun: o.fromRun,
              configFile: o.config,
              replay,
              tags: o.tag,
              onWarning: o.json ? undefined : warn,
              overrides: {
                epochs: o.epochs,
                batchSize: o.batchSize,
                lr: o.lr,
                temperature: o.temperature,
                weightDecay: o.weightDecay,
                seed: o.seed,
                valQueries: o.valQueries,
                fields: o.fields as TrainConfig['fields'] | undefined,
                backend: o.backend,
                model: o.model,
                augmentation: augmentationFromFlags(o),
                ...encoderOverrides(o as unknown as Record<string, unknown>),
              },
            },
            controls,
          );
          if (o.json) printJson(result);
          else console.log(formatTrainResult(result, wb.workspace.root));
        }),
      ),
    );
}

function jsonAugFlag(raw: string): string {
  try {
    parseJsonAugFlag(raw);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return raw;
}

/** A number flag in [min, max] (exclusive of min when `openMin`), named in its error. */
function unitNumber(flag: string, min: number, max: number, openMin = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n > max || (openMin ? n <= min : n < min)) {
      throw new InvalidArgumentError(
        `${flag} ${v}: expected a number ${openMin ? 'above' : 'from'} ${min}${openMin ? ' and at most' : ' to'} ${max}`,
      );
    }
    return n;
  };
}

/** The run's augmentation from --json-aug / --image-views / --view-seed / --mixup (undefined when none is given). */
export function augmentationFromFlags(o: {
  jsonAug?: string;
  imageViews?: number;
  viewSeed?: number;
  mixup?: number;
  mixupAlpha?: number;
}): AugmentationSettings | undefined {
  if (
    o.jsonAug === undefined &&
    o.imageViews === undefined &&
    o.viewSeed === undefined &&
    o.mixup === undefined &&
    o.mixupAlpha === undefined
  )
    return undefined;
  return augmentationSchema.parse({
    json: parseJsonAugFlag(o.jsonAug ?? 'none'),
    image: {
      views: o.imageViews ?? 0,
      viewSeed: o.viewSeed ?? 0,
      ...(o.mixup !== undefined ? { mixup: o.mixup } : {}),
      ...(o.mixupAlpha !== undefined ? { mixupAlpha: o.mixupAlpha } : {}),
    },
  });
}

/** Says SYNTHETIC before the bar starts, not only in the final report. */
function warnIfSynthetic(models: EmbeddingModelInfo[], wanted?: string): void {
  let chosen: EmbeddingModelInfo;
  try {
    chosen = chooseEmbeddingModel(models, wanted);
  } catch {
    return; // train() reports the problem with the full message
  }
  if (chosen.source === 'synthetic') {
    process.stderr.write(
      `SYNTHETIC: training against "${chosen.model}", stand-in embeddings generated from the attributes, not FashionCLIP.\n`,
    );
  }
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const num = (v: number) => v.toFixed(4);

export function formatTrainResult(r: TrainResult, root: string): string {
  const out: string[] = [];
  if (r.imageEmbedding.synthetic) {
    out.push(
      `SYNTHETIC: trained against "${r.imageEmbedding.model}", stand-in image embeddings generated from the attributes, not FashionCLIP. The figures below say nothing about real images.`,
      '',
    );
  }
  const how = r.stoppedEarly
    ? `stopped early after ${r.epochsRun} of ${r.epochsPlanned} epochs (no validation-loss improvement for ${r.config.patience} epochs)`
    : `${r.epochsRun} of ${r.epochsPlanned} epochs`;
  for (const w of r.warnings) out.push(`WARNING: ${w}`, '');
  out.push(
    `Run ${r.runId} (#${r.seq}): ${how}${r.resumedFromEpoch !== null ? `, resumed after epoch ${r.resumedFromEpoch}` : ''}.${r.parent ? ` Started from run ${r.parent.runId}'s best weights (epoch ${r.parent.epoch}).` : ''}${r.replayOf ? ` Repeats run ${r.replayOf}'s config.` : ''}`,
    `Backend ${r.backend}; ${r.data.train} train / ${r.data.val} val pairs, batch ${r.config.batchSize}, ${r.data.stepsPerEpoch} steps per epoch, ${r.msPerStep.toFixed(1)} ms/step, wall time ${formatDuration(r.wallMs)}.`,
    `Image embeddings: ${r.imageEmbedding.model} (${r.imageEmbedding.source}); fields ${r.config.fields.join(', ')}; lr ${r.config.lr}, T ${r.config.temperature}, weight decay ${r.config.weightDecay}, seed ${r.config.seed}.`,
    '',
  );
  const b = r.best;
  if (b) {
    out.push(
      r.config.valQueries !== undefined && r.config.valQueries < r.data.val
        ? `Best epoch ${b.epoch} (lowest validation loss), JSON → image, ESTIMATED from ${r.config.valQueries} sampled validation queries, each ranked against all ${r.data.val} validation images:`
        : `Best epoch ${b.epoch} (lowest validation loss), JSON → image over all ${r.data.val} validation images:`,
    );
    out.push(
      table(
        ['metric', 'value'],
        [
          ['validation loss', num(b.valLoss)],
          ['train loss', num(b.trainLoss)],
          ['Top-1', pct(b.top1)],
          ['Top-5', pct(b.top5)],
          ['MRR', num(b.mrr)],
          ['positive similarity', num(b.posSim)],
          ['negative similarity', num(b.negSim)],
          ['mean output norm', num(b.meanNorm)],
        ],
      ),
    );
    const lastEpoch = r.history.at(-1);
    if (lastEpoch && lastEpoch.epoch !== b.epoch) {
      out.push(
        `(last epoch ${lastEpoch.epoch}: val loss ${num(lastEpoch.valLoss)}, Top-1 ${pct(lastEpoch.top1)}, Top-5 ${pct(lastEpoch.top5)}, MRR ${num(lastEpoch.mrr)})`,
      );
    }
  } else {
    out.push('No epoch improved the validation loss: no best checkpoint was written.');
  }
  if (r.initialValidation) {
    const v = r.initialValidation;
    out.push(
      `Starting weights (before any step): validation loss ${num(v.valLoss)}, Top-1 ${pct(v.top1)}, Top-5 ${pct(v.top5)}, MRR ${num(v.mrr)}.`,
    );
  }
  const rel = (p: string) => relative(root, p) || p;
  out.push('', `Written to ${rel(r.runDir)}/ in ${root}:`);
  for (const p of [
    r.paths.bestWeights,
    r.paths.bestInfo,
    r.paths.lastWeights,
    r.paths.lastInfo,
    r.paths.results,
    r.paths.summary,
    r.paths.charts,
  ]) {
    out.push(`  ${rel(p)}`);
  }
  if (r.published) {
    out.push(
      `This is now the workspace's current run: ${rel(r.published.bestInfo)}, ${rel(r.published.bestWeights)} and results/training_* are its files.`,
    );
  } else {
    out.push(
      `This run is not the workspace's current run (${r.kind === 'sweep' ? 'a sweep run' : 'it did not finish'}); make it current with: kfashion runs promote ${r.runId} --workspace ${root}`,
    );
  }
  return out.join('\n');
}
