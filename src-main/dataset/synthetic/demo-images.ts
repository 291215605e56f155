/**
 * Renders the demo pictures: an SVG per image (a plain backdrop, a simple figure, then the garments
 * as the exact polygons the labels store), rasterised to JPEG by sharp. Category shows in the
 * outline, 색상 in the fill, 핏 in the width, 프린트 as a pattern, a few 디테일 and 소재 as marks
 * inside the garment — enough for a crop to carry what the attributes say.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { IMAGE_DIR } from '../layout.ts';
import { accentOf, hex, mix, printDef, rgbOf } from './demo-patterns.ts';
import type { PlannedGarment, PlannedImage } from './demo-plan.ts';
import { bodyShapes, outerOpening, type Pt } from './demo-shapes.ts';

/** Garments are painted from the inside out: an outer layer covers the top it is worn over. */
const PAINT_ORDER = ['하의', '상의', '원피스', '아우터'] as const;

const f = (v: number) => Math.round(v * 100) / 100;
const pointsAttr = (pts: readonly Pt[]) => pts.map(([x, y]) => `${f(x)},${f(y)}`).join(' ');

function bbox(pts: readonly Pt[]) {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return { x0, y0, x1, y1, w: x1 - x0, h: y1 - y0 };
}

/** Marks inside a garment (clipped to its outline) for some details and materials. */
function decorations(g: PlannedGarment, image: PlannedImage, line: string, light: string): string {
  const { spec } = g;
  const b = bbox(g.outline);
  const s = image.pose.scale;
  const cx = image.pose.cx;
  const out: string[] = [];
  const has = (d: string) => spec.details.includes(d);
  const isOuter = spec.part === '아우터';
  const opening = isOuter ? outerOpening(spec).gap * s : 0;
  const bodyTop = image.pose.top + 120 * s;
  const waist = image.pose.top + 262 * s;

  if (has('단추') || has('싱글브레스티드') || has('더블브레스티드')) {
    const columns = has('더블브레스티드') ? [-1, 1] : [isOuter ? -1 : 0];
    const bottom = Math.min(b.y1 - 10 * s, isOuter ? b.y1 - 10 * s : waist + 30 * s);
    for (const c of columns) {
      const x = cx + c * (opening + 6 * s);
      for (let y = bodyTop + 30 * s; y < bottom; y += 26 * s) {
        out.push(
          `<circle cx="${f(x)}" cy="${f(y)}" r="${f(2.6 * s)}" fill="${light}" stroke="${line}" stroke-width="0.8"/>`,
        );
      }
    }
  }
  if (has('지퍼')) {
    const x = isOuter ? cx - opening - 2 * s : cx;
    out.push(
      `<line x1="${f(x)}" y1="${f(b.y0)}" x2="${f(x)}" y2="${f(b.y1)}" stroke="${line}" stroke-width="${f(1.6 * s)}" stroke-dasharray="${f(2 * s)} ${f(1.5 * s)}"/>`,
    );
  }
  if (has('포켓')) {
    const py = spec.part === '하의' ? b.y0 + 16 * s : Math.min(b.y1 - 34 * s, waist + 10 * s);
    for (const side of [-1, 1]) {
      const px = cx + side * 26 * s - 9 * s;
      out.push(
        `<rect x="${f(px)}" y="${f(py)}" width="${f(18 * s)}" height="${f(14 * s)}" fill="none" stroke="${line}" stroke-width="1.2"/>`,
      );
    }
  }
  if (has('퀄팅') || spec.category === '패딩') {
    for (let y = b.y0 + 20 * s; y < b.y1; y += 18 * s) {
      out.push(
        `<line x1="${f(b.x0)}" y1="${f(y)}" x2="${f(b.x1)}" y2="${f(y)}" stroke="${line}" stroke-width="1.3" opacity="0.7"/>`,
      );
    }
  }
  if (has('플리츠')) {
    const from = spec.part === '원피스' ? waist : b.y0;
    for (let x = b.x0 + 8 * s; x < b.x1; x += 10 * s) {
      out.push(
        `<line x1="${f(x)}" y1="${f(from)}" x2="${f(x)}" y2="${f(b.y1)}" stroke="${line}" stroke-width="0.9" opacity="0.6"/>`,
      );
    }
  }
  if (has('러플') || has('프릴')) {
    const y = b.y1 - 12 * s;
    let d = `M${f(b.x0)} ${f(y)}`;
    for (let x = b.x0; x < b.x1; x += 8 * s) d += ` q${f(4 * s)} ${f(6 * s)} ${f(8 * s)} 0`;
    out.push(`<path d="${d}" fill="none" stroke="${light}" stroke-width="${f(2.2 * s)}"/>`);
  }
  if (has('리본')) {
    const y = spec.part === '하의' || spec.part === '원피스' ? waist : bodyTop + 6 * s;
    const w = 10 * s;
    out.push(
      `<path d="M${f(cx)} ${f(y)}l${f(-w)} ${f(-w * 0.6)}v${f(w * 1.2)}zM${f(cx)} ${f(y)}l${f(w)} ${f(-w * 0.6)}v${f(w * 1.2)}z" fill="${line}"/>`,
    );
  }
  if (has('스티치') || spec.category === '청바지') {
    out.push(
      `<line x1="${f(cx)}" y1="${f(b.y0)}" x2="${f(cx)}" y2="${f(b.y0 + 90 * s)}" stroke="#d08a3a" stroke-width="1.1" stroke-dasharray="3 2"/>`,
    );
    out.push(
      `<path d="M${f(b.x0 + 6 * s)} ${f(b.y0 + 12 * s)}q${f(14 * s)} ${f(14 * s)} ${f(28 * s)} 0M${f(b.x1 - 6 * s)} ${f(b.y0 + 12 * s)}q${f(-14 * s)} ${f(14 * s)} ${f(-28 * s)} 0" fill="none" stroke="#d08a3a" stroke-width="1.1" stroke-dasharray="3 2"/>`,
    );
  }
  if (spec.materials.includes('니트') || spec.category === '니트웨어') {
    for (let x = b.x0; x < b.x1; x += 4 * s) {
      out.push(
        `<line x1="${f(x)}" y1="${f(b.y1 - 14 * s)}" x2="${f(x)}" y2="${f(b.y1)}" stroke="${line}" stroke-width="0.8" opacity="0.5"/>`,
      );
    }
  }
  if (spec.materials.includes('레이스') || has('레이스')) {
    for (let x = b.x0; x < b.x1; x += 9 * s) {
      out.push(
        `<circle cx="${f(x)}" cy="${f(b.y1)}" r="${f(4.5 * s)}" fill="none" stroke="${light}" stroke-width="1.4"/>`,
      );
    }
  }
  if (spec.collar && !isOuter) {
    const y = image.pose.top + 106 * s;
    const w = 16 * s;
    out.push(
      `<path d="M${f(cx)} ${f(y + 14 * s)}L${f(cx - w)} ${f(y - 2 * s)}L${f(cx - w - 4 * s)} ${f(y + 16 * s)}ZM${f(cx)} ${f(y + 14 * s)}L${f(cx + w)} ${f(y - 2 * s)}L${f(cx + w + 4 * s)} ${f(y + 16 * s)}Z" fill="${light}" stroke="${line}" stroke-width="0.8"/>`,
    );
  }
  if (isOuter && spec.collar) {
    // Lapels along the opening.
    const y = image.pose.top + 110 * s;
    const vY = image.pose.top + outerOpening(spec).vY * s;
    for (const side of [-1, 1]) {
      const xo = cx + side * opening;
      out.push(
        `<path d="M${f(cx + side * 16 * s)} ${f(y - 4 * s)}L${f(cx + side * 34 * s)} ${f(y + 26 * s)}L${f(xo)} ${f(vY)}Z" fill="${line}" opacity="0.35"/>`,
      );
    }
  }
  return out.join('');
}

