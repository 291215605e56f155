/**
 * Turns the workspace's train/val items into encoder batches: attribute values → vocabulary indices
 * (EncoderInputs), paired with the rows of the frozen image-embedding matrix.
 *
 * Everything is read once up front (a few MB even for the full K-Fashion set), so an epoch touches no
 * SQL. The epoch order is a seeded shuffle derived from (seed, epoch) alone, which makes a resumed run
 * see exactly the batches an uninterrupted one would without storing any generator state.
 */
import { FIELDS, type FieldKind, type FieldName, type GarmentAttributes } from '../../src-shared/fields.ts';
import { Rng } from '../dataset/rng.ts';
import { indexer, loadVocabulary, PAD_INDEX, type VocabEntry } from '../dataset/vocabulary.ts';
import { DEMO_STANDIN_MODEL } from '../encoders/image-encoder/demo-standin.ts';
import type { EncoderInputs } from '../encoders/json-encoder/json-encoder-types.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { type EmbeddingModelInfo, EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';

export class TrainingDataError extends Error {
  override name = 'TrainingDataError';
}

/** The image-embedding model preferred when a workspace holds several. */
export const PREFERRED_EMBEDDING_MODEL = 'fashion-clip';

/** One split, encoded: per field and item the value indices; the image vectors in the same order. */
export interface EncodedSplit {
  ids: string[];
  /** Per field: per item the vocabulary indices (one entry, possibly PAD, for a single field). */
  indices: Record<string, Int32Array[]>;
  /** [n × dim] L2-normalised image embeddings, row i = ids[i]. */
  images: Float32Array;
  /** Style folder of each item, for per-style figures. */
  styleFolders: string[];
}

export interface TrainingData {
  fields: FieldName[];
  fieldKinds: Record<string, FieldKind>;
  /** The stored vocabulary of each encoder field (index = position), saved with every checkpoint. */
  vocabulary: Record<string, VocabEntry[]>;
  vocabSizes: Record<string, number>;
  embedding: { model: string; dim: number; source: EmbeddingModelInfo['source']; synthetic: boolean };
  train: EncodedSplit;
  val: EncodedSplit;
}

/**
 * The image-embedding model to train against: the one asked for, else the only one present, else
 * `fashion-clip`; otherwise an error listing what the workspace has.
 */
export function chooseEmbeddingModel(all: EmbeddingModelInfo[], wanted?: string): EmbeddingModelInfo {
  const list = () =>
    all.map((m) => `${m.model} (${m.count} vectors, ${m.dim}-d, ${m.source})`).join(', ') || 'none';
  if (wanted !== undefined) {
    const m = all.find((x) => x.model === wanted);
    if (!m) {
      throw new TrainingDataError(
        `No "${wanted}" image embeddings in this workspace (--model). It has: ${list()}.`,
      );
    }
    return m;
  }
  // The demo's stand-in image encoder (demo-standin) makes vectors for image → image features only;
  // with other vectors present it is never picked without being named.
  const models = all.length > 1 ? all.filter((m) => m.model !== DEMO_STANDIN_MODEL) : all;
  if (models.length === 0) {
    throw new TrainingDataError(
      'This workspace has no image embeddings yet. Compute them with "kfashion embed --workspace WS" or import FashionCLIP vectors with "kfashion embed --workspace WS --import FILE.npy --ids FILE.json".',
    );
  }
  if (models.length === 1) return models[0]!;
  const preferred = models.find((m) => m.model === PREFERRED_EMBEDDING_MODEL);
  if (preferred) return preferred;
  throw new TrainingDataError(
    `This workspace has several image-embedding models: ${list()}. Pick one with --model ID.`,
  );
}

