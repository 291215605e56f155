/**
 * chart.js set up once for the whole UI: only the parts the views use are registered (chart.js is
 * tree-shakeable; `chart.js/auto` would pull every chart type in), and colours come from the page's
 * CSS variables so charts follow the light/dark theme. Zoom and pan come from chartjs-plugin-zoom;
 * PNG and CSV downloads and the best-epoch marker are here, shared by LineChart and BarChart.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartType,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  type Plugin,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';
import zoomPlugin from 'chartjs-plugin-zoom';
import { chartFileName } from './chart-data.ts';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  zoomPlugin,
);

export { Chart };

/** Series colours, distinguishable for the common kinds of colour blindness (Okabe–Ito). */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

export interface ThemeColors {
  text: string;
  grid: string;
  panel: string;
  fg: string;
}

export function themeColors(): ThemeColors {
  const css = getComputedStyle(document.documentElement);
  return {
    text: css.getPropertyValue('--muted').trim() || '#6b6b76',
    grid: css.getPropertyValue('--line').trim() || '#dcdce2',
    panel: css.getPropertyValue('--panel').trim() || '#ffffff',
    fg: css.getPropertyValue('--fg').trim() || '#1d1d22',
  };
}

/**
 * Zoom and pan as the charts offer them: drag a box to zoom, Shift-drag to pan, Ctrl/⌘ + wheel or a
 * pinch to zoom. The wheel alone keeps scrolling the page (a chart under the pointer must not trap it).
 */
export function zoomOptions(mode: 'x' | 'y' | 'xy', onChange: () => void) {
  return {
    zoom: {
      drag: { enabled: true, threshold: 8 },
      wheel: { enabled: true, modifierKey: 'ctrl' as const },
      pinch: { enabled: true },
      mode,
      onZoomComplete: onChange,
    },
    pan: { enabled: true, modifierKey: 'shift' as const, mode, onPanComplete: onChange },
  };
}

/**
 * Paints the chart's background in the panel colour before drawing: a canvas is transparent, and a
 * downloaded PNG would otherwise show black or checkered behind the lines in most viewers.
 */
export function backgroundPlugin<T extends ChartType>(color: string): Plugin<T> {
  return {
    id: 'kfBackground',
    beforeDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.globalCompositeOperation = 'destination-over';
      ctx.fillStyle = color;
      ctx.fillRect(0, 0, chart.width, chart.height);
      ctx.restore();
    },
  };
}

export interface ChartMarker {
  /** Index into the chart's labels. */
  index: number;
  label: string;
}

/**
 * A dashed vertical line with a caption at one x position (the best epoch). Written here rather than
 * adding chartjs-plugin-annotation: one line and one caption are a dozen lines of canvas code.
 */
export function markerPlugin<T extends ChartType>(
  read: () => ChartMarker | null,
  color: () => string,
): Plugin<T> {
  return {
    id: 'kfMarker',
    afterDatasetsDraw(chart) {
      const marker = read();
      const x = chart.scales['x'];
      if (!marker || !x || marker.index < 0) return;
      const px = x.getPixelForValue(marker.index);
      const { top, bottom, left, right } = chart.chartArea;
      if (!Number.isFinite(px) || px < left || px > right) return;
      const { ctx } = chart;
      ctx.save();
      ctx.strokeStyle = color();
      ctx.fillStyle = color();
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = `11px ${chartFontFamily()}`;
      const width = ctx.measureText(marker.label).width;
      // The caption sits right of the line, or left of it when it would leave the plot.
      ctx.textAlign = px + 4 + width > right ? 'right' : 'left';
      ctx.fillText(marker.label, ctx.textAlign === 'right' ? px - 4 : px + 4, top + 11);
      ctx.restore();
    },
  };
}

function download(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/** Saves what the chart shows (at the current zoom) as a PNG named after its title. */
export function downloadPng(chart: Chart, title: string): void {
  download(chart.toBase64Image('image/png', 1), chartFileName(title, 'png'));
}

/** Saves CSV text; the byte-order mark makes spreadsheet programs read Hangul labels as UTF-8. */
export function downloadCsv(csv: string, title: string): void {
  const url = URL.createObjectURL(new Blob(['\uFEFF', csv], { type: 'text/csv;charset=utf-8' }));
  download(url, chartFileName(title, 'csv'));
  // Revoked later, not at once: the download reads the URL after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Chart fonts: the page's stack, which has Korean faces (style folders and categories are Hangul). */
export function chartFontFamily(): string {
  return getComputedStyle(document.documentElement).fontFamily;
}
