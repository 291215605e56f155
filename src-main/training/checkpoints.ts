/**
 * Checkpoints of the JSON encoder, in each run's `runs/<id>/checkpoints/` folder (the workspace's
 * `checkpoints/best_model.*` are the current run's best.*, under the seed pipeline's names):
 *
 *   best.safetensors + best.json               the weights of the best epoch (lowest validation loss),
 *                                              with everything needed to use them: config, vocabulary
 *                                              per field, field list, backend, metrics, data
 *                                              fingerprint, parent run, run id, time
 *   last.safetensors + last.json               the end of the latest completed epoch, for --resume:
 *                                              weights + AdamW moments, and in the JSON the optimiser
 *                                              step, dropout RNG, early-stopping state and history
 *   README.md                                  tensor names and layouts for PyTorch users
 *
 * Each file is written atomically (temporary file + rename), the weights before their JSON. The JSON
 * records the SHA-256 of its weights file, so a crash between the two renames is detected on load
 * rather than silently pairing one epoch's weights with another epoch's state.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import type {
  JsonEncoderConfig,
  JsonEncoderState,
  NamedTensor,
} from '../encoders/json-encoder/json-encoder-types.ts';
import { pytorchLoadingSection } from '../encoders/json-encoder/pytorch-module.ts';
import {
  pendingTempFiles,
  removeStaleTempFiles,
  writeFileAtomic,
  writeFilesAtomic,
} from '../store/atomic-file.ts';
import type { DataFingerprint } from './data-fingerprint.ts';
import type { EarlyStoppingState } from './early-stopping.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.ts';
import type { StepLossPoint } from './step-loss.ts';
import type { TrainConfig } from './train-config.ts';
import type { ValidationMetrics } from './validation-metrics.ts';

export const CHECKPOINT_FORMAT = 'kfashion-json-encoder';
export const CHECKPOINT_VERSION = 1;

export type CheckpointKind = 'best' | 'last';

export type CheckpointFileNames = Readonly<Record<CheckpointKind, { weights: string; info: string }>>;

/** The workspace's published copies (checkpoints/best_model.*), as the seed pipeline names them. */
export const CHECKPOINT_FILES: CheckpointFileNames = {
  best: { weights: 'best_model.safetensors', info: 'best_model.json' },
  last: { weights: 'last.safetensors', info: 'last.json' },
};

/** Inside a run folder (runs/<id>/checkpoints/). */
export const RUN_CHECKPOINT_FILES: CheckpointFileNames = {
  best: { weights: 'best.safetensors', info: 'best.json' },
  last: { weights: 'last.safetensors', info: 'last.json' },
};

