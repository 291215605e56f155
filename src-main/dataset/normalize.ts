/** Normalisation of label strings: the same value must compare equal however a labeller typed it. */
import { VALUE_ALIASES } from './kfashion-values.ts';

const WHITESPACE = /[\s\u00A0\u2000-\u200B\u3000\uFEFF]+/g;

/**
 * NFC (macOS file names and some editors produce decomposed Hangul), non-breaking and other odd spaces
 * folded into one ASCII space, trimmed, then K-Fashion's known spelling variants mapped to one form.
 * Returns '' for a value that is only whitespace.
 */
export function normalizeValue(raw: string): string {
  const folded = raw.normalize('NFC').replace(WHITESPACE, ' ').trim();
  return VALUE_ALIASES[folded] ?? folded;
}

/** File and folder names: NFC only, so `로맨틱` read on macOS matches `로맨틱` typed anywhere else. */
export function normalizeName(name: string): string {
  return name.normalize('NFC');
}
