/**
 * The demo's catalog of "new products": SYNTHETIC garment pictures drawn by the demo renderer from a
 * plan with another seed than the demo dataset (so they are new garments, not copies of dataset
 * ones), one garment per picture, cut out like a product shot. Written as a folder the catalog import
 * reads: <dir>/<style>/<id>.jpg plus catalog.json (names, style, category, attributes, synthetic: true).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { CancelledError } from '../../../src-shared/jobs.ts';
import { demoSvg, forEachBounded } from './demo-images.ts';
import { type PlannedGarment, type PlannedImage, planDemoDataset } from './demo-plan.ts';
import { DEMO_STYLES } from './demo-style-profiles.ts';

export const DEMO_CATALOG_SEED = 1007;
export const DEMO_CATALOG_SIZE = 40;
export const DEMO_CATALOG_MANIFEST = 'catalog.json';
const RENDER_CONCURRENCY = 3;
/** Longest side of a product picture. */
const PRODUCT_SIDE = 256;

export interface DemoCatalogProduct {
  file: string;
  id: string;
  name: string;
  style: string;
  category: string | null;
  attributes: Record<string, unknown>;
}

export interface DemoCatalogSummary {
  dir: string;
  seed: number;
  products: DemoCatalogProduct[];
  elapsedMs: number;
}

/** Picks `count` garments, styles taking turns, one per picture, from a plan with `seed`. */
export function planDemoCatalog(
  seed: number,
  count: number,
): { image: PlannedImage; garment: PlannedGarment }[] {
  const plan = planDemoDataset(seed, 'small');
  const byStyle = new Map<string, { image: PlannedImage; garment: PlannedGarment }[]>();
  const seenLooks = new Set<string>();
  for (const image of plan.images) {
    // One shot per look: the other shots of a look show the same garments.
    if (seenLooks.has(image.lookKey)) continue;
    seenLooks.add(image.lookKey);
    const garment = image.garments.find((g) => g.usable && g.polygon);
    if (!garment) continue;
    const list = byStyle.get(image.style) ?? [];
    list.push({ image, garment });
    byStyle.set(image.style, list);
  }
  const out: { image: PlannedImage; garment: PlannedGarment }[] = [];
  for (let round = 0; out.length < count; round++) {
    let added = false;
    for (const style of DEMO_STYLES) {
      const g = byStyle.get(style)?.[round];
      if (g && out.length < count) {
        out.push(g);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

function boxOf(
  g: PlannedGarment,
  image: PlannedImage,
): { left: number; top: number; width: number; height: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const [x, y] of g.outline) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  // A little margin like a product shot, clipped to the picture (some figures run past its edge).
  const m = 6;
  const left = Math.max(0, Math.floor(x0 - m));
  const top = Math.max(0, Math.floor(y0 - m));
  const right = Math.min(image.width, Math.ceil(x1 + m));
  const bottom = Math.min(image.height, Math.ceil(y1 + m));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** Renders the demo catalog into `dir` (replacing an earlier one there). */
export async function generateDemoCatalog(
  dir: string,
  opts: {
    seed?: number;
    count?: number;
    signal?: AbortSignal;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<DemoCatalogSummary> {
  const t0 = performance.now();
  const seed = opts.seed ?? DEMO_CATALOG_SEED;
  const picks = planDemoCatalog(seed, opts.count ?? DEMO_CATALOG_SIZE);
  await rm(join(dir, DEMO_CATALOG_MANIFEST), { force: true });
  for (const s of DEMO_STYLES) await mkdir(join(dir, s), { recursive: true });
  const products: DemoCatalogProduct[] = picks.map(({ image, garment }, i) => {
    const id = `demo-new-${String(i + 1).padStart(3, '0')}`;
    const category = (garment.attributes as { category?: string }).category ?? null;
    return {
      file: `${image.style}/${id}.jpg`,
      id,
      name: `SYNTHETIC new ${category ?? garment.part} #${i + 1}`,
      style: image.style,
      category,
      attributes: { ...garment.attributes },
    };
  });
  let done = 0;
  await forEachBounded(
    picks,
    RENDER_CONCURRENCY,
    async ({ image, garment }, i) => {
      await sharp(Buffer.from(demoSvg(image)), { density: 72 })
        .flatten({ background: image.background })
        .extract(boxOf(garment, image))
        .resize(PRODUCT_SIDE, PRODUCT_SIDE, { fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality: 88 })
        .toFile(join(dir, products[i]!.file));
      done++;
      opts.onProgress?.(done, picks.length);
    },
    () => opts.signal?.aborted === true,
  );
  if (opts.signal?.aborted)
    throw new CancelledError(`Demo catalog rendering cancelled after ${done} of ${picks.length} pictures.`);
  // Written last: a folder with a manifest is complete.
  await writeFile(
    join(dir, DEMO_CATALOG_MANIFEST),
    `${JSON.stringify(
      {
        synthetic: true,
        note:
          'SYNTHETIC demo catalog: computer-drawn garments (demo generator, seed ' +
          `${seed}), not real products.`,
        seed,
        createdAt: new Date().toISOString(),
        products,
      },
      null,
      2,
    )}\n`,
  );
  return { dir, seed, products, elapsedMs: Math.round(performance.now() - t0) };
}
