/** Reads and writes the dataset tables (images, items, exclusions, skipped files, scans) of a workspace. */
import { join } from 'node:path';
import type {
  Box,
  BoxSource,
  ExclusionReason,
  GarmentItem,
  ScanReport,
  SkippedFile,
} from '../../src-shared/dataset.ts';
import type { GarmentAttributes, GarmentPart } from '../../src-shared/fields.ts';
import type { Db } from './database.ts';

export interface ImageRow {
  key: string;
  rootId: number;
  styleFolder: string;
  labelStem: string;
  splitFolder: string | null;
  labelPath: string;
  imagePath: string | null;
  imageId: number | null;
  shopFile: string | null;
  lookKey: string;
  width: number | null;
  height: number | null;
  styles: string[];
  labelCreated: string | null;
}

export interface ItemRow {
  id: string;
  part: GarmentPart;
  box: Box;
  boxSource: BoxSource;
  attributes: GarmentAttributes;
}

export interface StoredItem extends GarmentItem {
  split: 'train' | 'val' | null;
  imagePath: string | null; // absolute
  imageSize: { width: number | null; height: number | null };
}

const now = () => new Date().toISOString();

export class DatasetStore {
  private readonly upsertImage;
  private readonly upsertItem;
  private readonly deleteStaleItemsOfImage;
  private readonly deleteExcluded;
  private readonly insertExcluded;
  private readonly insertSkipped;

  constructor(readonly db: Db) {
    // Upsert, not INSERT OR REPLACE: a replace deletes the row first and would cascade to its items,
    // crops and (later) embeddings. The WHERE makes a second sighting in the same scan a no-op, which
    // is how a duplicate `<style>/<stem>` (e.g. in both Training and Validation) is detected.
    this.upsertImage = db.prepare(`
      INSERT INTO images (key, root_id, style_folder, label_stem, split_folder, label_path, image_path, image_id,
                          shop_file, look_key, width, height, styles, label_created, scan_id)
      VALUES (@key, @rootId, @styleFolder, @labelStem, @splitFolder, @labelPath, @imagePath, @imageId,
              @shopFile, @lookKey, @width, @height, @styles, @labelCreated, @scanId)
      ON CONFLICT(key) DO UPDATE SET
        root_id = excluded.root_id, style_folder = excluded.style_folder, label_stem = excluded.label_stem,
        split_folder = excluded.split_folder, label_path = excluded.label_path, image_path = excluded.image_path,
        image_id = excluded.image_id, shop_file = excluded.shop_file, look_key = excluded.look_key,
        width = excluded.width, height = excluded.height, styles = excluded.styles,
        label_created = excluded.label_created, scan_id = excluded.scan_id
      WHERE images.scan_id <> excluded.scan_id`);
    this.upsertItem = db.prepare(`
      INSERT INTO items (id, image_key, part, box_x, box_y, box_w, box_h, box_source, category, attributes, scan_id)
      VALUES (@id, @imageKey, @part, @x, @y, @w, @h, @boxSource, @category, @attributes, @scanId)
      ON CONFLICT(id) DO UPDATE SET
        image_key = excluded.image_key, part = excluded.part, box_x = excluded.box_x, box_y = excluded.box_y,
        box_w = excluded.box_w, box_h = excluded.box_h, box_source = excluded.box_source,
        category = excluded.category, attributes = excluded.attributes, scan_id = excluded.scan_id`);
    this.deleteStaleItemsOfImage = db.prepare('DELETE FROM items WHERE image_key = ? AND scan_id <> ?');
    this.deleteExcluded = db.prepare('DELETE FROM excluded_garments WHERE image_key = ?');
    this.insertExcluded = db.prepare(
      'INSERT INTO excluded_garments (image_key, part, reason) VALUES (?, ?, ?)',
    );
    this.insertSkipped = db.prepare(
      'INSERT INTO skipped_files (scan_id, path, style_folder, reason, detail) VALUES (?, ?, ?, ?, ?)',
    );
  }

