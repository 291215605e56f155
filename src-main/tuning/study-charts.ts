/**
 * Study charts as PNG: optimisation history, parallel coordinates and slice plots, drawn as SVG and
 * rasterised with sharp exactly as the training charts are (charts/training-charts.ts: no canvas,
 * headless in the CLI and CI, the same fonts, colours and tick rule).
 */
import type { ParamValue, StudyResults, TrialRow } from '../../src-shared/tuning.ts';
import { CHART_FONT, COLORS, esc, niceTicks, svgToPng } from '../charts/chart-style.ts';

const fmt = (v: number) =>
  v === 0
    ? '0'
    : Math.abs(v) < 1e-2 || Math.abs(v) >= 1e4
      ? v.toExponential(1)
      : Number(v.toPrecision(3)).toString();

interface Axis {
  /** Position in [0, 1] of a value. */
  pos(v: ParamValue): number;
  ticks: { at: number; label: string }[];
}

/** An axis over a parameter's values: numeric (log when positive and spread > 10×) or one slot per choice. */
function paramAxis(values: ParamValue[]): Axis {
  if (values.length > 0 && values.every((v) => typeof v === 'number')) {
    const nums = values as number[];
    const log = nums.every((v) => v > 0) && Math.max(...nums) / Math.min(...nums) > 10;
    const t = (v: number) => (log ? Math.log10(v) : v);
    let lo = Math.min(...nums.map(t));
    let hi = Math.max(...nums.map(t));
    if (hi - lo < 1e-12) {
      lo -= 0.5;
      hi += 0.5;
    }
    const ticks = log
      ? niceTicks(lo, hi, 4)
          .filter((x) => x >= lo - 1e-9 && x <= hi + 1e-9)
          .map((x) => ({ at: (x - lo) / (hi - lo), label: fmt(10 ** x) }))
      : niceTicks(lo, hi, 5)
          .filter((x) => x >= lo - 1e-9 && x <= hi + 1e-9)
          .map((x) => ({ at: (x - lo) / (hi - lo), label: fmt(x) }));
    return { pos: (v) => (t(v as number) - lo) / (hi - lo), ticks };
  }
  const keys = [...new Set(values.map((v) => JSON.stringify(v)))];
  const label = (k: string) => {
    const v = JSON.parse(k) as ParamValue;
    return Array.isArray(v) ? `${v.length} fields` : String(v);
  };
  const at = (i: number) => (keys.length === 1 ? 0.5 : i / (keys.length - 1));
  return {
    pos: (v) => at(keys.indexOf(JSON.stringify(v))),
    ticks: keys.map((k, i) => ({ at: at(i), label: label(k) })),
  };
}

function frame(width: number, height: number, title: string, subtitle: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${esc(CHART_FONT)}">
<rect width="100%" height="100%" fill="#fafafa"/>
<text x="${width / 2}" y="34" text-anchor="middle" font-size="24" font-weight="bold" fill="#222">${esc(title)}</text>
<text x="${width / 2}" y="60" text-anchor="middle" font-size="15" fill="#555">${esc(subtitle)}</text>
${body}</svg>`;
}

/** Value axis ticks and a function from value to y. */
function valueScale(values: number[], top: number, bottom: number) {
  const lo0 = values.length ? Math.min(...values) : 0;
  const hi0 = values.length ? Math.max(...values) : 1;
  const span = hi0 - lo0 || Math.abs(hi0) || 1;
  const ticks = niceTicks(lo0 - span * 0.05, hi0 + span * 0.05, 6);
  const lo = ticks[0]!;
  const hi = ticks.at(-1)!;
  return { ticks, y: (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top) };
}

const finishedValue = (t: TrialRow) => (t.state === 'COMPLETE' ? t.value : null);

/**
 * Value per trial (complete: blue dots) and best so far (orange line); with `baseline`, the ridge
 * baseline's figure as a dashed grey reference line.
 */
export function historySvg(
  r: StudyResults,
  width = 1200,
  height = 700,
  baseline: number | null = null,
): string {
  const m = { left: 100, right: 30, top: 90, bottom: 70 };
  const pw = width - m.left - m.right;
  const values = [...r.history.map((h) => h.value), ...(baseline === null ? [] : [baseline])];
  const { ticks, y } = valueScale(values, m.top, height - m.bottom);
  const maxN = Math.max(1, ...r.trials.map((t) => t.number));
  const x = (n: number) => m.left + (n / maxN) * pw;
  const out: string[] = [
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${height - m.top - m.bottom}" fill="#fff" stroke="#c8c8c8"/>`,
  ];
  for (const t of ticks) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y(t)}" y2="${y(t)}" stroke="#ececec"/>`);
    out.push(
      `<text x="${m.left - 8}" y="${y(t) + 5}" text-anchor="end" font-size="14" fill="#444">${fmt(t)}</text>`,
    );
  }
  for (const t of niceTicks(0, maxN, 8).filter((v) => Number.isInteger(v) && v <= maxN)) {
    out.push(
      `<text x="${x(t)}" y="${height - m.bottom + 22}" text-anchor="middle" font-size="14" fill="#444">${t}</text>`,
    );
  }
  out.push(
    `<text x="${m.left + pw / 2}" y="${height - 18}" text-anchor="middle" font-size="15" fill="#333">trial</text>`,
  );
  out.push(
    `<text x="24" y="${(m.top + height - m.bottom) / 2}" transform="rotate(-90 24 ${(m.top + height - m.bottom) / 2})" text-anchor="middle" font-size="15" fill="#333">${esc(r.metricLabel)}</text>`,
  );
  if (r.history.length > 0) {
    const path = r.history
      .map((h, i) => `${i ? 'L' : 'M'}${x(h.number).toFixed(1)},${y(h.best).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${COLORS.orange}" stroke-width="3"/>`);
  }
  for (const h of r.history)
    out.push(`<circle cx="${x(h.number)}" cy="${y(h.value)}" r="5" fill="${COLORS.blue}"/>`);
  if (baseline !== null) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(baseline)}" y2="${y(baseline)}" stroke="#777" stroke-width="2" stroke-dasharray="10 6"/>`,
      `<text x="${m.left + pw - 6}" y="${y(baseline) - 8}" text-anchor="end" font-size="14" fill="#555">ridge baseline ${fmt(baseline)}</text>`,
    );
  }
  const pruned = r.trials.filter((t) => t.state === 'PRUNED').length;
  const failed = r.trials.filter((t) => t.state === 'FAIL').length;
  return frame(
    width,
    height,
    `Optimisation history — ${r.name}`,
    `${r.metricLabel}: blue = complete trial, orange = best so far · ${r.counts.COMPLETE} complete, ${pruned} pruned, ${failed} failed`,
    out.join('\n'),
  );
}

