/**
 * The vocab table: per field, the value at each encoder index with its count and whether it is one of
 * K-Fashion's published values. Which values go where is dataset/vocabulary.ts's business; this module
 * only reads and writes the rows.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export interface VocabRow {
  field: string;
  value: string;
  count: number;
  known: boolean;
}

export class VocabularyStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Every item's attribute JSON, streamed (the vocabulary is counted over all of them). */
  itemAttributes(): Generator<string> {
    return this.s.query<string>('items.attributes', 'SELECT attributes FROM items', 'pluck').iterate();
  }

  /** Replaces the whole vocabulary in one transaction; `rows` are in index order within each field. */
  replace(
    rows: Iterable<{ field: string; idx: number; value: string; count: number; known: boolean }>,
  ): void {
    const ins = this.s.query(
      'vocab.insert',
      'INSERT INTO vocab (field, idx, value, count, known) VALUES (?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.s.query('vocab.clear', 'DELETE FROM vocab').run();
      for (const r of rows) ins.run(r.field, r.idx, r.value, r.count, r.known ? 1 : 0);
    })();
  }

  /** All rows, by field and index. */
  rows(): VocabRow[] {
    return this.s
      .query<{ field: string; value: string; count: number; known: number }>(
        'vocab.rows',
        'SELECT field, value, count, known FROM vocab ORDER BY field, idx',
      )
      .all()
      .map((r) => ({ field: r.field, value: r.value, count: r.count, known: r.known === 1 }));
  }

  /** Number of values per field. */
  sizes(): { field: string; n: number }[] {
    return this.s
      .query<{ field: string; n: number }>(
        'vocab.sizes',
        'SELECT field, COUNT(*) AS n FROM vocab GROUP BY field',
      )
      .all();
  }
}