/** The names a folder uses for `kind`: a run folder's when its JSON is there, else the seed's. */
export function checkpointFilesIn(dir: string, kind: CheckpointKind): { weights: string; info: string } {
  return existsSync(join(dir, RUN_CHECKPOINT_FILES[kind].info))
    ? RUN_CHECKPOINT_FILES[kind]
    : CHECKPOINT_FILES[kind];
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** One epoch's figures, as kept in the history. */
export interface EpochRecord extends ValidationMetrics {
  epoch: number;
  /** Optimiser steps completed at the end of the epoch. */
  step: number;
  trainLoss: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Mean global gradient norm (before clipping) over the epoch. */
  gradNorm: number;
  epochMs: number;
  /** Milliseconds per optimiser step, training only. */
  msPerStep: number;
  finishedAt: string;
  /** The training loss step by step, in buckets ([Note: step-loss buckets]); absent in older runs. */
  stepLoss?: StepLossPoint[];
}

/** Everything a resumed run needs beyond the weights and moments. */
export interface ResumeState {
  epoch: number;
  optimizerStep: number;
  rngState: number;
  earlyStopping: Omit<EarlyStoppingState, 'best'> & { best: number | null };
  history: EpochRecord[];
  startedAt: string;
  /** Training wall time before this point, so a resumed run reports the whole run's time. */
  elapsedMs: number;
  /** Epoch order is derived from (seed, epoch): nothing to store, said here for the reader. */
  dataOrder: string;
  /** Hash of the train and val item ids: a resume on different data is refused. */
  dataFingerprint?: string;
}

export interface CheckpointInfo {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  kind: CheckpointKind;
  runId: string;
  timestamp: string;
  epoch: number;
  step: number;
  config: TrainConfig;
  encoder: JsonEncoderConfig;
  fields: string[];
  /** Per field, the value of each embedding row (row 0 = <pad>, 1 = <unk>). */
  vocabulary: Record<string, string[]>;
  backend: string;
  metrics: EpochRecord | null;
  imageEmbedding: { model: string; source: string; synthetic: boolean };
  weights: { file: string; sha256: string; bytes: number; tensors: { name: string; shape: number[] }[] };
  /** Only in last.json. */
  resume?: ResumeState;
  /** The data the run trained on (absent in checkpoints made before runs recorded it). */
  data?: DataFingerprint;
  /** The run whose best weights this run started from, and that checkpoint's epoch. */
  parent?: { runId: string; epoch: number } | null;
}

export interface SavedCheckpoint {
  info: CheckpointInfo;
  state: JsonEncoderState;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, data);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Writes a checkpoint. `best` holds the parameters only; `last` also the AdamW moments (tensor names
 * `exp_avg.<param>` / `exp_avg_sq.<param>`, as PyTorch's AdamW state calls them).
 */
export function saveCheckpoint(
  dir: string,
  kind: CheckpointKind,
  state: JsonEncoderState,
  info: Omit<CheckpointInfo, 'format' | 'version' | 'kind' | 'weights'>,
  names: CheckpointFileNames = CHECKPOINT_FILES,
): CheckpointInfo {
  const files = names[kind];
  const tensors: [string, SafeTensor][] = Object.entries(state.params);
  if (kind === 'last') tensors.push(...Object.entries(state.optimizer.moments));
  const bytes = encodeSafetensors(tensors, {
    format: 'pt',
    producer: 'K-Fashion Workbench',
    run_id: info.runId,
    epoch: String(info.epoch),
    kind,
  });
  const full: CheckpointInfo = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    kind,
    ...info,
    weights: {
      file: files.weights,
      sha256: sha256(bytes),
      bytes: bytes.length,
      tensors: tensors.map(([name, t]) => ({ name, shape: t.shape })),
    },
  };
  // Both temporary files first, then the two renames: a kill between the renames leaves the JSON's
  // temporary file, which loadCheckpointFiles uses to complete the pair (see writeFilesAtomic).
  writeFilesAtomic([
    [join(dir, files.weights), bytes],
    [join(dir, files.info), `${JSON.stringify(full, null, 2)}\n`],
  ]);
  if (kind === 'best') writeAtomic(join(dir, 'README.md'), checkpointReadme(full));
  return full;
}

export function checkpointExists(dir: string, kind: CheckpointKind): boolean {
  const f = checkpointFilesIn(dir, kind);
  return existsSync(join(dir, f.info)) && existsSync(join(dir, f.weights));
}

export function loadCheckpoint(dir: string, kind: CheckpointKind): SavedCheckpoint {
  const files = checkpointFilesIn(dir, kind);
  const infoPath = join(dir, files.info);
  const weightsPath = join(dir, files.weights);
  if (!existsSync(infoPath) || !existsSync(weightsPath)) {
    throw new CheckpointError(
      `No ${kind} checkpoint in ${dir}: expected ${files.info} and ${files.weights}${kind === 'last' ? ' (written at the end of every training epoch)' : ''}.`,
    );
  }
  return loadCheckpointFiles(infoPath, weightsPath);
}

/**
 * Loads a checkpoint from its JSON and weights files wherever they are (a copied or renamed
 * checkpoint, e.g. `kfashion eval --checkpoint PATH`); checks format and checksum like loadCheckpoint.
 */
export function loadCheckpointFiles(infoPath: string, weightsPath: string): SavedCheckpoint {
  const files = { info: basename(infoPath), weights: basename(weightsPath) };
  for (const p of [infoPath, weightsPath]) {
    if (!existsSync(p)) throw new CheckpointError(`Checkpoint file ${p} does not exist.`);
  }
  let info: CheckpointInfo;
  try {
    info = JSON.parse(readFileSync(infoPath, 'utf8')) as CheckpointInfo;
  } catch (e) {
    throw new CheckpointError(`${infoPath} is not valid JSON (${(e as Error).message})`);
  }
  if (info.format !== CHECKPOINT_FORMAT || info.version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      `${infoPath}: expected a ${CHECKPOINT_FORMAT} checkpoint of version ≤ ${CHECKPOINT_VERSION}, got ${JSON.stringify(info.format)} v${info.version}`,
    );
  }
  const bytes = readFileSync(weightsPath);
  const sum = sha256(bytes);
  if (sum !== info.weights.sha256) {
    // A save killed between its two renames: the new weights are in place and the JSON that
    // describes them is still under its temporary name. Complete the pair rather than lose the run.
    const pending = completePair(infoPath, sum);
    if (pending) info = pending;
  }
  if (sum !== info.weights.sha256) {
    throw new CheckpointError(
      `${weightsPath} does not match ${files.info} (checksum differs: the save was interrupted, or one file was replaced). ${info.kind === 'last' ? 'Start the run again without --resume.' : 'Retrain, or restore both files together.'}`,
    );
  }
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  const params: Record<string, NamedTensor> = {};
  const moments: Record<string, NamedTensor> = {};
  for (const [name, t] of tensors) {
    if (name.startsWith('exp_avg.') || name.startsWith('exp_avg_sq.')) moments[name] = t;
    else params[name] = t;
  }
  return {
    info,
    state: {
      params,
      optimizer: { step: info.resume?.optimizerStep ?? 0, moments },
      rngState: info.resume?.rngState ?? 0,
    },
  };
}

