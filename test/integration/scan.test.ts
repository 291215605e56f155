import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCrops } from '../../src-main/dataset/crops.ts';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { loadVocabulary } from '../../src-main/dataset/vocabulary.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import { FixtureTree, labelJson, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';

let tree: FixtureTree;
let wsDir: string;
let ws: Workspace;

beforeEach(() => {
  tree = new FixtureTree();
  wsDir = join(tempDir('kf-ws '), '작업 공간');
  ws = Workspace.open(wsDir);
});
afterEach(() => {
  ws.close();
  tree.cleanup();
  rmSync(join(wsDir, '..'), { recursive: true, force: true });
});

const itemIds = () => ws.db.prepare('SELECT id FROM items ORDER BY id').pluck().all() as string[];

describe('scan', () => {
  it('stores garments with stable ids, matches images by stem then by 이미지 식별자, and reports counts', async () => {
    tree.addLabel('로맨틱', simpleLabel(100026));
    await tree.addImage('로맨틱', '100026');
    // A release-style name whose image is named by 이미지 식별자.
    tree.addLabel('로맨틱', simpleLabel(555), { stem: '(116)IMG_1' });
    await tree.addImage('로맨틱', '555');
    // No image at all.
    tree.addLabel('레트로', simpleLabel(7));
    const report = await scanDataset(ws, { data: tree.root });

    expect(itemIds()).toEqual(['레트로/7/상의', '로맨틱/(116)IMG_1/상의', '로맨틱/100026/상의']);
    expect(report.total).toMatchObject({ labels: 3, images: 2, garments: 3, excluded: 0, skippedFiles: 0 });
    expect(report.perStyle['로맨틱']).toMatchObject({ labels: 2, images: 2 });
    const store = new DatasetStore(ws.db);
    expect(store.getItem('로맨틱/(116)IMG_1/상의')?.imagePath).toBe(
      join(tree.root, '원천데이터', '로맨틱', '555.jpg'),
    );
    expect(store.getItem('레트로/7/상의')?.imagePath).toBeNull();
    expect(report.synthetic).toBe(false);
  });

  it('skips malformed files with their reason and keeps going', async () => {
    for (let i = 1; i <= 5; i++) tree.addLabel('리조트', simpleLabel(i));
    const truncated = tree.addRaw(
      '리조트',
      'trunc.json',
      JSON.stringify(labelJson(simpleLabel(90))).slice(0, 200),
    );
    const badBytes = tree.addRaw(
      '리조트',
      'bytes.json',
      new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]),
    );
    const wrongType = tree.addRaw(
      '리조트',
      'types.json',
      JSON.stringify(labelJson({ ...simpleLabel(91), labels: { 상의: { 소재: 5 } } })),
    );
    const missing = tree.addRaw('리조트', 'nosection.json', JSON.stringify({ '이미지 정보': {} }));
    tree.addRaw('리조트', 'empty.json', '');
    const report = await scanDataset(ws, { data: tree.root });

    expect(report.total.garments).toBe(5);
    expect(report.total.skippedFiles).toBe(5);
    const byPath = Object.fromEntries(report.skipped.map((s) => [s.path, s]));
    expect(byPath[truncated]?.reason).toBe('invalid-json');
    expect(byPath[badBytes]?.reason).toBe('bad-encoding');
    expect(byPath[wrongType]).toMatchObject({ reason: 'bad-structure' });
    expect(byPath[wrongType]?.detail).toContain('라벨링.상의[0].소재');
    expect(byPath[missing]?.detail).toContain('데이터셋 정보');
    const stored = ws.db.prepare('SELECT COUNT(*) FROM skipped_files').pluck().get();
    expect(stored).toBe(5);
  });

  it('counts excluded garments per reason and per style', async () => {
    tree.addLabel('레트로', { ...simpleLabel(1), polygons: {}, rects: { 상의: { x: 1, y: 1, w: 0, h: 9 } } });
    tree.addLabel('레트로', { ...simpleLabel(2), polygons: {}, rects: {} });
    tree.addLabel('레트로', { ...simpleLabel(3), labels: {} });
    tree.addLabel('레트로', simpleLabel(4));
    const report = await scanDataset(ws, { data: tree.root });
    expect(report.perStyle['레트로']).toMatchObject({
      garments: 1,
      excluded: 3,
      excludedByReason: { 'degenerate-box': 1, 'no-box': 1, 'no-attributes': 1 },
    });
  });

  it('names the path tried and the layout expected when the folder is missing or empty', async () => {
    const nowhere = join(tree.root, 'nope');
    await expect(scanDataset(ws, { data: nowhere })).rejects.toThrow(`Data folder not found: ${nowhere}`);
    await expect(scanDataset(ws, { data: nowhere })).rejects.toThrow('라벨링데이터/<style>/<id>.json');
    await expect(scanDataset(ws, { data: tree.root })).rejects.toThrow(
      `No 라벨링데이터 folder found in ${tree.root}`,
    );
    await expect(scanDataset(ws, { data: ' ' })).rejects.toThrow('The data folder path is empty.');
    tree.labelDir('로맨틱');
    await expect(scanDataset(ws, { data: tree.root })).rejects.toThrow('No label files (*.json) found under');
  });

  it('accepts the root, the 라벨링데이터 folder, a Training/Validation root and a split folder', async () => {
    tree.addLabel('로맨틱', simpleLabel(1), { split: 'Training' });
    tree.addLabel('로맨틱', simpleLabel(2), { split: 'Validation' });
    await tree.addImage('로맨틱', '2', 80, 100, 'Validation');
    const both = await scanDataset(ws, { data: tree.root });
    expect(both.total.labels).toBe(2);
    expect(both.total.images).toBe(1);
    const one = await scanDataset(ws, { data: join(tree.root, 'Validation') });
    expect(one.total.labels).toBe(1);
    const labelsDir = await scanDataset(ws, { data: join(tree.root, 'Training', '라벨링데이터') });
    expect(labelsDir.total.labels).toBe(1);
  });

  it('filters by --styles and refuses an unknown style with the available ones', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('레트로', simpleLabel(2));
    tree.addLabel('기타', simpleLabel(3, { style: null }));
    const r = await scanDataset(ws, { data: tree.root, styles: ['레트로'] });
    expect(Object.keys(r.perStyle)).toEqual(['레트로']);
    await expect(scanDataset(ws, { data: tree.root, styles: ['모던'] })).rejects.toThrow(
      /no style folder named 모던.*Available: 기타, 레트로, 로맨틱/,
    );
  });

  it('is idempotent, picks up edits, and removes what disappeared', async () => {
    for (let i = 1; i <= 4; i++) tree.addLabel('로맨틱', simpleLabel(i));
    const first = await scanDataset(ws, { data: tree.root });
    const snapshot = () => ws.db.prepare('SELECT id, attributes, box_x FROM items ORDER BY id').all();
    const split1 = ws.db.prepare('SELECT key, split FROM images ORDER BY key').all();
    const items1 = snapshot();
    const again = await scanDataset(ws, { data: tree.root });
    expect(snapshot()).toEqual(items1);
    expect(ws.db.prepare('SELECT key, split FROM images ORDER BY key').all()).toEqual(split1);
    expect(again.total).toEqual(first.total);

    tree.addLabel('로맨틱', { ...simpleLabel(2), labels: { 상의: { 카테고리: '셔츠' } } });
    rmSync(join(tree.root, '라벨링데이터', '로맨틱', '4.json'));
    const third = await scanDataset(ws, { data: tree.root });
    expect(third.removedStale).toBe(1);
    expect(itemIds()).toEqual(['로맨틱/1/상의', '로맨틱/2/상의', '로맨틱/3/상의']);
    const cat = ws.db.prepare(`SELECT category FROM items WHERE id = '로맨틱/2/상의'`).pluck().get();
    expect(cat).toBe('셔츠');
  });

  it('removes a garment dropped from a label on re-scan', async () => {
    tree.addLabel('로맨틱', {
      ...simpleLabel(1),
      labels: { 상의: { 카테고리: '셔츠' }, 하의: { 카테고리: '스커트' } },
      polygons: {
        상의: [
          [0, 0],
          [10, 0],
          [10, 10],
        ],
        하의: [
          [0, 20],
          [10, 20],
          [10, 40],
        ],
      },
    });
    await scanDataset(ws, { data: tree.root });
    expect(itemIds()).toEqual(['로맨틱/1/상의', '로맨틱/1/하의']);
    tree.addLabel('로맨틱', { ...simpleLabel(1), labels: { 상의: { 카테고리: '셔츠' } } });
    await scanDataset(ws, { data: tree.root });
    expect(itemIds()).toEqual(['로맨틱/1/상의']);
  });

  it('reports a label stem seen twice (Training and Validation) as a duplicate, once', async () => {
    tree.addLabel('로맨틱', simpleLabel(1), { split: 'Training' });
    tree.addLabel('로맨틱', simpleLabel(1), { split: 'Validation' });
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.total.labels).toBe(1);
    expect(r.skipped.map((s) => s.reason)).toEqual(['duplicate-id']);
  });

  it('builds the vocabulary with pad, unk, the published values first, and extras after', async () => {
    tree.addLabel('로맨틱', {
      ...simpleLabel(1),
      labels: { 상의: { 카테고리: '블라우스', 소재: ['우븐', '신소재'] } },
    });
    await scanDataset(ws, { data: tree.root });
    const v = loadVocabulary(ws.db)!;
    expect(v.material.slice(0, 3).map((e) => e.value)).toEqual(['<pad>', '<unk>', '우븐']);
    expect(v.material.at(-1)).toEqual({ value: '신소재', count: 1, known: false });
    expect(v.category.find((e) => e.value === '블라우스')?.count).toBe(1);
  });

  it('stores what it read before a cancel and finishes on the next run', async () => {
    for (let i = 1; i <= 2500; i++) tree.addLabel('로맨틱', simpleLabel(i));
    const abort = new AbortController();
    let progressCalls = 0;
    const run = scanDataset(ws, {
      data: tree.root,
      signal: abort.signal,
      onProgress: (phase) => {
        if (phase === 'scan' && ++progressCalls === 1) abort.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    const kept = ws.db.prepare('SELECT COUNT(*) FROM items').pluck().get() as number;
    expect(kept).toBe(1000);
    expect(ws.db.prepare('SELECT status FROM scans').pluck().get()).toBe('cancelled');
    const done = await scanDataset(ws, { data: tree.root });
    expect(done.total.garments).toBe(2500);
  });
});

describe('split', () => {
  it('is 80/20 per style, keeps garments of an image and shots of a look together, and is seeded', async () => {
    // 60 looks of 3 shots + 120 single images, two garments each.
    const two = (id: number, shopFile: string) => ({
      ...simpleLabel(id, { shopFile }),
      labels: { 상의: { 카테고리: '셔츠' }, 하의: { 카테고리: '팬츠' } },
      polygons: {
        상의: [
          [0, 0],
          [10, 0],
          [10, 10],
        ] as [number, number][],
        하의: [
          [0, 20],
          [10, 20],
          [10, 40],
        ] as [number, number][],
      },
    });
    let id = 1;
    for (let look = 0; look < 60; look++)
      for (let shot = 1; shot <= 3; shot++) tree.addLabel('로맨틱', two(id++, `Shop_${look}_0${shot}.jpg`));
    for (let i = 0; i < 120; i++) tree.addLabel('리조트', two(id++, `IMG_${i}.jpg`));
    const r = await scanDataset(ws, { data: tree.root, seed: 3 });
    const perStyle = ws.db
      .prepare(`SELECT style_folder s, SUM(split = 'val') v, COUNT(*) n FROM images GROUP BY s`)
      .all() as { s: string; v: number; n: number }[];
    for (const p of perStyle) {
      expect(p.v).toBeLessThanOrEqual(Math.round(p.n * 0.2));
      expect(p.v).toBeGreaterThanOrEqual(Math.round(p.n * 0.2) - 2);
    }
    expect(r.split.valImages + r.split.trainImages).toBe(300);
    const looksSplit = ws.db
      .prepare(
        `SELECT COUNT(*) FROM (SELECT look_key FROM images GROUP BY look_key HAVING COUNT(DISTINCT split) > 1)`,
      )
      .pluck()
      .get();
    expect(looksSplit).toBe(0);
    const sides = ws.db
      .prepare('SELECT DISTINCT im.split FROM items it JOIN images im ON im.key = it.image_key')
      .pluck()
      .all();
    expect(sides.sort()).toEqual(['train', 'val']);
    expect(r.split.valItems).toBe(r.split.valImages * 2);

    const valOf = () =>
      ws.db.prepare(`SELECT key FROM images WHERE split = 'val' ORDER BY key`).pluck().all();
    const seed3 = valOf();
    await scanDataset(ws, { data: tree.root, seed: 4 });
    expect(valOf()).not.toEqual(seed3);
    await scanDataset(ws, { data: tree.root, seed: 3 });
    expect(valOf()).toEqual(seed3);
  });

  it('takes a split file, reports unknown stems, and re-applies it on the next scan', async () => {
    for (let i = 1; i <= 10; i++) tree.addLabel('로맨틱', simpleLabel(i));
    tree.addLabel('로맨틱', simpleLabel(999), { stem: '(1)IMG_1' });
    const splitFile = join(tree.root, 'split.json');
    writeFileSync(splitFile, JSON.stringify({ val: ['2', '5.json', '(1)IMG_1', 'ghost'] }));
    const r = await scanDataset(ws, { data: tree.root, splitFile });
    expect(r.split).toMatchObject({
      method: 'file',
      valImages: 3,
      trainImages: 8,
      unknownStemCount: 1,
      unknownStems: ['ghost'],
    });
    const val = () => ws.db.prepare(`SELECT key FROM images WHERE split = 'val' ORDER BY key`).pluck().all();
    expect(val()).toEqual(['로맨틱/(1)IMG_1', '로맨틱/2', '로맨틱/5']);
    const again = await scanDataset(ws, { data: tree.root });
    expect(again.split.method).toBe('file');
    expect(val()).toEqual(['로맨틱/(1)IMG_1', '로맨틱/2', '로맨틱/5']);

    writeFileSync(splitFile, '{"train": []}');
    await expect(scanDataset(ws, { data: tree.root, splitFile })).rejects.toThrow(
      /expected an object with a "val" list/,
    );
  });
});

describe('crops', () => {
  it('cuts exactly the box region, caches it, and redoes it when the box changes', async () => {
    // A 200×160 image, grey, with a red rectangle exactly where the garment's box is.
    const img = join(tree.imageDir('로맨틱'), '1.jpg');
    const red = await sharp({ create: { width: 60, height: 70, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    await sharp({ create: { width: 200, height: 160, channels: 3, background: '#808080' } })
      .composite([{ input: red, left: 30, top: 40 }])
      .jpeg({ quality: 95 })
      .toFile(img);
    const poly: [number, number][] = [
      [30, 40],
      [90, 40],
      [90, 110],
      [30, 110],
    ];
    tree.addLabel('로맨틱', { ...simpleLabel(1), width: 200, height: 160, polygons: { 상의: poly } });
    await scanDataset(ws, { data: tree.root });

    const first = await ensureCrops(ws);
    expect(first).toMatchObject({ total: 1, made: 1, cached: 0, failed: [] });
    const cropFile = join(wsDir, 'crops', '로맨틱', '1__상의.jpg');
    const meta = await sharp(cropFile).metadata();
    expect([meta.width, meta.height]).toEqual([60, 70]);
    const stats = await sharp(cropFile).stats();
    expect(stats.channels[0]!.mean).toBeGreaterThan(230); // red everywhere: the crop is the box
    expect(stats.channels[1]!.mean).toBeLessThan(30);

    expect(await ensureCrops(ws)).toMatchObject({ made: 0, cached: 1 });

    tree.addLabel('로맨틱', {
      ...simpleLabel(1),
      width: 200,
      height: 160,
      polygons: {
        상의: [
          [0, 0],
          [200, 0],
          [200, 160],
        ],
      },
    });
    await scanDataset(ws, { data: tree.root });
    expect(await ensureCrops(ws)).toMatchObject({ made: 1, cached: 0 });
    expect((await sharp(cropFile).metadata()).width).toBe(200);

    // Replacing the image file (new mtime) redoes the crop too.
    utimesSync(img, new Date(), new Date(Date.now() + 5000));
    expect(await ensureCrops(ws)).toMatchObject({ made: 1 });
  });

  it('scales the box when the image file is smaller than the label says, and reports missing images', async () => {
    await tree.addImage('로맨틱', '1', 100, 80); // label says 200×160
    tree.addLabel('로맨틱', {
      ...simpleLabel(1),
      width: 200,
      height: 160,
      polygons: {
        상의: [
          [20, 20],
          [120, 20],
          [120, 100],
          [20, 100],
        ],
      },
    });
    tree.addLabel('로맨틱', simpleLabel(2)); // no image
    await scanDataset(ws, { data: tree.root });
    const s = await ensureCrops(ws);
    expect(s).toMatchObject({ made: 1, noImage: 1 });
    const meta = await sharp(join(wsDir, 'crops', '로맨틱', '1__상의.jpg')).metadata();
    expect([meta.width, meta.height]).toEqual([50, 40]);
    expect(existsSync(join(wsDir, 'crops', '로맨틱', '2__상의.jpg'))).toBe(false);
  });
});
