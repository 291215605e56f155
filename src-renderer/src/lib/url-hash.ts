/**
 * The view's state in the URL's hash (`#tab=search&search-mode=image`): which tab is open and the
 * main selections on it, so a reload (or a link) comes back to the same view. The hash rather than the
 * query string because the desktop app loads a file:// page, whose query a reload would not keep, and
 * because changing the hash never makes a request.
 */

/** Reads `#a=1&b=two` (or `a=1&b=two`) into a plain record; later duplicates win. */
export function parseHash(hash: string): Record<string, string> {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const out: Record<string, string> = {};
  for (const [key, value] of params) out[key] = value;
  return out;
}

/** Writes a record back as `#a=1&b=two`, keys in the order given, empty values left out. */
export function formatHash(params: Record<string, string>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== '') search.set(key, value);
  const text = search.toString();
  return text ? `#${text}` : '';
}

/** `value` when it is one of `allowed`, else `fallback`: a hand-edited or old URL never breaks the view. */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}
