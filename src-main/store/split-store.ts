/**
 * The split's tables: the `split` column of images, the validation stems of a split read from a file
 * (split_val_stems), and the temporary tables a seeded split is computed in. Which groups go to
 * validation is dataset/split.ts's business; this module runs the SQL around that choice.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

/** Groups read per page by a seeded split (Note: split in pages). */
const SPLIT_PAGE = 4096;

export interface SplitCounts {
  split: 'train' | 'val';
  images: number;
  items: number;
}

export class SplitStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Replaces the stored validation stems of a split from a file. */
  replaceValStems(stems: readonly string[]): void {
    const ins = this.s.query(
      'split.insertValStem',
      'INSERT OR IGNORE INTO split_val_stems (stem) VALUES (?)',
    );
    this.db.transaction(() => {
      this.s.query('split.clearValStems', 'DELETE FROM split_val_stems').run();
      for (const s of stems) ins.run(s);
    })();
  }

  /**
   * Marks images whose label stem, key or image id is a stored validation stem as val, the rest as
   * train. Returns the stems that match no image and the number of shop looks split across both sides.
   */
  applyValStems(): { unknown: string[]; lookLeaks: number } {
    this.s.exec(
      'split.applyValStems',
      `UPDATE images SET split = CASE
         WHEN label_stem IN (SELECT stem FROM split_val_stems)
           OR key IN (SELECT stem FROM split_val_stems)
           OR CAST(image_id AS TEXT) IN (SELECT stem FROM split_val_stems)
         THEN 'val' ELSE 'train' END`,
    );
    const unknown = this.s
      .query<string>(
        'split.unknownStems',
        `SELECT stem FROM split_val_stems s
         WHERE NOT EXISTS (SELECT 1 FROM images i WHERE i.label_stem = s.stem)
           AND NOT EXISTS (SELECT 1 FROM images i WHERE i.key = s.stem)
           -- Separate, indexed probes: an OR of the three, or a CAST on the column, scans every image.
           AND NOT (s.stem NOT GLOB '*[^0-9]*' AND s.stem <> ''
                    AND EXISTS (SELECT 1 FROM images i WHERE i.image_id = CAST(s.stem AS INTEGER)))
         ORDER BY stem`,
        'pluck',
      )
      .all();
    const lookLeaks = this.s
      .query<number>(
        'split.lookLeaks',
        `SELECT COUNT(*) FROM (SELECT look_key FROM images WHERE look_key LIKE 'look:%'
                               GROUP BY look_key HAVING COUNT(DISTINCT split) > 1)`,
        'pluck',
      )
      .get()!;
    return { unknown, lookLeaks };
  }

  /**
   * A seeded split in one transaction: images are grouped by look; `choose` is given each style's
   * image total and returns a decider, asked for every group `(group, style, images)` in the order of
   * style and then `hash` of the group (then the group), which says whether the group goes to
   * validation; every other image is train. Returns the per-style totals.
   *
   * [Note: split in pages] The groups are read in pages of SPLIT_PAGE along an index of that order,
   * and each page's validation groups are stored before the next is read: memory stays one page,
   * where a list of every validation group (a fifth of all images) grew with the dataset. The hash is
   * a column of the groups' table, computed once per group, as the ORDER BY computed it before.
   */
  applyGroupSplit(
    hash: (group: string) => number,
    choose: (totals: ReadonlyMap<string, number>) => (group: string, style: string, n: number) => boolean,
    pageSize = SPLIT_PAGE,
  ): Map<string, number> {
    // Registered on the connection for this split's seed; deterministic, so SQLite may reuse results.
    this.db.function('kf_split_hash', { deterministic: true }, (key: unknown) => hash(String(key)));
    return this.db.transaction(() => {
      this.s.exec(
        'split.groups',
        `DROP TABLE IF EXISTS temp.split_groups;
         CREATE TEMP TABLE split_groups AS
           SELECT look_key AS grp, MIN(style_folder) AS style, COUNT(*) AS n, kf_split_hash(look_key) AS h
           FROM images GROUP BY look_key;
         CREATE INDEX temp.split_groups_order ON split_groups(style, h, grp);
         DROP TABLE IF EXISTS temp.val_groups;
         CREATE TEMP TABLE val_groups (grp TEXT PRIMARY KEY);`,
      );
      const totals = new Map(
        this.s
          .query<[string, number]>(
            'split.styleTotals',
            'SELECT style, SUM(n) FROM split_groups GROUP BY style',
            'raw',
          )
          .all(),
      );
      const decide = choose(totals);
      const page = this.s.query<[string, string, number, number]>(
        'split.groupsPage',
        `SELECT grp, style, n, h FROM split_groups WHERE (style, h, grp) > (?, ?, ?)
         ORDER BY style, h, grp LIMIT ?`,
        'raw',
      );
      const ins = this.s.query('split.insertValGroup', 'INSERT INTO val_groups (grp) VALUES (?)');
      // The hash is never negative: (style, -1, '') precedes every group, whatever its style.
      let after: [string, number, string] = ['', -1, ''];
      for (;;) {
        const rows = page.all(...after, pageSize);
        for (const [grp, style, n] of rows) if (decide(grp, style, n)) ins.run(grp);
        if (rows.length < pageSize) break;
        const [grp, style, , h] = rows.at(-1)!;
        after = [style, h, grp];
      }
      this.s.exec(
        'split.applyGroups',
        `UPDATE images SET split = CASE WHEN look_key IN (SELECT grp FROM val_groups) THEN 'val' ELSE 'train' END;
         DROP TABLE temp.val_groups;
         DROP TABLE temp.split_groups;`,
      );
      return totals;
    })();
  }

  /**
   * Images and items on each side of the split. Two plain counts rather than one COUNT(DISTINCT) over
   * images joined to items: the join's distinct count sorted every (image, item) pair, which made
   * this summary cost a scan more than the split itself.
   */
  counts(): SplitCounts[] {
    const items = new Map(
      this.s
        .query<[SplitCounts['split'], number]>(
          'split.itemCounts',
          `SELECT im.split, SUM((SELECT COUNT(*) FROM items it WHERE it.image_key = im.key))
           FROM images im GROUP BY im.split`,
          'raw',
        )
        .all(),
    );
    return this.s
      .query<{ split: SplitCounts['split']; images: number }>(
        'split.imageCounts',
        'SELECT split, COUNT(*) AS images FROM images GROUP BY split',
      )
      .all()
      .map((r) => ({ split: r.split, images: r.images, items: items.get(r.split) ?? 0 }));
  }
}
