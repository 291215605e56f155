/**
 * Per-field vocabularies: index 0 is padding (an empty slot of a multi-valued field), 1 is unknown
 * (a value the encoder never saw), then K-Fashion's published values in a fixed order, then values
 * found only in this data (by frequency). The fixed prefix means index i names the same value in every
 * workspace, so checkpoints trained on different samples stay compatible. Saved with every checkpoint.
 */
import { FIELD_NAMES, FIELDS, type FieldName } from '../../src-shared/fields.ts';
import type { Db } from '../store/database.ts';
import { KNOWN_VALUES } from './kfashion-values.ts';

export const PAD = '<pad>';
export const UNK = '<unk>';
export const PAD_INDEX = 0;
export const UNK_INDEX = 1;

export interface VocabEntry {
  value: string;
  count: number;
  known: boolean;
}

export type Vocabulary = Record<FieldName, VocabEntry[]>;

/** Counts every field's values over the workspace's items and stores the vocabulary. */
export function buildVocabulary(db: Db): Vocabulary {
  const vocab = {} as Vocabulary;
  for (const name of FIELD_NAMES) {
    const field = FIELDS[name];
    // Multi-valued fields are JSON lists in the attributes column; single ones are strings.
    const sql =
      field.kind === 'multi'
        ? `SELECT j.value AS value, COUNT(*) AS n FROM items, json_each(items.attributes, '$.${name}') j GROUP BY j.value`
        : `SELECT json_extract(attributes, '$.${name}') AS value, COUNT(*) AS n FROM items
           WHERE json_extract(attributes, '$.${name}') IS NOT NULL GROUP BY 1`;
    const counts = new Map<string, number>();
    for (const r of db.prepare(sql).all() as { value: string; n: number }[]) counts.set(r.value, r.n);
    const known = KNOWN_VALUES[name];
    const extras = [...counts.entries()]
      .filter(([v]) => !known.includes(v))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    vocab[name] = [
      { value: PAD, count: 0, known: true },
      { value: UNK, count: 0, known: true },
      ...known.map((v) => ({ value: v, count: counts.get(v) ?? 0, known: true })),
      ...extras.map(([v, n]) => ({ value: v, count: n, known: false })),
    ];
  }
  saveVocabulary(db, vocab);
  return vocab;
}

export function saveVocabulary(db: Db, vocab: Vocabulary): void {
  db.transaction(() => {
    db.prepare('DELETE FROM vocab').run();
    const ins = db.prepare('INSERT INTO vocab (field, idx, value, count, known) VALUES (?, ?, ?, ?, ?)');
    for (const name of FIELD_NAMES) {
      vocab[name].forEach((e, i) => {
        ins.run(name, i, e.value, e.count, e.known ? 1 : 0);
      });
    }
  })();
}

export function loadVocabulary(db: Db): Vocabulary | null {
  const rows = db.prepare('SELECT field, value, count, known FROM vocab ORDER BY field, idx').all() as {
    field: FieldName;
    value: string;
    count: number;
    known: number;
  }[];
  if (rows.length === 0) return null;
  const vocab = Object.fromEntries(FIELD_NAMES.map((n) => [n, [] as VocabEntry[]])) as Vocabulary;
  for (const r of rows) vocab[r.field]?.push({ value: r.value, count: r.count, known: r.known === 1 });
  return vocab;
}

/** Index of a value in a field's vocabulary; unknown values map to UNK_INDEX. */
export function indexer(vocab: Vocabulary, field: FieldName): (value: string) => number {
  const map = new Map(vocab[field].map((e, i) => [e.value, i]));
  return (value) => map.get(value) ?? UNK_INDEX;
}
