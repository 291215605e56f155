/**
 * The training loop around a JsonEncoderModel: seeded epochs of symmetric InfoNCE steps with the
 * warm-up + cosine schedule, a validation pass after every epoch (loss, Top-1/Top-5/MRR over the whole
 * validation gallery, similarities, norms), early stopping on the validation loss, checkpoints, resume,
 * and the run's record: its folder runs/<id>/ (config.json, run.json, split.json, checkpoints/,
 * results/) and its row in the workspace's runs table (training/runs.ts). A run that finishes
 * becomes the workspace's current run ([Note: Current run]).
 *
 * Resume is exact: the epoch order is derived from (seed, epoch), and last.* holds the weights, the
 * AdamW moments, the optimiser step, the dropout RNG and the early-stopping state at the end of the
 * last completed epoch — so 2 epochs equal 1 epoch + resume 1 bit for bit.
 *
 * Cancel (signal) stops after the current optimiser step; the unfinished epoch is dropped and
 * last.* keeps the last completed one, so a Ctrl-C (or a crash) loses at most one epoch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_ENCODER_SETTINGS } from '../../src-shared/encoder-config.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { renderTrainingCharts } from '../charts/training-charts.ts';
import type {
  JsonEncoderConfig,
  JsonEncoderModel,
  OptimizerSettings,
} from '../encoders/json-encoder/json-encoder-types.ts';
import { planLrSchedule, scheduledLr } from '../encoders/json-encoder/lr-schedulers.ts';
import { writeFileAtomic, writeJsonAtomic } from '../store/atomic-file.ts';
import type { RunHeadline, RunKind, RunRow } from '../store/runs-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { thisHost } from '../store/workspace-lock.ts';
import { augmentationForRun } from './augmented-batches.ts';
import {
  type CheckpointInfo,
  checkpointExists,
  type EpochRecord,
  loadCheckpoint,
  type ResumeState,
  RUN_CHECKPOINT_FILES,
  type SavedCheckpoint,
  saveCheckpoint,
  vocabularyValues,
} from './checkpoints.ts';
import { type DataFingerprint, fingerprintDifferences, fingerprintOf } from './data-fingerprint.ts';
import {
  type EarlyStoppingState,
  earlyStoppingFromJson,
  earlyStoppingToJson,
  initialEarlyStopping,
  updateEarlyStopping,
} from './early-stopping.ts';
import { learningRate, planSchedule } from './lr-schedule.ts';
import type { RunLogger } from './run-logger.ts';
import {
  adoptLegacyCheckpoint,
  currentRunId,
  listRuns,
  makeCurrent,
  RUN_CONFIG_FORMAT,
  refreshInterrupted,
  relPath,
  resolveRun,
  runPaths,
  runsStore,
  writeRunConfig,
  writeRunStatus,
  writeSplitIds,
} from './runs.ts';
import { StepLossTrace } from './step-loss.ts';
import { tensorBoardRunLogger } from './tensorboard/run-logger-adapter.ts';
import { configDifferences, type TrainConfig, TrainConfigError } from './train-config.ts';
import {
  epochBatches,
  gatherImages,
  loadTrainingData,
  makeInputs,
  type TrainingData,
  validationBatches,
} from './training-data.ts';
import { validationMetricsBlocked, validationQuerySample } from './validation-metrics.ts';

export class TrainingError extends Error {
  override name = 'TrainingError';
}

/** Makes the encoder to train (encoders/json-encoder in the product; a small JS model in tests). */
export type EncoderFactory = (
  config: JsonEncoderConfig,
  opts: { seed: number; backend?: string },
) => Promise<{ model: JsonEncoderModel; backend: string; backendDetail?: string }>;

/**
 * The product's encoder: the tfjs JSON encoder on the backend picked at run time (node-gpu → node →
 * wasm → cpu unless forced), with its helper thread started before the first step. Imported lazily
 * so tests that bring their own model never start tfjs.
 */
export const defaultEncoderFactory: EncoderFactory = async (config, opts) => {
  if (config.engine === 'ort') {
    const { ortEncoderFactory } = await import('../encoders/json-encoder/layered-factory.ts');
    return ortEncoderFactory(config, opts);
  }
  if (usesLayeredEngine(config)) {
    const { layeredEncoderFactory } = await import('../encoders/json-encoder/layered-factory.ts');
    return layeredEncoderFactory(config, opts);
  }
  const { jsonEncoderFactory } = await import('../encoders/json-encoder/json-encoder.ts');
  return jsonEncoderFactory(config, opts);
};

/**
 * The layered model (trained by the layered or the ONNX Runtime engine: one checkpoint format) when
 * asked for, or when the shape is one the tfjs model cannot build.
 */
export function usesLayeredEngine(c: JsonEncoderConfig): boolean {
  if (c.engine) return c.engine === 'layered' || c.engine === 'ort';
  return (
    (c.depth ?? 1) !== 1 || c.residual === true || (c.norm ?? 'none') !== 'none' || c.activation === 'silu'
  );
}

