/**
 * A trained JSON encoder, loaded from a checkpoint, that turns garment attributes into the same
 * 512-d vectors the trainer computed for them: what evaluation, search and recommendation query with.
 *
 * Values are indexed with the CHECKPOINT's vocabulary (best_model.json → vocabulary), not the
 * workspace's current one: a re-scan may have added values or reordered extras, and the weights only
 * mean something with the indices they were trained on. An unknown value becomes <unk> (1), a missing
 * field <pad> (0) — exactly encodeValue/makeInputs in training/training-data.ts, which this reuses so
 * the two cannot drift apart (a test checks equality with the trainer's encodeSplit).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FIELDS, type FieldName, type GarmentAttributes, isFieldName } from '../../src-shared/fields.ts';
import { PAD_INDEX, UNK_INDEX } from '../dataset/vocabulary.ts';
import type { JsonEncoderModel } from '../encoders/json-encoder/json-encoder-types.ts';
import type { Workspace } from '../store/workspace.ts';
import {
  CHECKPOINT_FILES,
  type CheckpointInfo,
  checkpointFilesIn,
  loadCheckpointFiles,
  type SavedCheckpoint,
} from '../training/checkpoints.ts';
import type { EncoderFactory } from '../training/trainer.ts';
import { type EncodedSplit, encodeValue, makeInputs } from '../training/training-data.ts';

export class CheckpointEncoderError extends Error {
  override name = 'CheckpointEncoderError';
}

export interface CheckpointEncoder {
  readonly info: CheckpointInfo;
  readonly backend: string;
  /** The checkpoint's JSON (best_model.json or the file given) and weights files, absolute. */
  readonly infoPath: string;
  readonly weightsPath: string;
  /** Output dimension (512). */
  readonly dim: number;
  /**
   * Eval-mode vectors [attrs.length × 512], L2-normalised, indexed with the checkpoint's vocabulary
   * (unknown value → <unk>=1, missing → <pad>=0), identical to what the trainer computes.
   */
  encode(attrs: readonly GarmentAttributes[]): Float32Array;
  /**
   * The encoder's input for these attributes as a canonical string (field indices, multi-valued
   * fields sorted): equal keys ⇔ equal encoder inputs ⇔ identical vectors. Evaluation groups by it.
   */
  inputKey(attrs: GarmentAttributes): string;
  close(): void;
}

export interface OpenCheckpointEncoderOptions {
  /** A best_model.json / .safetensors path or a folder holding them; default <ws>/checkpoints (best). */
  checkpoint?: string;
  /** tfjs backend (auto when absent). */
  backend?: string;
  /** The model to load the weights into; the tfjs JSON encoder when absent (tests pass a JS model). */
  createEncoder?: EncoderFactory;
}

/** Items per forward pass: bounded memory, same chunking as the trainer's encodeSplit. */
const ENCODE_CHUNK = 256;

/**
 * The product's encoder for inference: the tfjs JSON encoder without the training helper thread
 * (it only speeds up the backward pass; encode results are identical with and without it).
 */
export const inferenceEncoderFactory: EncoderFactory = async (config, opts) => {
  const { usesLayeredEngine } = await import('../training/trainer.ts');
  if (usesLayeredEngine(config)) {
    // The layered model's inference encoder: weights only (no optimiser moments, no threads).
    const { InferenceJsonEncoder } = await import('../encoders/json-encoder/inference.ts');
    const { startMatmulEngine } = await import('../encoders/json-encoder/matmul-engine.ts');
    const engine = await startMatmulEngine();
    return { model: new InferenceJsonEncoder(config), backend: `layered ${engine} (1 thread)` };
  }
  const { createJsonEncoder } = await import('../encoders/json-encoder/json-encoder.ts');
  const { describeBackend } = await import('../encoders/tf-backend.ts');
  const model = await createJsonEncoder(config, {
    seed: opts.seed,
    backend: (opts.backend ?? 'auto') as import('../encoders/tf-backend.ts').BackendChoice,
    helperThread: false,
  });
  const t = model.threads;
  return {
    model,
    backend: `${model.backend.name} (${t} thread${t === 1 ? '' : 's'})`,
    backendDetail: describeBackend(model.backend),
  };
};

/**
 * Where the checkpoint files are. A folder → its best_model.* (else last.*); a `.json` → the weights
 * file it names next to it; a `.safetensors` → the `.json` of the same stem.
 */