/** One vertical axis per parameter and one for the objective; one line per complete trial. */
export function parallelCoordinatesSvg(r: StudyResults, width = 1400, height = 700): string {
  const done = r.trials.filter((t) => finishedValue(t) !== null);
  const names = r.importance.length
    ? r.importance.map((i) => i.name)
    : [...new Set(done.flatMap((t) => Object.keys(t.params)))];
  const m = { left: 90, right: 120, top: 110, bottom: 80 };
  const cols = names.length + 1;
  const colX = (i: number) => m.left + (cols === 1 ? 0 : (i / (cols - 1)) * (width - m.left - m.right));
  const top = m.top;
  const bottom = height - m.bottom;
  const axes = names.map((n) => paramAxis(done.filter((t) => n in t.params).map((t) => t.params[n]!)));
  const vals = done.map((t) => t.value!);
  const vlo = Math.min(...vals);
  const vhi = Math.max(...vals);
  const vpos = (v: number) => (vhi - vlo < 1e-12 ? 0.5 : (v - vlo) / (vhi - vlo));
  const Y = (p: number) => bottom - p * (bottom - top);
  const colour = (v: number) => {
    // Low → light blue, high → dark red.
    const p = vpos(v);
    const c = (a: number, b: number) => Math.round(a + (b - a) * p);
    return `rgb(${c(158, 178)},${c(202, 24)},${c(225, 43)})`;
  };
  const out: string[] = [];
  for (const t of [...done].sort((a, b) => a.value! - b.value!)) {
    const pts = names.map((n, i) =>
      n in t.params ? `${colX(i).toFixed(1)},${Y(axes[i]!.pos(t.params[n]!)).toFixed(1)}` : null,
    );
    pts.push(`${colX(names.length).toFixed(1)},${Y(vpos(t.value!)).toFixed(1)}`);
    out.push(
      `<polyline points="${pts.filter(Boolean).join(' ')}" fill="none" stroke="${colour(t.value!)}" stroke-width="2" opacity="0.8"/>`,
    );
  }
  const axisLabels: { name: string; ticks: Axis['ticks'] }[] = [
    ...names.map((n, i) => ({ name: n, ticks: axes[i]!.ticks })),
    {
      name: r.metricLabel,
      ticks: [
        { at: 0, label: fmt(vlo) },
        { at: 1, label: fmt(vhi) },
      ],
    },
  ];
  axisLabels.forEach((a, i) => {
    const x = colX(i);
    out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#444" stroke-width="1.5"/>`);
    out.push(
      `<text x="${x}" y="${top - 16}" text-anchor="middle" font-size="15" font-weight="bold" fill="#222">${esc(a.name)}</text>`,
    );
    for (const t of a.ticks) {
      out.push(`<text x="${x + 6}" y="${Y(t.at) + 5}" font-size="12" fill="#444">${esc(t.label)}</text>`);
    }
  });
  return frame(
    width,
    height,
    `Parallel coordinates — ${r.name}`,
    `${done.length} complete trials; colour: ${r.metricLabel} (dark red = best)`,
    out.join('\n'),
  );
}

