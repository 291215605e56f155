/**
 * What every chart of the product shares: the font stack, the palette, SVG escaping, tick maths and
 * rasterising. Charts are drawn as SVG text and rasterised with sharp (librsvg), so they render
 * headless in the CLI, the server and CI with no browser or canvas (training-charts.ts says why no
 * chart library).
 */
import sharp from 'sharp';

/** A font stack with Hangul glyphs on every desktop OS, falling back to DejaVu Sans. */
export const CHART_FONT =
  "'Noto Sans CJK KR', 'Noto Sans KR', 'Malgun Gothic', 'Apple SD Gothic Neo', 'NanumGothic', 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif";

export const COLORS = {
  blue: '#1f77b4',
  orange: '#ff7f0e',
  green: '#2ca02c',
  red: '#d62728',
  purple: '#9467bd',
};

/**
 * Escapes text for SVG markup. Characters XML 1.0 does not allow at all (control characters, U+FFFE,
 * U+FFFF, a lone surrogate: an uploaded file's name may hold any of them) become U+FFFD: escaping
 * cannot express them, and librsvg refuses the whole document over one of them.
 */
export const esc = (s: string) =>
  s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

/** "Nice" tick values covering [lo, hi] (Heckbert's algorithm): steps of 1, 2 or 5 × 10^k. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) > 1e-12 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  const nice = (x: number, round: boolean) => {
    const e = Math.floor(Math.log10(x));
    const f = x / 10 ** e;
    const n = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return n * 10 ** e;
  };
  const step = nice(nice(hi - lo, false) / Math.max(1, target - 1), true);
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 0.5 + 1e-12; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks.length < 2) ticks.push(Number((start + step).toPrecision(12)));
  return ticks;
}

/** PNG of an SVG figure. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return await sharp(Buffer.from(svg)).png().toBuffer();
}
