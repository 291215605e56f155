/**
 * The training loop around a JsonEncoderModel: seeded epochs of symmetric InfoNCE steps with the
 * warm-up + cosine schedule, a validation pass after every epoch (loss, Top-1/Top-5/MRR over the whole
 * validation gallery, similarities, norms), early stopping on the validation loss, checkpoints, resume,
 * and the run's record in the workspace (`runs`, `run_metrics`, results/*.json, the chart).
 *
 * Resume is exact: the epoch order is derived from (seed, epoch), and last.* holds the weights, the
 * AdamW moments, the optimiser step, the dropout RNG and the early-stopping state at the end of the
 * last completed epoch — so 2 epochs equal 1 epoch + resume 1 bit for bit.
 *
 * Cancel (signal) stops after the current optimiser step; the unfinished epoch is dropped and
 * last.* keeps the last completed one, so a Ctrl-C (or a crash) loses at most one epoch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_ENCODER_SETTINGS } from '../../src-shared/encoder-config.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import type {
  JsonEncoderConfig,
  JsonEncoderModel,
  OptimizerSettings,
} from '../encoders/json-encoder/json-encoder-types.ts';
import { planLrSchedule, scheduledLr } from '../encoders/json-encoder/lr-schedulers.ts';
import type { Workspace } from '../store/workspace.ts';
import { augmentationForRun } from './augmented-batches.ts';
import {
  type CheckpointInfo,
  type EpochRecord,
  loadCheckpoint,
  type ResumeState,
  type SavedCheckpoint,
  saveCheckpoint,
  vocabularyValues,
} from './checkpoints.ts';
import {
  type EarlyStoppingState,
  earlyStoppingFromJson,
  earlyStoppingToJson,
  initialEarlyStopping,
  updateEarlyStopping,
} from './early-stopping.ts';
import { learningRate, planSchedule } from './lr-schedule.ts';
import { configDifferences, type TrainConfig, TrainConfigError } from './train-config.ts';
import { renderTrainingCharts } from './training-charts.ts';
import {
  epochBatches,
  gatherImages,
  loadTrainingData,
  makeInputs,
  type TrainingData,
  validationBatches,
} from './training-data.ts';
import { validationMetricsBlocked } from './validation-metrics.ts';

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
  if (usesLayeredEngine(config)) {
    const { layeredEncoderFactory } = await import('../encoders/json-encoder/layered-factory.ts');
    return layeredEncoderFactory(config, opts);
  }
  const { jsonEncoderFactory } = await import('../encoders/json-encoder/json-encoder.ts');
  return jsonEncoderFactory(config, opts);
};

/** The layered model when asked for, or when the shape is one the tfjs model cannot build. */
export function usesLayeredEngine(c: JsonEncoderConfig): boolean {
  if (c.engine) return c.engine === 'layered';
  return (
    (c.depth ?? 1) !== 1 || c.residual === true || (c.norm ?? 'none') !== 'none' || c.activation === 'silu'
  );
}

export interface TrainControls extends WorkOptions {
  createEncoder: EncoderFactory;
  /** Continue the run in checkpoints/last.* (its config must match `config` except epochs/backend). */
  resume?: boolean;
  /**
   * Train into this folder's checkpoints/ and results/ instead of the workspace's own (a temperature
   * sweep trains one folder per temperature without overwriting the workspace's main checkpoints).
   */
  outDir?: string;
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
  paths: TrainPaths;
}

export interface TrainResult extends TrainSummary {
  config: TrainConfig;
  history: EpochRecord[];
}

const ENCODE_CHUNK = 256;

export const SYNTHETIC_NOTE =
  'SYNTHETIC: trained against stand-in image embeddings generated from the attributes, not FashionCLIP.';

/** Where a training run's checkpoints and results go: the workspace's folders, or `outDir`'s. */
export function trainingDirs(ws: Workspace, outDir?: string): { checkpoints: string; results: string } {
  return outDir
    ? { checkpoints: join(outDir, 'checkpoints'), results: join(outDir, 'results') }
    : { checkpoints: ws.paths.checkpoints, results: ws.paths.results };
}