/** The complete SVG document of one planned image. */
export function demoSvg(image: PlannedImage): string {
  const { width: W, height: H, pose } = image;
  const body = bodyShapes(pose);
  const skin = image.skin;
  const defs: string[] = [];
  const layers: string[] = [];

  const garments = [...image.garments].sort(
    (a, b) =>
      PAINT_ORDER.indexOf(a.part as (typeof PAINT_ORDER)[number]) -
      PAINT_ORDER.indexOf(b.part as (typeof PAINT_ORDER)[number]),
  );
  garments.forEach((g, i) => {
    const main = rgbOf(g.spec.color);
    const accent = accentOf(main, g.spec.subColor);
    const patternId = `print${i}`;
    const clipId = `clip${i}`;
    const pattern = printDef(patternId, g.spec.prints[0], main, accent, pose.scale);
    if (pattern) defs.push(pattern);
    defs.push(`<clipPath id="${clipId}"><polygon points="${pointsAttr(g.outline)}"/></clipPath>`);
    const line = hex(mix(main, [0, 0, 0], 0.45));
    const light = hex(mix(main, [255, 255, 255], 0.65));
    const b = bbox(g.outline);
    layers.push(
      `<polygon points="${pointsAttr(g.outline)}" fill="${pattern ? `url(#${patternId})` : hex(main)}" stroke="${line}" stroke-width="1.2" stroke-linejoin="round"/>`,
      `<g clip-path="url(#${clipId})">`,
      // Side shading gives the flat shape some volume (and keeps white garments visible on white).
      `<rect x="${f(b.x0)}" y="${f(b.y0)}" width="${f(b.w)}" height="${f(b.h)}" fill="url(#shade)"/>`,
      decorations(g, image, line, light),
      '</g>',
    );
  });

  const [hx, hy] = [body.head.cx, body.head.cy];
  const eye = 3 * pose.scale;
  const figure = [
    `<ellipse cx="${f(pose.cx)}" cy="${f(pose.top + 612 * pose.scale)}" rx="${f(70 * pose.scale)}" ry="${f(9 * pose.scale)}" fill="#000" opacity="0.08"/>`,
    ...body.legs.map((l) => `<polygon points="${pointsAttr(l)}" fill="${skin}"/>`),
    ...body.shoes.map(
      (s) => `<ellipse cx="${f(s.cx)}" cy="${f(s.cy)}" rx="${f(s.rx)}" ry="${f(s.ry)}" fill="#3a3330"/>`,
    ),
    ...body.arms.map((a) => `<polygon points="${pointsAttr(a)}" fill="${skin}"/>`),
    ...body.hands.map((h) => `<circle cx="${f(h.cx)}" cy="${f(h.cy)}" r="${f(h.r)}" fill="${skin}"/>`),
    `<polygon points="${pointsAttr(body.torso)}" fill="${skin}"/>`,
    `<polygon points="${pointsAttr(body.neck)}" fill="${skin}"/>`,
    `<ellipse cx="${f(hx)}" cy="${f(hy)}" rx="${f(body.head.rx)}" ry="${f(body.head.ry)}" fill="${skin}"/>`,
    `<polygon points="${pointsAttr(body.hair)}" fill="${image.hair}"/>`,
    `<circle cx="${f(hx - 9 * pose.scale)}" cy="${f(hy + 2 * pose.scale)}" r="${f(eye * 0.6)}" fill="#2b2320"/>`,
    `<circle cx="${f(hx + 9 * pose.scale)}" cy="${f(hy + 2 * pose.scale)}" r="${f(eye * 0.6)}" fill="#2b2320"/>`,
    `<path d="M${f(hx - 6 * pose.scale)} ${f(hy + 15 * pose.scale)}q${f(6 * pose.scale)} ${f(4 * pose.scale)} ${f(12 * pose.scale)} 0" stroke="#a8664f" fill="none" stroke-width="1.2"/>`,
  ];

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    '<defs>',
    '<linearGradient id="shade" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#000" stop-opacity="0.10"/><stop offset="0.45" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.16"/></linearGradient>',
    ...defs,
    '</defs>',
    `<rect width="${W}" height="${H}" fill="${image.background}"/>`,
    ...figure,
    ...layers,
    '</svg>',
  ].join('');
}

export function imagePath(outDir: string, image: PlannedImage): string {
  return join(outDir, IMAGE_DIR, image.style, image.imageFile);
}

/** Renders one image to its JPEG file (its style folder must exist). */
export async function renderDemoImage(outDir: string, image: PlannedImage): Promise<void> {
  await sharp(Buffer.from(demoSvg(image)), { density: 72 })
    .flatten({ background: image.background })
    .jpeg({ quality: 85 })
    .toFile(imagePath(outDir, image));
}

/**
 * Runs `task` over all items with at most `limit` in flight. Stops starting new ones once
 * `shouldStop()` is true; rejects with the first error after the running ones have settled.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async () => {
    while (!failed && !shouldStop() && next < items.length) {
      const i = next++;
      try {
        await task(items[i]!, i);
      } catch (e) {
        if (!failed) failure = e;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failure;
}