export interface TrainControls extends WorkOptions {
  createEncoder: EncoderFactory;
  /**
   * Continue a run from its runs/<id>/checkpoints/last.* (its config must match `config` except
   * epochs/backend): `true` = the workspace's newest run, or a run reference (id, number, prefix).
   */
  resume?: boolean | string;
  /** Start from this run's best weights (fresh optimiser state); the new run records it as parent. */
  initFrom?: string;
  /** What made the run (default 'train'); a sweep's runs are 'sweep'. */
  kind?: RunKind;
  /** The sweep or study the run belongs to. */
  study?: string;
  tags?: string[];
  /** The run whose config this run repeats (a replay). */
  replayOf?: string;
  /** The data the replayed run saw: a difference is reported as a warning, never refused. */
  expectData?: DataFingerprint | null;
  /** Whether a finished run becomes the workspace's current run (default true). */
  makeCurrent?: boolean;
  /** Said as soon as it is known (the CLI prints it before the progress bar); also in the result. */
  onWarning?: (message: string) => void;
  /** Extra run logs (e.g. TensorBoard event files). */
  loggers?: RunLogger[];
  /** Write runs/<id>/tensorboard/ event files (default true). */
  tensorBoard?: boolean;
}

export interface TrainPaths {
  bestWeights: string;
  bestInfo: string;
  lastWeights: string;
  lastInfo: string;
  results: string;
  summary: string;
  charts: string;
}

export interface TrainSummary {
  runId: string;
  /** The run's number in this workspace (1, 2, …). */
  seq: number;
  kind: RunKind;
  /** Absolute path of runs/<id>/. */
  runDir: string;
  /** Whether this run is now the workspace's current run (its files at the seed's paths). */
  current: boolean;
  /** The opposite of current: figures of this run are not the workspace's current ones. */
  stale: boolean;
  /** The run whose best weights it started from (--init-from), with that checkpoint's epoch. */
  parent: { runId: string; epoch: number } | null;
  /** The run whose config it repeats (--from-run, --config, --from-bundle). */
  replayOf: string | null;
  /** Validation of the starting weights before any step (only with --init-from). */
  initialValidation: { valLoss: number; top1: number; top5: number; mrr: number } | null;
  /** The data the run trained on. */
  dataFingerprint: DataFingerprint;
  /** Things the user should know (e.g. the data differs from a replayed run's). */
  warnings: string[];
  startedAt: string;
  /** When this summary was made: the end of the run, or of the latest epoch while it runs. */
  timestamp: string;
  status: 'done' | 'stopped';
  /** The backend that ran, e.g. `wasm (1 thread)`. */
  backend: string;
  /** Why that backend (what was tried and failed), when the encoder says. */
  backendDetail: string | null;
  imageEmbedding: { model: string; source: string; synthetic: boolean };
  /** Present when the image embeddings are synthetic: says so in every output, JSON included. */
  note?: string;
  data: { train: number; val: number; stepsPerEpoch: number };
  bestEpoch: number;
  best: EpochRecord | null;
  epochsRun: number;
  epochsPlanned: number;
  stoppedEarly: boolean;
  resumedFromEpoch: number | null;
  wallMs: number;
  msPerStep: number;
  /** The run's own files (runs/<id>/…). */
  paths: TrainPaths;
  /** The seed's paths holding this run's files when it is current (checkpoints/best_model.*, results/training_*). */
  published: {
    bestWeights: string;
    bestInfo: string;
    results: string;
    summary: string;
    charts: string;
  } | null;
}

export interface TrainResult extends TrainSummary {
  config: TrainConfig;
  history: EpochRecord[];
}

const ENCODE_CHUNK = 256;

export const SYNTHETIC_NOTE =
  'SYNTHETIC: trained against stand-in image embeddings generated from the attributes, not FashionCLIP.';

/** A run's files inside its folder runs/<id>/. */
export function trainingPaths(ws: Workspace, runId: string): TrainPaths {
  const p = runPaths(ws, runId);
  return {
    bestWeights: p.bestWeights,
    bestInfo: p.bestInfo,
    lastWeights: p.lastWeights,
    lastInfo: p.lastInfo,
    results: p.resultsJson,
    summary: p.summary,
    charts: p.charts,
  };
}

