/**
 * `kfashion tune`: a tuning study over training settings. Each trial is a training run (kind `tune`,
 * tagged with the study and trial number, never made the workspace's current run) whose per-epoch
 * validation figure goes to the pruner; the trial's value is its best checkpoint's figure under the
 * gallery protocol (evaluation/evaluate.ts), stored with its ceiling. The study lives in the workspace
 * database (store/studies-store.ts), so `--resume NAME` finishes it after Ctrl-C or kill -9 (see
 * [Note: What counts as a finished trial]).
 *
 * Presets: priority1|2|3 are one space each; `staged` runs the three in turn (20, 15, 10 trials), each
 * stage fixing the best settings of the stage before; `fields` enqueues every field set of the field
 * study under each seed (field-study.ts turns them into differences).
 */
import { readFileSync } from 'node:fs';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import {
  METRIC_LABELS,
  type ParamValue,
  type PresetName,
  type PrunerName,
  type SamplerName,
  type SearchSpaceFile,
  type StudyMetric,
} from '../../src-shared/tuning.ts';
import { openCheckpointEncoder } from '../evaluation/checkpoint-encoder.ts';
import { evaluateMain } from '../evaluation/evaluate.ts';
import { StudiesStore, type StudyRecord, type TrialRecord } from '../store/studies-store.ts';
import type { Workspace } from '../store/workspace.ts';
import type { EpochRecord } from '../training/checkpoints.ts';
import { runPaths, tagRun } from '../training/runs.ts';
import { resolveTrainConfig, type TrainConfig, trainConfigSchema } from '../training/train-config.ts';
import { defaultEncoderFactory, type EncoderFactory, train } from '../training/trainer.ts';
import { type FieldStudyReport, fieldRows, fieldStudyReport } from './field-study.ts';
import { type AshaOptions, makePruner } from './pruners.ts';
import { openQueueRunner, type QueueRunner, removeStudySnapshots } from './queue-objective.ts';
import { GridSampler, makeSampler } from './samplers.ts';
import {
  checkSearchSpace,
  fieldStudySets,
  fieldStudySpace,
  PRESET_SPACES,
  parseSearchSpace,
  type SearchSpace,
  SearchSpaceError,
  STAGED_PRESET,
} from './search-space.ts';
import { bestTrial, type Objective, runStudy, TrialPruned } from './study-runner.ts';

export class TuneError extends Error {
  override name = 'TuneError';
}

/** Space parameter → training-config key, where the names differ. */
const CONFIG_KEY: Readonly<Record<string, string>> = { gradClip: 'clipNorm', warmup: 'warmupFraction' };

export interface TuneOptions extends WorkOptions {
  /** A new study's name (default tune-<timestamp>). */
  name?: string;
  /** Resume this study with its stored settings; the other study settings are then ignored. */
  resume?: string;
  /** Path of a space file (--space) … */
  spaceFile?: string;
  /** … or the space itself, as such a file holds it (the API's `space`) … */
  space?: SearchSpaceFile;
  /** … or a preset (--preset). */
  preset?: PresetName;
  trials?: number;
  sampler?: SamplerName;
  pruner?: PrunerName;
  metric?: StudyMetric;
  seed?: number;
  /** Stop starting trials after this many seconds. */
  timeoutS?: number;
  /** Training settings every trial shares (the space's values override them). */
  overrides?: Partial<TrainConfig>;
  /** Each trial with the training --quick preset (smoke runs). */
  quick?: boolean;
  /** Seeds of the field study (default 2 seeds: 1, 2). */
  fieldSeeds?: number[];
  asha?: AshaOptions;
  createEncoder?: EncoderFactory;
  evalEncoder?: EncoderFactory;
  /** Called after every finished trial. */
  onTrial?: (t: TrialRecord, study: StudyRecord) => void;
  /** Called when a stage of the staged preset starts, with what it fixed and why. */
  onStage?: (message: string) => void;
  /**
   * `--queue redis://HOST:PORT`: trials go to a BullMQ queue and `kfashion worker` processes train
   * them (queue-objective.ts); this process records them. Without it trials run here, one at a time.
   */
  queue?: string;
  /** Queue trials in flight at once (default: the workers connected, at least one). */
  parallel?: number;
}

