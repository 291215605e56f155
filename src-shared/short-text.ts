/**
 * User input quoted back in an error message, in short form: a 20 MB "id" must not come back as a
 * 20 MB error (the server would hold and send it twice), and a message stays readable.
 */

/** The most characters of one input value an error message quotes. */
export const QUOTE_MAX_CHARS = 200;

/**
 * `value` JSON-quoted, cut to `max` characters with the full length said when it was longer:
 * `"abc"`, or `"aaaa…" (20000000 characters)`.
 */
export function quoteShort(value: string, max = QUOTE_MAX_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(`${value.slice(0, max)}…`)} (${value.length} characters)`;
}
