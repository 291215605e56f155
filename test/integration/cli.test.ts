import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src-main/store/workspace.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';

const COMMANDS = ['demo', 'scan', 'split', 'crop', 'info', 'embed', 'train'];

describe('kfashion CLI', () => {
  it('lists its commands and has --help on every one', () => {
    const top = kfashion(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    for (const c of COMMANDS) {
      const r = kfashion([c, '--help']);
      expect(r.code, `${c} --help`).toBe(0);
      expect(r.stdout).toContain(`Usage: kfashion ${c}`);
      expect(r.stdout).toContain('--workspace');
    }
  });

  it('exits 2 on bad flags and says what was expected', () => {
    const noData = kfashion(['scan', '--workspace', 'x']);
    expect(noData.code).toBe(2);
    expect(noData.stderr).toContain("required option '--data <dir>' not specified");
    const badSeed = kfashion(['scan', '--data', 'x', '--workspace', 'y', '--seed', 'abc']);
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr).toContain('--seed expects a whole number >= 0, got "abc"');
    const badScale = kfashion(['demo', '--out', 'x', '--scale', 'huge']);
    expect(badScale.code).toBe(2);
    expect(badScale.stderr).toContain('--scale expects one of small, seed, got "huge"');
    const unknown = kfashion(['scan', '--data', 'x', '--workspace', 'y', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const noCmd = kfashion(['frobnicate']);
    expect(noCmd.code).toBe(2);
    expect(noCmd.stderr).toContain("unknown command 'frobnicate'");
  });

  it('exits 1 with the path and the expected layout for a missing data folder or workspace', () => {
    const ws = tempDir();
    try {
      const r = kfashion(['scan', '--data', '/no/such/kfashion', '--workspace', ws]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Data folder not found: /no/such/kfashion');
      expect(r.stderr).toContain('<root>/라벨링데이터/<style>/<id>.json');
      const info = kfashion(['info', '--workspace', join(ws, 'nothing-here')]);
      expect(info.code).toBe(1);
      expect(info.stderr).toContain('No workspace at');
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});

describe('kfashion scan / crop / info on a tree (worker threads parse, as shipped)', () => {
  let tree: FixtureTree;
  let ws: string;
  beforeAll(async () => {
    tree = new FixtureTree();
    ws = join(tempDir(), 'ws 작업');
    for (let i = 1; i <= 1200; i++) tree.addLabel(i % 2 ? '로맨틱' : '레트로', simpleLabel(i));
    tree.addRaw('로맨틱', 'broken.json', '{"이미지 정보": ');
    await tree.addImage('로맨틱', '1');
  });
  afterAll(() => {
    tree.cleanup();
    rmSync(join(ws, '..'), { recursive: true, force: true });
  });

  it('scans, prints a report per style, and --json gives the same numbers', () => {
    const human = kfashion(['scan', '--data', tree.root, '--workspace', ws]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/로맨틱\s+601\s+1\s+600\s+0/);
    expect(human.stdout).toMatch(/레트로\s+600\s+0\s+600\s+0/);
    expect(human.stdout).toContain('Skipped 1 label files');
    expect(human.stdout).toContain('broken.json');

    const json = kfashion(['scan', '--data', tree.root, '--workspace', ws, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.total).toMatchObject({ labels: 1200, garments: 1200, skippedFiles: 1, images: 1 });
    expect(report.skipped[0]).toMatchObject({ reason: 'invalid-json' });
    expect(report.split.valImages).toBe(240);
  });

  it('crops what has an image and summarises the workspace', () => {
    const crop = kfashion(['crop', '--workspace', ws, '--json']);
    expect(crop.code, crop.stderr).toBe(0);
    expect(JSON.parse(crop.stdout)).toMatchObject({ made: 1, noImage: 1199, failed: [] });
    const info = JSON.parse(kfashion(['info', '--workspace', ws, '--json']).stdout);
    expect(info).toMatchObject({ images: 1200, items: 1200, crops: 1, synthetic: false });
    expect(info.perStyle['로맨틱']).toMatchObject({ images: 600, items: 600 });
  });

  it('redraws the split with another seed, or takes it from a file', () => {
    const valKeys = () => {
      const w = Workspace.open(ws, { create: false });
      const keys = w.db.prepare(`SELECT key FROM images WHERE split = 'val' ORDER BY key`).pluck().all();
      w.close();
      return keys;
    };
    const before = JSON.parse(kfashion(['split', '--workspace', ws, '--seed', '42', '--json']).stdout);
    const seed42 = valKeys();
    const other = JSON.parse(kfashion(['split', '--workspace', ws, '--seed', '9', '--json']).stdout);
    expect(other.seed).toBe(9);
    expect(other.valImages).toBe(before.valImages);
    expect(valKeys()).not.toEqual(seed42);
    const file = join(tree.root, 'val.json');
    writeFileSync(file, JSON.stringify({ val: ['1', '2', 'nope'] }));
    const fromFile = kfashion(['split', '--workspace', ws, '--file', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('val 2 images');
    expect(fromFile.stdout).toContain('1 stems in the split file match no image');
  });
});

describe('kfashion demo', () => {
  it('writes a synthetic dataset whose embedding ids are exactly the garments the scan keeps', () => {
    const dir = tempDir();
    try {
      const out = join(dir, 'demo data');
      const ws = join(dir, 'ws');
      const r = kfashion(['demo', '--out', out, '--workspace', ws, '--json'], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const { demo, scan } = JSON.parse(r.stdout);
      expect(demo.synthetic).toBe(true);
      expect(scan.synthetic).toBe(true);
      expect(scan.total.skippedFiles).toBe(0);
      expect(scan.total.garments).toBe(demo.garments);
      expect(scan.total.excluded).toBe(demo.excludedGarments);
      expect(scan.total.images).toBe(demo.images);
      const ids: string[] = JSON.parse(readFileSync(join(out, 'image_embedding_ids.json'), 'utf8'));
      const info = kfashion(['info', '--workspace', ws]);
      expect(info.stdout).toContain('SYNTHETIC');
      const human = kfashion(['scan', '--data', out, '--workspace', ws]);
      expect(human.stdout.split('\n')[0]).toContain('SYNTHETIC DATA');
      // Every stand-in embedding belongs to a scanned garment, and every garment has one.
      const w = Workspace.open(ws, { create: false });
      const itemIds = w.db.prepare('SELECT id FROM items ORDER BY id').pluck().all() as string[];
      w.close();
      expect([...ids].sort()).toEqual(itemIds);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