  rootId(path: string, synthetic: boolean): number {
    this.db
      .prepare(
        `INSERT INTO data_roots (path, synthetic, added_at) VALUES (?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET synthetic = excluded.synthetic`,
      )
      .run(path, synthetic ? 1 : 0, now());
    return (this.db.prepare('SELECT id FROM data_roots WHERE path = ?').get(path) as { id: number }).id;
  }

  startScan(rootId: number): number {
    return Number(
      this.db
        .prepare(`INSERT INTO scans (root_id, started_at, status) VALUES (?, ?, 'running')`)
        .run(rootId, now()).lastInsertRowid,
    );
  }

  finishScan(scanId: number, status: 'done' | 'cancelled' | 'failed', report: ScanReport | null): void {
    this.db
      .prepare('UPDATE scans SET finished_at = ?, status = ?, report = ? WHERE id = ?')
      .run(now(), status, report ? JSON.stringify(report) : null, scanId);
  }

  /**
   * Stores one label's image and garments. Returns false when the image key was already stored by this
   * scan (a duplicate), in which case nothing is written.
   */
  putLabel(
    scanId: number,
    image: ImageRow,
    items: ItemRow[],
    excluded: { part: GarmentPart; reason: ExclusionReason }[],
    /** True when the workspace had no images before this scan: nothing stale can exist to delete. */
    fresh = false,
  ): boolean {
    const changed = this.upsertImage.run({
      ...image,
      styles: JSON.stringify(image.styles),
      scanId,
    }).changes;
    if (changed === 0) return false;
    for (const it of items) {
      this.upsertItem.run({
        id: it.id,
        imageKey: image.key,
        part: it.part,
        x: it.box.x,
        y: it.box.y,
        w: it.box.w,
        h: it.box.h,
        boxSource: it.boxSource,
        category: typeof it.attributes.category === 'string' ? it.attributes.category : null,
        attributes: JSON.stringify(it.attributes),
        scanId,
      });
    }
    if (!fresh) {
      this.deleteStaleItemsOfImage.run(image.key, scanId);
      this.deleteExcluded.run(image.key);
    }
    for (const e of excluded) this.insertExcluded.run(image.key, e.part, e.reason);
    return true;
  }

  putSkipped(scanId: number, file: SkippedFile, styleFolder: string | null): void {
    this.insertSkipped.run(scanId, file.path, styleFolder, file.reason, file.detail);
  }

  /**
   * Removes images of `rootId` that this scan did not see again: in the given style folders, or in
   * all of them when `styleFolders` is null (a full scan, which also drops deleted style folders).
   */
  removeStale(scanId: number, rootId: number, styleFolders: string[] | null): number {
    if (styleFolders === null) {
      return this.db.prepare('DELETE FROM images WHERE root_id = ? AND scan_id <> ?').run(rootId, scanId)
        .changes;
    }
    const del = this.db.prepare('DELETE FROM images WHERE root_id = ? AND style_folder = ? AND scan_id <> ?');
    let n = 0;
    for (const s of styleFolders) n += del.run(rootId, s, scanId).changes;
    return n;
  }

  /** Marks an image and its items as seen by this scan without changing them; false if unknown. */
  keepImage(scanId: number, key: string): boolean {
    const kept = this.db
      .prepare('UPDATE images SET scan_id = ? WHERE key = ? AND scan_id <> ?')
      .run(scanId, key, scanId);
    if (kept.changes === 0) return false;
    this.db.prepare('UPDATE items SET scan_id = ? WHERE image_key = ?').run(scanId, key);
    return true;
  }

  /**
   * Marks every image of one style folder (of one Training/Validation folder, or of a sample) as seen
   * by this scan without changing it: a folder that cannot be read today keeps what an earlier scan
   * stored from it. Returns how many images were kept.
   */
  keepStyleFolder(scanId: number, rootId: number, styleFolder: string, splitFolder: string | null): number {
    const keys = this.db
      .prepare(
        'SELECT key FROM images WHERE root_id = ? AND style_folder = ? AND split_folder IS ? AND scan_id <> ?',
      )
      .pluck()
      .all(rootId, styleFolder, splitFolder, scanId) as string[];
    let kept = 0;
    for (const key of keys) if (this.keepImage(scanId, key)) kept++;
    return kept;
  }

