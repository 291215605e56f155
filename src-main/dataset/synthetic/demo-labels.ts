/**
 * Writes the demo's label files in the real K-Fashion layout (KFASHION_FORMAT.md), quirks included:
 * polygon keys always in scrambled order, object keys shuffled in some files, `[{}]` for absent parts.
 * The bytes depend on the plan only (no clock), so a seed always gives the same files.
 */
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GarmentPart } from '../../../src-shared/fields.ts';
import { LABEL_DIR } from '../layout.ts';
import { Rng } from '../rng.ts';
import type { DemoRect, LabelValue, PlannedGarment, PlannedImage } from './demo-plan.ts';
import type { Pt } from './demo-shapes.ts';

/**
 * The label tree. Objects are Maps: they keep the (possibly shuffled) key order, and unlike plain
 * objects with 130 polygon keys they stay fast to build and to serialise.
 */
type Node = string | number | Node[] | Map<string, Node>;

// Part order differs between the sections of real files; this mirrors the annotated example.
const RECT_ORDER: readonly GarmentPart[] = ['아우터', '하의', '원피스', '상의'];
const POLYGON_ORDER: readonly GarmentPart[] = ['하의', '아우터', '원피스', '상의'];
const LABEL_ORDER: readonly GarmentPart[] = ['아우터', '원피스', '하의', '상의'];

/** Polygon points as `X좌표n`/`Y좌표n` keys in an order that is never the natural one. */
function polygonNode(points: readonly Pt[], rng: Rng): Map<string, Node> {
  const natural: [string, number][] = [];
  points.forEach(([x, y], i) => {
    natural.push([`X좌표${i + 1}`, x], [`Y좌표${i + 1}`, y]);
  });
  const scrambled = rng.shuffle([...natural]);
  if (scrambled.every((e, i) => e === natural[i])) scrambled.reverse();
  return new Map(scrambled);
}

function rectNode(r: DemoRect): Map<string, Node> {
  return new Map<string, Node>([
    ['X좌표', r.x],
    ['Y좌표', r.y],
    ['가로', r.w],
    ['세로', r.h],
  ]);
}

function labelNode(entry: Record<string, LabelValue>): Map<string, Node> {
  return new Map(Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? v : [...v]]));
}

/** Shuffles the keys of every object (arrays keep their order: their items' order is data). */
function shuffleKeys(value: Node, rng: Rng): Node {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rng));
  if (!(value instanceof Map)) return value;
  const keys = rng.shuffle([...value.keys()]);
  return new Map(keys.map((k) => [k, shuffleKeys(value.get(k)!, rng)]));
}

/** Serialises exactly as `JSON.stringify(tree, null, 2)` would. */
function serialise(value: Node, indent: string, out: string[]): void {
  if (typeof value === 'string' || typeof value === 'number') {
    out.push(JSON.stringify(value));
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
      return;
    }
    out.push('[\n');
    value.forEach((v, i) => {
      out.push(inner);
      serialise(v, inner, out);
      out.push(i < value.length - 1 ? ',\n' : '\n');
    });
    out.push(`${indent}]`);
    return;
  }
  if (value.size === 0) {
    out.push('{}');
    return;
  }
  out.push('{\n');
  let i = 0;
  for (const [k, v] of value) {
    out.push(`${inner}${JSON.stringify(k)}: `);
    serialise(v, inner, out);
    out.push(++i < value.size ? ',\n' : '\n');
  }
  out.push(`${indent}}`);
}

/** The label tree of one planned image. */
function labelTree(image: PlannedImage, seed: number): Node {
  const byPart = new Map<GarmentPart, PlannedGarment>(image.garments.map((g) => [g.part, g]));
  const section = (
    order: readonly GarmentPart[],
    make: (g: PlannedGarment, part: GarmentPart) => Node | null,
  ) =>
    new Map<string, Node>(
      order.map((part) => {
        const g = byPart.get(part);
        const v = g ? make(g, part) : null;
        return [part, [v ?? new Map()]];
      }),
    );
  const style = new Map<string, Node>();
  if (!image.styleMissing) {
    style.set('스타일', image.style);
    if (image.subStyle) style.set('서브스타일', image.subStyle);
  }
  const labeling = section(LABEL_ORDER, (g) => labelNode(g.label));
  const tree: Node = new Map<string, Node>([
    [
      '이미지 정보',
      new Map<string, Node>([
        ['이미지 식별자', image.imageId],
        ['이미지 높이', image.height],
        ['이미지 너비', image.width],
        ['이미지 파일명', image.shopFile],
      ]),
    ],
    [
      '데이터셋 정보',
      new Map<string, Node>([
        ['파일 생성일자', image.createdAt],
        [
          '데이터셋 상세설명',
          new Map<string, Node>([
            ['렉트좌표', section(RECT_ORDER, (g) => (g.rect ? rectNode(g.rect) : null))],
            [
              '폴리곤좌표',
              section(POLYGON_ORDER, (g, part) =>
                g.polygon
                  ? polygonNode(g.polygon, Rng.derive('polygon-keys', seed, image.imageId, part))
                  : null,
              ),
            ],
            ['라벨링', new Map<string, Node>([['스타일', [style]], ...labeling])],
          ]),
        ],
        ['파일 번호', image.imageId],
        ['파일 이름', image.shopFile],
      ]),
    ],
  ]);
  return image.keyOrderSeed === null ? tree : shuffleKeys(tree, new Rng(image.keyOrderSeed));
}

/** The label file's text: 2-space indented JSON, keys in the planned order, ending in a newline. */
export function labelText(image: PlannedImage, seed: number): string {
  const out: string[] = [];
  serialise(labelTree(image, seed), '', out);
  out.push('\n');
  return out.join('');
}

export function labelPath(outDir: string, image: PlannedImage): string {
  return join(outDir, LABEL_DIR, image.style, `${image.stem}.json`);
}

/**
 * Writes one label file (its style folder must exist). Synchronously: for thousands of 5 kB files a
 * plain write is about four times faster than going through the async file machinery.
 */
export function writeLabelSync(outDir: string, image: PlannedImage, seed: number): void {
  writeFileSync(labelPath(outDir, image), labelText(image, seed), 'utf8');
}

export async function makeLabelDirs(outDir: string, styles: readonly string[]): Promise<void> {
  for (const s of styles) await mkdir(join(outDir, LABEL_DIR, s), { recursive: true });
}