/** Settings stored with the study: what `--resume` needs to go on exactly as it started. */
export interface StudySettings {
  space: { parameters: SearchSpace['parameters']; fixed: SearchSpace['fixed'] };
  spaceSource: string;
  preset: PresetName | null;
  sampler: SamplerName;
  pruner: PrunerName;
  prunerDescription: string;
  trials: number;
  seed: number;
  timeoutS: number | null;
  base: TrainConfig;
  asha: AshaOptions;
  /** What a preset left out (settings this build's trainer does not have). */
  warnings: string[];
  stages?: { name: string; space: SearchSpace; trials: number }[];
  fieldSeeds?: number[];
  defaults?: string[];
}

export interface TuneResult {
  study: StudyRecord;
  trials: TrialRecord[];
  best: TrialRecord | null;
  ran: number;
  stoppedBy: 'done' | 'timeout' | 'signal';
  stages: { name: string; fixed: Record<string, ParamValue>; best: TrialRecord | null }[];
  fieldStudy: FieldStudyReport | null;
}

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');

export const metricOfRecord = (m: StudyMetric, r: EpochRecord): number =>
  // Training validation measures Top-1/Top-5/MRR per epoch; Recall@10 studies prune on Top-5.
  m === 'top1' ? r.top1 : m === 'mrr' ? r.mrr : r.top5;

/**
 * A preset names the research plan's settings; those this build's trainer does not have yet are left
 * out of the preset's space with a warning (a --space file naming one is refused by checkTrainable).
 */
function presetSpace(space: SearchSpace, where: string, warnings: string[]): SearchSpace {
  const shape = trainConfigSchema.shape as Record<string, unknown>;
  const parameters: SearchSpace['parameters'] = {};
  for (const [name, d] of Object.entries(space.parameters)) {
    if ((CONFIG_KEY[name] ?? name) in shape) parameters[name] = d;
    else
      warnings.push(
        `${where}: "${name}" is not a setting of this build's trainer; the preset tunes it once the trainer has it`,
      );
  }
  if (Object.keys(parameters).length === 0)
    throw new TuneError(`${where}: none of its parameters is a setting of this build's trainer`);
  return { parameters, fixed: space.fixed };
}

/** Checks that every tuned or fixed name is a setting this build's trainer has. */
function checkTrainable(space: SearchSpace, where: string): void {
  const shape = trainConfigSchema.shape as Record<string, unknown>;
  for (const name of [...Object.keys(space.parameters), ...Object.keys(space.fixed)]) {
    const key = CONFIG_KEY[name] ?? name;
    if (!(key in shape)) {
      throw new SearchSpaceError(
        `${where}: parameter "${name}" is not a setting of this build's trainer (its settings: ${Object.keys(shape).join(', ')})`,
      );
    }
  }
}

export function trialConfig(base: TrainConfig, params: Record<string, ParamValue>): TrainConfig {
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) overrides[CONFIG_KEY[k] ?? k] = v;
  return resolveTrainConfig({ base, overrides: overrides as Partial<TrainConfig> });
}