/**
 * Settles a run's checkpoint folder after its process was killed: a save cut between its two renames
 * is completed as a load would complete it, then the temporary files of writers that are gone are
 * removed, so the folder holds no half-written file even when the run is never loaded again (a fresh
 * run started after a kill in the first epoch leaves the killed run's folder alone).
 */
export function settleKilledSaves(dir: string): void {
  for (const names of Object.values(RUN_CHECKPOINT_FILES)) {
    const infoPath = join(dir, names.info);
    const weightsPath = join(dir, names.weights);
    if (pendingTempFiles(infoPath).length > 0 && existsSync(weightsPath)) {
      completePair(infoPath, sha256(readFileSync(weightsPath)));
    }
  }
  removeStaleTempFiles(dir);
}

function completePair(infoPath: string, weightsSha: string): CheckpointInfo | null {
  for (const tmp of pendingTempFiles(infoPath).reverse()) {
    try {
      const info = JSON.parse(readFileSync(tmp, 'utf8')) as CheckpointInfo;
      if (info.format === CHECKPOINT_FORMAT && info.weights?.sha256 === weightsSha) {
        renameSync(tmp, infoPath);
        return info;
      }
    } catch {
      // cut short: not the pair's JSON
    }
  }
  return null;
}

/** The vocabulary as saved: per field, the value of each row. */
export function vocabularyValues(v: Record<string, { value: string }[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(v).map(([f, list]) => [f, list.map((e) => e.value)]));
}

export function checkpointReadme(info: CheckpointInfo): string {
  const enc = info.encoder;
  const tensorRows = info.weights.tensors
    .map((t) => `| \`${t.name}\` | [${t.shape.join(', ')}] |`)
    .join('\n');
  const fieldRows = enc.fields
    .map((f) => `| ${f} | ${enc.fieldKinds[f]} | ${enc.vocabSizes[f]} |`)
    .join('\n');
  return `# JSON encoder checkpoints

Written by K-Fashion Workbench (run \`${info.runId}\`, ${info.timestamp}). Image embeddings: \`${info.imageEmbedding.model}\`${info.imageEmbedding.synthetic ? ' — **SYNTHETIC** stand-in vectors, not FashionCLIP' : ''}.

| file | what |
| --- | --- |
| \`best_model.safetensors\` (\`best.safetensors\` in runs/<id>/checkpoints/) | weights of the best epoch (lowest validation loss) |
| \`best_model.json\` (\`best.json\`) | config, vocabulary per field, field list, backend, metrics, data fingerprint, timestamp, run id |
| \`last.safetensors\` | weights + AdamW moments (\`exp_avg.<name>\`, \`exp_avg_sq.<name>\`) at the end of the latest epoch |
| \`last.json\` | the same as best_model.json plus optimiser step, dropout RNG, early stopping, history (for \`--resume\`) |

Every \`.json\` holds the SHA-256 of its \`.safetensors\` file; both are replaced atomically at the end of an epoch.

## Model
Per field an embedding table [vocab, ${enc.embedDim}] (row 0 = \`<pad>\`, 1 = \`<unk>\`; the values of
every row are in \`best_model.json\` → \`vocabulary\`). A single-valued field looks its value up; a
multi-valued field takes the mean of its values' rows, ignoring padding (index 0). The field vectors
are concatenated in this order, then ${enc.depth ?? 1} hidden block(s) of Linear → ${enc.norm && enc.norm !== 'none' ? `${enc.norm === 'layer' ? 'LayerNorm' : 'BatchNorm'} → ` : ''}${enc.activation ?? 'relu'} → dropout ${enc.dropout}${enc.residual ? ' (blocks after the first residual: x + f(x))' : ''}, then Linear → L2 normalisation.

| field | kind | rows |
| --- | --- | --- |
${fieldRows}

Hidden size ${enc.hiddenDim}, output ${enc.outputDim}.

## Tensors (float32, little-endian, C order)
Names follow PyTorch conventions: \`field_embeddings.<field>.weight\` is an \`nn.Embedding\` weight
[rows, dim]; \`mlp.<i>.weight\` / \`mlp.<i>.bias\` are \`nn.Linear\` parameters with the weight stored
[out_features, in_features], as PyTorch keeps it; \`mlp.<i>.linear.*\` / \`mlp.<i>.norm.*\` belong to a
residual block, and a BatchNorm's running statistics are stored as float32 tensors.

| name | shape |
| --- | --- |
${tensorRows}

${pytorchLoadingSection(enc)}`;
}
