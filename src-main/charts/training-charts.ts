/**
 * results/training_charts.png: a 2×2 figure of a run — train/val loss; Top-1/Top-5; positive/negative
 * similarity; learning rate — drawn as SVG and rasterised with sharp (librsvg), so it renders headless
 * in the CLI, the server and CI with no browser or canvas.
 *
 * Hand-written SVG rather than a chart library: chart.js needs a canvas (node-canvas is a native build
 * we do not otherwise need), and the four line charts here are a few hundred lines of plain geometry.
 * Text uses a font stack that has Hangul glyphs on every desktop OS (Noto Sans CJK / Malgun Gothic /
 * Apple SD Gothic Neo), falling back to DejaVu Sans.
 */
import { CHART_FONT, COLORS, esc, niceTicks, svgToPng } from './chart-style.ts';

/**
 * What the figure draws of each epoch: the trainer's epoch records have these fields and more
 * (declared here, not imported, because charts/ sits below training/ in the folder map).
 */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  top1: number;
  top5: number;
  mrr: number;
  posSim: number;
  negSim: number;
  lr: number;
}

export interface ChartOptions {
  title: string;
  subtitle?: string;
  /** Marked with a dashed line in every panel (0 = none). */
  bestEpoch?: number;
  synthetic?: boolean;
  /** Learning rate per optimiser step, x in epochs (e.g. step 10 of 20 in epoch 1 → 0.5). */
  lrCurve?: { x: number; y: number }[];
  /** Size of the validation gallery, shown in the retrieval panel's title. */
  galleryItems?: number;
  /** Pixel width; height follows (default 1600 × 1100). */
  width?: number;
}

interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
  markers?: boolean;
}

interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  format: (v: number) => string;
  yMin?: number;
  yMax?: number;
}

const pct = (v: number) => `${(v * 100).toFixed(Math.abs(v) < 0.1 && v !== 0 ? 1 : 0)}%`;
const dec = (v: number) =>
  Math.abs(v) >= 10 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);
const sci = (v: number) => (v === 0 ? '0' : v.toExponential(1).replace('.0e', 'e').replace('e-', 'e−'));