function newSettings(opts: TuneOptions): StudySettings {
  if ((opts.spaceFile || opts.space) && opts.preset)
    throw new TuneError('Give either --space or --preset, not both.');
  if (!opts.spaceFile && !opts.space && !opts.preset)
    throw new TuneError('Say what to tune: --space FILE.json or --preset NAME.');
  const base = resolveTrainConfig({ quick: opts.quick, overrides: opts.overrides ?? {} });
  const seed = opts.seed ?? 42;
  const sampler = opts.sampler ?? 'tpe';
  const prunerName = opts.pruner ?? 'asha';
  const asha = opts.asha ?? { minResource: 1, reductionFactor: 3 };
  const pruner = makePruner(prunerName, { asha });
  let space: SearchSpace;
  let spaceSource: string;
  let stages: StudySettings['stages'];
  let trials = opts.trials;
  let fieldSeeds: number[] | undefined;
  const warnings: string[] = [];
  if (opts.spaceFile) {
    let text: string;
    try {
      text = readFileSync(opts.spaceFile, 'utf8');
    } catch (e) {
      throw new TuneError(`--space ${opts.spaceFile}: cannot read it (${(e as Error).message})`);
    }
    space = parseSearchSpace(text, opts.spaceFile);
    spaceSource = opts.spaceFile;
  } else if (opts.space) {
    space = checkSearchSpace(opts.space, 'space');
    spaceSource = 'space';
  } else if (opts.preset === 'staged') {
    // --trials N shares N among the stages in the preset's proportions (20 : 15 : 10).
    const total = STAGED_PRESET.reduce((a, s) => a + s.trials, 0);
    stages = STAGED_PRESET.map((s) => ({
      name: s.name,
      space: presetSpace(
        checkSearchSpace(s.space, `--preset staged (${s.name})`),
        `--preset staged (${s.name})`,
        warnings,
      ),
      trials: opts.trials ? Math.max(1, Math.round((s.trials * opts.trials) / total)) : s.trials,
    }));
    space = stages[0]!.space;
    spaceSource = '--preset staged';
    trials = stages.reduce((a, s) => a + s.trials, 0);
  } else if (opts.preset === 'fields') {
    space = checkSearchSpace(fieldStudySpace(base.fields), '--preset fields');
    spaceSource = '--preset fields';
    fieldSeeds = opts.fieldSeeds ?? [1, 2];
    if (fieldSeeds.length < 2)
      throw new TuneError('--preset fields needs at least 2 seeds to give an uncertainty.');
    trials = fieldStudySets(base.fields).length * fieldSeeds.length;
  } else {
    const preset = opts.preset!;
    space = presetSpace(
      checkSearchSpace(PRESET_SPACES[preset], `--preset ${preset}`),
      `--preset ${preset}`,
      warnings,
    );
    spaceSource = `--preset ${preset}`;
  }
  checkTrainable(space, spaceSource);
  if (sampler === 'grid') {
    for (const s of stages ?? [{ space }]) GridSampler.size(s.space); // names a parameter without a grid
    trials ??= GridSampler.size(space);
  }
  return {
    space: { parameters: space.parameters, fixed: space.fixed },
    spaceSource,
    preset: opts.preset ?? null,
    sampler,
    pruner: prunerName,
    prunerDescription: pruner.describe(),
    trials: trials ?? 20,
    seed,
    timeoutS: opts.timeoutS ?? null,
    base,
    asha,
    warnings,
    ...(stages ? { stages } : {}),
    ...(fieldSeeds ? { fieldSeeds, defaults: base.fields } : {}),
  };
}

/** Runs (or resumes) a study to its end, a timeout or a cancel. */
export async function tune(ws: Workspace, opts: TuneOptions): Promise<TuneResult> {
  const store = new StudiesStore(ws.db);
  let study: StudyRecord;
  if (opts.resume) {
    study = store.requireStudy(opts.resume);
  } else {
    const settings = newSettings(opts);
    const name = opts.name ?? `tune-${stamp()}`;
    if (!/^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$/u.test(name)) {
      throw new TuneError(
        `--name "${name}": use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit).`,
      );
    }
    study = store.createStudy(
      name,
      opts.metric ?? 'top5',
      'gallery',
      settings as unknown as Record<string, unknown>,
    );
    if (settings.fieldSeeds) {
      // Every (field set, seed) pair is known in advance: enqueue them all.
      for (const seed of settings.fieldSeeds) {
        for (const s of fieldStudySets(settings.base.fields)) {
          store.addTrial(
            study.id,
            { fields: s.fields, seed },
            { state: 'WAITING', attrs: { label: s.label } },
          );
        }
      }
    }
  }
  const settings = study.settings as unknown as StudySettings;
  for (const w of settings.warnings ?? []) opts.onStage?.(`Note: ${w}`);
  const metric = study.metric as StudyMetric;
  const queue = opts.queue
    ? await openQueueRunner(ws, store, study, metric, {
        url: opts.queue,
        parallel: opts.parallel,
        signal: opts.signal,
        onMessage: opts.onStage,
        configOf: (params) => trialConfig(settings.base, params as Record<string, ParamValue>),
      })
    : null;
  try {
    return await runTuneStudy(ws, store, study, settings, metric, opts, queue);
  } finally {
    await queue?.close();
  }
}

