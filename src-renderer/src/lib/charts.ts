/**
 * chart.js set up once for the whole UI: only the parts the views use are registered (chart.js is
 * tree-shakeable; `chart.js/auto` would pull every chart type in), and colours come from the page's
 * CSS variables so charts follow the light/dark theme.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';

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
  Tooltip,
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
}

export function themeColors(): ThemeColors {
  const css = getComputedStyle(document.documentElement);
  return {
    text: css.getPropertyValue('--muted').trim() || '#6b6b76',
    grid: css.getPropertyValue('--line').trim() || '#dcdce2',
  };
}

/** Chart fonts: the page's stack, which has Korean faces (style folders and categories are Hangul). */
export function chartFontFamily(): string {
  return getComputedStyle(document.documentElement).fontFamily;
}
