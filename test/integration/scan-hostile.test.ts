/** A scan that one file or folder cannot stop: hostile folders, names, coordinates, and the report files. */
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatScanReport } from '../../src-main/cli/format-reports.ts';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { FixtureTree, labelJson, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import {
  checkFuzzScan,
  readFuzzOutcome,
  stderrWithoutSlowQueries,
  writeFuzzTree,
} from '../helpers/label-fuzzer.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { handOver, unprivilegedUser } from '../helpers/unprivileged.ts';

let tree: FixtureTree;
let dir: string;
let ws: Workspace;
beforeEach(() => {
  tree = new FixtureTree();
  dir = tempDir('kf-hostile-');
  ws = Workspace.open(join(dir, 'ws'));
});
afterEach(() => {
  ws.close();
  // chmod 000 folders cannot be removed by a non-root user until they are opened again.
  for (const d of [tree.root, dir]) {
    try {
      chmodTree(d);
    } catch {}
  }
  tree.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
function chmodTree(d: string): void {
  chmodSync(d, 0o755);
  for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) chmodTree(join(d, e.name));
}

const keys = () => ws.db.prepare('SELECT key FROM images ORDER BY key').pluck().all() as string[];
const labels = (style: string) => join(tree.root, '라벨링데이터', style);

describe('style folders that cannot be read', () => {
  it('are skipped with their path and reason (dangling, looping, `..`, outside, twice linked) and the rest is scanned', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('레트로', simpleLabel(2));
    const outside = join(dir, 'elsewhere');
    mkdirSync(outside);
    writeFileSync(join(outside, '9.json'), JSON.stringify(labelJson(simpleLabel(9))));
    const root = join(tree.root, '라벨링데이터');
    symlinkSync('no-such-folder', join(root, 'dangling_style'));
    symlinkSync('loop_b', join(root, 'loop_a'));
    symlinkSync('loop_a', join(root, 'loop_b'));
    symlinkSync('..', join(root, 'up_style'));
    symlinkSync(outside, join(root, 'outside_style'));
    symlinkSync('로맨틱', join(root, 'again_style'));

    const r = await scanDataset(ws, { data: tree.root });
    expect(keys()).toEqual(['레트로/2', '로맨틱/1']);
    expect(Object.keys(r.perStyle).sort()).toEqual(['레트로', '로맨틱']);
    const byPath = Object.fromEntries((r.skippedFolders ?? []).map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(
      ['again_style', 'dangling_style', 'loop_a', 'loop_b', 'outside_style', 'up_style'].map((n) =>
        join(root, n),
      ),
    );
    expect(byPath[join(root, 'dangling_style')]).toMatchObject({
      reason: 'folder-unreadable',
      detail: expect.stringContaining('(ENOENT)'),
    });
    expect(byPath[join(root, 'loop_a')]).toMatchObject({
      reason: 'folder-unreadable',
      detail: expect.stringContaining('symbolic link loop (ELOOP)'),
    });
    expect(byPath[join(root, 'up_style')]).toMatchObject({
      reason: 'link-not-followed',
      detail: expect.stringContaining('holds the label folder itself'),
    });
    expect(byPath[join(root, 'outside_style')]).toMatchObject({
      reason: 'link-not-followed',
      detail: expect.stringContaining('outside the data root'),
    });
    expect(byPath[join(root, 'again_style')]).toMatchObject({
      reason: 'link-not-followed',
      detail: expect.stringContaining(`as the style folder ${join(root, '로맨틱')}`),
    });
    // Stored for every face (the UI lists skipped_files), not counted as skipped label files.
    expect(r.total.skippedFiles).toBe(0);
    expect(ws.db.prepare('SELECT COUNT(*) FROM skipped_files').pluck().get()).toBe(6);
  });

  it('keep what an earlier scan stored from them', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('로맨틱', simpleLabel(2));
    tree.addLabel('레트로', simpleLabel(3));
    await scanDataset(ws, { data: tree.root });
    // The folder moves to a disk that is not mounted now: a dangling link in its place.
    renameSync(labels('로맨틱'), join(dir, 'unmounted'));
    symlinkSync(join(dir, 'unmounted-gone'), labels('로맨틱'));
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.skippedFolders?.map((f) => f.reason)).toEqual(['folder-unreadable']);
    expect(r.keptFromPreviousScan).toBe(2);
    expect(r.removedStale).toBe(0);
    expect(keys()).toEqual(['레트로/3', '로맨틱/1', '로맨틱/2']);
  });

  it('say why there is nothing to scan when every style folder is bad', async () => {
    mkdirSync(join(tree.root, '라벨링데이터'), { recursive: true });
    symlinkSync('nowhere', join(tree.root, '라벨링데이터', '로맨틱'));
    await expect(scanDataset(ws, { data: tree.root })).rejects.toThrow(
      /Style folders that could not be read:\n {2}.*로맨틱: the style folder cannot be reached: not found: a dangling symbolic link/,
    );
  });
});

