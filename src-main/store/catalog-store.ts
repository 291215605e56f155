/**
 * The catalog tables: new products (catalog_products), their image vectors per image-encoder model
 * (catalog_embeddings) and the version that triggers bump on every change (catalog_state). What a
 * valid product is, where its picture lives and how a folder is imported is recommend/'s business
 * (catalog.ts, catalog-import.ts); this module reads and writes the rows.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export interface ProductRow {
  id: string;
  name: string;
  style: string | null;
  category: string | null;
  image_path: string;
  image_sha256: string;
  width: number;
  height: number;
  attributes: string | null;
  synthetic: number;
  source: string | null;
  created_at: string;
  updated_at: string;
}

/** A product as written: `attributes` already JSON (or null). */
export interface ProductWrite {
  id: string;
  name: string;
  style: string | null;
  category: string | null;
  rel: string;
  sha: string;
  width: number;
  height: number;
  attributes: string | null;
  synthetic: boolean;
  source: string | null;
  now: string;
}

export class CatalogStoreError extends Error {
  override name = 'CatalogStoreError';
}

const blobOf = (row: Float32Array) => Buffer.from(row.buffer, row.byteOffset, row.byteLength);

export class CatalogStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Runs `fn` in one transaction (several writes that must land together). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Changes whenever a product or vector is added, changed or removed (by any process). */
  version(): number {
    return this.s
      .query<number>('catalog.version', 'SELECT version FROM catalog_state WHERE id = 1', 'pluck')
      .get()!;
  }

  count(): number {
    return this.s.query<number>('catalog.count', 'SELECT COUNT(*) FROM catalog_products', 'pluck').get()!;
  }

  countWithVectors(model: string): number {
    return this.s
      .query<number>(
        'catalog.countWithVectors',
        'SELECT COUNT(*) FROM catalog_embeddings WHERE model = ?',
        'pluck',
      )
      .get(model)!;
  }

  /** True when any product is generated demo data. */
  anySynthetic(): boolean {
    return (
      this.s
        .query<number>(
          'catalog.anySynthetic',
          'SELECT 1 FROM catalog_products WHERE synthetic = 1 LIMIT 1',
          'pluck',
        )
        .get() === 1
    );
  }

  /** The models each product has a vector of, by product id (one query per id for a short list). */
  modelsOf(ids: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    if (ids.length === 0) return out;
    if (ids.length <= 20) {
      const stmt = this.s.query<string>(
        'catalog.modelsOfProduct',
        'SELECT model FROM catalog_embeddings WHERE product_id = ? ORDER BY model',
        'pluck',
      );
      for (const id of ids) out.set(id, stmt.all(id));
      return out;
    }
    // A long page: one pass over the table beats a query per product.
    const rows = this.s
      .query<[string, string]>(
        'catalog.modelsOfAll',
        'SELECT product_id, model FROM catalog_embeddings ORDER BY product_id, model',
        'raw',
      )
      .all();
    for (const [id, model] of rows) {
      const list = out.get(id);
      if (list) list.push(model);
      else out.set(id, [model]);
    }
    return out;
  }

  /** A page of products in creation order (`limit` -1 for all). */
  list(limit: number, offset: number): ProductRow[] {
    return this.s
      .query<ProductRow>(
        'catalog.list',
        'SELECT * FROM catalog_products ORDER BY created_at, id LIMIT ? OFFSET ?',
      )
      .all(limit, offset);
  }

  get(id: string): ProductRow | undefined {
    return this.s.query<ProductRow>('catalog.get', 'SELECT * FROM catalog_products WHERE id = ?').get(id);
  }

  imagePathOf(id: string): string | undefined {
    return this.s
      .query<string>('catalog.imagePath', 'SELECT image_path FROM catalog_products WHERE id = ?', 'pluck')
      .get(id);
  }

  /** What a recommendation shows of every product: [id, name, style, category, image path, synthetic]. */
  productInfoRows(): [string, string, string | null, string | null, string, number][] {
    return this.s
      .query<[string, string, string | null, string | null, string, number]>(
        'catalog.productInfo',
        'SELECT id, name, style, category, image_path, synthetic FROM catalog_products',
        'raw',
      )
      .all();
  }

  /** A product's name and image path (the dashboard's most matched products). */
  nameAndImage(id: string): { name: string; image_path: string } | undefined {
    return this.s
      .query<{ name: string; image_path: string }>(
        'catalog.nameAndImage',
        'SELECT name, image_path FROM catalog_products WHERE id = ?',
      )
      .get(id);
  }

  /** True when some product's picture is the stored image `rel`. */
  imageInUse(rel: string): boolean {
    return (
      this.s
        .query('catalog.imageInUse', 'SELECT 1 FROM catalog_products WHERE image_path = ? LIMIT 1', 'pluck')
        .get(rel) !== undefined
    );
  }

  upsert(r: ProductWrite): void {
    this.s
      .query(
        'catalog.upsert',
        `INSERT INTO catalog_products (id, name, style, category, image_path, image_sha256, width, height, attributes, synthetic, source, created_at, updated_at)
         VALUES (@id, @name, @style, @category, @rel, @sha, @width, @height, @attributes, @synthetic, @source, @now, @now)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, style = excluded.style, category = excluded.category,
           image_path = excluded.image_path, image_sha256 = excluded.image_sha256, width = excluded.width,
           height = excluded.height, attributes = excluded.attributes, synthetic = excluded.synthetic,
           source = excluded.source, updated_at = excluded.updated_at`,
      )
      .run({ ...r, synthetic: r.synthetic ? 1 : 0 });
  }

  /** Deletes a product (its vectors go with it: foreign key cascade). */
  remove(id: string): void {
    this.s.query('catalog.remove', 'DELETE FROM catalog_products WHERE id = ?').run(id);
  }

  /** Deletes every vector of a product (its picture changed). */
  removeVectorsOf(id: string): void {
    this.s.query('catalog.removeVectorsOf', 'DELETE FROM catalog_embeddings WHERE product_id = ?').run(id);
  }

  /** Stores `model` vectors (rows of `vectors`) for `ids`, in one transaction. */
  putVectors(
    model: string,
    ids: readonly string[],
    vectors: Float32Array,
    shas: readonly (string | null)[] | null,
    source: 'onnx' | 'import',
  ): void {
    const dim = vectors.length / Math.max(1, ids.length);
    const ins = this.s.query(
      'catalog.putVector',
      `INSERT INTO catalog_embeddings (model, product_id, image_sha256, source, vector) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(model, product_id) DO UPDATE SET image_sha256 = excluded.image_sha256, source = excluded.source, vector = excluded.vector`,
    );
    this.db.transaction(() => {
      for (const [i, id] of ids.entries()) {
        ins.run(model, id, shas?.[i] ?? null, source, blobOf(vectors.subarray(i * dim, (i + 1) * dim)));
      }
    })();
  }

  /** Ids and the [n × dim] matrix of every product with a `model` vector, in id order. */
  vectors(model: string): { ids: string[]; vectors: Float32Array; dim: number } {
    const rows = this.s
      .query<[string, Buffer]>(
        'catalog.vectors',
        'SELECT product_id, vector FROM catalog_embeddings WHERE model = ? ORDER BY product_id',
        'raw',
      )
      .all(model);
    const dim = rows.length > 0 ? rows[0]![1].byteLength / 4 : 512;
    const out = new Float32Array(rows.length * dim);
    rows.forEach(([id, blob], i) => {
      if (blob.byteLength !== dim * 4) {
        throw new CatalogStoreError(
          `catalog vector of ${id} for "${model}" has ${blob.byteLength / 4} floats, expected ${dim}`,
        );
      }
      // Byte copy: SQLite blobs are not 4-byte aligned.
      new Uint8Array(out.buffer, i * dim * 4, dim * 4).set(blob);
    });
    return { ids: rows.map((r) => r[0]), vectors: out, dim };
  }

  /** One product's `model` vector, or null. */
  vector(model: string, id: string): Float32Array | null {
    const blob = this.s
      .query<Buffer>(
        'catalog.vector',
        'SELECT vector FROM catalog_embeddings WHERE model = ? AND product_id = ?',
        'pluck',
      )
      .get(model, id);
    if (!blob) return null;
    const v = new Float32Array(blob.byteLength / 4);
    new Uint8Array(v.buffer).set(blob);
    return v;
  }

  /** Which image a product's `model` vector was computed from, and how it got there. */
  vectorOrigin(model: string, id: string): { image_sha256: string | null; source: string } | undefined {
    return this.s
      .query<{ image_sha256: string | null; source: string }>(
        'catalog.vectorOrigin',
        'SELECT image_sha256, source FROM catalog_embeddings WHERE model = ? AND product_id = ?',
      )
      .get(model, id);
  }

  /**
   * Products `model` has no vector of, or one computed (by ONNX) from an older picture:
   * [id, image path, image sha256], in id order.
   */
  missingVectors(model: string): [string, string, string][] {
    return this.s
      .query<[string, string, string]>(
        'catalog.missingVectors',
        `SELECT p.id, p.image_path, p.image_sha256 FROM catalog_products p
         LEFT JOIN catalog_embeddings e ON e.product_id = p.id AND e.model = ?
         WHERE e.product_id IS NULL OR (e.source = 'onnx' AND e.image_sha256 <> p.image_sha256) ORDER BY p.id`,
        'raw',
      )
      .all(model);
  }
}
