/**
 * The seeded split read in pages (Note: split in pages in store/split-store.ts) assigns exactly the
 * images the split assigned before, when it held every validation group in a list: the code before is
 * kept here as the reference, and both run over the same few thousand images, in looks of one to
 * seven shots (some spanning two styles), across several pages of groups and several seeds.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { hashSeed, Rng } from '../../src-main/dataset/rng.ts';
import { applySplit } from '../../src-main/dataset/split.ts';
import type { Db } from '../../src-main/store/database.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { SplitStore } from '../../src-main/store/split-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const dir = tempDir('kf-split-pages-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The seeded split before it was paged: every group ordered in one query, the val groups listed. */
function splitBefore(db: Db, seed: number, valRatio: number): Map<string, 'train' | 'val'> {
  db.function('kf_split_hash_before', { deterministic: true }, (key: unknown) => hashSeed(seed, String(key)));
  const groups = db
    .prepare(
      `SELECT grp, style, n FROM (SELECT look_key AS grp, MIN(style_folder) AS style, COUNT(*) AS n
                                  FROM images GROUP BY look_key)
       ORDER BY style, kf_split_hash_before(grp), grp`,
    )
    .raw()
    .all() as [string, string, number][];
  const totals = new Map<string, number>();
  for (const [, style, n] of groups) totals.set(style, (totals.get(style) ?? 0) + n);
  const val = new Map<string, number>();
  const valGroups = new Set<string>();
  for (const [grp, style, n] of groups) {
    const target = Math.round((totals.get(style) ?? 0) * valRatio);
    const taken = val.get(style) ?? 0;
    if (taken + n <= target) {
      valGroups.add(grp);
      val.set(style, taken + n);
    }
  }
  const rows = db.prepare('SELECT key, look_key FROM images').raw().all() as [string, string][];
  return new Map(rows.map(([key, look]) => [key, valGroups.has(look) ? 'val' : 'train']));
}

it('assigns the same images as the split before, for several seeds, across pages', () => {
  const ws = Workspace.open(join(dir, 'ws'));
  try {
    const store = new DatasetStore(ws.db);
    const rootId = store.rootId('/data', true);
    const scanId = store.startScan(rootId);
    const styles = ['레트로', '로맨틱', '리조트', 'street'];
    const rng = new Rng(3);
    let image = 0;
    ws.db.transaction(() => {
      // About 9,000 images in 5,500 groups: the groups span two pages of the paged split.
      for (let look = 0; look < 5500; look++) {
        const shots = rng.float() < 0.7 ? 1 : rng.int(2, 7);
        const style = styles[rng.int(0, styles.length - 1)]!;
        for (let s = 0; s < shots; s++) {
          // Now and then a shot of the look sits in another style folder.
          const st = rng.float() < 0.05 ? styles[rng.int(0, styles.length - 1)]! : style;
          const stem = String(100000 + image++);
          store.putLabel(
            scanId,
            {
              key: `${st}/${stem}`,
              rootId,
              styleFolder: st,
              labelStem: stem,
              splitFolder: null,
              labelPath: `${st}/${stem}.json`,
              imagePath: null,
              imageId: Number(stem),
              shopFile: null,
              lookKey: shots === 1 ? `image:${st}/${stem}` : `look:Shop${look}_${look * 7}`,
              width: null,
              height: null,
              styles: [],
              labelCreated: null,
            },
            [],
            [],
            true,
          );
        }
      }
    })();
    for (const seed of [42, 1, 2026]) {
      const expected = splitBefore(ws.db, seed, 0.2);
      const summary = applySplit(ws.db, { seed });
      const got = new Map(ws.db.prepare('SELECT key, split FROM images').raw().all() as [string, string][]);
      expect(got.size).toBe(image);
      expect(got).toEqual(expected);
      expect(summary.valImages).toBe([...expected.values()].filter((s) => s === 'val').length);
      expect(summary.valImages).toBeGreaterThan(image * 0.15);
      // Small pages: many page boundaries, each group still asked once, in the same order.
      const val = new Map<string, number>();
      new SplitStore(ws.db).applyGroupSplit(
        (key) => hashSeed(seed, key),
        (totals) => (_g, style, n) => {
          const taken = val.get(style) ?? 0;
          if (taken + n > Math.round((totals.get(style) ?? 0) * 0.2)) return false;
          val.set(style, taken + n);
          return true;
        },
        97,
      );
      expect(
        new Map(ws.db.prepare('SELECT key, split FROM images').raw().all() as [string, string][]),
      ).toEqual(expected);
    }
  } finally {
    ws.close();
  }
});