describe('label files', () => {
  it('that differ only in case are reported as case twins, none is read, and the earlier label is kept', async () => {
    tree.addLabel('로맨틱', simpleLabel(1), { stem: 'X' });
    tree.addLabel('로맨틱', simpleLabel(2));
    await scanDataset(ws, { data: tree.root });
    expect(keys()).toEqual(['로맨틱/2', '로맨틱/X']);
    tree.addRaw(
      '로맨틱',
      'X.JSON',
      JSON.stringify(labelJson({ ...simpleLabel(1), labels: { 상의: { 카테고리: '셔츠' } } })),
    );
    tree.addRaw('로맨틱', 'X.Json', '{"broken": ');
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.skipped.map((s) => [s.path, s.reason]).sort()).toEqual(
      ['X.JSON', 'X.Json', 'X.json'].map((n) => [join(labels('로맨틱'), n), 'case-twin']),
    );
    for (const s of r.skipped) {
      expect(s.detail).toMatch(/^X\.\w+, X\.\w+, X\.\w+ differ only in letter case; none of them is read/);
      expect(s.detail).not.toContain('another folder');
    }
    // Neither twin replaced the stored label.
    expect(keys()).toEqual(['로맨틱/2', '로맨틱/X']);
    expect(ws.db.prepare(`SELECT category FROM items WHERE id = '로맨틱/X/상의'`).pluck().get()).toBe(
      '블라우스',
    );
    expect(r.keptFromPreviousScan).toBe(1);
  });

  it('that leave the data root by a link are not followed; loops and dangling links are unreadable', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    const outside = join(dir, 'secret.json');
    writeFileSync(outside, JSON.stringify(labelJson(simpleLabel(7))));
    symlinkSync(outside, join(labels('로맨틱'), 'out.json'));
    symlinkSync('1.json', join(labels('로맨틱'), 'inside.json')); // inside the root: read
    symlinkSync('b.json', join(labels('로맨틱'), 'a.json'));
    symlinkSync('a.json', join(labels('로맨틱'), 'b.json'));
    symlinkSync('gone.json', join(labels('로맨틱'), 'dangling.json'));
    const r = await scanDataset(ws, { data: tree.root });
    const reasons = Object.fromEntries(
      r.skipped.map((s) => [s.path.slice(labels('로맨틱').length + 1), s.reason]),
    );
    expect(reasons).toEqual({
      'out.json': 'link-not-followed',
      'a.json': 'unreadable',
      'b.json': 'unreadable',
      'dangling.json': 'unreadable',
    });
    expect(keys()).toEqual(['로맨틱/1', '로맨틱/inside']);
  });

  it('with a coordinate far outside the image store no garment for it, and say so', async () => {
    const file = tree.addLabel('로맨틱', {
      ...simpleLabel(1),
      labels: { 상의: { 카테고리: '셔츠' }, 하의: { 카테고리: '스커트' } },
      polygons: {
        상의: [
          [10, 10],
          [50, 10],
          [50, 60],
        ],
        하의: [
          [10, 10],
          [77777, 10],
          [50, 60],
        ],
      },
    });
    // 2⁵³ + 1, the hostile label's value, as text: it is no JavaScript number.
    writeFileSync(file, readFileSync(file, 'utf8').replace('77777', '9007199254740993'));
    const r = await scanDataset(ws, { data: tree.root });
    expect(ws.db.prepare('SELECT id FROM items').pluck().all()).toEqual(['로맨틱/1/상의']);
    expect(r.total.excludedByReason).toEqual({ 'bad-coordinates': 1 });
    const max = ws.db.prepare('SELECT MAX(box_x + box_w) FROM items').pluck().get() as number;
    expect(max).toBeLessThanOrEqual(80);
    const report = JSON.parse(readFileSync(r.reportFiles!.json, 'utf8'));
    expect(report.excludedGarments).toEqual([
      {
        path: join(labels('로맨틱'), '1.json'),
        style: '로맨틱',
        item: '로맨틱/1/하의',
        reason: 'bad-coordinates',
        detail: expect.stringContaining(
          'X좌표2": 9007199254740992 lies more than 2 × the image width (80 px)',
        ),
      },
    ]);
  });
});

