/**
 * Charts of the evaluation suite, drawn as SVG and rasterised with sharp like the training charts
 * (charts/training-charts.ts explains why: headless, no canvas build). Three panel kinds: histogram
 * overlays (similarity, centrality), grouped bars with ceiling marks (per style / category), and lines
 * over a numeric x (the temperature study). Fonts, colours, tick maths and escaping are every chart's
 * (chart-style.ts).
 */
import { CHART_FONT, COLORS, esc, niceTicks, svgToPng } from './chart-style.ts';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

const M = { left: 86, right: 20, top: 76, bottom: 70 };

export const pctTick = (v: number) => `${Math.round(v * 100)}%`;
export const decTick = (v: number) =>
  Math.abs(v) < 1e-12 ? '0' : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);

function frame(r: Rect, title: string, yLabel: string, xLabel: string): { plot: Rect; out: string[] } {
  const plot = { x: r.x + M.left, y: r.y + M.top, w: r.w - M.left - M.right, h: r.h - M.top - M.bottom };
  const out = [
    `<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="#ffffff" stroke="#c8c8c8"/>`,
    `<text x="${plot.x + plot.w / 2}" y="${r.y + 28}" text-anchor="middle" font-size="19" font-weight="bold" fill="#222">${esc(title)}</text>`,
    `<text x="${plot.x + plot.w / 2}" y="${r.y + r.h - 12}" text-anchor="middle" font-size="15" fill="#333">${esc(xLabel)}</text>`,
  ];
  const yl = { x: r.x + 18, y: plot.y + plot.h / 2 };
  out.push(
    `<text x="${yl.x}" y="${yl.y}" transform="rotate(-90 ${yl.x} ${yl.y})" text-anchor="middle" font-size="15" fill="#333">${esc(yLabel)}</text>`,
  );
  return { plot, out };
}

function yAxis(out: string[], plot: Rect, lo: number, hi: number, fmt: (v: number) => string) {
  const ticks = niceTicks(lo, hi, 6).filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  const Y = (v: number) => plot.y + plot.h - ((v - lo) / (hi - lo || 1)) * plot.h;
  for (const t of ticks) {
    const y = Y(t);
    out.push(`<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${y}" y2="${y}" stroke="#ececec"/>`);
    out.push(
      `<text x="${plot.x - 8}" y="${y + 5}" text-anchor="end" font-size="14" fill="#444">${esc(fmt(t))}</text>`,
    );
  }
  return Y;
}