function publishedPaths(ws: Workspace): NonNullable<TrainSummary['published']> {
  const c = ws.paths.checkpoints;
  const r = ws.paths.results;
  return {
    bestWeights: join(c, 'best_model.safetensors'),
    bestInfo: join(c, 'best_model.json'),
    results: join(r, 'training_results.json'),
    summary: join(r, 'training_summary.json'),
    charts: join(r, 'training_charts.png'),
  };
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `train-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Encodes every item of a split in eval mode, in chunks: [n × outputDim]. */
export function encodeSplit(
  model: JsonEncoderModel,
  data: TrainingData,
  split: 'train' | 'val',
): Float32Array {
  const s = data[split];
  const dim = model.config.outputDim;
  const out = new Float32Array(s.ids.length * dim);
  for (let i = 0; i < s.ids.length; i += ENCODE_CHUNK) {
    const rows = Array.from({ length: Math.min(ENCODE_CHUNK, s.ids.length - i) }, (_, k) => i + k);
    out.set(model.encode(makeInputs(s, data.fields, rows)), i * dim);
  }
  return out;
}

export async function train(
  ws: Workspace,
  config: TrainConfig,
  controls: TrainControls,
): Promise<TrainResult> {
  adoptLegacyCheckpoint(ws);
  let resumeRow: RunRow | null = null;
  let saved: SavedCheckpoint | null = null;
  if (controls.resume) {
    resumeRow = resumeTarget(ws, controls.resume);
    saved = loadCheckpoint(runPaths(ws, resumeRow.id).checkpoints, 'last');
    // No --model means "the one the run used", not "pick again".
    config = { ...config, model: config.model ?? saved.info.config.model };
    checkResumable(saved.info, config);
  }
  let parent: SavedCheckpoint | null = null;
  if (controls.initFrom && !saved) {
    const row = resolveRun(ws, controls.initFrom, '--init-from');
    const dir = runPaths(ws, row.id).checkpoints;
    if (!checkpointExists(dir, 'best')) {
      throw new TrainingError(
        `--init-from ${controls.initFrom}: run ${row.id} (${row.status}) has no best checkpoint to start from: no epoch of it finished.`,
      );
    }
    parent = loadCheckpoint(dir, 'best');
  }

  const data = loadTrainingData(ws, { fields: config.fields, model: config.model });
  // Record the model that was actually used, so a resume and the checkpoints name it.
  config = { ...config, model: data.embedding.model };
  if (saved) checkSameData(saved.info, data);
  if (parent) checkParentFits(parent.info, data, config);
  const fingerprint = fingerprintOf(ws, data);
  const warnings: string[] = [];
  if (controls.expectData) {
    const diff = fingerprintDifferences(controls.expectData, fingerprint);
    if (diff.length > 0) {
      const w = `The data differs from the data run ${controls.replayOf ?? '(replayed)'} trained on: ${diff.join('; ')}. The replay runs anyway, but its figures will not equal the original's.`;
      warnings.push(w);
      controls.onWarning?.(w);
    }
  }

  const encoderConfig: JsonEncoderConfig = {
    fields: data.fields,
    fieldKinds: data.fieldKinds,
    vocabSizes: data.vocabSizes,
    embedDim: config.embedDim,
    hiddenDim: config.hiddenDim,
    outputDim: 512,
    dropout: config.dropout,
    // The layered model's shape, only when set (so default configs stay as they were recorded).
    ...Object.fromEntries(
      (['depth', 'residual', 'norm', 'activation', 'engine'] as const)
        .filter((k) => config[k] !== undefined)
        .map((k) => [k, config[k]]),
    ),
  };
  const { model, backend, backendDetail } = await controls.createEncoder(encoderConfig, {
    seed: config.seed,
    backend: config.backend,
  });
  try {
    return await runEpochs(ws, config, controls, {
      data,
      model,
      backend,
      backendDetail: backendDetail ?? null,
      encoderConfig,
      saved,
      resumeRow,
      parent,
      fingerprint,
      warnings,
    });
  } finally {
    model.dispose();
  }
}

/**
 * The run `--resume` continues: the one named, else the newest run. A run that is still running, or
 * that has no last checkpoint (killed or stopped before its first epoch finished), is named as such:
 * never silently swapped for an older run.
 */
export function resumeTarget(ws: Workspace, resume: true | string): RunRow {
  let row: RunRow;
  if (typeof resume === 'string') row = resolveRun(ws, resume, '--resume');
  else {
    const newest = listRuns(ws).at(-1);
    if (!newest)
      throw new TrainingError('Nothing to resume: this workspace has no runs yet. Train without --resume.');
    row = newest;
  }
  if (row.status === 'running') {
    throw new TrainingError(
      `Run ${row.id} is still running (process ${row.pid} on ${row.host}); it cannot be resumed twice.`,
    );
  }
  if (!checkpointExists(runPaths(ws, row.id).checkpoints, 'last')) {
    const how =
      row.status === 'interrupted'
        ? 'its process was killed'
        : row.status === 'failed'
          ? 'it failed'
          : row.status === 'stopped'
            ? 'it was stopped'
            : 'it ended';
    throw new TrainingError(
      `Nothing to resume: run ${row.id} (#${row.seq}, ${row.status}, started ${row.startedAt}) has no checkpoint to resume from: ${how} before its first epoch finished, so nothing was saved. Start a new run without --resume.`,
    );
  }
  return row;
}

/** --init-from needs the parent's encoder to fit this data: same fields, vocabulary and shape. */
function checkParentFits(info: CheckpointInfo, data: TrainingData, config: TrainConfig): void {
  const what = `--init-from ${info.runId}`;
  if (JSON.stringify(info.fields) !== JSON.stringify(data.fields)) {
    throw new TrainingError(
      `${what}: that run encodes the fields ${info.fields.join(', ')}; this run asks for ${data.fields.join(', ')}. Give the same --fields.`,
    );
  }
  if (info.encoder.embedDim !== config.embedDim || info.encoder.hiddenDim !== config.hiddenDim) {
    throw new TrainingError(
      `${what}: that run's encoder has embedding ${info.encoder.embedDim} / hidden ${info.encoder.hiddenDim}; this config has ${config.embedDim} / ${config.hiddenDim}.`,
    );
  }
  const now = vocabularyValues(data.vocabulary);
  for (const f of data.fields) {
    if (JSON.stringify(info.vocabulary[f]) !== JSON.stringify(now[f])) {
      throw new TrainingError(
        `${what}: the workspace's "${f}" vocabulary changed since that run (a re-scan?), so its embedding rows would mean other values.`,
      );
    }
  }
}