describe('the report files', () => {
  it('list every skipped file and excluded garment in results/scan_report.json and .csv, written whole', async () => {
    for (let i = 1; i <= 3; i++) tree.addLabel('로맨틱', simpleLabel(i));
    for (let i = 0; i < 150; i++) tree.addRaw('로맨틱', `bad${i}.json`, i % 2 ? '' : '{"a": ');
    tree.addRaw('로맨틱', '=cmd,"x".json', '[]'); // a name a spreadsheet would run, with a comma and quotes
    tree.addLabel('레트로', { ...simpleLabel(4), polygons: {}, rects: {} }); // no-box
    const r = await scanDataset(ws, { data: tree.root });
    expect(r.skipped).toHaveLength(100); // the in-memory list stays short
    expect(r.reportFiles).toEqual({
      json: join(ws.root, 'results', 'scan_report.json'),
      csv: join(ws.root, 'results', 'scan_report.csv'),
    });
    const report = JSON.parse(readFileSync(r.reportFiles!.json, 'utf8'));
    expect(report).toMatchObject({
      kind: 'kfashion-scan-report',
      status: 'done',
      dataRoot: tree.root,
      counts: { skippedFolders: 0, skippedFiles: 151, excludedGarments: 1 },
    });
    expect(report.skippedFiles).toHaveLength(151);
    expect(new Set(report.skippedFiles.map((s: { path: string }) => s.path)).size).toBe(151);
    expect(report.excludedGarments).toEqual([
      expect.objectContaining({
        item: '레트로/4/상의',
        reason: 'no-box',
        detail: 'neither a polygon nor a rect',
      }),
    ]);
    const csv = readFileSync(r.reportFiles!.csv, 'utf8').split('\r\n');
    expect(csv[0]).toBe('kind,path,style,item,reason,detail');
    expect(csv.filter((l) => l.startsWith('skipped-file,'))).toHaveLength(151);
    expect(csv.filter((l) => l.startsWith('excluded-garment,'))).toHaveLength(1);
    const odd = csv.find((l) => l.includes('=cmd'))!;
    expect(odd).toContain(`"${join(labels('로맨틱'), '=cmd,""x"".json')}"`);
    expect(readdirSync(join(ws.root, 'results'))).toEqual(['scan_report.csv', 'scan_report.json']);

    // A second scan replaces both files.
    rmSync(join(labels('로맨틱'), 'bad0.json'));
    await scanDataset(ws, { data: tree.root });
    expect(JSON.parse(readFileSync(r.reportFiles!.json, 'utf8')).counts.skippedFiles).toBe(150);
  });
});

