/** Normalisation of label strings: the same value must compare equal however a labeller typed it. */
import { KNOWN_VALUES, VALUE_ALIASES } from './kfashion-values.ts';

const WHITESPACE = /[\s\u00A0\u2000-\u200B\u3000\uFEFF]+/g;

const KNOWN = new Set(Object.values(KNOWN_VALUES).flat());

/**
 * NFC (macOS file names and some editors produce decomposed Hangul), non-breaking and other odd spaces
 * folded into one ASCII space, trimmed, then K-Fashion's known spelling variants mapped to one form.
 * A stray space inside a known value (`스카이\u00A0블루`) is dropped, while a value whose real spelling
 * has a space (`헤어 니트`) keeps it. Returns '' for a value that is only whitespace.
 */
export function normalizeValue(raw: string): string {
  let n = normalized.get(raw);
  if (n === undefined) {
    n = normalizeUncached(raw);
    // Bounded: a hostile label with thousands of distinct values must not grow it without end.
    if (normalized.size >= MAX_CACHED_VALUES) normalized.clear();
    normalized.set(raw, n);
  }
  return n;
}

/**
 * Raw value → normalizeValue's answer. A scan normalises a dozen values per garment, nearly all of
 * them the same few hundred words; a lookup replaces an NFC pass, a regular expression and two set
 * probes per value (a parse worker's largest cost after JSON.parse and the polygons).
 */
const normalized = new Map<string, string>();
const MAX_CACHED_VALUES = 4096;

function normalizeUncached(raw: string): string {
  const folded = raw.normalize('NFC').replace(WHITESPACE, ' ').trim();
  const aliased = VALUE_ALIASES[folded] ?? folded;
  if (KNOWN.has(aliased) || !aliased.includes(' ')) return aliased;
  const joined = aliased.replaceAll(' ', '');
  return KNOWN.has(joined) ? joined : aliased;
}

/** File and folder names: NFC only, so `로맨틱` read on macOS matches `로맨틱` typed anywhere else. */
export function normalizeName(name: string): string {
  return name.normalize('NFC');
}