export function loadTrainingData(
  ws: Workspace,
  opts: { fields: readonly FieldName[]; model?: string; outputDim?: number },
): TrainingData {
  const vocab = loadVocabulary(ws.db);
  if (!vocab) {
    throw new TrainingDataError(
      `${ws.paths.database} has no vocabulary: scan a dataset into this workspace first ("kfashion scan --data DIR --workspace ${ws.root}").`,
    );
  }
  const embeddings = new EmbeddingStore(ws.db);
  const chosen = chooseEmbeddingModel(embeddings.models(), opts.model);
  const outputDim = opts.outputDim ?? 512;
  if (chosen.dim !== outputDim) {
    throw new TrainingDataError(
      `"${chosen.model}" embeddings are ${chosen.dim}-d; the JSON encoder outputs ${outputDim}-d vectors, so they cannot be aligned.`,
    );
  }
  const fields = [...opts.fields];
  const lookups = fields.map((f) => ({ field: f, kind: FIELDS[f].kind, index: indexer(vocab, f) }));
  const items = new DatasetStore(ws.db);
  const have = embeddings.cropKeys(chosen.model);

  const readSplit = (split: 'train' | 'val'): EncodedSplit => {
    const ids: string[] = [];
    const styleFolders: string[] = [];
    const indices: Record<string, Int32Array[]> = Object.fromEntries(fields.map((f) => [f, []]));
    const missing: string[] = [];
    for (const it of items.iterateItems({ split })) {
      if (!have.has(it.id)) {
        missing.push(it.id);
        continue;
      }
      ids.push(it.id);
      styleFolders.push(it.styleFolder);
      for (const l of lookups) indices[l.field]!.push(encodeValue(it.attributes, l.field, l.kind, l.index));
    }
    if (missing.length > 0) {
      const total = missing.length + ids.length;
      throw new TrainingDataError(
        `Mismatched embedding ids: ${missing.length} of ${total} ${split} items have no "${chosen.model}" image embedding, e.g. ${missing.slice(0, 5).join(', ')}. The workspace holds ${chosen.count} "${chosen.model}" vectors; embed the missing items ("kfashion embed --workspace ${ws.root} --model ${chosen.model}") or import embeddings whose ids match the scanned items (<style>/<label stem>/<part>).`,
      );
    }
    return {
      ids,
      indices,
      styleFolders,
      images: ids.length ? embeddings.matrix(chosen.model, ids) : new Float32Array(),
    };
  };
  const train = readSplit('train');
  const val = readSplit('val');
  if (train.ids.length < 2) {
    throw new TrainingDataError(
      `The workspace has ${train.ids.length} training items; training needs at least 2 (a batch needs negatives). Scan more data or redraw the split ("kfashion split").`,
    );
  }
  if (val.ids.length < 2) {
    throw new TrainingDataError(
      `The workspace has ${val.ids.length} validation items; validation needs at least 2. Redraw the split ("kfashion split --seed N") so that some images are in val.`,
    );
  }
  const vocabulary = Object.fromEntries(fields.map((f) => [f, vocab[f]]));
  return {
    fields,
    fieldKinds: Object.fromEntries(fields.map((f) => [f, FIELDS[f].kind])),
    vocabulary,
    vocabSizes: Object.fromEntries(fields.map((f) => [f, vocab[f].length])),
    embedding: {
      model: chosen.model,
      dim: chosen.dim,
      source: chosen.source,
      synthetic: chosen.source === 'synthetic',
    },
    train,
    val,
  };
}

/** A single field's value → [index] (PAD when missing); a multi field's values → their indices. */
export function encodeValue(
  attrs: GarmentAttributes,
  field: FieldName,
  kind: FieldKind,
  index: (v: string) => number,
): Int32Array {
  const v = attrs[field];
  if (v === undefined) return Int32Array.of(PAD_INDEX);
  if (kind === 'single') return Int32Array.of(index(typeof v === 'string' ? v : (v[0] ?? '')));
  const list = typeof v === 'string' ? [v] : v;
  return Int32Array.from(list, index);
}

/**
 * Encoder inputs for the items at `rows` of a split. Single fields get one slot; multi fields as many
 * slots as the longest list in the batch (at least one), padded with PAD.
 */
export function makeInputs(
  split: Pick<EncodedSplit, 'indices'>,
  fields: readonly string[],
  rows: readonly number[],
): EncoderInputs {
  const out: EncoderInputs = { batchSize: rows.length, fields: {} };
  for (const f of fields) {
    const per = split.indices[f]!;
    let slots = 1;
    for (const r of rows) slots = Math.max(slots, per[r]!.length);
    const indices = new Int32Array(rows.length * slots); // zero-filled = PAD
    rows.forEach((r, b) => {
      indices.set(per[r]!, b * slots);
    });
    out.fields[f] = { indices, slots };
  }
  return out;
}

/** Rows of the image matrix for `rows`, as one [batch × dim] matrix. */
export function gatherImages(split: EncodedSplit, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, b) => {
    out.set(split.images.subarray(r * dim, (r + 1) * dim), b * dim);
  });
  return out;
}

/**
 * The batches of one epoch: a shuffle seeded by (seed, epoch), cut into `batchSize` pieces. A last
 * batch smaller than 2 is dropped (InfoNCE has no negative in a batch of one); a larger partial batch
 * is kept so small datasets are not starved.
 */
export function epochBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  const order = Rng.derive('train-order', seed, epoch).shuffle(Array.from({ length: n }, (_, i) => i));
  return cutBatches(order, batchSize);
}

/** Fixed batches for the validation loss: one seeded shuffle (id order groups styles together). */
export function validationBatches(n: number, batchSize: number, seed: number): number[][] {
  const order = Rng.derive('val-order', seed).shuffle(Array.from({ length: n }, (_, i) => i));
  return cutBatches(order, batchSize);
}

function cutBatches(order: number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length >= 2) out.push(b);
  }
  return out;
}