function legend(
  out: string[],
  plot: Rect,
  y: number,
  items: { name: string; color: string; dashed?: boolean }[],
) {
  const widths = items.map((s) => 40 + s.name.length * 8.2 + 20);
  let lx = plot.x + (plot.w - widths.reduce((a, b) => a + b, 0)) / 2;
  items.forEach((s, i) => {
    out.push(
      `<rect x="${lx}" y="${y - 7}" width="26" height="14" fill="${s.color}" fill-opacity="${s.dashed ? 0 : 0.75}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
    out.push(`<text x="${lx + 34}" y="${y + 5}" font-size="14" fill="#222">${esc(s.name)}</text>`);
    lx += widths[i]!;
  });
}

export interface HistogramSeries {
  name: string;
  color: string;
  /** Counts per bin; drawn as densities (each series sums to 1) so sizes of different sets compare. */
  counts: ArrayLike<number>;
}

/** Overlaid step histograms over shared bin `edges`, cropped to the bins that hold data. */
export function histogramPanel(
  r: Rect,
  opts: {
    title: string;
    xLabel: string;
    /** Default "share". */
    yLabel?: string;
    edges: readonly number[];
    series: HistogramSeries[];
    markers?: { x: number; label: string; color: string }[];
  },
): string {
  const { plot, out } = frame(r, opts.title, opts.yLabel ?? 'share', opts.xLabel);
  const nb = opts.edges.length - 1;
  let first = nb;
  let last = -1;
  const dens = opts.series.map((s) => {
    let total = 0;
    for (let i = 0; i < nb; i++) total += s.counts[i]!;
    return Array.from({ length: nb }, (_, i) => (total > 0 ? s.counts[i]! / total : 0));
  });
  for (const d of dens) {
    d.forEach((v, i) => {
      if (v > 0) {
        first = Math.min(first, i);
        last = Math.max(last, i);
      }
    });
  }
  if (last < 0) {
    first = 0;
    last = nb - 1;
  }
  first = Math.max(0, first - 1);
  last = Math.min(nb - 1, last + 1);
  const xLo = opts.edges[first]!;
  const xHi = opts.edges[last + 1]!;
  const yHi = Math.max(1e-9, ...dens.flat()) * 1.08;
  const Y = yAxis(out, plot, 0, yHi, (v) => `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)}%`);
  const X = (v: number) => plot.x + ((v - xLo) / (xHi - xLo || 1)) * plot.w;
  for (const t of niceTicks(xLo, xHi, 8).filter((t) => t >= xLo && t <= xHi)) {
    out.push(
      `<line x1="${X(t)}" x2="${X(t)}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h + 5}" stroke="#666"/>`,
    );
    out.push(
      `<text x="${X(t)}" y="${plot.y + plot.h + 22}" text-anchor="middle" font-size="14" fill="#444">${esc(decTick(t))}</text>`,
    );
  }
  opts.series.forEach((s, si) => {
    const d = dens[si]!;
    let path = `M${X(xLo).toFixed(1)},${Y(0).toFixed(1)}`;
    for (let i = first; i <= last; i++) {
      path += ` L${X(opts.edges[i]!).toFixed(1)},${Y(d[i]!).toFixed(1)} L${X(opts.edges[i + 1]!).toFixed(1)},${Y(d[i]!).toFixed(1)}`;
    }
    path += ` L${X(xHi).toFixed(1)},${Y(0).toFixed(1)} Z`;
    out.push(
      `<path d="${path}" fill="${s.color}" fill-opacity="0.35" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"/>`,
    );
  });
  for (const m of opts.markers ?? []) {
    const x = X(m.x);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="${m.color}" stroke-dasharray="6 5" stroke-width="2"/>`,
    );
    out.push(
      `<text x="${x + 6}" y="${plot.y + 18}" font-size="13" fill="${m.color}" stroke="#fff" stroke-width="4" paint-order="stroke">${esc(m.label)}</text>`,
    );
  }
  legend(out, plot, r.y + 54, opts.series);
  return out.join('\n');
}

export interface BarGroup {
  label: string;
  /** One value per series. */
  values: number[];
  /** The ceiling of each series' value, marked over its bar (optional). */
  ceilings?: (number | null)[];
  /** Shown under the label, e.g. the number of queries. */
  note?: string;
}

/** Grouped vertical bars with ceiling ticks, values as percentages. */
export function barsPanel(
  r: Rect,
  opts: { title: string; yLabel: string; series: { name: string; color: string }[]; groups: BarGroup[] },
): string {
  const { plot, out } = frame(r, opts.title, opts.yLabel, '');
  const Y = yAxis(out, plot, 0, 1, pctTick);
  const n = Math.max(1, opts.groups.length);
  const gw = plot.w / n;
  const bw = Math.min(34, (gw * 0.8) / Math.max(1, opts.series.length));
  opts.groups.forEach((g, gi) => {
    const cx = plot.x + gw * (gi + 0.5);
    const x0 = cx - (bw * opts.series.length) / 2;
    g.values.forEach((v, si) => {
      const x = x0 + si * bw;
      const y = Y(Math.max(0, Math.min(1, v)));
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(plot.y + plot.h - y).toFixed(1)}" fill="${opts.series[si]!.color}" fill-opacity="0.8"/>`,
      );
      const c = g.ceilings?.[si];
      if (c !== undefined && c !== null) {
        const yc = Y(Math.max(0, Math.min(1, c)));
        out.push(
          `<line x1="${(x - 1).toFixed(1)}" x2="${(x + bw - 1).toFixed(1)}" y1="${yc.toFixed(1)}" y2="${yc.toFixed(1)}" stroke="#222" stroke-width="2.5"/>`,
        );
      }
    });
    // Rotate long labels so 20+ categories stay readable.
    const rot = n > 8 ? ` transform="rotate(-35 ${cx} ${plot.y + plot.h + 18})"` : '';
    out.push(
      `<text x="${cx}" y="${plot.y + plot.h + 18}" text-anchor="${n > 8 ? 'end' : 'middle'}" font-size="13" fill="#333"${rot}>${esc(g.label)}${g.note ? ` (${esc(g.note)})` : ''}</text>`,
    );
  });
  legend(out, plot, r.y + 54, [...opts.series, { name: 'ceiling', color: '#222', dashed: true }]);
  return out.join('\n');
}