export function trainingPaths(ws: Workspace, outDir?: string): TrainPaths {
  const { checkpoints: c, results: r } = trainingDirs(ws, outDir);
  return {
    bestWeights: join(c, 'best_model.safetensors'),
    bestInfo: join(c, 'best_model.json'),
    lastWeights: join(c, 'last.safetensors'),
    lastInfo: join(c, 'last.json'),
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
  const paths = trainingPaths(ws, controls.outDir);
  const dirs = trainingDirs(ws, controls.outDir);
  mkdirSync(dirs.checkpoints, { recursive: true });
  mkdirSync(dirs.results, { recursive: true });

  const saved = controls.resume ? loadCheckpoint(dirs.checkpoints, 'last') : null;
  if (saved) {
    // No --model means "the one the run used", not "pick again".
    config = { ...config, model: config.model ?? saved.info.config.model };
    checkResumable(saved.info, config);
  }

  const data = loadTrainingData(ws, { fields: config.fields, model: config.model });
  // Record the model that was actually used, so a resume and the checkpoints name it.
  config = { ...config, model: data.embedding.model };
  if (saved) checkSameData(saved.info, data);

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
      paths,
      checkpointDir: dirs.checkpoints,
    });
  } finally {
    model.dispose();
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
  paths: TrainPaths;
  /** Folder the checkpoints are written to. */
  checkpointDir: string;
}