async function runTuneStudy(
  ws: Workspace,
  store: StudiesStore,
  study: StudyRecord,
  settings: StudySettings,
  metric: StudyMetric,
  opts: TuneOptions,
  queue: QueueRunner | null,
): Promise<TuneResult> {
  const sampler = makeSampler(settings.sampler, settings.seed);
  const pruner = makePruner(settings.pruner, { asha: settings.asha });
  const objective = queue ? queue.objective : makeObjective(ws, study, settings, metric, opts);
  const common = {
    ...(queue ? { parallel: queue.parallel, adoptRunning: true } : {}),
    store,
    study,
    sampler,
    pruner,
    objective,
    signal: opts.signal,
    timeoutMs: settings.timeoutS === null ? undefined : settings.timeoutS * 1000,
    onTrialDone: (t: TrialRecord) => opts.onTrial?.(t, study),
  };
  const stages: TuneResult['stages'] = [];
  let ran = 0;
  let stoppedBy: TuneResult['stoppedBy'] = 'done';
  if (settings.stages) {
    let fixed: Record<string, ParamValue> = { ...settings.space.fixed };
    for (const stage of settings.stages) {
      const prev = stages.at(-1);
      opts.onStage?.(
        prev
          ? `Stage ${stage.name} (${stage.trials} trials): fixes ${describeParams(prev.best?.params ?? {})} — the best of stage ${prev.name}${prev.best ? ` (trial ${prev.best.number}, ${METRIC_LABELS[metric]} ${prev.best.value!.toFixed(4)})` : ' (no complete trial: nothing fixed)'}`
          : `Stage ${stage.name} (${stage.trials} trials): tunes ${Object.keys(stage.space.parameters).join(', ')}`,
      );
      const space: SearchSpace = { parameters: stage.space.parameters, fixed };
      const r = await runStudy({ ...common, space, trials: stage.trials, stage: stage.name });
      ran += r.ran;
      const best = bestTrial(store.trials(study.id).filter((t) => t.attrs.stage === stage.name));
      stages.push({ name: stage.name, fixed: { ...fixed }, best });
      if (r.stoppedBy !== 'done') {
        stoppedBy = r.stoppedBy;
        break;
      }
      if (best) fixed = { ...fixed, ...best.params };
    }
    const all = store.trials(study.id);
    const wanted = settings.stages.reduce((a, s) => a + s.trials, 0);
    const finished = all.filter(
      (t) => t.state === 'COMPLETE' || t.state === 'PRUNED' || (t.state === 'FAIL' && !t.interrupted),
    ).length;
    store.setStatus(study.id, finished >= wanted ? 'done' : 'stopped');
  } else {
    const space: SearchSpace = { parameters: settings.space.parameters, fixed: settings.space.fixed };
    const r = await runStudy({ ...common, space, trials: settings.trials });
    ran = r.ran;
    stoppedBy = r.stoppedBy;
  }
  const trials = store.trials(study.id);
  let fieldStudy: FieldStudyReport | null = null;
  if (settings.fieldSeeds && settings.defaults)
    fieldStudy = fieldStudyReport(settings.defaults, fieldRows(trials));
  if (queue && store.requireStudy(study.name).status === 'done') removeStudySnapshots(ws, study.name);
  if (stoppedBy === 'signal') {
    throw new CancelledError(
      queue
        ? `Study ${study.name} stopped; trials already taken by workers go on there and are recorded when you resume: kfashion tune --workspace ${ws.root} --resume ${study.name} --queue ${opts.queue}`
        : `Study ${study.name} stopped; finish it with: kfashion tune --workspace ${ws.root} --resume ${study.name}`,
    );
  }
  return {
    study: store.requireStudy(study.name),
    trials,
    best: bestTrial(trials),
    ran,
    stoppedBy,
    stages,
    fieldStudy,
  };
}

export const describeParams = (p: Record<string, ParamValue>): string =>
  Object.entries(p)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(', ') || '(nothing)';

function makeObjective(
  ws: Workspace,
  study: StudyRecord,
  settings: StudySettings,
  metric: StudyMetric,
  opts: TuneOptions,
): Objective {
  return (trial) =>
    trainTrial(ws, {
      study: study.name,
      number: trial.number,
      config: trialConfig(settings.base, trial.params),
      metric,
      signal: opts.signal,
      onProgress: opts.onProgress,
      createEncoder: opts.createEncoder,
      evalEncoder: opts.evalEncoder,
      onRunStart: (runId) => trial.setRunId(runId),
      onEpoch: (record) => trial.report(record.epoch, metricOfRecord(metric, record)),
    });
}

