/**
 * The figures behind a chart as researchers take them away: CSV (one row per x value, one column per
 * series), file names, value formatting for ticks and tooltips, and the best epoch of a curve. Pure
 * (no DOM, no chart.js), so it is unit-tested; charts.ts does the drawing side.
 */

export type Cell = string | number | null | undefined;

/** RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled; CRLF rows. */
export function toCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const field = (v: Cell) => {
    if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
    const text = typeof v === 'number' ? String(v) : v;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return `${[header, ...rows].map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;
}

/** A chart's series as CSV: the x column (named by the axis title) then one column per series. */
export function seriesCsv(
  xTitle: string,
  labels: readonly (string | number)[],
  series: readonly { label: string; data: readonly (number | null)[] }[],
): string {
  return toCsv(
    [xTitle || 'x', ...series.map((s) => s.label)],
    labels.map((x, i) => [x, ...series.map((s) => s.data[i] ?? null)]),
  );
}

/** A file name from a chart title: letters (any script, so Hangul stays), digits, dashes. */
export function chartFileName(title: string, extension: 'png' | 'csv'): string {
  const slug = title
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `${slug || 'chart'}.${extension}`;
}

/**
 * A figure for a tick or tooltip: tiny values (learning rates) in exponent form, others with
 * `precision` significant digits, and the unit after a thin space ("45.2 %").
 */
export function formatValue(value: number, unit = '', precision = 4): string {
  if (!Number.isFinite(value)) return '–';
  const text =
    value !== 0 && Math.abs(value) < 1e-3
      ? value.toExponential(1)
      : String(Number(value.toPrecision(precision)));
  return unit ? `${text} ${unit}` : text;
}

/** Index of the smallest (or largest) non-null value; -1 when there is none. Ties keep the first. */
export function bestIndex(data: readonly (number | null)[], lowest: boolean): number {
  let best = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (best < 0 || (lowest ? v < data[best]! : v > data[best]!)) best = i;
  }
  return best;
}

/**
 * TensorBoard's scalar smoothing: an exponential moving average with weight `weight` (0 = raw,
 * 0.99 = very smooth), debiased as TensorBoard does so the first points are not pulled towards 0.
 * Nulls stay null and do not move the average. Written here rather than taken from a library: it is
 * the few lines TensorBoard's own dashboard uses (its `smoothing` slider), and the charts need exactly
 * that behaviour so figures match a researcher's TensorBoard.
 */
export function emaSmooth(data: readonly (number | null)[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  let last = 0;
  let n = 0;
  return data.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * w + (1 - w) * v;
    n++;
    const debias = w === 0 ? 1 : 1 - w ** n;
    return last / debias;
  });
}
