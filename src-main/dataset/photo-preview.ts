/**
 * The whole photo of a garment, for the detail panel: a downscaled copy kept in the workspace (so it
 * is served by the same media path rules as crops, never from the data folder itself) and the
 * garment's box in that copy's pixels (the label's polygon or rect, as the crop was cut).
 *
 * [Note: photo previews] The copy's name is a hash of the source path, size and modification time
 * and the recipe, so a changed photo gets a new copy and an unchanged one is cut once. The copy is
 * at most PREVIEW_SIDE pixels on its longer side: the panel shows it a few hundred pixels wide, and a
 * 4000-pixel original would otherwise be copied whole into the workspace.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../../src-shared/dataset.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import type { StoredItem } from '../store/dataset-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { cropRegion } from './box.ts';
import { CropError } from './crops.ts';

export const PREVIEW_SIDE = 1024;
const PREVIEW_RECIPE = 'v1-jpeg85-1024';

export interface PhotoPreview {
  /** Absolute path of the copy inside the workspace. */
  path: string;
  width: number;
  height: number;
  /** The garment's box in the copy's pixels. */
  box: Box;
  /** The original photo's size in pixels. */
  original: { width: number; height: number };
}

export async function ensurePhotoPreview(ws: Workspace, item: StoredItem): Promise<PhotoPreview> {
  if (!item.imagePath)
    throw new CropError(`${item.id}: no image file was found for this label when it was scanned`);
  if (!existsSync(item.imagePath))
    throw new CropError(`${item.id}: image file ${item.imagePath} no longer exists`);
  const st = statSync(item.imagePath);
  const image = sharp(item.imagePath, { failOn: 'error' });
  const meta = await image.metadata();
  if (!meta.width || !meta.height) throw new CropError(`${item.id}: ${item.imagePath} has no readable size`);
  const original = { width: meta.width, height: meta.height };
  const region = cropRegion(item.box, item.imageSize, original);
  if (!region) throw new CropError(`${item.id}: the box lies outside the ${meta.width}×${meta.height} image`);
  const scale = Math.min(1, PREVIEW_SIDE / Math.max(original.width, original.height));
  const width = Math.max(1, Math.round(original.width * scale));
  const height = Math.max(1, Math.round(original.height * scale));
  const key = createHash('sha256')
    .update(`${PREVIEW_RECIPE}\0${item.imagePath}\0${st.size}\0${st.mtimeMs}`)
    .digest('hex')
    .slice(0, 24);
  const path = join(ws.paths.crops, 'photos', `${key}.jpg`);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    // In memory, then a temporary name and a rename: no half-written JPEG under the real name.
    writeFileAtomic(path, await image.resize(width, height).jpeg({ quality: 85 }).toBuffer());
  }
  const sx = width / original.width;
  const sy = height / original.height;
  return {
    path,
    width,
    height,
    box: { x: region.left * sx, y: region.top * sy, w: region.width * sx, h: region.height * sy },
    original,
  };
}
