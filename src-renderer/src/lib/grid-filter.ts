/**
 * Filtering a grid of tiles by style and category (search results, recommendations, samples,
 * catalog). Pure, so the same rule holds in every grid and is tested once.
 */

export interface Facets {
  style?: string | null;
  category?: string | null;
}

export interface GridFilterValue {
  /** '' = any. */
  style: string;
  category: string;
}

export const NO_FILTER: GridFilterValue = { style: '', category: '' };

/** The distinct non-empty values of one facet, most frequent first (then by name), with counts. */
export function facetValues(items: readonly Facets[], key: keyof Facets): { value: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = item[key];
    if (value) counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

export function passes(item: Facets, filter: GridFilterValue): boolean {
  return (
    (filter.style === '' || item.style === filter.style) &&
    (filter.category === '' || item.category === filter.category)
  );
}
