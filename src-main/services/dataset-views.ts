/**
 * Read-only views of a workspace's dataset for the UI's Dataset tab and search builder: a seeded
 * sample of garments with their crops, the excluded garments with reasons, and the vocabulary.
 * Quick SQLite reads on the caller's thread; the sample's crops are cut on demand (sharp works on its
 * own threads, so a few dozen crops do not hold the event loop).
 */
import { relative, sep } from 'node:path';
import type {
  ExcludedGarments,
  ItemPhotoView,
  SampleCrop,
  VocabularyView,
} from '../../src-shared/api-schemas.ts';
import { FIELD_NAMES, type FieldName } from '../../src-shared/fields.ts';
import { ensureCrop } from '../dataset/crops.ts';
import { ensurePhotoPreview } from '../dataset/photo-preview.ts';
import { mulberry32 } from '../dataset/rng.ts';
import { loadVocabulary, PAD, UNK } from '../dataset/vocabulary.ts';
import { UnknownIdError } from '../recommend/catalog.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import type { Workspace } from '../store/workspace.ts';

/** Workspace-relative path with forward slashes (what media URLs take). */
export function workspaceRelative(ws: Workspace, abs: string): string {
  return relative(ws.root, abs).split(sep).join('/');
}

export async function sampleCrops(
  ws: Workspace,
  opts: { style?: string; split?: 'train' | 'val'; limit: number; seed: number },
): Promise<{ total: number; items: SampleCrop[] }> {
  const store = new DatasetStore(ws.db);
  const ids = store.itemIds({
    ...(opts.style ? { style: opts.style } : {}),
    ...(opts.split ? { split: opts.split } : {}),
  });
  // Partial Fisher–Yates with a seeded generator: the same seed shows the same garments.
  const rand = mulberry32(opts.seed);
  const n = Math.min(opts.limit, ids.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (ids.length - i));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const items: SampleCrop[] = [];
  for (const id of ids.slice(0, n)) {
    const item = store.getItem(id);
    if (!item) continue;
    const base = {
      id: item.id,
      styleFolder: item.styleFolder,
      part: item.part,
      split: item.split,
      attributes: item.attributes as Record<string, string | string[]>,
    };
    try {
      const crop = await ensureCrop(ws, item);
      items.push({
        ...base,
        crop: workspaceRelative(ws, crop.path),
        width: crop.width,
        height: crop.height,
        error: null,
      });
    } catch (e) {
      items.push({ ...base, crop: null, width: null, height: null, error: (e as Error).message });
    }
  }
  return { total: ids.length, items };
}

export function excludedGarments(
  ws: Workspace,
  opts: { style?: string; reason?: string; limit: number; offset: number },
): ExcludedGarments {
  const store = new DatasetStore(ws.db);
  const { byReason, byStyle, rows } = store.excludedGarments(opts);
  const total = Object.values(byReason).reduce((a, b) => a + b, 0);
  const skipped = store.lastScanSkipped(opts.limit);
  return {
    total,
    byReason,
    byStyle,
    rows: rows as ExcludedGarments['rows'],
    skippedFiles: { total: skipped.total, rows: skipped.rows as ExcludedGarments['skippedFiles']['rows'] },
  };
}

export function vocabularyView(ws: Workspace, fields?: readonly FieldName[]): VocabularyView {
  const vocab = loadVocabulary(ws.db);
  const out: VocabularyView['fields'] = {};
  for (const f of fields ?? FIELD_NAMES) {
    // <pad> and <unk> are encoder bookkeeping, not values a person can ask for.
    out[f] = (vocab?.[f] ?? []).filter((e) => e.value !== PAD && e.value !== UNK);
  }
  return { fields: out };
}

/**
 * A garment's whole photo with its box (the detail panel): an unknown id is 404; a photo that cannot
 * be read (gone since the scan, damaged) is said with the item id and the file.
 */
export async function itemPhoto(ws: Workspace, id: string): Promise<ItemPhotoView> {
  const item = new DatasetStore(ws.db).getItem(id);
  if (!item) throw new UnknownIdError(`No garment with item id "${id}" in this workspace`, 'id');
  const p = await ensurePhotoPreview(ws, item);
  return {
    id: item.id,
    photo: workspaceRelative(ws, p.path),
    width: p.width,
    height: p.height,
    box: p.box,
    boxSource: item.boxSource,
    original: p.original,
  };
}
