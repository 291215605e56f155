/**
 * A scan into an empty workspace loads its rows without the secondary indexes of images and items and
 * builds them at the end (Note: Scan indexes). These check that the indexes are there afterwards, that
 * a workspace left without them (a scan killed between the drop and the rebuild) gets them back on its
 * next open, and that a re-scan over stored rows keeps them.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeBenchTree } from '../../bench/scan-bench.ts';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { missingScanIndexes, SCAN_INDEXES } from '../../src-main/store/scan-indexes.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { acquireWriterLock } from '../../src-main/store/workspace-lock.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const dir = tempDir('kf-scan-bulk-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CREATE INDEX text SQLite keeps for each scan index, by name. */
const indexSql = (ws: Workspace) =>
  Object.fromEntries(
    ws.db
      .prepare(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (${SCAN_INDEXES.map(() => '?').join(',')})`,
      )
      .raw()
      .all(...SCAN_INDEXES.map((i) => i.name)) as [string, string][],
  );

it('builds the indexes after a fresh scan, exactly as the schema made them', async () => {
  const data = join(dir, 'a');
  writeBenchTree(data, 60);
  const ws = Workspace.open(join(dir, 'ws-a'));
  try {
    const before = indexSql(ws);
    expect(Object.keys(before)).toHaveLength(SCAN_INDEXES.length);
    const report = await scanDataset(ws, { data });
    expect(report.total.labels).toBe(60);
    expect(indexSql(ws)).toEqual(before);
    // The planner uses them again: an item lookup by image goes through items_image.
    const plan = ws.db
      .prepare("EXPLAIN QUERY PLAN SELECT id FROM items WHERE image_key = 'x'")
      .raw()
      .all()
      .map((r) => String((r as unknown[])[3]));
    expect(plan.join(' ')).toContain('items_image');
    // A re-scan takes the upsert path and leaves them in place.
    await scanDataset(ws, { data });
    expect(indexSql(ws)).toEqual(before);
  } finally {
    ws.close();
  }
});

it('a workspace left without them (a scan killed mid-load) gets them back when it is opened', async () => {
  const data = join(dir, 'b');
  writeBenchTree(data, 30);
  const root = join(dir, 'ws-b');
  let ws = Workspace.open(root);
  const sql = indexSql(ws);
  // What a kill leaves: the drop committed, some rows committed, no rebuild.
  new DatasetStore(ws.db).beginBulkLoad();
  expect(missingScanIndexes(ws.db)).toHaveLength(SCAN_INDEXES.length);
  ws.close();
  ws = Workspace.open(root);
  try {
    expect(missingScanIndexes(ws.db)).toEqual([]);
    expect(indexSql(ws)).toEqual(sql);
    const report = await scanDataset(ws, { data });
    expect(report.total.labels).toBe(30);
    expect(indexSql(ws)).toEqual(sql);
  } finally {
    ws.close();
  }
});

it('leaves them to the scan while a live writer holds the workspace (it would wait on its write lock)', () => {
  const root = join(dir, 'ws-c');
  let ws = Workspace.open(root);
  new DatasetStore(ws.db).beginBulkLoad();
  ws.close();
  const lock = acquireWriterLock(root, 'scan');
  try {
    ws = Workspace.open(root);
    expect(missingScanIndexes(ws.db)).toHaveLength(SCAN_INDEXES.length);
    ws.close();
  } finally {
    lock.release();
  }
  ws = Workspace.open(root);
  try {
    expect(missingScanIndexes(ws.db)).toEqual([]);
  } finally {
    ws.close();
  }
});

it('a label whose rows fail to write takes its open batch with it, never half a label', async () => {
  const data = join(dir, 'd');
  writeBenchTree(data, 2500);
  const ws = Workspace.open(join(dir, 'ws-d'));
  try {
    // Once 3,001 garments are in (the second batch of 1,000 files is open), the next one, the second
    // garment of a label whose image and first garment are already written, cannot be.
    ws.db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON items WHEN (SELECT COUNT(*) FROM items) >= 3001
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    await expect(scanDataset(ws, { data })).rejects.toThrow('refused by the test');
    const q = (sql: string) => ws.db.prepare(sql).pluck().get() as number;
    // What was committed is whole: every image has both of its garments.
    expect(q('SELECT COUNT(*) FROM images')).toBeGreaterThan(0);
    expect(
      q('SELECT COUNT(*) FROM images im WHERE (SELECT COUNT(*) FROM items WHERE image_key = im.key) <> 2'),
    ).toBe(0);
    expect(q('SELECT COUNT(*) FROM images')).toBeLessThan(1501);
    expect(ws.db.prepare('SELECT status FROM scans ORDER BY id DESC').pluck().get()).toBe('failed');
    expect(missingScanIndexes(ws.db)).toEqual([]);
  } finally {
    ws.close();
  }
});
