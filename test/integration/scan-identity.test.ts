/**
 * The scan stores exactly what it stored before its speed work: a seeded tree of good and hostile label
 * files (the label fuzzer's, plus the scan bench's realistic labels with images beside some of them) is
 * scanned twice into one workspace (a first scan, then a re-scan over stored rows, which takes the
 * other write path), and every row the scan writes is compared with a snapshot taken from the code
 * before the change: images (with their split), garments and boxes, attributes, exclusions, skipped
 * files and reasons, the vocabulary. Parse results go through a structured clone in batches, as they
 * do between the worker threads and the writing thread; the first scan counts the vocabulary through
 * the worker task's own read-only connection, the re-scan on the writing thread.
 *
 * `KFASHION_WRITE_SCAN_SNAPSHOT=1 npx vitest run test/integration/scan-identity.test.ts` rewrites the
 * snapshot; only do that for a change that is meant to alter what a scan stores.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeBenchTree } from '../../bench/scan-bench.ts';
import { readLabelsInline } from '../../src-main/dataset/label-file.ts';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { WORKER_TASKS } from '../../src-main/jobs/worker-tasks.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { writeFuzzTree } from '../helpers/label-fuzzer.ts';

const SNAPSHOT = join(import.meta.dirname, '..', 'fixtures', 'scan-identity.json');
const dir = tempDir('kf-scan-identity-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every table a scan writes, in a fixed order, with the temporary folder names replaced. */
function dump(ws: Workspace, replace: [string, string][]): Record<string, unknown[]> {
  const q = (sql: string) => ws.db.prepare(sql).raw().all() as unknown[][];
  const tables: Record<string, unknown[]> = {
    images: q(
      `SELECT key, style_folder, label_stem, split_folder, label_path, image_path, image_id, shop_file, look_key,
              width, height, styles, label_created, split FROM images ORDER BY key`,
    ),
    items: q(
      'SELECT id, image_key, part, box_x, box_y, box_w, box_h, box_source, category, attributes FROM items ORDER BY id',
    ),
    excluded: q('SELECT image_key, part, reason FROM excluded_garments ORDER BY image_key, part, reason'),
    skipped: q(
      'SELECT scan_id, path, style_folder, reason, detail FROM skipped_files ORDER BY scan_id, path, reason, detail',
    ),
    vocab: q('SELECT field, idx, value, count, known FROM vocab ORDER BY field, idx'),
  };
  let text = JSON.stringify(tables);
  for (const [from, to] of replace) text = text.split(from).join(to);
  return JSON.parse(text) as Record<string, unknown[]>;
}

const digest = (rows: unknown[]) => createHash('sha256').update(JSON.stringify(rows)).digest('hex');

it('stores the same rows as the scan before it was made faster (first scan and re-scan)', async () => {
  const data = join(dir, 'data');
  const outside = join(dir, 'outside');
  writeFuzzTree(data, { files: 300, seed: 19, permissionsBind: false, outside });
  // Realistic labels in their own split folder, and images for every third of them.
  writeBenchTree(join(data, 'Training'), 150);
  for (const style of ['레트로', '로맨틱', '리조트'])
    mkdirSync(join(data, 'Training', '원천데이터', style), { recursive: true });
  for (let i = 0; i < 150; i += 3) {
    const style = ['레트로', '로맨틱', '리조트'][i % 3]!;
    writeFileSync(join(data, 'Training', '원천데이터', style, `${1_000_000 + i}.jpg`), '');
  }
  const ws = Workspace.open(join(dir, 'ws'));
  try {
    // Batches cross a structured clone, as they cross the worker threads' message port.
    const readLabels = async (paths: string[]) => structuredClone(await readLabelsInline(paths));
    // The first scan counts the vocabulary as the worker task does (own read-only connection), the
    // re-scan on this thread: both must store the same vocabulary.
    let counted = 0;
    const countVocabulary = async (file: string) => {
      const counts = structuredClone(WORKER_TASKS['count-vocabulary'](file));
      counted++;
      return counts;
    };
    const first = await scanDataset(ws, { data, readLabels, inFlight: 3, seed: 5, countVocabulary });
    expect(counted).toBe(1);
    const afterFirst = dump(ws, [
      [data, '<data>'],
      [outside, '<outside>'],
    ]);
    const second = await scanDataset(ws, { data, readLabels, inFlight: 2, seed: 5 });
    const afterSecond = dump(ws, [
      [data, '<data>'],
      [outside, '<outside>'],
    ]);
    const summary = {
      firstTotal: first.total,
      secondTotal: second.total,
      removedStale: second.removedStale,
      keptFromPreviousScan: second.keptFromPreviousScan,
      split: first.split,
      rows: Object.fromEntries(Object.entries(afterSecond).map(([t, rows]) => [t, rows.length])),
      first: Object.fromEntries(Object.entries(afterFirst).map(([t, rows]) => [t, digest(rows)])),
      second: Object.fromEntries(Object.entries(afterSecond).map(([t, rows]) => [t, digest(rows)])),
    };
    if (process.env['KFASHION_WRITE_SCAN_SNAPSHOT'] === '1')
      writeFileSync(SNAPSHOT, `${JSON.stringify(summary, null, 2)}\n`);
    // The tree really is varied: garments, exclusions, skips of several reasons, images found.
    expect(summary.rows.items).toBeGreaterThan(300);
    expect(summary.rows.excluded).toBeGreaterThan(0);
    expect(new Set(afterSecond.skipped!.map((r) => (r as unknown[])[3])).size).toBeGreaterThan(5);
    expect(afterSecond.images!.some((r) => (r as unknown[])[5] !== null)).toBe(true);
    expect(summary).toEqual(JSON.parse(readFileSync(SNAPSHOT, 'utf8')));
  } finally {
    ws.close();
  }
});