function checkResumable(info: CheckpointInfo, config: TrainConfig): void {
  const r = info.resume;
  if (!r)
    throw new TrainingError(`${CHECKPOINT_LAST}: no resume state; it was not written by a training epoch.`);
  if (r.earlyStopping.stopped) {
    throw new TrainingError(
      `Nothing to resume: run ${info.runId} stopped early at epoch ${r.epoch} (no validation-loss improvement for ${r.earlyStopping.patience} epochs; best epoch ${r.earlyStopping.bestEpoch}).`,
    );
  }
  if (r.epoch >= config.epochs) {
    throw new TrainingError(
      `Nothing to resume: run ${info.runId} finished all ${r.epoch} epochs. Give --epochs N with N > ${r.epoch} to train it further.`,
    );
  }
  const diff = configDifferences(info.config, config);
  if (diff.length > 0) {
    throw new TrainConfigError(
      `--resume continues run ${info.runId} with its saved settings; these differ: ${diff.join('; ')}. Drop those flags, or start a new run without --resume.`,
    );
  }
}

const CHECKPOINT_LAST = 'checkpoints/last.json';

/** Identifies the exact train/val item lists, so a resume after a re-scan or re-split is refused. */
export function dataFingerprint(data: TrainingData): string {
  const h = createHash('sha256');
  for (const id of data.train.ids) h.update(`t:${id}\n`);
  for (const id of data.val.ids) h.update(`v:${id}\n`);
  return h.digest('hex').slice(0, 16);
}

function checkSameData(info: CheckpointInfo, data: TrainingData): void {
  const saved = info.resume?.dataFingerprint;
  if (saved && saved !== dataFingerprint(data)) {
    throw new TrainingError(
      `Cannot resume run ${info.runId}: the workspace's train/val items changed since it was saved (a re-scan or a new split). Start a new run without --resume.`,
    );
  }
  const now = vocabularyValues(data.vocabulary);
  for (const f of data.fields) {
    if (JSON.stringify(info.vocabulary[f]) !== JSON.stringify(now[f])) {
      throw new TrainingError(
        `Cannot resume run ${info.runId}: the workspace's "${f}" vocabulary changed since it was saved (a re-scan?). Start a new run without --resume.`,
      );
    }
  }
  if (info.imageEmbedding.model !== data.embedding.model) {
    throw new TrainingError(
      `Cannot resume run ${info.runId}: it trained against "${info.imageEmbedding.model}" image embeddings, not "${data.embedding.model}".`,
    );
  }
}

interface RunContext {
  data: TrainingData;
  model: JsonEncoderModel;
  backend: string;
  backendDetail: string | null;
  encoderConfig: JsonEncoderConfig;
  saved: SavedCheckpoint | null;
  resumeRow: RunRow | null;
  parent: SavedCheckpoint | null;
  fingerprint: DataFingerprint;
  warnings: string[];
}

/** The validation protocol's short name, as runs list it beside their headline figures. */
function validationProtocolName(valItems: number, sampled: number | null): string {
  return sampled === null
    ? `gallery, N=${valItems} (training validation)`
    : `gallery, N=${valItems}, ${sampled} sampled queries (training validation, an estimate)`;
}

function headlineOf(
  best: EpochRecord | null | undefined,
  valItems: number,
  sampled: number | null,
): RunHeadline | null {
  return best
    ? {
        epoch: best.epoch,
        valLoss: best.valLoss,
        top1: best.top1,
        top5: best.top5,
        mrr: best.mrr,
        ...(best.recall10 !== undefined ? { recall10: best.recall10 } : {}),
        protocol: validationProtocolName(valItems, sampled),
      }
    : null;
}

