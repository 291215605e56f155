/**
 * A scan into an empty workspace, killed with SIGKILL after it has committed some batches (its indexes
 * are down then: Note: Scan indexes), and run again, stores exactly the rows a scan that was never
 * interrupted stores, through the real CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { writeBenchTree } from '../../bench/scan-bench.ts';
import { SCAN_INDEXES } from '../../src-main/store/scan-indexes.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');
const dir = tempDir('kf-scan-kill-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every row a scan derives from the labels (not scan ids or times), in a fixed order. */
function rows(ws: string): Record<string, unknown[]> {
  const db = new Database(join(ws, 'workspace.db'), { readonly: true });
  try {
    const q = (sql: string) => db.prepare(sql).raw().all();
    return {
      images: q(
        `SELECT key, style_folder, label_stem, split_folder, label_path, image_path, image_id, shop_file, look_key,
                width, height, styles, label_created, split FROM images ORDER BY key`,
      ),
      items: q(
        'SELECT id, image_key, part, box_x, box_y, box_w, box_h, box_source, category, attributes FROM items ORDER BY id',
      ),
      excluded: q('SELECT image_key, part, reason FROM excluded_garments ORDER BY image_key, part'),
      vocab: q('SELECT field, idx, value, count, known FROM vocab ORDER BY field, idx'),
      indexes: q(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (${SCAN_INDEXES.map((i) => `'${i.name}'`).join(',')}) ORDER BY name`,
      ),
    };
  } finally {
    db.close();
  }
}

/** Images committed so far, or 0 while the workspace database does not exist yet. */
function committedImages(ws: string): number {
  const file = join(ws, 'workspace.db');
  if (!existsSync(file)) return 0;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not migrated yet
  }
}

it('a fresh scan killed mid-load and run again stores the same rows as an uninterrupted one', async () => {
  const data = join(dir, 'data');
  writeBenchTree(data, 8000);
  const clean = join(dir, 'ws-clean');
  expect(
    kfashion(['scan', '--data', data, '--workspace', clean, '--json'], { timeoutMs: 240_000 }).code,
  ).toBe(0);

  const killed = join(dir, 'ws-killed');
  const child = spawn(process.execPath, [BIN, 'scan', '--data', data, '--workspace', killed, '--json'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let seen = 0;
  const deadline = Date.now() + 120_000;
  try {
    // Kill once at least one batch is committed and before the last one is.
    while (seen === 0 && child.exitCode === null && Date.now() < deadline) {
      seen = committedImages(killed);
      if (seen === 0) await sleep(10);
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  expect(seen).toBeGreaterThan(0);
  expect(seen).toBeLessThan(8000);
  // The kill came while the indexes were down: the re-run is what builds them again.
  expect(rows(killed).indexes).toEqual([]);

  const again = kfashion(['scan', '--data', data, '--workspace', killed, '--json'], { timeoutMs: 240_000 });
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout).total.labels).toBe(8000);
  const want = rows(clean);
  expect(want.images).toHaveLength(8000);
  expect(want.indexes).toHaveLength(SCAN_INDEXES.length);
  expect(rows(killed)).toEqual(want);
}, 600_000);
