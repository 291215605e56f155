/**
 * Frozen image embeddings in the workspace: one L2-normalised float32 vector per (model, item).
 * Written once per (model, crop) and reused: the image encoder never changes during training.
 */
import type { Db } from './database.ts';

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
  constructor(readonly db: Db) {}

  /** Registers (or updates) where a model's vectors come from. */
  defineModel(
    model: string,
    dim: number,
    source: EmbeddingSource,
    detail: Record<string, unknown> = {},
  ): void {
    const existing = this.db.prepare('SELECT dim FROM embedding_models WHERE model = ?').get(model) as
      | { dim: number }
      | undefined;
    if (existing && existing.dim !== dim) {
      throw new EmbeddingStoreError(
        `Embeddings for "${model}" in this workspace are ${existing.dim}-d; new ones are ${dim}-d. Use another model id or remove the old embeddings first.`,
      );
    }
    this.db
      .prepare(
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
    const ins = this.db.prepare(
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
    const row = this.db.prepare('SELECT dim FROM embedding_models WHERE model = ?').get(model) as
      | { dim: number }
      | undefined;
    if (!row) throw new EmbeddingStoreError(`No embeddings for model "${model}" in this workspace.`);
    return row.dim;
  }

  models(): EmbeddingModelInfo[] {
    const rows = this.db
      .prepare(`
        SELECT m.model, m.dim, m.source, m.detail, m.updated_at AS updatedAt,
               (SELECT COUNT(*) FROM image_embeddings e WHERE e.model = m.model) AS count
        FROM embedding_models m ORDER BY m.model`)
      .all() as (Omit<EmbeddingModelInfo, 'detail'> & { detail: string })[];
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
  }

  /** Crop keys already embedded with `model`: lets `embed` skip up-to-date items (resume). */
  cropKeys(model: string): Map<string, string | null> {
    const rows = this.db
      .prepare('SELECT item_id, crop_key FROM image_embeddings WHERE model = ?')
      .raw()
      .all(model) as [string, string | null][];
    return new Map(rows);
  }

  /**
   * Vectors of `itemIds` as one row-major matrix, in the given order. Throws naming the first ids
   * that have no vector, since a silent zero row would poison training and evaluation.
   */
  matrix(model: string, itemIds: readonly string[]): Float32Array {
    const dim = this.dim(model);
    const out = new Float32Array(itemIds.length * dim);
    const get = this.db
      .prepare('SELECT vector FROM image_embeddings WHERE model = ? AND item_id = ?')
      .pluck();
    const missing: string[] = [];
    itemIds.forEach((id, i) => {
      const blob = get.get(model, id) as Buffer | undefined;
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
    return this.db.prepare('DELETE FROM embedding_models WHERE model = ?').run(model).changes;
  }
}
