/**
 * [Note: Scan indexes]
 * The secondary indexes of the two tables a scan fills (images and items), as migration 1 made them.
 * A scan into an empty workspace drops them before its first row and builds them again after its last:
 * one CREATE INDEX over loaded rows sorts once, where keeping them costs an insert into five extra
 * B-trees per label file, which was most of the writing thread's time. Their names and columns are
 * exactly migration 1's, so a workspace looks the same after a scan whichever way it was written.
 *
 * A scan killed between the drop and the rebuild leaves the tables without them. Rows stay correct
 * (the indexes only speed up lookups, mostly the scan's own, and the cascades of deletes): every scan
 * over stored rows builds whatever is missing before its first row, and so does opening the workspace
 * when no writer holds it (repairScanIndexes).
 */
import type { Db } from './database.ts';
import { lockHolder } from './workspace-lock.ts';

export const SCAN_INDEXES: readonly { name: string; sql: string }[] = [
  { name: 'images_root_style', sql: 'CREATE INDEX images_root_style ON images(root_id, style_folder)' },
  { name: 'images_stem', sql: 'CREATE INDEX images_stem ON images(label_stem)' },
  { name: 'images_image_id', sql: 'CREATE INDEX images_image_id ON images(image_id)' },
  { name: 'items_image', sql: 'CREATE INDEX items_image ON items(image_key)' },
  { name: 'items_category', sql: 'CREATE INDEX items_category ON items(category)' },
];

/** The scan indexes that do not exist (a read: it takes no write lock when nothing is missing). */
export function missingScanIndexes(db: Db): string[] {
  const names = SCAN_INDEXES.map((i) => i.name);
  const present = new Set(
    db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND name IN (${names.map(() => '?').join(',')})`,
      )
      .pluck()
      .all(...names) as string[],
  );
  return names.filter((n) => !present.has(n));
}

/** Builds the scan indexes that are missing, in one transaction; returns how many were built. */
export function ensureScanIndexes(db: Db): number {
  const missing = new Set(missingScanIndexes(db));
  if (missing.size === 0) return 0;
  db.transaction(() => {
    for (const i of SCAN_INDEXES) if (missing.has(i.name)) db.exec(i.sql);
  })();
  return missing.size;
}

/**
 * On opening a workspace: builds the scan indexes a killed scan left missing, unless a live process
 * holds the workspace's writer lock (a scan loading rows without them right now: it builds them at its
 * end, and building them here would wait on its write lock). Never fails the open: when the database
 * is busy anyway, the next open or scan builds them.
 */
export function repairScanIndexes(db: Db, workspaceRoot: string): void {
  if (missingScanIndexes(db).length === 0 || lockHolder(workspaceRoot) !== null) return;
  try {
    ensureScanIndexes(db);
  } catch (e) {
    if (!(e instanceof Error && 'code' in e && String(e.code).startsWith('SQLITE_BUSY'))) throw e;
  }
}

/** Drops the scan indexes (in the caller's transaction, when there is one). */
export function dropScanIndexes(db: Db): void {
  for (const i of SCAN_INDEXES) db.exec(`DROP INDEX IF EXISTS ${i.name}`);
}