async function runEpochs(
  ws: Workspace,
  config: TrainConfig,
  controls: TrainControls,
  ctx: RunContext,
): Promise<TrainResult> {
  const { data, model, backend, saved, paths } = ctx;
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
  const fingerprint = dataFingerprint(data);
  const valBatches = validationBatches(data.val.ids.length, config.batchSize, config.seed);
  const optimizer = (lr: number): OptimizerSettings => ({
    lr,
    weightDecay: config.weightDecay,
    beta1: config.beta1,
    beta2: config.beta2,
    eps: config.eps,
    clipNorm: config.clipNorm,
  });

  let runId: string;
  let startEpoch = 0;
  let step = 0;
  let early: EarlyStoppingState;
  let history: EpochRecord[];
  let startedAt: string;
  let priorMs = 0;
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
  } else {
    runId = newRunId();
    early = initialEarlyStopping(config.patience, config.minDelta);
    history = [];
    startedAt = new Date().toISOString();
  }
  const db = ws.db;
  db.prepare(
    `INSERT INTO runs (id, kind, status, config, backend, started_at) VALUES (?, 'train', 'running', ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET status = 'running', config = excluded.config, backend = excluded.backend,
       finished_at = NULL`,
  ).run(runId, JSON.stringify(config), backend, startedAt);
  const putMetric = db.prepare(
    'INSERT OR REPLACE INTO run_metrics (run_id, epoch, step, name, value) VALUES (?, ?, ?, ?, ?)',
  );

  const clock = performance.now();
  const elapsed = () => priorMs + (performance.now() - clock);
  let trainMs = history.reduce((a, h) => a + h.msPerStep * stepsPerEpoch, 0);
  let stepsTimed = history.length * stepsPerEpoch;
  const last = () => history.at(-1);
  const progress = controls.onProgress;
  /** Set when a cancel dropped an unfinished epoch (its number), or 0 when it came between epochs. */
  let cancelledDuring: number | null = null;

  const summaryOf = (status: TrainSummary['status']): TrainResult => {
    const best = history.find((h) => h.epoch === early.bestEpoch) ?? null;
    return {
      runId,
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
      config,
      history,
    };
  };

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
      const prev = last();
      const shown: Record<string, number> = prev ? { top1: prev.top1, top5: prev.top5 } : {};
      progress?.(phase, 0, batches.length, { ...shown });
      for (let b = 0; b < batches.length; b++) {
        const rows = batches[b]!;
        lr = lrAt(step);
        const t0 = performance.now();
        if (aug && viewPicks && epoch === 1 && b === 0)
          aug.recordSamples(ws, dirname(paths.results), runId, rows, epoch, b, viewPicks);
        const res = model.trainStep(
          aug && viewPicks ? aug.inputs(rows, epoch, b) : makeInputs(data.train, data.fields, rows),
          aug && viewPicks ? aug.images(rows, viewPicks) : gatherImages(data.train, dim, rows),
          config.temperature,
          optimizer(lr),
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
        progress?.(phase, b + 1, batches.length, { loss: lossSum / (b + 1), lr, ...shown });
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
      progress?.(vPhase, 0, valBatches.length + 1, { ...shown });
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
      progress?.(vPhase, valBatches.length, valBatches.length + 1, { ...shown });
      await yieldToEventLoop();
      const queries = encodeSplit(model, data, 'val');
      const metrics = await validationMetricsBlocked(queries, data.val.images, dim, valLossSum / valCount);
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
      };
      if (improved) saveCheckpoint(ctx.checkpointDir, 'best', state, common);
      const resume: ResumeState = {
        epoch,
        optimizerStep: step,
        rngState: state.rngState,
        earlyStopping: earlyStoppingToJson(early),
        history,
        startedAt,
        elapsedMs: Math.round(elapsed()),
        dataOrder: 'shuffle seeded by (seed, epoch): nothing to restore',
        dataFingerprint: fingerprint,
      };
      saveCheckpoint(ctx.checkpointDir, 'last', state, { ...common, resume });
      db.transaction(() => {
        for (const [name, value] of Object.entries(metricRow(record))) {
          if (Number.isFinite(value)) putMetric.run(runId, epoch, step, name, value);
        }
      })();
      writeResults(paths, summaryOf('done'), 'running');
      progress?.(vPhase, valBatches.length + 1, valBatches.length + 1, {
        loss: record.trainLoss,
        val_loss: record.valLoss,
        top1: record.top1,
        top5: record.top5,
      });
      if (stop) break;
      if (controls.signal?.aborted && epoch < config.epochs) {
        cancelledDuring = 0;
        break;
      }
    }
  } catch (e) {
    db.prepare(`UPDATE runs SET status = 'failed', finished_at = ?, summary = ? WHERE id = ?`).run(
      new Date().toISOString(),
      JSON.stringify({ error: (e as Error).message, epochsRun: history.length }),
      runId,
    );
    throw e;
  }

  const cancelled = cancelledDuring !== null;
  const result = summaryOf(cancelled ? 'stopped' : 'done');
  writeResults(paths, result, result.status);
  if (history.length > 0) {
    const png = await renderTrainingCharts(history, {
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
    writeFileSync(paths.charts, png);
  }
  const { history: _h, config: _c, ...summaryForDb } = result;
  db.prepare('UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?').run(
    result.status,
    result.timestamp,
    JSON.stringify(summaryForDb),
    runId,
  );
  if (cancelled) {
    const kept = history.at(-1)?.epoch ?? 0;
    throw new CancelledError(
      kept > 0
        ? `training stopped ${cancelledDuring ? `during epoch ${cancelledDuring} (its steps are dropped)` : `after epoch ${kept}`}; epoch ${kept} is saved in checkpoints/last.* — continue with --resume.`
        : 'training stopped before the first epoch finished; nothing was saved.',
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
    mrr: r.mrr,
    pos_sim: r.posSim,
    neg_sim: r.negSim,
    mean_norm: r.meanNorm,
    lr: r.lr,
    grad_norm: r.gradNorm,
    ms_per_step: r.msPerStep,
  };
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** results/training_results.json (history) and results/training_summary.json (the headline). */
function writeResults(paths: TrainPaths, r: TrainResult, status: string): void {
  const synthetic = r.imageEmbedding.synthetic;
  const note = r.note;
  const protocol =
    'Validation retrieval: JSON → image over the whole validation gallery (EVALUATION.md "gallery" protocol); ties count against the query. Validation loss: symmetric InfoNCE on fixed seeded validation batches of the training batch size.';
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
    history: r.history,
  });
  const { history: _h, config: _c, ...summary } = r;
  writeJsonAtomic(paths.summary, { ...summary, status, ...(note ? { note } : {}), synthetic, protocol });
}