async function runEpochs(
  ws: Workspace,
  config: TrainConfig,
  controls: TrainControls,
  ctx: RunContext,
): Promise<TrainResult> {
  const { data, model, backend, saved } = ctx;
  const dim = ctx.encoderConfig.outputDim;
  const nTrain = data.train.ids.length;
  const stepsPerEpoch = epochBatches(nTrain, config.batchSize, config.seed, 1).length;
  // The run's augmentation (none: null, and the steps below are exactly the unaugmented ones).
  const aug = augmentationForRun(ws, data, config);
  const schedule = planSchedule({
    baseLr: config.lr,
    warmupFraction: config.warmupFraction,
    floorRatio: config.lrFloorRatio,
    stepsPerEpoch,
    epochs: config.epochs,
  });
  // Step / exponential / constant schedules (encoders/json-encoder/lr-schedulers.ts); cosine as before.
  const other =
    config.scheduler && config.scheduler !== 'cosine'
      ? planLrSchedule(
          {
            scheduler: config.scheduler,
            warmup: config.warmupFraction,
            lrFloor: config.lrFloorRatio,
            stepEvery: config.stepEvery ?? DEFAULT_ENCODER_SETTINGS.stepEvery,
            gamma: config.gamma ?? DEFAULT_ENCODER_SETTINGS.gamma,
          },
          config.lr,
          stepsPerEpoch,
          config.epochs,
        )
      : null;
  const lrAt = (step: number) => (other ? scheduledLr(other, step) : learningRate(schedule, step));
  const idsFingerprint = dataFingerprint(data);
  const valBatches = validationBatches(data.val.ids.length, config.batchSize, config.seed);
  // [Note: sampled validation queries] Ranking every validation item against the whole validation
  // gallery is quadratic: at 1.2M garments (a 240k gallery) one pass takes about as long as four
  // training epochs. `valQueries` ranks a uniform seeded sample of items instead, each still against
  // the WHOLE gallery, so every figure (Top-1, Top-5, MRR, Recall@10) is an unbiased estimate of the
  // full pass's (a proportion's standard error is at most 0.5/√Q) at n/Q of the cost. The sample is
  // drawn once per run (same items every epoch, so epochs compare), the loss still covers every
  // item, and the protocol's name says how many queries were sampled wherever the figures show.
  const queryRows = validationQuerySample(data.val.ids.length, config.valQueries, config.seed);
  const sampledQueries = queryRows ? queryRows.length : null;
  const optimizer = (lr: number): OptimizerSettings => ({
    lr,
    weightDecay: config.weightDecay,
    beta1: config.beta1,
    beta2: config.beta2,
    eps: config.eps,
    clipNorm: config.clipNorm,
  });
  const store = runsStore(ws);
  // Every run writes its TensorBoard log (runs/<id>/tensorboard/) unless the caller opts out.
  const loggers = [
    ...(controls.tensorBoard === false ? [] : [tensorBoardRunLogger()]),
    ...(controls.loggers ?? []),
  ];

  let runId: string;
  let startEpoch = 0;
  let step = 0;
  let early: EarlyStoppingState;
  let history: EpochRecord[];
  let startedAt: string;
  let priorMs = 0;
  let parentRef: { runId: string; epoch: number } | null = null;
  if (saved?.info.resume) {
    model.setState(saved.state);
    const r = saved.info.resume;
    runId = saved.info.runId;
    startEpoch = r.epoch;
    step = r.optimizerStep;
    early = earlyStoppingFromJson(r.earlyStopping);
    history = r.history;
    startedAt = r.startedAt;
    priorMs = r.elapsedMs;
    parentRef = saved.info.parent ?? null;
  } else {
    runId = newRunId();
    early = initialEarlyStopping(config.patience, config.minDelta);
    history = [];
    startedAt = new Date().toISOString();
    if (ctx.parent) {
      // Warm start: the parent's best weights, a fresh optimiser (moments, step) and dropout RNG.
      const ps = ctx.parent.state;
      const fresh = model.getState();
      model.setState({ params: ps.params, optimizer: { step: 0, moments: {} }, rngState: fresh.rngState });
      parentRef = { runId: ctx.parent.info.runId, epoch: ctx.parent.info.epoch };
    }
  }
  const paths = trainingPaths(ws, runId);
  const rp = runPaths(ws, runId);
  for (const d of [rp.checkpoints, rp.results, rp.evaluations]) mkdirSync(d, { recursive: true });
  const pid = process.pid;
  const host = thisHost();
  if (ctx.resumeRow) {
    store.restart(runId, config as unknown as Record<string, unknown>, backend, pid, host);
  } else {
    // Runs whose process was killed are marked interrupted (and their folders settled) before a new
    // run starts beside them, not only when someone next lists them.
    refreshInterrupted(ws);
    store.insert({
      id: runId,
      kind: controls.kind ?? 'train',
      config: config as unknown as Record<string, unknown>,
      backend,
      startedAt,
      parentId: parentRef?.runId ?? null,
      replayOf: controls.replayOf ?? null,
      study: controls.study ?? null,
      tags: controls.tags,
      folder: relPath(ws, rp.dir),
      pid,
      host,
    });
    writeRunConfig(ws, {
      format: RUN_CONFIG_FORMAT,
      version: 1,
      runId,
      kind: controls.kind ?? 'train',
      createdAt: startedAt,
      config,
      encoder: ctx.encoderConfig,
      imageEmbedding: {
        model: data.embedding.model,
        source: data.embedding.source,
        synthetic: data.embedding.synthetic,
      },
      backend,
      augmentation: config.augmentation ?? null,
      data: ctx.fingerprint,
      parent: parentRef,
      replayOf: controls.replayOf ?? null,
      study: controls.study ?? null,
    });
    writeSplitIds(ws, runId, { train: data.train.ids, val: data.val.ids });
  }
  const row = () => store.get(runId)!;
  writeRunStatus(ws, row(), { epochsPlanned: config.epochs });
  for (const l of loggers)
    await l.start?.({ runId, dir: rp.dir, config, startedAt, startEpoch, stepsPerEpoch });

  const clock = performance.now();
  const elapsed = () => priorMs + (performance.now() - clock);
  let trainMs = history.reduce((a, h) => a + h.msPerStep * stepsPerEpoch, 0);
  let stepsTimed = history.length * stepsPerEpoch;
  const last = () => history.at(-1);
  const progress = controls.onProgress;
  /** Set when a cancel dropped an unfinished epoch (its number), or 0 when it came between epochs. */
  let cancelledDuring: number | null = null;

  /** Validation loss on the fixed batches, then the gallery figures: one epoch's validation. */
  const validate = async (phase: string, shown: Record<string, number>, epoch: number) => {
    const where = { epoch, epochs: config.epochs, stage: 'validate' as const };
    progress?.(phase, 0, valBatches.length + 1, { ...shown }, { train: where });
    let valLossSum = 0;
    let valCount = 0;
    for (const rows of valBatches) {
      const l = model.loss(
        makeInputs(data.val, data.fields, rows),
        gatherImages(data.val, dim, rows),
        config.temperature,
      );
      valLossSum += l * rows.length;
      valCount += rows.length;
    }
    progress?.(phase, valBatches.length, valBatches.length + 1, { ...shown }, { train: where });
    await yieldToEventLoop();
    const queries = encodeSplit(model, data, 'val');
    return validationMetricsBlocked(queries, data.val.images, dim, valLossSum / valCount, {
      ...(queryRows ? { queryRows } : {}),
    });
  };

  let initialValidation: TrainSummary['initialValidation'] = null;
  if (ctx.parent && !saved) {
    const m = await validate('validate starting weights', {}, 0);
    initialValidation = { valLoss: m.valLoss, top1: m.top1, top5: m.top5, mrr: m.mrr };
  }

  /** Set when the run ends: whether it is (or becomes) the current run. */
  let currentOverride: boolean | null = null;
  const summaryOf = (status: TrainSummary['status']): TrainResult => {
    const best = history.find((h) => h.epoch === early.bestEpoch) ?? null;
    const current = currentOverride ?? currentRunId(ws) === runId;
    return {
      runId,
      seq: row().seq,
      kind: row().kind,
      runDir: rp.dir,
      current,
      stale: !current,
      parent: parentRef,
      replayOf: row().replayOf,
      initialValidation,
      dataFingerprint: ctx.fingerprint,
      warnings: ctx.warnings,
      startedAt,
      timestamp: new Date().toISOString(),
      status,
      backend,
      backendDetail: ctx.backendDetail,
      imageEmbedding: {
        model: data.embedding.model,
        source: data.embedding.source,
        synthetic: data.embedding.synthetic,
      },
      ...(data.embedding.synthetic ? { note: SYNTHETIC_NOTE } : {}),
      data: { train: nTrain, val: data.val.ids.length, stepsPerEpoch },
      bestEpoch: early.bestEpoch,
      best,
      epochsRun: history.length,
      epochsPlanned: config.epochs,
      stoppedEarly: early.stopped,
      resumedFromEpoch: saved ? startEpoch : null,
      wallMs: Math.round(elapsed()),
      msPerStep: stepsTimed > 0 ? trainMs / stepsTimed : 0,
      paths,
      published: current ? publishedPaths(ws) : null,
      config,
      history,
    };
  };

  // The run's own results file exists from its start (status running, the epochs so far: none for a
  // new run, the finished ones for a resumed run), so a watcher sees this run's id and settings at once
  // rather than nothing until the first epoch ends.
  writeResults(paths, summaryOf('done'), 'running');
  try {
    for (let epoch = startEpoch + 1; epoch <= config.epochs; epoch++) {
      const phase = `epoch ${epoch}/${config.epochs}`;
      const batches = epochBatches(nTrain, config.batchSize, config.seed, epoch);
      const viewPicks = aug?.viewPicks(epoch) ?? null;
      const epochStart = performance.now();
      let lossSum = 0;
      let gradSum = 0;
      let lr = 0;
      let epochTrainMs = 0;
      const stepLoss = new StepLossTrace(batches.length);
      const prev = last();
      const shown: Record<string, number> = prev ? { top1: prev.top1, top5: prev.top5 } : {};
      progress?.(
        phase,
        0,
        batches.length,
        { ...shown },
        { train: { epoch, epochs: config.epochs, stage: 'train' } },
      );
      for (let b = 0; b < batches.length; b++) {
        const rows = batches[b]!;
        lr = lrAt(step);
        const t0 = performance.now();
        if (aug && viewPicks && epoch === 1 && b === 0)
          aug.recordSamples(ws, dirname(paths.results), runId, rows, epoch, b, viewPicks);
        const stepImages =
          aug && viewPicks ? aug.images(rows, viewPicks) : gatherImages(data.train, dim, rows);
        // MixUp (when the run asks for it): mixed image vectors and the soft targets of their mix.
        const mixed = aug ? aug.mix(stepImages, rows.length, epoch, b) : null;
        const res = model.trainStep(
          aug && viewPicks ? aug.inputs(rows, epoch, b) : makeInputs(data.train, data.fields, rows),
          mixed ? mixed.images : stepImages,
          config.temperature,
          optimizer(lr),
          mixed?.targets,
        );
        epochTrainMs += performance.now() - t0;
        step++;
        if (!Number.isFinite(res.loss)) {
          throw new TrainingError(
            `The training loss became ${res.loss} at epoch ${epoch}, step ${b + 1}: the run diverged. Lower --lr (now ${config.lr}) or raise --temperature (now ${config.temperature}).`,
          );
        }
        lossSum += res.loss;
        gradSum += res.gradNorm;
        stepLoss.add(step, res.loss);
        for (const l of loggers) l.step?.({ runId, epoch, step, loss: res.loss, lr, gradNorm: res.gradNorm });
        progress?.(
          phase,
          b + 1,
          batches.length,
          { loss: lossSum / (b + 1), lr, ...shown },
          { train: { epoch, epochs: config.epochs, stage: 'train', globalStep: step, stepLoss: res.loss } },
        );
        // Steps are synchronous: yield to the event loop so Ctrl-C (SIGINT), IPC and timers get through.
        await yieldToEventLoop();
        // A cancel after the epoch's last step still validates and saves the epoch: its work is done.
        if (controls.signal?.aborted && b < batches.length - 1) {
          cancelledDuring = epoch;
          break;
        }
      }
      if (cancelledDuring !== null) break;

      // Validation: the loss on fixed batches (comparable to the training loss), then the retrieval
      // figures over the whole validation gallery (quadratic in its size: its own progress phase).
      const vPhase = `validate ${epoch}/${config.epochs}`;
      const metrics = await validate(vPhase, shown, epoch);
      trainMs += epochTrainMs;
      stepsTimed += batches.length;
      const record: EpochRecord = {
        epoch,
        step,
        trainLoss: lossSum / batches.length,
        lr,
        gradNorm: gradSum / batches.length,
        ...metrics,
        epochMs: Math.round(performance.now() - epochStart),
        msPerStep: epochTrainMs / batches.length,
        finishedAt: new Date().toISOString(),
        stepLoss: stepLoss.finish(step),
      };
      history.push(record);
      const { improved, stop } = updateEarlyStopping(early, record.valLoss, epoch);

      const state = model.getState();
      const common = {
        runId,
        timestamp: record.finishedAt,
        epoch,
        step,
        config,
        encoder: ctx.encoderConfig,
        fields: data.fields,
        vocabulary: vocabularyValues(data.vocabulary),
        backend,
        metrics: record,
        imageEmbedding: {
          model: data.embedding.model,
          source: data.embedding.source,
          synthetic: data.embedding.synthetic,
        },
        data: ctx.fingerprint,
        parent: parentRef,
      };
      if (improved) saveCheckpoint(rp.checkpoints, 'best', state, common, RUN_CHECKPOINT_FILES);
      const resume: ResumeState = {
        epoch,
        optimizerStep: step,
        rngState: state.rngState,
        earlyStopping: earlyStoppingToJson(early),
        history,
        startedAt,
        elapsedMs: Math.round(elapsed()),
        dataOrder: 'shuffle seeded by (seed, epoch): nothing to restore',
        dataFingerprint: idsFingerprint,
      };
      saveCheckpoint(rp.checkpoints, 'last', state, { ...common, resume }, RUN_CHECKPOINT_FILES);
      store.putMetrics(runId, epoch, step, metricRow(record));
      const bestSoFar = history.find((h) => h.epoch === early.bestEpoch);
      store.progress(
        runId,
        bestSoFar ? early.bestEpoch : null,
        history.length,
        headlineOf(bestSoFar, data.val.ids.length, sampledQueries),
      );
      writeRunStatus(ws, row());
      writeResults(paths, summaryOf('done'), 'running');
      for (const l of loggers) await l.epoch?.(runId, record);
      progress?.(
        vPhase,
        valBatches.length + 1,
        valBatches.length + 1,
        { loss: record.trainLoss, val_loss: record.valLoss, top1: record.top1, top5: record.top5 },
        { event: { kind: 'epoch-end', epoch }, train: { epoch, epochs: config.epochs, stage: 'validate' } },
      );
      if (stop) break;
      if (controls.signal?.aborted && epoch < config.epochs) {
        cancelledDuring = 0;
        break;
      }
    }
  } catch (e) {
    const message = (e as Error).message;
    const best = history.find((h) => h.epoch === early.bestEpoch);
    store.finish(runId, {
      status: 'failed',
      finishedAt: new Date().toISOString(),
      summary: { error: message, epochsRun: history.length },
      bestEpoch: best ? early.bestEpoch : null,
      epochsRun: history.length,
      headline: headlineOf(best, data.val.ids.length, sampledQueries),
    });
    writeRunStatus(ws, row(), { error: message });
    for (const l of loggers)
      await l.end?.({
        runId,
        status: 'failed',
        history,
        bestEpoch: early.bestEpoch,
        chartsPng: null,
        error: message,
      });
    throw e;
  }

  const cancelled = cancelledDuring !== null;
  const status = cancelled ? 'stopped' : 'done';
  let png: Uint8Array | null = null;
  if (history.length > 0) {
    png = await renderTrainingCharts(history, {
      title: `JSON encoder training — ${runId}`,
      subtitle: [
        `${data.embedding.model}${data.embedding.synthetic ? ' (SYNTHETIC embeddings)' : ''}`,
        backend,
        `${nTrain} train / ${data.val.ids.length} val`,
        `batch ${config.batchSize}, lr ${config.lr}, T ${config.temperature}, wd ${config.weightDecay}`,
        early.stopped
          ? `early stop after epoch ${history.length} (patience ${config.patience})`
          : `${history.length} epochs`,
      ].join(' · '),
      bestEpoch: early.bestEpoch,
      synthetic: data.embedding.synthetic,
      galleryItems: data.val.ids.length,
      lrCurve: Array.from({ length: step }, (_, s) => ({
        x: (s + 1) / stepsPerEpoch,
        y: lrAt(s),
      })),
    });
    writeFileAtomic(paths.charts, png);
  }
  const best = history.find((h) => h.epoch === early.bestEpoch) ?? null;
  const finishedAt = new Date().toISOString();
  const mark = runsStore(ws).current();
  const wasCurrent = mark?.runId === runId;
  const becomesCurrent = status === 'done' && best !== null && controls.makeCurrent !== false;
  currentOverride = becomesCurrent || wasCurrent;
  const result = summaryOf(status);
  {
    const { history: _h, config: _c, ...summaryForDb } = result;
    store.finish(runId, {
      status,
      finishedAt,
      summary: summaryForDb as unknown as Record<string, unknown>,
      bestEpoch: best ? early.bestEpoch : null,
      epochsRun: history.length,
      headline: headlineOf(best, data.val.ids.length, sampledQueries),
    });
  }
  writeRunStatus(ws, row());
  writeResults(paths, result, status);
  // Published after the final results are written: the copies are links to these very files.
  if (becomesCurrent || wasCurrent) makeCurrent(ws, runId, !becomesCurrent && (mark?.promoted ?? false));
  for (const l of loggers)
    await l.end?.({ runId, status, history, bestEpoch: early.bestEpoch, chartsPng: png });
  if (cancelled) {
    const kept = history.at(-1)?.epoch ?? 0;
    throw new CancelledError(
      kept > 0
        ? `training stopped ${cancelledDuring ? `during epoch ${cancelledDuring} (its steps are dropped)` : `after epoch ${kept}`}; epoch ${kept} of run ${runId} is saved in ${relPath(ws, rp.checkpoints)}/last.* — continue with --resume.`
        : `training stopped before the first epoch of run ${runId} finished; nothing was saved.`,
    );
  }
  return result;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function metricRow(r: EpochRecord): Record<string, number> {
  return {
    train_loss: r.trainLoss,
    val_loss: r.valLoss,
    top1: r.top1,
    top5: r.top5,
    recall10: r.recall10 ?? Number.NaN,
    mrr: r.mrr,
    pos_sim: r.posSim,
    neg_sim: r.negSim,
    mean_norm: r.meanNorm,
    lr: r.lr,
    grad_norm: r.gradNorm,
    ms_per_step: r.msPerStep,
  };
}

/** results/training_results.json (history) and results/training_summary.json (the headline). */
function writeResults(paths: TrainPaths, r: TrainResult, status: string): void {
  const synthetic = r.imageEmbedding.synthetic;
  const note = r.note;
  const sampled = validationQuerySample(r.data.val, r.config.valQueries, r.config.seed);
  const queries = sampled
    ? `a seeded sample of ${sampled.length} of the ${r.data.val} validation items as queries (the same every epoch), each ranked against the whole validation gallery: the figures are estimates of the full pass (a proportion's standard error is at most ${(0.5 / Math.sqrt(sampled.length)).toFixed(4)})`
    : 'every validation item as a query, ranked against the whole validation gallery';
  const protocol = `Validation retrieval: JSON → image (EVALUATION.md "gallery" protocol) with ${queries}; ties count against the query. Validation loss: symmetric InfoNCE on fixed seeded validation batches of the training batch size, over every validation item.`;
  writeJsonAtomic(paths.results, {
    runId: r.runId,
    timestamp: r.timestamp,
    status,
    ...(note ? { note } : {}),
    synthetic,
    backend: r.backend,
    backendDetail: r.backendDetail,
    imageEmbedding: r.imageEmbedding,
    data: r.data,
    protocol,
    config: r.config,
    startedAt: r.startedAt,
    // The epoch whose weights are checkpoints/best (early stopping's rule, which has a minimum
    // improvement): what evaluation, search and recommendation use, so views can say which epoch.
    bestEpoch: r.bestEpoch,
    history: r.history,
  });
  const { history: _h, config: _c, ...summary } = r;
  writeJsonAtomic(paths.summary, { ...summary, status, ...(note ? { note } : {}), synthetic, protocol });
}