export interface LineSeries {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

/** Lines over a numeric x with a marker per point (the temperature study). */
export function linePanel(
  r: Rect,
  opts: {
    title: string;
    xLabel: string;
    yLabel: string;
    series: LineSeries[];
    format?: (v: number) => string;
    yMin?: number;
    yMax?: number;
    highlightX?: number;
  },
): string {
  const { plot, out } = frame(r, opts.title, opts.yLabel, opts.xLabel);
  const xs = opts.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = opts.series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
  const xLo0 = Math.min(...xs);
  const xHi0 = Math.max(...xs);
  const pad = (xHi0 - xLo0 || Math.abs(xLo0) || 1) * 0.06;
  const xLo = xLo0 - pad;
  const xHi = xHi0 + pad;
  const lo = opts.yMin ?? Math.min(...ys);
  const hi = opts.yMax ?? Math.max(...ys);
  const Y = yAxis(out, plot, lo, hi === lo ? lo + 1 : hi, opts.format ?? pctTick);
  const X = (v: number) => plot.x + ((v - xLo) / (xHi - xLo)) * plot.w;
  for (const t of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(
      `<line x1="${X(t)}" x2="${X(t)}" y1="${plot.y + plot.h}" y2="${plot.y + plot.h + 5}" stroke="#666"/>`,
    );
    out.push(
      `<text x="${X(t)}" y="${plot.y + plot.h + 22}" text-anchor="middle" font-size="13" fill="#444">${t}</text>`,
    );
  }
  if (opts.highlightX !== undefined) {
    const x = X(opts.highlightX);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="#888" stroke-dasharray="6 5" stroke-width="1.5"/>`,
    );
  }
  for (const s of opts.series) {
    const pts = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.6"${s.dashed ? ' stroke-dasharray="9 6"' : ''}/>`,
    );
    for (const p of pts) {
      out.push(
        `<circle cx="${X(p.x).toFixed(1)}" cy="${Y(p.y).toFixed(1)}" r="4" fill="${s.color}" stroke="#fff" stroke-width="1.2"/>`,
      );
    }
  }
  legend(out, plot, r.y + 54, opts.series);
  return out.join('\n');
}

/** A figure: title, subtitle, SYNTHETIC mark, and panels laid out by the caller. */
export function figureSvg(opts: {
  width: number;
  height: number;
  title: string;
  subtitle?: string;
  synthetic?: boolean;
  panels: string[];
}): string {
  const { width: W, height: H } = opts;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(CHART_FONT)}">`,
    `<rect width="${W}" height="${H}" fill="#fafafa"/>`,
    `<text x="${W / 2}" y="38" text-anchor="middle" font-size="26" font-weight="bold" fill="#111">${esc(opts.title)}</text>`,
    opts.subtitle
      ? `<text x="${W / 2}" y="70" text-anchor="middle" font-size="16" fill="#555">${esc(opts.subtitle)}</text>`
      : '',
    opts.synthetic
      ? `<text x="${W - 24}" y="38" text-anchor="end" font-size="20" font-weight="bold" fill="#c0392b">SYNTHETIC</text>`
      : '',
    ...opts.panels,
    '</svg>',
  ].join('\n');
}

// Re-exported for the figures that import their panels from here.
export { COLORS, svgToPng };
