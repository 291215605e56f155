/**
 * Frozen image embeddings in the workspace: one L2-normalised float32 vector per (model, item).
 * Written once per (model, crop) and reused: the image encoder never changes during training.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export type EmbeddingSource = 'onnx' | 'import' | 'synthetic';

export interface EmbeddingModelInfo {
  model: string;
  dim: number;
  source: EmbeddingSource;
  detail: Record<string, unknown>;
  updatedAt: string;
  count: number;
}

export class EmbeddingStoreError extends Error {
  override name = 'EmbeddingStoreError';
}

export class EmbeddingStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Registers (or updates) where a model's vectors come from. */
  defineModel(
    model: string,
    dim: number,
    source: EmbeddingSource,
    detail: Record<string, unknown> = {},
  ): void {
    const existing = this.dimOrNull(model);
    if (existing !== null && existing !== dim) {
      throw new EmbeddingStoreError(
        `Embeddings for "${model}" in this workspace are ${existing}-d; new ones are ${dim}-d. Use another model id or remove the old embeddings first.`,
      );
    }
    this.s
      .query(
        'embeddingModels.define',
        `INSERT INTO embedding_models (model, dim, source, detail, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(model) DO UPDATE SET source = excluded.source, detail = excluded.detail,
           updated_at = excluded.updated_at`,
      )
      .run(model, dim, source, JSON.stringify(detail), new Date().toISOString());
  }

  /** Stores vectors (rows of `vectors`, each `dim` long) for `itemIds`, in one transaction. */
  put(
    model: string,
    itemIds: readonly string[],
    vectors: Float32Array,
    cropKeys?: readonly (string | null)[],
  ): void {
    const dim = this.dim(model);
    if (vectors.length !== itemIds.length * dim) {
      throw new EmbeddingStoreError(
        `put(${model}): ${itemIds.length} ids need ${itemIds.length * dim} floats, got ${vectors.length}`,
      );
    }
    const ins = this.s.query(
      'embeddings.put',
      `INSERT INTO image_embeddings (model, item_id, crop_key, vector) VALUES (?, ?, ?, ?)
       ON CONFLICT(model, item_id) DO UPDATE SET crop_key = excluded.crop_key, vector = excluded.vector`,
    );
    this.db.transaction(() => {
      itemIds.forEach((id, i) => {
        const row = vectors.subarray(i * dim, (i + 1) * dim);
        ins.run(model, id, cropKeys?.[i] ?? null, Buffer.from(row.buffer, row.byteOffset, row.byteLength));
      });
    })();
  }

  dim(model: string): number {
    const dim = this.dimOrNull(model);
    if (dim === null) throw new EmbeddingStoreError(`No embeddings for model "${model}" in this workspace.`);
    return dim;
  }

  private dimOrNull(model: string): number | null {
    return (
      this.s
        .query<number>('embeddingModels.dim', 'SELECT dim FROM embedding_models WHERE model = ?', 'pluck')
        .get(model) ?? null
    );
  }

  /** When the model's vectors were last written (ISO time), or null if it has none. */
  updatedAt(model: string): string | null {
    return (
      this.s
        .query<string>(
          'embeddingModels.updatedAt',
          'SELECT updated_at FROM embedding_models WHERE model = ?',
          'pluck',
        )
        .get(model) ?? null
    );
  }

  /**
   * A text that changes whenever the model's vectors change (write time and count), or undefined
   * when the model has none: what caches of figures over the vectors are keyed by.
   */
  versionKey(model: string): string | undefined {
    return this.s
      .query<string>(
        'embeddingModels.versionKey',
        `SELECT m.updated_at || ':' || (SELECT COUNT(*) FROM image_embeddings e WHERE e.model = m.model) FROM embedding_models m WHERE m.model = ?`,
        'pluck',
      )
      .get(model);
  }

  /** Ids of the items with a `model` vector (in no particular order). */
  itemIds(model: string): string[] {
    return this.s
      .query<string>('embeddings.itemIds', 'SELECT item_id FROM image_embeddings WHERE model = ?', 'pluck')
      .all(model);
  }

  /** Ids of the scanned items with a `model` vector, in id order (a search gallery). */
  scannedItemIds(model: string): string[] {
    return this.s
      .query<string>(
        'embeddings.scannedItemIds',
        `SELECT e.item_id FROM image_embeddings e JOIN items it ON it.id = e.item_id
         WHERE e.model = ? ORDER BY e.item_id`,
        'pluck',
      )
      .all(model);
  }

  /** One item's `model` vector, or null when it has none. */
  vector(model: string, itemId: string): Float32Array | null {
    const blob = this.s
      .query<Buffer>(
        'embeddings.vector',
        'SELECT vector FROM image_embeddings WHERE model = ? AND item_id = ?',
        'pluck',
      )
      .get(model, itemId);
    if (!blob) return null;
    const v = new Float32Array(blob.byteLength / 4);
    new Uint8Array(v.buffer).set(blob);
    return v;
  }

  /** Every `model` vector as one [n × dim] matrix, in storage order (figures over the whole set). */
  allVectors(model: string): { vectors: Float32Array; dim: number } | null {
    const rows = this.s
      .query<Buffer>('embeddings.allVectors', 'SELECT vector FROM image_embeddings WHERE model = ?', 'pluck')
      .all(model);
    if (rows.length === 0) return null;
    const dim = rows[0]!.byteLength / 4;
    const m = new Float32Array(rows.length * dim);
    for (const [i, b] of rows.entries()) new Uint8Array(m.buffer, i * dim * 4, dim * 4).set(b);
    return { vectors: m, dim };
  }

  private static readonly OF_SCANNED_ITEMS =
    `FROM image_embeddings e JOIN items it ON it.id = e.item_id JOIN images im ON im.key = it.image_key
       WHERE e.model = ?`;

  /** How many scanned items have a `model` vector. */
  countOfScannedItems(model: string): number {
    return this.s
      .query<number>(
        'embeddings.countOfScannedItems',
        `SELECT COUNT(*) ${EmbeddingStore.OF_SCANNED_ITEMS}`,
        'pluck',
      )
      .get(model)!;
  }

  /**
   * The scanned items' `model` vectors with their style folder, in id order, one row at a time: a
   * caller filling one big matrix never holds every row's blob at once.
   */
  iterateOfScannedItems(model: string): Generator<{ id: string; style: string; vector: Buffer }> {
    return this.s
      .query<{ id: string; style: string; vector: Buffer }>(
        'embeddings.iterateOfScannedItems',
        `SELECT e.item_id AS id, im.style_folder AS style, e.vector AS vector ${EmbeddingStore.OF_SCANNED_ITEMS} ORDER BY e.item_id`,
      )
      .iterate(model);
  }

  models(): EmbeddingModelInfo[] {
    const rows = this.s
      .query<Omit<EmbeddingModelInfo, 'detail'> & { detail: string }>(
        'embeddingModels.list',
        `SELECT m.model, m.dim, m.source, m.detail, m.updated_at AS updatedAt,
               (SELECT COUNT(*) FROM image_embeddings e WHERE e.model = m.model) AS count
         FROM embedding_models m ORDER BY m.model`,
      )
      .all();
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  /** Crop keys already embedded with `model`: lets `embed` skip up-to-date items (resume). */
  cropKeys(model: string): Map<string, string | null> {
    const rows = this.s
      .query<[string, string | null]>(
        'embeddings.cropKeys',
        'SELECT item_id, crop_key FROM image_embeddings WHERE model = ?',
        'raw',
      )
      .all(model);
    return new Map(rows);
  }

  /**
   * Vectors of `itemIds` as one row-major matrix, in the given order. Throws naming the first ids
   * that have no vector, since a silent zero row would poison training and evaluation.
   */
  matrix(model: string, itemIds: readonly string[]): Float32Array {
    const dim = this.dim(model);
    const out = new Float32Array(itemIds.length * dim);
    const get = this.s.query<Buffer>(
      'embeddings.vector',
      'SELECT vector FROM image_embeddings WHERE model = ? AND item_id = ?',
      'pluck',
    );
    const missing: string[] = [];
    itemIds.forEach((id, i) => {
      const blob = get.get(model, id);
      if (!blob) {
        missing.push(id);
        return;
      }
      if (blob.byteLength !== dim * 4) {
        throw new EmbeddingStoreError(
          `${id}: stored "${model}" vector has ${blob.byteLength / 4} floats, expected ${dim}`,
        );
      }
      // Byte copy: SQLite blobs are not 4-byte aligned, so they cannot be viewed as Float32Array.
      new Uint8Array(out.buffer, i * dim * 4, dim * 4).set(blob);
    });
    if (missing.length > 0) {
      throw new EmbeddingStoreError(
        `${missing.length} of ${itemIds.length} items have no "${model}" embedding, e.g. ${missing.slice(0, 5).join(', ')}. Run "kfashion embed" (or import embeddings) first.`,
      );
    }
    return out;
  }

  remove(model: string): number {
    return this.s.query('embeddingModels.remove', 'DELETE FROM embedding_models WHERE model = ?').run(model)
      .changes;
  }
}