describe('the printed report', () => {
  it('shows control characters in file names as \\xNN, so a name cannot drive the terminal', async () => {
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addRaw('로맨틱', 'evil\u001b[2J\u0007.json', '');
    const r = await scanDataset(ws, { data: tree.root });
    const text = formatScanReport(r);
    expect(text).toContain('evil\\x1b[2J\\x07.json');
    expect(text).not.toContain('\u001b');
  });
});

describe('a hostile scan at volume', () => {
  it('scans 2,000 hostile files plus one label with a 1.5M-entry 디테일 list in seconds, keeping every good file', async () => {
    const root = join(dir, 'fuzz');
    const fuzz = writeFuzzTree(root, {
      files: 2000,
      seed: 7,
      permissionsBind: false,
      outside: join(dir, 'out'),
    });
    const huge = join(root, 'Training', '라벨링데이터', '로맨틱', 'huge.json');
    const text = JSON.stringify(labelJson(simpleLabel(1))).replace(
      '"디테일":["셔링"]',
      `"디테일":[${'"포켓",'.repeat(1_500_000 - 1)}"셔링"]`,
    );
    writeFileSync(huge, text);
    fuzz.files.push({ path: huge, kind: '1.5M-entry list', skip: ['too-large'] });

    const t0 = performance.now();
    const r = await scanDataset(ws, { data: root });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `2,000 hostile files + one ${(Buffer.byteLength(text) / 2 ** 20).toFixed(1)} MB label with 1.5M list entries: ${seconds.toFixed(1)} s`,
    );
    expect(seconds).toBeLessThan(20);
    expect(checkFuzzScan(fuzz, readFuzzOutcome(ws.root))).toEqual([]);
    expect(r.total.labels).toBeGreaterThan(500);
  }, 60_000);
});

describe('the CLI', () => {
  it('reports a style folder and a file it may not read (EACCES), scans the rest, exits 0, and says where the full list is', () => {
    const home = join(dir, 'home');
    mkdirSync(home);
    chmodSync(dir, 0o755); // mkdtemp's 0700 would shut the unprivileged user out
    tree.addLabel('로맨틱', simpleLabel(1));
    tree.addLabel('레트로', simpleLabel(2));
    const locked = tree.addLabel('레트로', simpleLabel(3));
    const wsDir = join(dir, 'cli-ws');
    mkdirSync(wsDir);
    const user = unprivilegedUser(home);
    handOver(tree.root, user);
    handOver(wsDir, user);
    handOver(home, user);
    chmodSync(labels('로맨틱'), 0o000);
    chmodSync(locked, 0o000);
    if (user) console.log('running as root: the CLI runs as nobody so that chmod 000 denies it');

    const r = kfashion(['scan', '--data', tree.root, '--workspace', join(wsDir, 'w')], { user });
    expect(stderrWithoutSlowQueries(r.stderr)).not.toMatch(/kfashion:|Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `Skipped 1 folders (the scan went on without them):\n  ${labels('로맨틱')}\n    folder-unreadable: the style folder cannot be listed: permission denied (EACCES)`,
    );
    expect(r.stdout).toContain(`${locked}\n    unreadable: permission denied (EACCES)`);
    expect(r.stdout).toContain(
      `with its reason: ${join(wsDir, 'w', 'results', 'scan_report.json')} (and ${join(wsDir, 'w', 'results', 'scan_report.csv')})`,
    );
    const json = kfashion(['scan', '--data', tree.root, '--workspace', join(wsDir, 'w'), '--json'], { user });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.total).toMatchObject({ labels: 1, skippedFiles: 1 });
    expect(report.skippedFolders).toEqual([
      {
        path: labels('로맨틱'),
        reason: 'folder-unreadable',
        detail: 'the style folder cannot be listed: permission denied (EACCES); its labels were not read',
      },
    ]);
  });
});
