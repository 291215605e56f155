/** Re-scans and failure paths of the scan: what must never be lost or left stale. */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLabelsInline } from '../../src-main/dataset/label-file.ts';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { applySplit } from '../../src-main/dataset/split.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';

let tree: FixtureTree;
let dir: string;
let ws: Workspace;
beforeEach(() => {
  tree = new FixtureTree();
  dir = tempDir();
  ws = Workspace.open(join(dir, 'ws'));
});
afterEach(() => {
  ws.close();
  tree.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const keys = () => ws.db.prepare('SELECT key FROM images ORDER BY key').pluck().all() as string[];

describe('re-scan', () => {
  it('treats every entry point into one dataset as the same root, so stale rows go', async () => {
    for (let i = 1; i <= 3; i++) tree.addLabel('로맨틱', simpleLabel(i), { split: 'Training' });
    await scanDataset(ws, { data: join(tree.root, 'Training') });
    rmSync(join(tree.root, 'Training', '라벨링데이터', '로맨틱', '3.json'));
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.removedStale).toBe(1);
    expect(keys()).toEqual(['로맨틱/1', '로맨틱/2']);
    expect(ws.db.prepare('SELECT COUNT(*) FROM data_roots').pluck().get()).toBe(1);
    await scanDataset(ws, { data: join(tree.root, 'Training', '라벨링데이터', '로맨틱') });
    expect(ws.db.prepare('SELECT COUNT(*) FROM data_roots').pluck().get()).toBe(1);
  });

  it('drops a deleted style folder on a full re-scan, but not on a --styles scan of another style', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('레트로', simpleLabel(2));
    tree.addLabel('리조트', simpleLabel(3));
    await scanDataset(ws, { data: tree.root });
    rmSync(join(tree.root, '라벨링데이터', '레트로'), { recursive: true });
    await scanDataset(ws, { data: tree.root, styles: ['로맨틱'] });
    expect(keys()).toEqual(['레트로/2', '로맨틱/1', '리조트/3']);
    const full = await scanDataset(ws, { data: tree.root });
    expect(full.removedStale).toBe(1);
    expect(keys()).toEqual(['로맨틱/1', '리조트/3']);
  });

  it('keeps what an earlier scan stored for a label that cannot be read this time', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('로맨틱', simpleLabel(2));
    await scanDataset(ws, { data: tree.root });
    writeFileSync(join(tree.root, '라벨링데이터', '로맨틱', '2.json'), '{"half-written": ');
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.total.skippedFiles).toBe(1);
    expect(r.keptFromPreviousScan).toBe(1);
    expect(r.removedStale).toBe(0);
    expect(ws.db.prepare('SELECT id FROM items ORDER BY id').pluck().all()).toEqual([
      '로맨틱/1/상의',
      '로맨틱/2/상의',
    ]);
  });

  it('matches image extensions in any case', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    const img = await tree.addImage('로맨틱', '1');
    rmSync(img);
    await tree.addImage('로맨틱', 'tmp');
    const { renameSync } = await import('node:fs');
    renameSync(join(tree.imageDir('로맨틱'), 'tmp.jpg'), join(tree.imageDir('로맨틱'), '1.JPG'));
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.total.images).toBe(1);
  });
});

describe('failures during a scan', () => {
  it('re-reads a batch on this thread when its parse worker dies, losing nothing', async () => {
    for (let i = 1; i <= 600; i++) tree.addLabel('로맨틱', simpleLabel(i));
    let calls = 0;
    const r = await scanDataset(ws, {
      data: tree.root,
      inFlight: 3,
      readLabels: (paths) => {
        calls++;
        return calls === 2
          ? Promise.reject(new Error('worker thread exited with code 7'))
          : readLabelsInline(paths);
      },
    });
    expect(calls).toBeGreaterThan(2);
    expect(r.total.garments).toBe(600);
    expect(ws.db.prepare('SELECT status FROM scans').pluck().get()).toBe('done');
  });

  it('stops on a cancel even when the scan is smaller than one transaction', async () => {
    for (let i = 1; i <= 20; i++) tree.addLabel('로맨틱', simpleLabel(i));
    const abort = new AbortController();
    abort.abort();
    await expect(scanDataset(ws, { data: tree.root, signal: abort.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(ws.db.prepare('SELECT status FROM scans').pluck().get()).toBe('cancelled');
  });

  it('rejects a bad split file before reading any label, and the CLI creates no workspace', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"train": []}');
    await expect(scanDataset(ws, { data: tree.root, splitFile: bad })).rejects.toThrow(/"val" list/);
    expect(ws.db.prepare('SELECT COUNT(*) FROM scans').pluck().get()).toBe(0);
    const cliWs = join(dir, 'never-made');
    const r = kfashion(['scan', '--data', tree.root, '--workspace', cliWs, '--split', bad]);
    expect(r.code).toBe(1);
    expect(existsSync(cliWs)).toBe(false);
    const typo = kfashion(['scan', '--data', join(dir, 'typo'), '--workspace', cliWs]);
    expect(typo.code).toBe(1);
    expect(existsSync(cliWs)).toBe(false);
  });
});

describe('seeded split with a large look', () => {
  it('still gives the style validation images, never more than its share', async () => {
    for (let i = 1; i <= 5; i++) tree.addLabel('로맨틱', simpleLabel(i, { shopFile: `Big_001_0${i}.jpg` }));
    for (let i = 6; i <= 10; i++) tree.addLabel('로맨틱', simpleLabel(i));
    await scanDataset(ws, { data: tree.root });
    for (let seed = 0; seed < 12; seed++) {
      const s = applySplit(ws.db, { seed });
      expect(s.valImages, `seed ${seed}`).toBe(2);
      expect(s.warnings).toEqual([]);
    }
  });

  it('warns when a style cannot get any validation image', async () => {
    for (let i = 1; i <= 3; i++) tree.addLabel('로맨틱', simpleLabel(i, { shopFile: `Big_001_0${i}.jpg` }));
    await scanDataset(ws, { data: tree.root });
    const s = applySplit(ws.db, { seed: 1 });
    expect(s.valImages).toBe(0);
    expect(s.warnings[0]).toContain('로맨틱: no validation images');
  });
});
