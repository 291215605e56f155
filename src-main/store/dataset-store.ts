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
import { dropScanIndexes, ensureScanIndexes } from './scan-indexes.ts';
import { type Statements, statements } from './statements.ts';

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
  /** attributes.category when it is a string, else null. */
  category: string | null;
  /** The attributes as stored: JSON.stringify of the parsed attributes. */
  attributesJson: string;
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
  private readonly s: Statements;

  constructor(readonly db: Db) {
    this.s = statements(db);
    // Upsert, not INSERT OR REPLACE: a replace deletes the row first and would cascade to its items,
    // crops and (later) embeddings. The WHERE makes a second sighting in the same scan a no-op, which
    // is how a duplicate `<style>/<stem>` (e.g. in both Training and Validation) is detected.
    this.upsertImage = this.s.query(
      'images.upsert',
      `
      INSERT INTO images (key, root_id, style_folder, label_stem, split_folder, label_path, image_path, image_id,
                          shop_file, look_key, width, height, styles, label_created, scan_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(key) DO UPDATE SET
        root_id = excluded.root_id, style_folder = excluded.style_folder, label_stem = excluded.label_stem,
        split_folder = excluded.split_folder, label_path = excluded.label_path, image_path = excluded.image_path,
        image_id = excluded.image_id, shop_file = excluded.shop_file, look_key = excluded.look_key,
        width = excluded.width, height = excluded.height, styles = excluded.styles,
        label_created = excluded.label_created, scan_id = excluded.scan_id
      WHERE images.scan_id <> excluded.scan_id`,
    );
    this.upsertItem = this.s.query(
      'items.upsert',
      `
      INSERT INTO items (id, image_key, part, box_x, box_y, box_w, box_h, box_source, category, attributes, scan_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET
        image_key = excluded.image_key, part = excluded.part, box_x = excluded.box_x, box_y = excluded.box_y,
        box_w = excluded.box_w, box_h = excluded.box_h, box_source = excluded.box_source,
        category = excluded.category, attributes = excluded.attributes, scan_id = excluded.scan_id`,
    );
    this.deleteStaleItemsOfImage = this.s.query(
      'items.deleteStaleOfImage',
      'DELETE FROM items WHERE image_key = ? AND scan_id <> ?',
    );
    this.deleteExcluded = this.s.query(
      'excluded.deleteOfImage',
      'DELETE FROM excluded_garments WHERE image_key = ?',
    );
    this.insertExcluded = this.s.query(
      'excluded.insert',
      'INSERT INTO excluded_garments (image_key, part, reason) VALUES (?, ?, ?)',
    );
    this.insertSkipped = this.s.query(
      'skipped.insert',
      'INSERT INTO skipped_files (scan_id, path, style_folder, reason, detail) VALUES (?, ?, ?, ?, ?)',
    );
  }

  rootId(path: string, synthetic: boolean): number {
    this.s
      .query(
        'dataRoots.upsert',
        `INSERT INTO data_roots (path, synthetic, added_at) VALUES (?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET synthetic = excluded.synthetic`,
      )
      .run(path, synthetic ? 1 : 0, now());
    return this.s
      .query<number>('dataRoots.id', 'SELECT id FROM data_roots WHERE path = ?', 'pluck')
      .get(path)!;
  }

  startScan(rootId: number): number {
    return Number(
      this.s
        .query('scans.start', `INSERT INTO scans (root_id, started_at, status) VALUES (?, ?, 'running')`)
        .run(rootId, now()).lastInsertRowid,
    );
  }

  finishScan(scanId: number, status: 'done' | 'cancelled' | 'failed', report: ScanReport | null): void {
    this.s
      .query('scans.finish', 'UPDATE scans SET finished_at = ?, status = ?, report = ? WHERE id = ?')
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
    // Positional parameters: a scan binds these for every label file, and named ones cost an object
    // copy per row here and a lookup per parameter in the driver.
    const changed = this.upsertImage.run(
      image.key,
      image.rootId,
      image.styleFolder,
      image.labelStem,
      image.splitFolder,
      image.labelPath,
      image.imagePath,
      image.imageId,
      image.shopFile,
      image.lookKey,
      image.width,
      image.height,
      JSON.stringify(image.styles),
      image.labelCreated,
      scanId,
    ).changes;
    if (changed === 0) return false;
    for (const it of items) {
      this.upsertItem.run(
        it.id,
        image.key,
        it.part,
        it.box.x,
        it.box.y,
        it.box.w,
        it.box.h,
        it.boxSource,
        it.category,
        it.attributesJson,
        scanId,
      );
    }
    if (!fresh) {
      this.deleteStaleItemsOfImage.run(image.key, scanId);
      this.deleteExcluded.run(image.key);
    }
    for (const e of excluded) this.insertExcluded.run(image.key, e.part, e.reason);
    return true;
  }

  /**
   * Before a scan into an empty workspace: drops the secondary indexes of images and items, to be built
   * once over the loaded rows by `endBulkLoad` (Note: Scan indexes). Its own transaction, so the drop
   * is durable before any row is.
   */
  beginBulkLoad(): void {
    this.db.transaction(() => dropScanIndexes(this.db))();
  }

  /** After a scan's last row: builds the indexes `beginBulkLoad` dropped (none when none are missing). */
  endBulkLoad(): void {
    ensureScanIndexes(this.db);
  }

  /**
   * Opens the scan's write transaction unless one is open. It stays open across the scan's awaits
   * until commitBatch (Note: scan batches in dataset/scan.ts); a kill loses only that batch.
   */
  beginBatch(): void {
    if (!this.db.inTransaction) this.s.exec('scan.begin', 'BEGIN');
  }

  commitBatch(): void {
    if (this.db.inTransaction) this.s.exec('scan.commit', 'COMMIT');
  }

  rollbackBatch(): void {
    if (this.db.inTransaction) this.s.exec('scan.rollback', 'ROLLBACK');
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
      return this.s
        .query('images.removeStale', 'DELETE FROM images WHERE root_id = ? AND scan_id <> ?')
        .run(rootId, scanId).changes;
    }
    const del = this.s.query(
      'images.removeStaleOfStyle',
      'DELETE FROM images WHERE root_id = ? AND style_folder = ? AND scan_id <> ?',
    );
    let n = 0;
    for (const s of styleFolders) n += del.run(rootId, s, scanId).changes;
    return n;
  }

  /** Marks an image and its items as seen by this scan without changing them; false if unknown. */
  keepImage(scanId: number, key: string): boolean {
    const kept = this.s
      .query('images.keep', 'UPDATE images SET scan_id = ? WHERE key = ? AND scan_id <> ?')
      .run(scanId, key, scanId);
    if (kept.changes === 0) return false;
    this.s.query('items.keep', 'UPDATE items SET scan_id = ? WHERE image_key = ?').run(scanId, key);
    return true;
  }

  /**
   * Marks every image of one style folder (of one Training/Validation folder, or of a sample) as seen
   * by this scan without changing it: a folder that cannot be read today keeps what an earlier scan
   * stored from it. Returns how many images were kept.
   */
  keepStyleFolder(scanId: number, rootId: number, styleFolder: string, splitFolder: string | null): number {
    const keys = this.s
      .query<string>(
        'images.keysOfStyleFolder',
        'SELECT key FROM images WHERE root_id = ? AND style_folder = ? AND split_folder IS ? AND scan_id <> ?',
        'pluck',
      )
      .all(rootId, styleFolder, splitFolder, scanId);
    let kept = 0;
    for (const key of keys) if (this.keepImage(scanId, key)) kept++;
    return kept;
  }

  /** The label file (relative to its data root) this image was read from, or null if unknown. */
  labelPathOf(key: string): string | null {
    return (
      this.s
        .query<string>('images.labelPath', 'SELECT label_path FROM images WHERE key = ?', 'pluck')
        .get(key) ?? null
    );
  }

  counts(): { images: number; items: number } {
    const images = this.s.query<number>('images.count', 'SELECT COUNT(*) FROM images', 'pluck').get()!;
    const items = this.s.query<number>('items.count', 'SELECT COUNT(*) FROM items', 'pluck').get()!;
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
    const rows = this.s
      .query<ItemQueryRow>('items.page', `${ITEM_SELECT} WHERE it.id > ? ${where} ORDER BY it.id LIMIT ?`)
      .all(afterId, ...params, limit);
    return rows.map(toStoredItem);
  }

  countItems(filter: ItemFilter = {}): number {
    const { where, params } = filterSql(filter);
    return this.s
      .query<number>(
        'items.countFiltered',
        `SELECT COUNT(*) FROM items it JOIN images im ON im.key = it.image_key WHERE 1 ${where}`,
        'pluck',
      )
      .get(...params)!;
  }

  getItem(id: string): StoredItem | null {
    const row = this.s.query<ItemQueryRow>('items.get', `${ITEM_SELECT} WHERE it.id = ?`).get(id);
    return row ? toStoredItem(row) : null;
  }

  hasItem(id: string): boolean {
    return this.s.query('items.exists', 'SELECT 1 FROM items WHERE id = ?', 'pluck').get(id) !== undefined;
  }

  /** Ids of the items of one style folder and/or split (all when neither is given), in id order. */
  itemIds(filter: { style?: string; split?: 'train' | 'val' } = {}): string[] {
    let sql = 'SELECT it.id FROM items it JOIN images im ON im.key = it.image_key WHERE 1';
    const params: unknown[] = [];
    if (filter.style) {
      sql += ' AND im.style_folder = ?';
      params.push(filter.style);
    }
    if (filter.split) {
      sql += ' AND im.split = ?';
      params.push(filter.split);
    }
    return this.s.query<string>('items.ids', `${sql} ORDER BY it.id`, 'pluck').all(...params);
  }

  /** Items whose label named an image file that was found. */
  countItemsWithImage(): number {
    return this.s
      .query<number>(
        'items.countWithImage',
        'SELECT COUNT(*) FROM items it JOIN images im ON im.key = it.image_key WHERE im.image_path IS NOT NULL',
        'pluck',
      )
      .get()!;
  }

  /** True when any data root of the workspace is generated demo data. */
  hasSyntheticRoot(): boolean {
    return (
      this.s.query('dataRoots.anySynthetic', 'SELECT 1 FROM data_roots WHERE synthetic = 1 LIMIT 1').get() !==
      undefined
    );
  }

  dataRoots(): { path: string; synthetic: boolean }[] {
    return this.s
      .query<{ path: string; synthetic: number }>(
        'dataRoots.list',
        'SELECT path, synthetic FROM data_roots ORDER BY id',
      )
      .all()
      .map((r) => ({ path: r.path, synthetic: r.synthetic === 1 }));
  }

  /** Images, items and split items per style folder, in folder order. */
  perStyleCounts(): { style: string; images: number; items: number; train: number; val: number }[] {
    return this.s
      .query<{ style: string; images: number; items: number; train: number; val: number }>(
        'images.perStyleCounts',
        `SELECT im.style_folder AS style, COUNT(DISTINCT im.key) AS images, COUNT(it.id) AS items,
               SUM(CASE WHEN it.id IS NOT NULL AND im.split = 'train' THEN 1 ELSE 0 END) AS train,
               SUM(CASE WHEN it.id IS NOT NULL AND im.split = 'val' THEN 1 ELSE 0 END) AS val
         FROM images im LEFT JOIN items it ON it.image_key = im.key
         GROUP BY im.style_folder ORDER BY im.style_folder`,
      )
      .all();
  }

  lastScan(): { id: number; status: string; startedAt: string; finishedAt: string | null } | null {
    return (
      this.s
        .query<{ id: number; status: string; startedAt: string; finishedAt: string | null }>(
          'scans.last',
          'SELECT id, status, started_at AS startedAt, finished_at AS finishedAt FROM scans ORDER BY id DESC LIMIT 1',
        )
        .get() ?? null
    );
  }

  /**
   * Excluded garments (optionally of one style folder and/or reason): counts by reason and by style,
   * and one page of rows in image order.
   */
  excludedGarments(opts: { style?: string; reason?: string; limit: number; offset: number }): {
    byReason: Record<string, number>;
    byStyle: Record<string, number>;
    rows: { imageKey: string; styleFolder: string; part: string; reason: string; labelPath: string }[];
  } {
    let where = 'WHERE 1';
    const params: unknown[] = [];
    if (opts.style) {
      where += ' AND im.style_folder = ?';
      params.push(opts.style);
    }
    if (opts.reason) {
      where += ' AND ex.reason = ?';
      params.push(opts.reason);
    }
    const from = `FROM excluded_garments ex JOIN images im ON im.key = ex.image_key ${where}`;
    const grouped = (column: string) =>
      Object.fromEntries(
        this.s
          .query<{ k: string; n: number }>(
            'excluded.grouped',
            `SELECT ${column} AS k, COUNT(*) AS n ${from} GROUP BY ${column}`,
          )
          .all(...params)
          .map((r) => [r.k, r.n]),
      ) as Record<string, number>;
    const byReason = grouped('ex.reason');
    const byStyle = grouped('im.style_folder');
    const rows = this.s
      .query<{ imageKey: string; styleFolder: string; part: string; reason: string; labelPath: string }>(
        'excluded.page',
        `SELECT ex.image_key AS imageKey, im.style_folder AS styleFolder, ex.part, ex.reason, im.label_path AS labelPath
         ${from} ORDER BY ex.image_key, ex.part LIMIT ? OFFSET ?`,
      )
      .all(...params, opts.limit, opts.offset);
    return { byReason, byStyle, rows };
  }

  /** The files the newest scan skipped: how many, and the first `limit` in path order. */
  lastScanSkipped(limit: number): {
    total: number;
    rows: { path: string; reason: string; detail: string | null }[];
  } {
    const lastScan = this.s.query<number | null>('scans.maxId', 'SELECT MAX(id) FROM scans', 'pluck').get();
    if (lastScan === null || lastScan === undefined) return { total: 0, rows: [] };
    const total = this.s
      .query<number>('skipped.count', 'SELECT COUNT(*) FROM skipped_files WHERE scan_id = ?', 'pluck')
      .get(lastScan)!;
    const rows = this.s
      .query<{ path: string; reason: string; detail: string | null }>(
        'skipped.page',
        'SELECT path, reason, detail FROM skipped_files WHERE scan_id = ? ORDER BY path LIMIT ?',
      )
      .all(lastScan, limit);
    return { total, rows };
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