export interface TrialTraining
  extends Pick<TuneOptions, 'signal' | 'onProgress' | 'createEncoder' | 'evalEncoder'> {
  study: string;
  number: number;
  /** The trial's full training settings (the study's base with the trial's parameters). */
  config: TrainConfig;
  metric: StudyMetric;
  /** The trial's run exists (its row is in `ws`'s database, its folder under runs/). */
  onRunStart?: (runId: string) => void | Promise<void>;
  /** After each epoch's validation and checkpoints; true stops the trial as pruned. */
  onEpoch: (record: EpochRecord, runId: string) => boolean | Promise<boolean>;
}

/**
 * One trial: trains its run (kind tune, tagged with the study and trial, never made current) and
 * evaluates its best checkpoint under the gallery protocol. Throws TrialPruned when `onEpoch` says
 * so, a CancelledError when `signal` stops it, and the training error otherwise. The same function
 * trains a local trial and a queue worker's trial (jobs/trial-worker.ts), so both give one result.
 */
export async function trainTrial(
  ws: Workspace,
  t: TrialTraining,
): Promise<{ value: number; attrs: Record<string, unknown>; runId: string }> {
  const { config, metric } = t;
  const trialCtl = new AbortController();
  const onAbort = () => trialCtl.abort();
  t.signal?.addEventListener('abort', onAbort);
  if (t.signal?.aborted) trialCtl.abort();
  let prunedAt: number | null = null;
  let runId: string | null = null;
  const tag = `trial ${t.number}`;
  try {
    const t0 = performance.now();
    let result: Awaited<ReturnType<typeof train>>;
    try {
      result = await train(ws, config, {
        createEncoder: t.createEncoder ?? defaultEncoderFactory,
        kind: 'tune',
        study: t.study,
        tags: [`study:${t.study}`, `trial:${t.number}`],
        makeCurrent: false,
        signal: trialCtl.signal,
        loggers: [
          {
            start: async (info) => {
              runId = info.runId;
              await t.onRunStart?.(info.runId);
            },
            epoch: async (id, record) => {
              if (prunedAt !== null) return;
              if (await t.onEpoch(record, id)) {
                prunedAt = record.epoch;
                trialCtl.abort();
              }
            },
          },
        ],
        onProgress: t.onProgress
          ? (phase, step, total, metrics) => t.onProgress?.(`${tag} ${phase}`, step, total, metrics)
          : undefined,
      });
    } catch (e) {
      // The trainer ends a stopped run with a CancelledError: here the pruner stopped it.
      if (prunedAt !== null && !t.signal?.aborted) {
        if (runId) tagRun(ws, runId, 'pruned');
        throw new TrialPruned(prunedAt);
      }
      throw e;
    }
    if (prunedAt !== null && !t.signal?.aborted) throw new TrialPruned(prunedAt);
    if (t.signal?.aborted) throw new CancelledError();
    if (!result.best)
      throw new TuneError(`run ${result.runId}: no epoch finished, so there is no checkpoint to evaluate`);
    const trainMs = performance.now() - t0;
    const encoder = await openCheckpointEncoder(ws, {
      checkpoint: runPaths(ws, result.runId).checkpoints,
      backend: config.backend,
      createEncoder: t.evalEncoder,
    });
    let figures: Awaited<ReturnType<typeof evaluateMain>>['figures'];
    try {
      figures = (await evaluateMain(ws, encoder, { protocol: 'gallery', signal: t.signal })).figures;
    } finally {
      encoder.close();
    }
    const pick = {
      top1: figures.recall['1'],
      top5: figures.recall['5'],
      recall10: figures.recall['10'],
      mrr: figures.mrr,
    };
    const ceilings = {
      top1: figures.ceiling.recall['1'],
      top5: figures.ceiling.recall['5'],
      recall10: figures.ceiling.recall['10'],
      mrr: figures.ceiling.mrr,
    };
    return {
      value: pick[metric],
      runId: result.runId,
      attrs: {
        ceiling: ceilings[metric],
        figures: { ...pick, ceiling: ceilings, queries: figures.queries },
        best_epoch: result.bestEpoch,
        train_ms: Math.round(trainMs),
        eval_ms: Math.round(performance.now() - t0 - trainMs),
        epochs_run: result.epochsRun,
        stopped_early: result.stoppedEarly,
      },
    };
  } finally {
    t.signal?.removeEventListener('abort', onAbort);
  }
}