export function resolveCheckpointPaths(
  ws: Workspace,
  checkpoint?: string,
): { infoPath: string; weightsPath: string } {
  if (checkpoint === undefined) {
    const dir = ws.paths.checkpoints;
    const best = CHECKPOINT_FILES.best;
    const infoPath = join(dir, best.info);
    const weightsPath = join(dir, best.weights);
    if (!existsSync(infoPath) || !existsSync(weightsPath)) {
      throw new CheckpointEncoderError(
        `No trained JSON encoder in ${dir} (expected ${best.info} and ${best.weights}): train first: kfashion train --workspace ${ws.root}`,
      );
    }
    return { infoPath, weightsPath };
  }
  const p = resolve(checkpoint);
  if (!existsSync(p)) {
    throw new CheckpointEncoderError(
      `--checkpoint ${checkpoint}: no such file or folder (expected a best_model.json, a .safetensors file or a checkpoints folder).`,
    );
  }
  if (statSync(p).isDirectory()) {
    for (const kind of ['best', 'last'] as const) {
      const f = checkpointFilesIn(p, kind);
      if (existsSync(join(p, f.info)) && existsSync(join(p, f.weights))) {
        return { infoPath: join(p, f.info), weightsPath: join(p, f.weights) };
      }
    }
    throw new CheckpointEncoderError(
      `--checkpoint ${checkpoint}: the folder holds no checkpoint (expected best.json + best.safetensors or best_model.json + best_model.safetensors, or last.json + last.safetensors). Train first: kfashion train --workspace ${ws.root}`,
    );
  }
  const ext = extname(p).toLowerCase();
  if (ext === '.json') {
    // The JSON names its weights file; read it through loadCheckpointFiles' checks afterwards.
    const stem = basename(p, extname(p));
    return { infoPath: p, weightsPath: join(dirname(p), `${stem}.safetensors`) };
  }
  if (ext === '.safetensors') {
    const stem = basename(p, extname(p));
    const infoPath = join(dirname(p), `${stem}.json`);
    if (!existsSync(infoPath)) {
      throw new CheckpointEncoderError(
        `--checkpoint ${checkpoint}: the weights need their config: expected ${infoPath} next to it (vocabulary, fields, encoder sizes).`,
      );
    }
    return { infoPath, weightsPath: p };
  }
  throw new CheckpointEncoderError(
    `--checkpoint ${checkpoint}: expected a checkpoint .json, a .safetensors file or a folder holding them, got a "${ext || 'no extension'}" file.`,
  );
}

function loadSaved(paths: { infoPath: string; weightsPath: string }): SavedCheckpoint {
  const saved = loadCheckpointFiles(paths.infoPath, paths.weightsPath);
  const info = saved.info;
  const bad = info.fields.filter((f) => !isFieldName(f) || !info.vocabulary[f]);
  if (bad.length > 0) {
    throw new CheckpointEncoderError(
      `${paths.infoPath}: field(s) ${bad.join(', ')} have no saved vocabulary or are not encoder fields; the checkpoint cannot encode attributes.`,
    );
  }
  return saved;
}

export async function openCheckpointEncoder(
  ws: Workspace,
  opts: OpenCheckpointEncoderOptions = {},
): Promise<CheckpointEncoder> {
  const paths = resolveCheckpointPaths(ws, opts.checkpoint);
  const saved = loadSaved(paths);
  const info = saved.info;
  const factory = opts.createEncoder ?? inferenceEncoderFactory;
  const { model, backend } = await factory(info.encoder, {
    seed: info.config.seed,
    backend: opts.backend,
  });
  try {
    model.setState(saved.state);
  } catch (e) {
    model.dispose();
    throw new CheckpointEncoderError(
      `${paths.weightsPath} does not fit the encoder described in ${basename(paths.infoPath)}: ${(e as Error).message}`,
    );
  }
  return new LoadedCheckpointEncoder(info, backend, paths, model);
}

class LoadedCheckpointEncoder implements CheckpointEncoder {
  readonly dim: number;
  private readonly fields: FieldName[];
  private readonly lookups: { field: FieldName; index: (v: string) => number }[];
  private closed = false;

  constructor(
    readonly info: CheckpointInfo,
    readonly backend: string,
    paths: { infoPath: string; weightsPath: string },
    private readonly model: JsonEncoderModel,
  ) {
    this.infoPath = paths.infoPath;
    this.weightsPath = paths.weightsPath;
    this.dim = info.encoder.outputDim;
    this.fields = info.fields as FieldName[];
    this.lookups = this.fields.map((field) => {
      const map = new Map(info.vocabulary[field]!.map((v, i) => [v, i]));
      return { field, index: (v: string) => map.get(v) ?? UNK_INDEX };
    });
  }

  readonly infoPath: string;
  readonly weightsPath: string;

  encode(attrs: readonly GarmentAttributes[]): Float32Array {
    if (this.closed) throw new CheckpointEncoderError('encode() after close()');
    const out = new Float32Array(attrs.length * this.dim);
    for (let start = 0; start < attrs.length; start += ENCODE_CHUNK) {
      const chunk = attrs.slice(start, start + ENCODE_CHUNK);
      // The same EncodedSplit shape the trainer builds, so makeInputs pads exactly as in training.
      const split: EncodedSplit = {
        ids: [],
        images: new Float32Array(),
        styleFolders: [],
        indices: Object.fromEntries(
          this.lookups.map((l) => [
            l.field,
            chunk.map((a) => encodeValue(a, l.field, FIELDS[l.field].kind, l.index)),
          ]),
        ),
      };
      const rows = chunk.map((_, i) => i);
      out.set(this.model.encode(makeInputs(split, this.fields, rows)), start * this.dim);
    }
    return out;
  }

  inputKey(attrs: GarmentAttributes): string {
    // Mean pooling ignores order, so a multi field's indices are sorted; values are de-duplicated
    // by the parser, so a repeated value (which would change the mean) does not occur.
    return this.lookups
      .map((l) => {
        const idx = Array.from(encodeValue(attrs, l.field, FIELDS[l.field].kind, l.index));
        if (FIELDS[l.field].kind === 'single') return String(idx[0]);
        // Padding slots are ignored by the pooling: a missing field and an empty list are the same input.
        return idx
          .filter((i) => i !== PAD_INDEX)
          .sort((a, b) => a - b)
          .join(',');
      })
      .join('|');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.model.dispose();
  }
}