/** One panel per parameter: the objective against that parameter's value. */
export function sliceSvg(r: StudyResults, panelWidth = 420, height = 460): string {
  const done = r.trials.filter((t) => finishedValue(t) !== null);
  const names = r.importance.length
    ? r.importance.map((i) => i.name)
    : [...new Set(done.flatMap((t) => Object.keys(t.params)))];
  const width = Math.max(1, names.length) * panelWidth;
  const m = { left: 80, right: 20, top: 110, bottom: 70 };
  const { ticks, y } = valueScale(
    done.map((t) => t.value!),
    m.top,
    height - m.bottom,
  );
  const maxN = Math.max(1, ...done.map((t) => t.number));
  const out: string[] = [];
  names.forEach((n, i) => {
    const x0 = i * panelWidth;
    const pw = panelWidth - m.left - m.right;
    const has = done.filter((t) => n in t.params);
    const axis = paramAxis(has.map((t) => t.params[n]!));
    const X = (p: number) => x0 + m.left + 10 + p * (pw - 20);
    out.push(
      `<rect x="${x0 + m.left}" y="${m.top}" width="${pw}" height="${height - m.top - m.bottom}" fill="#fff" stroke="#c8c8c8"/>`,
    );
    out.push(
      `<text x="${x0 + m.left + pw / 2}" y="${m.top - 14}" text-anchor="middle" font-size="16" font-weight="bold" fill="#222">${esc(n)}</text>`,
    );
    for (const t of ticks) {
      out.push(
        `<text x="${x0 + m.left - 6}" y="${y(t) + 5}" text-anchor="end" font-size="12" fill="#444">${fmt(t)}</text>`,
      );
    }
    for (const t of axis.ticks) {
      out.push(
        `<text x="${X(t.at)}" y="${height - m.bottom + 20}" text-anchor="middle" font-size="12" fill="#444">${esc(t.label)}</text>`,
      );
    }
    for (const t of has) {
      // Later trials darker: shows where the sampler went.
      const shade = Math.round(200 - (t.number / maxN) * 170);
      out.push(
        `<circle cx="${X(axis.pos(t.params[n]!))}" cy="${y(t.value!)}" r="5" fill="rgb(${shade},${shade},255)" stroke="${COLORS.blue}"/>`,
      );
    }
  });
  return frame(
    width,
    height,
    `Slice plots — ${r.name}`,
    `${r.metricLabel} against each parameter (darker = later trial)`,
    out.join('\n'),
  );
}

/** Parameter importance as horizontal bars, the method named under the title. */
export function importanceSvg(r: StudyResults, width = 1000): string {
  const rows = r.importance;
  const m = { left: 200, right: 90, top: 100, bottom: 30 };
  const bar = 34;
  const height = m.top + m.bottom + Math.max(1, rows.length) * bar;
  const pw = width - m.left - m.right;
  const out: string[] = [];
  rows.forEach((p, i) => {
    const yTop = m.top + i * bar;
    out.push(
      `<text x="${m.left - 10}" y="${yTop + bar / 2 + 5}" text-anchor="end" font-size="15" fill="#333">${esc(p.name)}</text>`,
      `<rect x="${m.left}" y="${yTop + 5}" width="${(p.importance * pw).toFixed(1)}" height="${bar - 10}" fill="${COLORS.blue}"/>`,
      `<text x="${m.left + p.importance * pw + 8}" y="${yTop + bar / 2 + 5}" font-size="14" fill="#444">${(p.importance * 100).toFixed(1)} %</text>`,
    );
  });
  if (rows.length === 0)
    out.push(
      `<text x="${width / 2}" y="${m.top + 20}" text-anchor="middle" font-size="15" fill="#555">needs at least 4 complete trials</text>`,
    );
  return frame(
    width,
    height,
    `Parameter importance — ${r.name} (${r.metricLabel})`,
    "share of the objective's variance each parameter explains alone (first-order variance share, fANOVA main effect)",
    out.join('\n'),
  );
}

/** The report's two study charts as PNG: history (with the baseline line) and importance. */
export async function studyReportPng(
  r: StudyResults,
  baseline: number | null,
): Promise<{ history: Buffer; importance: Buffer }> {
  const [history, importance] = await Promise.all([
    svgToPng(historySvg(r, 1200, 700, baseline)),
    svgToPng(importanceSvg(r)),
  ]);
  return { history, importance };
}

/** The three charts as PNG buffers. */
export async function studyChartsPng(
  r: StudyResults,
): Promise<{ history: Buffer; parallel: Buffer; slice: Buffer }> {
  const [history, parallel, slice] = await Promise.all([
    svgToPng(historySvg(r)),
    svgToPng(parallelCoordinatesSvg(r)),
    svgToPng(sliceSvg(r)),
  ]);
  return { history, parallel, slice };
}
