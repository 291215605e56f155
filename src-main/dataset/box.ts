/** Garment boxes from K-Fashion polygons and rects. */
import type { Box } from '../../src-shared/dataset.ts';

export interface Point {
  x: number;
  y: number;
}

/** A box narrower or lower than this many pixels is degenerate (real rects have width or height 0 or 1). */
export const MIN_BOX_SIDE = 2;

/** Bounding box of a polygon, clipped to the image when its size is known (points may lie outside). */
export function polygonBox(
  points: readonly Point[],
  width: number | null,
  height: number | null,
): Box | null {
  if (points.length < 3) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    if (p.x < x0) x0 = p.x;
    if (p.x > x1) x1 = p.x;
    if (p.y < y0) y0 = p.y;
    if (p.y > y1) y1 = p.y;
  }
  return clipBox({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 }, width, height);
}

/** Clips a box to [0, width] × [0, height] where the size is known; null when nothing usable is left. */
export function clipBox(box: Box, width: number | null, height: number | null): Box | null {
  let x0 = box.x;
  let y0 = box.y;
  let x1 = box.x + box.w;
  let y1 = box.y + box.h;
  if (width !== null && width > 0) {
    x0 = Math.max(0, x0);
    x1 = Math.min(width, x1);
  }
  if (height !== null && height > 0) {
    y0 = Math.max(0, y0);
    y1 = Math.min(height, y1);
  }
  const w = x1 - x0;
  const h = y1 - y0;
  if (!(w >= MIN_BOX_SIDE && h >= MIN_BOX_SIDE)) return null;
  return { x: x0, y: y0, w, h };
}

export interface CropRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The integer pixel region to cut from the image file for a box given in label coordinates.
 * The label's image size can differ from the file's (a release with resized images): the box is then
 * scaled to the file. The region covers the whole box (floor of the start, ceil of the end) and is
 * clipped to the file; null when less than a 2×2 region remains.
 */
export function cropRegion(
  box: Box,
  labelSize: { width: number | null; height: number | null },
  fileSize: { width: number; height: number },
): CropRegion | null {
  const sx = labelSize.width ? fileSize.width / labelSize.width : 1;
  const sy = labelSize.height ? fileSize.height / labelSize.height : 1;
  const left = Math.max(0, Math.floor(box.x * sx));
  const top = Math.max(0, Math.floor(box.y * sy));
  const right = Math.min(fileSize.width, Math.ceil((box.x + box.w) * sx));
  const bottom = Math.min(fileSize.height, Math.ceil((box.y + box.h) * sy));
  const width = right - left;
  const height = bottom - top;
  if (width < MIN_BOX_SIDE || height < MIN_BOX_SIDE) return null;
  return { left, top, width, height };
}
