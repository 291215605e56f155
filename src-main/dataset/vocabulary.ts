/**
 * Per-field vocabularies: index 0 is padding (an empty slot of a multi-valued field), 1 is unknown
 * (a value the encoder never saw), then K-Fashion's published values in a fixed order, then values
 * found only in this data (by frequency). The fixed prefix means index i names the same value in every
 * workspace, so checkpoints trained on different samples stay compatible. Saved with every checkpoint.
 */
import { FIELD_NAMES, type FieldName, type GarmentAttributes } from '../../src-shared/fields.ts';
import type { Db } from '../store/database.ts';
import { VocabularyStore } from '../store/vocabulary-store.ts';
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

/** Per field, how many garments carry each value: what a vocabulary is built from. */
export type VocabularyCounts = Map<FieldName, Map<string, number>>;

/**
 * Counts every field's values over the workspace's items. A read only: a scan runs it on a parse
 * thread with its own connection while the writing thread draws the split.
 */
export function countVocabulary(db: Db): VocabularyCounts {
  // One pass over the items, counting in JS: a json_each query per field scanned the table 12 times.
  const counts: VocabularyCounts = new Map(FIELD_NAMES.map((f) => [f, new Map()]));
  const bump = (field: FieldName, value: string) => {
    const m = counts.get(field)!;
    m.set(value, (m.get(value) ?? 0) + 1);
  };
  for (const json of new VocabularyStore(db).itemAttributes()) {
    const attrs = JSON.parse(json) as GarmentAttributes;
    for (const name of FIELD_NAMES) {
      const v = attrs[name];
      if (v === undefined) continue;
      if (typeof v === 'string') bump(name, v);
      else for (const x of v) bump(name, x);
    }
  }
  return counts;
}

/**
 * Counts every field's values over the workspace's items (or takes `counts` made by countVocabulary
 * over the same items) and stores the vocabulary. The order values were counted in does not matter:
 * known values come in their fixed order, the others by count and then by value.
 */
export function buildVocabulary(db: Db, counts: VocabularyCounts = countVocabulary(db)): Vocabulary {
  const vocab = {} as Vocabulary;
  for (const name of FIELD_NAMES) {
    const fieldCounts = counts.get(name) ?? new Map<string, number>();
    const known = KNOWN_VALUES[name];
    const knownSet = new Set(known);
    const extras = [...fieldCounts.entries()]
      .filter(([v]) => !knownSet.has(v))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    vocab[name] = [
      { value: PAD, count: 0, known: true },
      { value: UNK, count: 0, known: true },
      ...known.map((v) => ({ value: v, count: fieldCounts.get(v) ?? 0, known: true })),
      ...extras.map(([v, n]) => ({ value: v, count: n, known: false })),
    ];
  }
  saveVocabulary(db, vocab);
  return vocab;
}

export function saveVocabulary(db: Db, vocab: Vocabulary): void {
  new VocabularyStore(db).replace(
    FIELD_NAMES.flatMap((name) =>
      vocab[name].map((e, idx) => ({ field: name, idx, value: e.value, count: e.count, known: e.known })),
    ),
  );
}

export function loadVocabulary(db: Db): Vocabulary | null {
  const rows = new VocabularyStore(db).rows();
  if (rows.length === 0) return null;
  const vocab = Object.fromEntries(FIELD_NAMES.map((n) => [n, [] as VocabEntry[]])) as Vocabulary;
  for (const r of rows) vocab[r.field as FieldName]?.push({ value: r.value, count: r.count, known: r.known });
  return vocab;
}

/** Index of a value in a field's vocabulary; unknown values map to UNK_INDEX. */
export function indexer(vocab: Vocabulary, field: FieldName): (value: string) => number {
  const map = new Map(vocab[field].map((e, i) => [e.value, i]));
  return (value) => map.get(value) ?? UNK_INDEX;
}
