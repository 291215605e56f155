/** The crops table: one cached garment crop per item (its file, size and the key it was cut for). */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export interface CropRow {
  key: string;
  width: number;
  height: number;
}

export class CropStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  get(itemId: string): CropRow | undefined {
    return this.s
      .query<CropRow>('crops.get', 'SELECT key, width, height FROM crops WHERE item_id = ?')
      .get(itemId);
  }

  /** The key of the item's crop (what its image embedding was computed from), if it has one. */
  keyOf(itemId: string): string | undefined {
    return this.s.query<string>('crops.key', 'SELECT key FROM crops WHERE item_id = ?', 'pluck').get(itemId);
  }

  /** The crop's path relative to the workspace, if the item has one. */
  pathOf(itemId: string): string | undefined {
    return this.s
      .query<string>('crops.path', 'SELECT path FROM crops WHERE item_id = ?', 'pluck')
      .get(itemId);
  }

  put(itemId: string, key: string, path: string, width: number, height: number): void {
    this.s
      .query(
        'crops.put',
        `INSERT INTO crops (item_id, key, path, width, height, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(item_id) DO UPDATE SET key = excluded.key, path = excluded.path, width = excluded.width,
           height = excluded.height, created_at = excluded.created_at`,
      )
      .run(itemId, key, path, width, height, new Date().toISOString());
  }

  count(): number {
    return this.s.query<number>('crops.count', 'SELECT COUNT(*) FROM crops', 'pluck').get()!;
  }
}
