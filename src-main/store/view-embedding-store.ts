/**
 * Vectors of augmented views of garment crops (`kfashion embed --views N`), one per (model, item,
 * view recipe, view number), beside the originals in image_embeddings. A recipe is the view settings
 * + seed (image-views.ts viewSettingsKey); training reads the views of the recipe its config names.
 */
import type { Db } from './database.ts';
import { EmbeddingStore } from './embedding-store.ts';
import { type Statements, statements } from './statements.ts';

export class ViewEmbeddingStoreError extends Error {
  override name = 'ViewEmbeddingStoreError';
}

export interface StoredView {
  itemId: string;
  view: number;
  cropKey: string;
  /** Rendered view, relative to the workspace. */
  path: string;
  params: unknown;
}

export class ViewEmbeddingStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  defineRecipe(key: string, settings: unknown, seed: number): void {
    this.s
      .query(
        'viewRecipes.define',
        `INSERT INTO view_recipes (key, settings, seed, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(key) DO NOTHING`,
      )
      .run(key, JSON.stringify(settings), seed, new Date().toISOString());
  }

  recipe(key: string): { settings: unknown; seed: number } | null {
    const r = this.s
      .query<{ settings: string; seed: number }>(
        'viewRecipes.get',
        'SELECT settings, seed FROM view_recipes WHERE key = ?',
      )
      .get(key);
    return r ? { settings: JSON.parse(r.settings), seed: r.seed } : null;
  }

  /** Stores views and their vectors (rows of `vectors`) in one transaction. */
  put(model: string, recipe: string, views: readonly StoredView[], vectors: Float32Array): void {
    const dim = new EmbeddingStore(this.db).dim(model);
    if (vectors.length !== views.length * dim) {
      throw new ViewEmbeddingStoreError(
        `put(${model}): ${views.length} views need ${views.length * dim} floats, got ${vectors.length}`,
      );
    }
    const ins = this.s.query(
      'viewEmbeddings.put',
      `INSERT INTO image_view_embeddings (model, item_id, recipe, view, crop_key, path, params, vector)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(model, item_id, recipe, view) DO UPDATE SET crop_key = excluded.crop_key,
         path = excluded.path, params = excluded.params, vector = excluded.vector`,
    );
    this.db.transaction(() => {
      views.forEach((v, i) => {
        const row = vectors.subarray(i * dim, (i + 1) * dim);
        ins.run(
          model,
          v.itemId,
          recipe,
          v.view,
          v.cropKey,
          v.path,
          JSON.stringify(v.params),
          Buffer.from(row.buffer, row.byteOffset, row.byteLength),
        );
      });
    })();
  }

  /** Crop keys of the stored views of a recipe, keyed `${itemId}#${view}`: lets embed skip them (resume). */
  cropKeys(model: string, recipe: string): Map<string, string> {
    const rows = this.s
      .query<[string, number, string]>(
        'viewEmbeddings.cropKeys',
        'SELECT item_id, view, crop_key FROM image_view_embeddings WHERE model = ? AND recipe = ?',
        'raw',
      )
      .all(model, recipe);
    return new Map(rows.map(([id, view, key]) => [`${id}#${view}`, key]));
  }

  /** How many views each recipe of `model` holds. */
  counts(model: string): { recipe: string; views: number; vectors: number }[] {
    return this.s
      .query<{ recipe: string; views: number; vectors: number }>(
        'viewEmbeddings.counts',
        `SELECT recipe, MAX(view) AS views, COUNT(*) AS vectors FROM image_view_embeddings
         WHERE model = ? GROUP BY recipe ORDER BY recipe`,
      )
      .all(model);
  }

  /**
   * View `view` of every id as one row-major matrix, in the given order. Throws naming the first ids
   * without that view: training must not silently fall back to the original for some garments.
   */
  matrix(model: string, recipe: string, view: number, itemIds: readonly string[]): Float32Array {
    const dim = new EmbeddingStore(this.db).dim(model);
    const out = new Float32Array(itemIds.length * dim);
    const get = this.s.query<Buffer>(
      'viewEmbeddings.vector',
      'SELECT vector FROM image_view_embeddings WHERE model = ? AND item_id = ? AND recipe = ? AND view = ?',
      'pluck',
    );
    const missing: string[] = [];
    itemIds.forEach((id, i) => {
      const blob = get.get(model, id, recipe, view);
      if (!blob) {
        missing.push(id);
        return;
      }
      new Uint8Array(out.buffer, i * dim * 4, dim * 4).set(blob);
    });
    if (missing.length > 0) {
      throw new ViewEmbeddingStoreError(
        `${missing.length} of ${itemIds.length} items have no view ${view} of "${model}" (view recipe ${recipe}), e.g. ${missing.slice(0, 5).join(', ')}. Embed the views first ("kfashion embed --views N" with the same view settings and seed).`,
      );
    }
    return out;
  }

  /** One stored view's record (the dashboard shows its picture and parameters). */
  get(model: string, recipe: string, itemId: string, view: number): StoredView | null {
    const r = this.s
      .query<{ crop_key: string; path: string; params: string }>(
        'viewEmbeddings.get',
        'SELECT crop_key, path, params FROM image_view_embeddings WHERE model = ? AND recipe = ? AND item_id = ? AND view = ?',
      )
      .get(model, recipe, itemId, view);
    return r ? { itemId, view, cropKey: r.crop_key, path: r.path, params: JSON.parse(r.params) } : null;
  }
}
