/**
 * Turns a search query typed by a person — attribute JSON in the encoder's field names (`category`,
 * `style`, …) or in K-Fashion's Korean keys (`카테고리`, `스타일`, `서브스타일`, `핏`, `소재`, `디테일`, …) —
 * into the encoder's attributes, checked against the CHECKPOINT's vocabulary.
 *
 * Strict on purpose: the encoder maps an unknown value to <unk> and a misspelt key to nothing, so a
 * typo would silently search for something else. Unknown keys and values are errors that name them
 * and list the close and the valid choices. Known K-Fashion fields the checkpoint was not trained on
 * (e.g. `색상` for a five-field encoder) are reported as ignored rather than refused, so a garment's
 * labels can be pasted as they are.
 */
import {
  FIELD_NAMES,
  FIELDS,
  type FieldName,
  type GarmentAttributes,
  isFieldName,
} from '../../src-shared/fields.ts';
import { normalizeValue } from '../dataset/normalize.ts';
import { PAD, UNK } from '../dataset/vocabulary.ts';

export class SearchQueryError extends Error {
  override name = 'SearchQueryError';
}

/** Korean label key → encoder field. `서브스타일` merges into `style`, as the scanner does. */
const KOREAN_KEYS: ReadonlyMap<string, FieldName> = new Map([
  ...FIELD_NAMES.map((f) => [FIELDS[f].source, f] as const),
  ['서브스타일', 'style'],
]);

export interface ParsedQuery {
  attributes: GarmentAttributes;
  /** Input keys naming known fields that the checkpoint does not encode. */
  ignored: string[];
  /** e.g. "category 블라우스 · style 로맨틱, 페미닌". */
  label: string;
}

/** Levenshtein distance over code points (Hangul syllables count as one). */
function distance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[y.length]!;
}

/** Candidates close to `s`: containing it, contained in it, or within a third of its length in edits. */
export function closeMatches(s: string, candidates: readonly string[], max = 5): string[] {
  const lower = s.toLowerCase();
  const limit = Math.max(1, Math.floor([...s].length / 3));
  return candidates
    .map((c) => {
      const cl = c.toLowerCase();
      const d = distance(lower, cl);
      const contains = lower.length > 0 && (cl.includes(lower) || lower.includes(cl));
      return { c, d: contains ? Math.min(d, 0.5) : d };
    })
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, max)
    .map((x) => x.c);
}

function listValues(values: readonly string[], max = 40): string {
  return values.length <= max
    ? values.join(', ')
    : `${values.slice(0, max).join(', ')}, … (${values.length - max} more)`;
}

/**
 * Parses `text` (a JSON object) or an already-parsed object. `vocabulary` and `fields` are the
 * checkpoint's (best_model.json → vocabulary, fields).
 */
export function parseSearchQuery(
  input: string | Record<string, unknown>,
  checkpoint: { fields: readonly string[]; vocabulary: Readonly<Record<string, readonly string[]>> },
): ParsedQuery {
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new SearchQueryError(
        `--query is not valid JSON (${(e as Error).message}). Expected an object such as '{"category": "블라우스", "style": ["로맨틱"]}' or '{"카테고리": "블라우스", "스타일": "로맨틱"}'.`,
      );
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new SearchQueryError(
      `The query must be a JSON object of attributes, e.g. {"category": "블라우스", "style": ["로맨틱"]}; got ${Array.isArray(obj) ? 'an array' : obj === null ? 'null' : typeof obj}.`,
    );
  }
  const encoded = new Set(checkpoint.fields.filter(isFieldName));
  const validKeys = [...encoded].flatMap((f) =>
    f === 'style' ? [f, FIELDS[f].source, '서브스타일'] : [f, FIELDS[f].source],
  );
  const collected = new Map<FieldName, string[]>();
  const ignored: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(obj as Record<string, unknown>)) {
    const key = rawKey.normalize('NFC').trim();
    const field: FieldName | undefined = isFieldName(key) ? key : KOREAN_KEYS.get(key);
    if (!field) {
      const close = closeMatches(key, [...FIELD_NAMES, ...KOREAN_KEYS.keys()], 3);
      throw new SearchQueryError(
        `Unknown query key "${rawKey}"${close.length ? ` (did you mean ${close.map((c) => `"${c}"`).join(' or ')}?)` : ''}. This checkpoint reads: ${validKeys.join(', ')}.`,
      );
    }
    if (!encoded.has(field)) {
      ignored.push(rawKey);
      continue;
    }
    const values = Array.isArray(rawValue) ? rawValue : [rawValue];
    if (values.length === 0) continue;
    for (const v of values) {
      if (typeof v !== 'string') {
        throw new SearchQueryError(
          `Query key "${rawKey}": expected ${FIELDS[field].kind === 'multi' ? 'a string or a list of strings' : 'a string'}, got ${JSON.stringify(v)}.`,
        );
      }
    }
    const list = collected.get(field) ?? [];
    for (const v of values as string[]) {
      const norm = normalizeValue(v);
      if (norm === '') throw new SearchQueryError(`Query key "${rawKey}": an empty value.`);
      if (!list.includes(norm)) list.push(norm);
    }
    collected.set(field, list);
  }

  const attributes: GarmentAttributes = {};
  for (const field of checkpoint.fields.filter(isFieldName)) {
    const list = collected.get(field);
    if (!list || list.length === 0) continue;
    const known = (checkpoint.vocabulary[field] ?? []).filter((v) => v !== PAD && v !== UNK);
    const knownSet = new Set(known);
    for (const v of list) {
      if (knownSet.has(v)) continue;
      const close = closeMatches(v, known);
      throw new SearchQueryError(
        `Unknown ${field} value "${v}" (key ${FIELDS[field].source} / ${field}): the checkpoint's vocabulary has no such value, so the encoder could only read it as <unk>.${close.length ? ` Close values: ${close.join(', ')}.` : ''} Valid values: ${listValues(known)}.`,
      );
    }
    if (FIELDS[field].kind === 'single') {
      if (list.length > 1) {
        throw new SearchQueryError(
          `${field} (${FIELDS[field].source}) takes one value; the query gives ${list.length}: ${list.join(', ')}.`,
        );
      }
      attributes[field] = list[0]!;
    } else {
      attributes[field] = list;
    }
  }
  if (Object.keys(attributes).length === 0) {
    throw new SearchQueryError(
      `The query has no attribute this checkpoint reads${ignored.length ? ` (ignored: ${ignored.join(', ')})` : ''}. It reads: ${validKeys.join(', ')}.`,
    );
  }
  return { attributes, ignored, label: describeAttributes(attributes) };
}

/** "category 블라우스 · style 로맨틱, 페미닌 · material 우븐". */
export function describeAttributes(a: GarmentAttributes): string {
  return FIELD_NAMES.filter((f) => a[f] !== undefined && (a[f] as string | string[]).length > 0)
    .map((f) => `${f} ${Array.isArray(a[f]) ? (a[f] as string[]).join(', ') : a[f]}`)
    .join(' · ');
}