  /** The label file (relative to its data root) this image was read from, or null if unknown. */
  labelPathOf(key: string): string | null {
    return (
      (this.db.prepare('SELECT label_path FROM images WHERE key = ?').pluck().get(key) as string) ?? null
    );
  }

  counts(): { images: number; items: number } {
    const images = (this.db.prepare('SELECT COUNT(*) n FROM images').get() as { n: number }).n;
    const items = (this.db.prepare('SELECT COUNT(*) n FROM items').get() as { n: number }).n;
    return { images, items };
  }

  /**
   * Items in id order, with their split and resolved image path. Reads in pages so that memory stays
   * flat and the connection is free between pages (better-sqlite3 refuses other statements while an
   * iterator is open, and callers write crops or embeddings as they go).
   */
  *iterateItems(filter: ItemFilter = {}, pageSize = 1000): Generator<StoredItem> {
    let after = '';
    for (;;) {
      const page = this.itemsPage(after, pageSize, filter);
      for (const it of page) yield it;
      if (page.length < pageSize) return;
      after = page.at(-1)!.id;
    }
  }

  itemsPage(afterId: string, limit: number, filter: ItemFilter = {}): StoredItem[] {
    const { where, params } = filterSql(filter);
    const rows = this.db
      .prepare(`${ITEM_SELECT} WHERE it.id > ? ${where} ORDER BY it.id LIMIT ?`)
      .all(afterId, ...params, limit) as ItemQueryRow[];
    return rows.map(toStoredItem);
  }

  countItems(filter: ItemFilter = {}): number {
    const { where, params } = filterSql(filter);
    return this.db
      .prepare(`SELECT COUNT(*) FROM items it JOIN images im ON im.key = it.image_key WHERE 1 ${where}`)
      .pluck()
      .get(...params) as number;
  }

  getItem(id: string): StoredItem | null {
    const row = this.db.prepare(`${ITEM_SELECT} WHERE it.id = ?`).get(id) as ItemQueryRow | undefined;
    return row ? toStoredItem(row) : null;
  }
}

export interface ItemFilter {
  split?: 'train' | 'val';
  styleFolders?: string[];
}

function filterSql(filter: ItemFilter): { where: string; params: unknown[] } {
  let where = '';
  const params: unknown[] = [];
  if (filter.split) {
    where += ' AND im.split = ?';
    params.push(filter.split);
  }
  if (filter.styleFolders?.length) {
    where += ` AND im.style_folder IN (${filter.styleFolders.map(() => '?').join(',')})`;
    params.push(...filter.styleFolders);
  }
  return { where, params };
}

const ITEM_SELECT = `
  SELECT it.id, it.image_key, it.part, it.box_x, it.box_y, it.box_w, it.box_h, it.box_source, it.attributes,
         im.style_folder, im.split, im.image_path, im.width, im.height, r.path AS root
  FROM items it JOIN images im ON im.key = it.image_key JOIN data_roots r ON r.id = im.root_id`;

interface ItemQueryRow {
  id: string;
  image_key: string;
  part: GarmentPart;
  box_x: number;
  box_y: number;
  box_w: number;
  box_h: number;
  box_source: BoxSource;
  attributes: string;
  style_folder: string;
  split: 'train' | 'val' | null;
  image_path: string | null;
  width: number | null;
  height: number | null;
  root: string;
}

function toStoredItem(r: ItemQueryRow): StoredItem {
  return {
    id: r.id,
    imageKey: r.image_key,
    styleFolder: r.style_folder,
    part: r.part,
    box: { x: r.box_x, y: r.box_y, w: r.box_w, h: r.box_h },
    boxSource: r.box_source,
    attributes: JSON.parse(r.attributes) as GarmentAttributes,
    split: r.split,
    imagePath: r.image_path === null ? null : join(r.root, r.image_path),
    imageSize: { width: r.width, height: r.height },
  };
}
