/**
 * The grid PNG of one similarity search: the query (its attributes as text, or its picture) and the
 * top-K garment crops with rank and cosine score drawn under each. Composited with sharp; the text is
 * one SVG layer rasterised by librsvg (fonts with Hangul first in the list, like the training charts).
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { SearchHitInfo, SearchQuery } from '../../src-shared/search.ts';
import { CHART_FONT, esc } from '../charts/chart-style.ts';

const TILE_W = 200;
const IMG_H = 240;
const CAPTION_H = 62;
const GAP = 12;
const HEADER_H = 74;
const MAX_COLS = 6;

export interface GridInput {
  title: string;
  /** Shown under the title, e.g. the SYNTHETIC note. */
  subtitle?: string;
  query: SearchQuery;
  /** Absolute path of the query picture (image-to-image). */
  queryImage?: string | null;
  hits: (SearchHitInfo & { cropPath: string | null })[];
}

/** Cuts `s` to `max` code points with an ellipsis. */
function clip(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : `${cps.slice(0, max - 1).join('')}…`;
}

async function tileImage(path: string | null): Promise<Buffer | null> {
  if (!path) return null;
  try {
    return await sharp(path)
      .resize(TILE_W, IMG_H, { fit: 'contain', background: { r: 255, g: 255, b: 255, alpha: 1 } })
      .png()
      .toBuffer();
  } catch {
    // A crop that cannot be read shows as "no image" instead of failing the whole search.
    return null;
  }
}

/** Renders the grid; returns PNG bytes. */
export async function renderSearchGrid(g: GridInput): Promise<Buffer> {
  const tiles = 1 + g.hits.length;
  const cols = Math.min(MAX_COLS, tiles);
  const rows = Math.ceil(tiles / cols);
  const W = GAP + cols * (TILE_W + GAP);
  const H = HEADER_H + rows * (IMG_H + CAPTION_H + GAP) + GAP;
  const at = (i: number) => ({
    x: GAP + (i % cols) * (TILE_W + GAP),
    y: HEADER_H + Math.floor(i / cols) * (IMG_H + CAPTION_H + GAP),
  });

  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="${esc(CHART_FONT)}">`,
    `<text x="${GAP}" y="30" font-size="20" font-weight="bold" fill="#111">${esc(clip(g.title, Math.floor(W / 11)))}</text>`,
  ];
  if (g.subtitle) {
    svg.push(
      `<text x="${GAP}" y="56" font-size="14" fill="${/SYNTHETIC/.test(g.subtitle) ? '#b00020' : '#555'}">${esc(clip(g.subtitle, Math.floor(W / 7.5)))}</text>`,
    );
  }

  const composites: OverlayOptions[] = [];
  // Tile 0: the query.
  const q0 = at(0);
  const queryPng = g.queryImage ? await tileImage(g.queryImage) : null;
  // The SVG layer is drawn over the pictures: only outlines where a picture is, fills elsewhere.
  svg.push(
    `<rect x="${q0.x}" y="${q0.y}" width="${TILE_W}" height="${IMG_H}" fill="${queryPng ? 'none' : '#eef3fb'}" stroke="#1f77b4" stroke-width="2"/>`,
  );
  if (queryPng) {
    composites.push({ input: queryPng, left: q0.x, top: q0.y });
  } else {
    const lines = (g.query.label || '(query)').split(' · ');
    svg.push(
      `<text x="${q0.x + 10}" y="${q0.y + 26}" font-size="15" font-weight="bold" fill="#1f77b4">query</text>`,
    );
    lines.slice(0, 9).forEach((line, i) => {
      svg.push(
        `<text x="${q0.x + 10}" y="${q0.y + 52 + i * 21}" font-size="13" fill="#222">${esc(clip(line, 24))}</text>`,
      );
    });
  }
  svg.push(
    `<text x="${q0.x + TILE_W / 2}" y="${q0.y + IMG_H + 22}" text-anchor="middle" font-size="15" font-weight="bold" fill="#1f77b4">QUERY</text>`,
    `<text x="${q0.x + TILE_W / 2}" y="${q0.y + IMG_H + 42}" text-anchor="middle" font-size="12" fill="#444">${esc(g.query.direction)}</text>`,
  );

  const images = await Promise.all(g.hits.map((h) => tileImage(h.cropPath)));
  g.hits.forEach((h, i) => {
    const p = at(i + 1);
    const png = images[i];
    if (png) composites.push({ input: png, left: p.x, top: p.y });
    else {
      svg.push(
        `<rect x="${p.x}" y="${p.y}" width="${TILE_W}" height="${IMG_H}" fill="#f2f2f2"/>`,
        `<text x="${p.x + TILE_W / 2}" y="${p.y + IMG_H / 2}" text-anchor="middle" font-size="14" fill="#888">no image</text>`,
      );
    }
    svg.push(
      `<rect x="${p.x}" y="${p.y}" width="${TILE_W}" height="${IMG_H}" fill="none" stroke="${h.is_source ? '#2ca02c' : '#cccccc'}" stroke-width="${h.is_source ? 4 : 1}"/>`,
      `<text x="${p.x + 4}" y="${p.y + IMG_H + 20}" font-size="15" font-weight="bold" fill="#111">#${h.rank}  ${h.score.toFixed(3)}${h.is_source ? '  (source)' : ''}</text>`,
      `<text x="${p.x + 4}" y="${p.y + IMG_H + 38}" font-size="12" fill="#333">${esc(clip(`${h.style} · ${h.category ?? '-'} · ${h.part}`, 28))}</text>`,
      `<text x="${p.x + 4}" y="${p.y + IMG_H + 55}" font-size="11" fill="#777">${esc(clip(h.id, 32))}</text>`,
    );
  });
  svg.push('</svg>');
  composites.push({ input: Buffer.from(svg.join('')), left: 0, top: 0 });
  return sharp({ create: { width: W, height: H, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
}