function panelSvg(
  p: Panel,
  x0: number,
  y0: number,
  w: number,
  h: number,
  epochs: number,
  best: number,
): string {
  const m = { left: 96, right: 20, top: 74, bottom: 52 };
  const pw = w - m.left - m.right;
  const ph = h - m.top - m.bottom;
  const xMax = Math.max(2, epochs);
  // Whole epochs only, at most about ten labels: every 1, 2, 5, 10, 20, 50, ... epochs.
  const every = [1, 2, 5, 10, 20, 50, 100, 200, 500].find((k) => xMax / k <= 10) ?? 1000;
  // Epoch 1 gets a label of its own only when the next one is far enough away (1, 5, 10, …).
  const multiples = Array.from({ length: Math.floor(xMax / every) }, (_, i) => (i + 1) * every);
  const xTicks = (every === 1 || every >= 5 ? [1, ...multiples] : multiples).filter(
    (t, i, a) => t <= xMax && a.indexOf(t) === i,
  );
  const xs = p.series.flatMap((s) => s.points.map((q) => q.x));
  const xLo = Math.min(0.5, ...xs);
  const xHi = xMax + 0.5;
  const ys = p.series.flatMap((s) => s.points.map((q) => q.y)).filter(Number.isFinite);
  let yLo = p.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let yHi = p.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (p.yMin === undefined || p.yMax === undefined) {
    const span = yHi - yLo || Math.abs(yHi) || 1;
    if (p.yMin === undefined) yLo -= span * 0.06;
    if (p.yMax === undefined) yHi += span * 0.06;
  }
  const yTicks = niceTicks(yLo, yHi, 6);
  yLo = Math.min(yLo, yTicks[0]!);
  yHi = Math.max(yHi, yTicks.at(-1)!);
  const X = (v: number) => x0 + m.left + ((v - xLo) / (xHi - xLo)) * pw;
  const Y = (v: number) => y0 + m.top + ph - ((v - yLo) / (yHi - yLo)) * ph;
  const out: string[] = [];
  out.push(
    `<rect x="${x0 + m.left}" y="${y0 + m.top}" width="${pw}" height="${ph}" fill="#ffffff" stroke="#c8c8c8"/>`,
  );
  out.push(
    `<text x="${x0 + m.left + pw / 2}" y="${y0 + 28}" text-anchor="middle" font-size="19" font-weight="bold" fill="#222">${esc(p.title)}</text>`,
  );
  for (const t of yTicks) {
    const y = Y(t);
    out.push(`<line x1="${x0 + m.left}" x2="${x0 + m.left + pw}" y1="${y}" y2="${y}" stroke="#ececec"/>`);
    out.push(`<line x1="${x0 + m.left - 5}" x2="${x0 + m.left}" y1="${y}" y2="${y}" stroke="#666"/>`);
    out.push(
      `<text x="${x0 + m.left - 9}" y="${y + 5}" text-anchor="end" font-size="14" fill="#444">${esc(p.format(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    if (t < 1) continue;
    const x = X(t);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + m.top}" y2="${y0 + m.top + ph}" stroke="#f3f3f3"/>`);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + m.top + ph}" y2="${y0 + m.top + ph + 5}" stroke="#666"/>`);
    out.push(
      `<text x="${x}" y="${y0 + m.top + ph + 22}" text-anchor="middle" font-size="14" fill="#444">${t}</text>`,
    );
  }
  out.push(
    `<text x="${x0 + m.left + pw / 2}" y="${y0 + h - 10}" text-anchor="middle" font-size="15" fill="#333">epoch</text>`,
  );
  const yl = { x: x0 + 18, y: y0 + m.top + ph / 2 };
  out.push(
    `<text x="${yl.x}" y="${yl.y}" transform="rotate(-90 ${yl.x} ${yl.y})" text-anchor="middle" font-size="15" fill="#333">${esc(p.yLabel)}</text>`,
  );
  if (best > 0) {
    const x = X(best);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${y0 + m.top}" y2="${y0 + m.top + ph}" stroke="#888" stroke-dasharray="6 5" stroke-width="1.5"/>`,
    );
    // Label on the side with room: left of the line when it is in the right half.
    const right = best > (xLo + xHi) / 2;
    out.push(
      `<text x="${right ? x - 6 : x + 6}" y="${y0 + m.top + 18}" text-anchor="${right ? 'end' : 'start'}" font-size="13" fill="#555" stroke="#ffffff" stroke-width="4" paint-order="stroke">best (epoch ${best})</text>`,
    );
  }
  const clip = `clip${Math.round(x0)}_${Math.round(y0)}`;
  out.push(
    `<clipPath id="${clip}"><rect x="${x0 + m.left}" y="${y0 + m.top}" width="${pw}" height="${ph}"/></clipPath>`,
  );
  for (const s of p.series) {
    const pts = s.points.filter((q) => Number.isFinite(q.y));
    if (pts.length === 0) continue;
    const d = pts.map((q, i) => `${i ? 'L' : 'M'}${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.6" stroke-linejoin="round" stroke-linecap="round"${s.dashed ? ' stroke-dasharray="9 6"' : ''} clip-path="url(#${clip})"/>`,
    );
    if (s.markers !== false && pts.length <= 40) {
      for (const q of pts) {
        out.push(
          `<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3.8" fill="${s.color}" stroke="#fff" stroke-width="1.2"/>`,
        );
      }
    }
  }
  // Legend in one row between the title and the plot, so it never hides a line.
  const shown = p.series.filter((s) => s.points.length > 0);
  const widths = shown.map((s) => 44 + s.name.length * 8.2 + 22);
  let lx = x0 + m.left + (pw - widths.reduce((a, b) => a + b, 0)) / 2;
  const ly = y0 + 54;
  shown.forEach((s, i) => {
    out.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`,
    );
    if (s.markers !== false)
      out.push(
        `<circle cx="${lx + 14}" cy="${ly}" r="3.8" fill="${s.color}" stroke="#fff" stroke-width="1.2"/>`,
      );
    out.push(`<text x="${lx + 36}" y="${ly + 5}" font-size="14" fill="#222">${esc(s.name)}</text>`);
    lx += widths[i]!;
  });
  return out.join('\n');
}

/** The figure as SVG text (exported for tests and for the UI, which can show it as is). */
export function trainingChartsSvg(history: readonly EpochPoint[], opts: ChartOptions): string {
  const W = opts.width ?? 1600;
  const H = Math.round(W * 0.6875);
  const head = opts.subtitle ? 92 : 64;
  const pw = W / 2;
  const ph = (H - head) / 2;
  const epochs = history.length ? Math.max(...history.map((h) => h.epoch)) : 1;
  const at = (f: (h: EpochPoint) => number) => history.map((h) => ({ x: h.epoch, y: f(h) }));
  const panels: Panel[] = [
    {
      title: 'Loss (symmetric InfoNCE)',
      yLabel: 'loss',
      format: dec,
      series: [
        { name: 'train', color: COLORS.blue, points: at((h) => h.trainLoss) },
        { name: 'validation', color: COLORS.orange, points: at((h) => h.valLoss) },
      ],
    },
    {
      title: `Validation retrieval, JSON → image (gallery${opts.galleryItems ? ` of ${opts.galleryItems}` : ''})`,
      yLabel: 'Top-K accuracy, MRR',
      format: pct,
      yMin: 0,
      series: [
        { name: 'Top-1', color: COLORS.blue, points: at((h) => h.top1) },
        { name: 'Top-5', color: COLORS.green, points: at((h) => h.top5) },
        { name: 'MRR', color: COLORS.purple, points: at((h) => h.mrr), dashed: true },
      ],
    },
    {
      title: 'Cosine similarity (validation)',
      yLabel: 'cosine',
      format: dec,
      series: [
        { name: 'positive pairs', color: COLORS.green, points: at((h) => h.posSim) },
        { name: 'negative pairs', color: COLORS.red, points: at((h) => h.negSim) },
      ],
    },
    {
      title: 'Learning rate',
      yLabel: 'learning rate',
      format: sci,
      yMin: 0,
      series: [
        opts.lrCurve && opts.lrCurve.length > 0
          ? { name: 'per step', color: COLORS.purple, points: opts.lrCurve, markers: false }
          : { name: 'end of epoch', color: COLORS.purple, points: at((h) => h.lr) },
      ],
    },
  ];
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(CHART_FONT)}">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#fafafa"/>`);
  parts.push(
    `<text x="${W / 2}" y="38" text-anchor="middle" font-size="26" font-weight="bold" fill="#111">${esc(opts.title)}</text>`,
  );
  if (opts.subtitle) {
    parts.push(
      `<text x="${W / 2}" y="70" text-anchor="middle" font-size="17" fill="#555">${esc(opts.subtitle)}</text>`,
    );
  }
  if (opts.synthetic) {
    parts.push(
      `<text x="${W - 24}" y="38" text-anchor="end" font-size="20" font-weight="bold" fill="#c0392b">SYNTHETIC</text>`,
    );
  }
  panels.forEach((p, i) => {
    parts.push(
      panelSvg(
        p,
        (i % 2) * pw + 8,
        head + Math.floor(i / 2) * ph,
        pw - 16,
        ph - 6,
        epochs,
        opts.bestEpoch ?? 0,
      ),
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export async function renderTrainingCharts(
  history: readonly EpochPoint[],
  opts: ChartOptions,
): Promise<Buffer> {
  return await svgToPng(trainingChartsSvg(history, opts));
}
