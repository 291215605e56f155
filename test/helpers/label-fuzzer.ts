/**
 * A label-file fuzzer: writes a K-Fashion tree (Training/Validation, three styles) of good label files
 * mixed with hostile ones, and records what the scan must do with each: keep it with so many garments,
 * or skip it with one of the given reasons. `checkFuzzScan` compares a scan's outcome with that record.
 *
 * Hostile kinds: truncated JSON, wrong types, numbers too large for a double, NaN strings, BOM (good
 * when the rest is good), invalid UTF-8, 0-byte and blank files, files over the size bound (sparse
 * ones cost no disk), deeply nested lists, lists of too many values, overlong values, duplicate ids
 * across Training/Validation, names that differ only by case, symbolic-link loops, dangling links and
 * links out of the dataset, unreadable files and style folders (only where permissions bind), far-out
 * coordinates, and style folders that loop, dangle, point at their parents or out of the dataset.
 */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ExclusionReason, SkipReason } from '../../src-shared/dataset.ts';
import { type LabelSpec, labelJson, simpleLabel } from './kfashion-fixture.ts';

export interface FuzzFile {
  path: string;
  kind: string;
  /** For a kept file: its image key and garment count (and the parts excluded, by reason). */
  keep?: { key: string; garments: number; excluded: ExclusionReason[] };
  /** For a skipped file: the reasons any of which is right. */
  skip?: SkipReason[];
}

export interface FuzzFolder {
  path: string;
  kind: string;
  skip: SkipReason[];
}

export interface FuzzTree {
  root: string;
  files: FuzzFile[];
  folders: FuzzFolder[];
  /** Kinds left out, with why (e.g. permissions do not bind for root). */
  notGenerated: string[];
}

export interface FuzzOptions {
  files: number;
  seed?: number;
  /** Share of good files (default 0.4). */
  good?: number;
  /** Whether chmod 000 denies the process that will scan (false for root). */
  permissionsBind: boolean;
  /** A folder outside `root` for links that leave the dataset (created). */
  outside: string;
}

const STYLES = ['레트로', '로맨틱', '리조트'];
const SPLITS = ['Training', 'Validation'];
/** 9 MB: over the 8 MB bound. Written sparse (truncate), so it costs no disk. */
const OVERSIZED = 9 * 1024 * 1024;

/** A small seeded generator (mulberry32): the same seed writes the same tree. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = (ctx: Ctx) => void;
interface Ctx {
  id: number;
  dir: string;
  style: string;
  split: string;
  rand: () => number;
  add(f: AddArgs): string;
}

const text = (spec: LabelSpec) => JSON.stringify(labelJson(spec));
const goodSpec = (id: number, rand: () => number): LabelSpec => {
  const two = rand() < 0.5;
  return two
    ? {
        ...simpleLabel(id, { shopFile: `Shop${id % 13}_${id}_0${(id % 3) + 1}.jpg` }),
        labels: {
          상의: { 카테고리: '블라우스', 소재: ['우븐', '레이스'], 디테일: ['셔링'] },
          하의: { 카테고리: '스커트', 핏: '노말', 프린트: ['도트'] },
        },
        polygons: {
          상의: [
            [10, 10],
            [60, 12],
            [58, 50],
            [-3, 48], // a little outside the image, as real labels have
          ],
          하의: [
            [12, 50],
            [70, 50],
            [82, 99], // past the right edge (width 80): clipped
          ],
        },
      }
    : simpleLabel(id);
};
const garmentsOf = (spec: LabelSpec) => Object.keys(spec.labels ?? {}).length;

const GOOD: Kind = ({ id, rand, add }) => {
  const spec = goodSpec(id, rand);
  add({ name: `${id}.json`, kind: 'good', content: text(spec), keep: keepOf(spec) });
};
const keepOf = (spec: LabelSpec) => ({ key: '', garments: garmentsOf(spec), excluded: [] });

const BAD: Record<string, { weight: number; make: Kind }> = {
  truncated: {
    weight: 3,
    make: ({ id, rand, add }) => {
      const t = text(simpleLabel(id));
      add({
        name: `${id}.json`,
        kind: 'truncated',
        content: t.slice(0, 1 + Math.floor(rand() * (t.length - 2))),
        skip: ['invalid-json'],
      });
    },
  },
  empty: {
    weight: 1,
    make: ({ id, add }) => add({ name: `${id}.json`, kind: 'empty', content: '', skip: ['invalid-json'] }),
  },
  blank: {
    weight: 1,
    make: ({ id, add }) =>
      add({ name: `${id}.json`, kind: 'blank', content: ' \n\t ', skip: ['invalid-json'] }),
  },
  'bad-utf8': {
    weight: 2,
    make: ({ id, add }) => {
      const bytes = Buffer.from(text(simpleLabel(id)));
      const at = bytes.indexOf('블라우스');
      add({
        name: `${id}.json`,
        kind: 'bad-utf8',
        content: Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3, 0x28, 0xff]), bytes.subarray(at)]),
        skip: ['bad-encoding'],
      });
    },
  },
  'random-bytes': {
    weight: 2,
    make: ({ id, rand, add }) => {
      const b = new Uint8Array(1 + Math.floor(rand() * 500));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rand() * 256);
      // Random bytes can happen to be valid UTF-8 and even JSON ("7"), which is no label.
      add({
        name: `${id}.json`,
        kind: 'random-bytes',
        content: b,
        skip: ['bad-encoding', 'invalid-json', 'bad-structure'],
      });
    },
  },
  'bom-bad': {
    weight: 1,
    make: ({ id, add }) =>
      add({ name: `${id}.json`, kind: 'bom-bad', content: `\uFEFF{"이미지 정보": `, skip: ['invalid-json'] }),
  },
  'wrong-section': {
    weight: 2,
    make: ({ id, rand, add }) => {
      const values = [42, 'x', [], null, true];
      const json = labelJson(simpleLabel(id)) as Record<string, unknown>;
      json['데이터셋 정보'] = values[Math.floor(rand() * values.length)];
      add({
        name: `${id}.json`,
        kind: 'wrong-section',
        content: JSON.stringify(json),
        skip: ['bad-structure'],
      });
    },
  },
  'wrong-attribute': {
    weight: 2,
    make: ({ id, rand, add }) => {
      const bad = [{ 소재: 5 }, { 카테고리: ['셔츠'] }, { 디테일: [1, 2] }, { 핏: { a: 1 } }][
        Math.floor(rand() * 4)
      ]!;
      add({
        name: `${id}.json`,
        kind: 'wrong-attribute',
        content: text({ ...simpleLabel(id), labels: { 상의: bad } }),
        skip: ['bad-structure'],
      });
    },
  },
  'not-an-object': {
    weight: 1,
    make: ({ id, rand, add }) => {
      const tops = ['[]', '"label"', '42', 'null', 'true', '[{"이미지 정보": {}}]'];
      add({
        name: `${id}.json`,
        kind: 'not-an-object',
        content: tops[Math.floor(rand() * tops.length)]!,
        skip: ['bad-structure'],
      });
    },
  },
  'huge-number': {
    weight: 2,
    make: ({ id, rand, add }) => {
      const lit = ['1e400', '-1e400', '9e99999', '1' + '0'.repeat(400)][Math.floor(rand() * 4)]!;
      const t = text(simpleLabel(id)).replace('"X좌표2":50', `"X좌표2":${lit}`);
      add({ name: `${id}.json`, kind: 'huge-number', content: t, skip: ['bad-structure'] });
    },
  },
  'nan-string': {
    weight: 2,
    make: ({ id, rand, add }) => {
      const v = ['"NaN"', '"Infinity"', '"12px"', '""'][Math.floor(rand() * 4)]!;
      const t = text(simpleLabel(id)).replace('"X좌표":10', `"X좌표":${v}`);
      add({ name: `${id}.json`, kind: 'nan-string', content: t, skip: ['bad-structure'] });
    },
  },
  'deep-nesting': {
    weight: 1,
    make: ({ id, rand, add }) => {
      const depth = 10_000 + Math.floor(rand() * 90_000);
      const t = text(simpleLabel(id)).replace(
        '"디테일":["셔링"]',
        `"디테일":${'['.repeat(depth)}${']'.repeat(depth)}`,
      );
      add({ name: `${id}.json`, kind: 'deep-nesting', content: t, skip: ['bad-structure'] });
    },
  },
  'many-values': {
    weight: 1,
    make: ({ id, rand, add }) => {
      const n = 101 + Math.floor(rand() * 5000);
      const list = Array.from({ length: n }, (_, i) => `"값${i}"`).join(',');
      const t = text(simpleLabel(id)).replace('"디테일":["셔링"]', `"디테일":[${list}]`);
      add({ name: `${id}.json`, kind: 'many-values', content: t, skip: ['bad-structure'] });
    },
  },
  'long-value': {
    weight: 1,
    make: ({ id, rand, add }) => {
      const v = '가'.repeat(101 + Math.floor(rand() * 100_000));
      add({
        name: `${id}.json`,
        kind: 'long-value',
        content: text({ ...simpleLabel(id), labels: { 상의: { 카테고리: v } } }),
        skip: ['bad-structure'],
      });
    },
  },
  oversized: {
    weight: 1,
    make: ({ id, add }) => {
      const p = add({
        name: `${id}.json`,
        kind: 'oversized',
        content: text(simpleLabel(id)),
        skip: ['too-large'],
      });
      truncateSync(p, OVERSIZED); // sparse: the label, then zeros up to 9 MB
    },
  },
  'bad-coordinates': {
    weight: 2,
    make: ({ id, rand, add }) => {
      // Written as text: 9007199254740993 is no JavaScript number (it reads as …992).
      const far = ['9007199254740993', '-1e9', '1e15'][Math.floor(rand() * 3)]!;
      const spec: LabelSpec = {
        ...simpleLabel(id),
        polygons: {
          상의: [
            [10, 10],
            [77777, 10],
            [50, 60],
          ],
        },
      };
      add({
        name: `${id}.json`,
        kind: 'bad-coordinates',
        content: text(spec).replace('77777', far),
        keep: { key: '', garments: 0, excluded: ['bad-coordinates'] },
      });
    },
  },
  'case-twin': {
    weight: 1,
    make: ({ id, add }) => {
      const content = text(simpleLabel(id));
      add({ name: `T${id}.json`, kind: 'case-twin', content, skip: ['case-twin'] });
      add({ name: `T${id}.JSON`, kind: 'case-twin', content, skip: ['case-twin'] });
      add({ name: `t${id}.Json`, kind: 'case-twin', content, skip: ['case-twin'] });
    },
  },
  'link-loop': {
    weight: 1,
    make: ({ id, add }) => {
      add({ name: `L${id}a.json`, kind: 'link-loop', link: `L${id}b.json`, skip: ['unreadable'] });
      add({ name: `L${id}b.json`, kind: 'link-loop', link: `L${id}a.json`, skip: ['unreadable'] });
    },
  },
  'dangling-link': {
    weight: 1,
    make: ({ id, add }) =>
      add({ name: `${id}.json`, kind: 'dangling-link', link: `gone-${id}.json`, skip: ['unreadable'] }),
  },
};

interface AddArgs extends Omit<FuzzFile, 'path'> {
  name: string;
  content?: string | Uint8Array;
  link?: string;
}

export function writeFuzzTree(root: string, opts: FuzzOptions): FuzzTree {
  const rand = rng(opts.seed ?? 1);
  const goodShare = opts.good ?? 0.4;
  const files: FuzzFile[] = [];
  const folders: FuzzFolder[] = [];
  const notGenerated: string[] = [];
  const labelDir = (split: string) => join(root, split, '라벨링데이터');
  for (const split of SPLITS)
    for (const s of STYLES) mkdirSync(join(labelDir(split), s), { recursive: true });
  mkdirSync(opts.outside, { recursive: true });

  const kinds: Record<string, { weight: number; make: Kind }> = { ...BAD };
  const outsideLabel = join(opts.outside, 'outside.json');
  writeFileSync(outsideLabel, text(simpleLabel(1)));
  kinds['outside-link'] = {
    weight: 1,
    make: ({ id, add }) =>
      add({ name: `${id}.json`, kind: 'outside-link', link: outsideLabel, skip: ['link-not-followed'] }),
  };
  if (opts.permissionsBind) {
    kinds.unreadable = {
      weight: 1,
      make: ({ id, add }) => {
        const p = add({
          name: `${id}.json`,
          kind: 'unreadable',
          content: text(simpleLabel(id)),
          skip: ['unreadable'],
        });
        chmodSync(p, 0o000);
      },
    };
  } else notGenerated.push('unreadable files and folders (chmod 000 does not deny this user: root)');
  const weighted = Object.values(kinds).flatMap((k) => Array.from({ length: k.weight }, () => k.make));

  let id = 1000;
  const makeCtx = (split: string, style: string): Ctx => {
    const dir = join(labelDir(split), style);
    return {
      id: id++,
      dir,
      style,
      split,
      rand,
      add: (a: AddArgs) => {
        const path = join(dir, a.name);
        if (a.link !== undefined) symlinkSync(a.link, path);
        else writeFileSync(path, a.content ?? '');
        const stem = a.name.slice(0, -'.json'.length);
        files.push({
          path,
          kind: a.kind,
          ...(a.keep ? { keep: { ...a.keep, key: `${style}/${stem}` } } : {}),
          ...(a.skip ? { skip: a.skip } : {}),
        });
        return path;
      },
    };
  };

  // Duplicate ids: the same stem in Training and Validation. Training is scanned first and kept.
  const dupes = Math.max(1, Math.floor(opts.files / 200));
  for (let i = 0; i < dupes; i++) {
    const style = STYLES[i % STYLES.length]!;
    const spec = simpleLabel(900_000 + i);
    const stem = String(900_000 + i);
    writeFileSync(join(labelDir('Training'), style, `${stem}.json`), text(spec));
    writeFileSync(join(labelDir('Validation'), style, `${stem}.json`), text(spec));
    files.push({
      path: join(labelDir('Training'), style, `${stem}.json`),
      kind: 'duplicate-id (first)',
      keep: { key: `${style}/${stem}`, garments: 1, excluded: [] },
    });
    files.push({
      path: join(labelDir('Validation'), style, `${stem}.json`),
      kind: 'duplicate-id',
      skip: ['duplicate-id'],
    });
  }
  // One real (not sparse) file just over the bound: the reader must refuse it by size, not parse it.
  {
    const ctx = makeCtx('Training', STYLES[0]!);
    const t = text(simpleLabel(ctx.id));
    ctx.add({
      name: `${ctx.id}.json`,
      kind: 'oversized-real',
      content: t + ' '.repeat(8 * 1024 * 1024 + 1 - t.length),
      skip: ['too-large'],
    });
  }
  // A label whose 디테일 list repeats one value 20,000 times: good, and parsed quickly.
  {
    const ctx = makeCtx('Validation', STYLES[1]!);
    const t = text(simpleLabel(ctx.id)).replace(
      '"디테일":["셔링"]',
      `"디테일":[${'"셔링",'.repeat(20_000)}"포켓"]`,
    );
    ctx.add({
      name: `${ctx.id}.json`,
      kind: 'long-list',
      content: t,
      keep: { key: '', garments: 1, excluded: [] },
    });
  }
  // A BOM before a good label is tolerated.
  {
    const ctx = makeCtx('Training', STYLES[2]!);
    ctx.add({
      name: `${ctx.id}.json`,
      kind: 'bom-good',
      content: `\uFEFF${text(simpleLabel(ctx.id))}`,
      keep: { key: '', garments: 1, excluded: [] },
    });
  }

  while (files.length < opts.files) {
    const ctx = makeCtx(SPLITS[Math.floor(rand() * 2)]!, STYLES[Math.floor(rand() * STYLES.length)]!);
    if (rand() < goodShare) GOOD(ctx);
    else weighted[Math.floor(rand() * weighted.length)]!(ctx);
  }

  // Hostile style folders, once per tree.
  const tr = labelDir('Training');
  const addFolder = (name: string, kind: string, skip: SkipReason[], make: (p: string) => void) => {
    const p = join(tr, name);
    make(p);
    folders.push({ path: p, kind, skip });
  };
  addFolder('dangling_style', 'dangling-style', ['folder-unreadable'], (p) =>
    symlinkSync('no-such-folder', p),
  );
  addFolder('loop_style_a', 'loop-style', ['folder-unreadable'], (p) => symlinkSync('loop_style_b', p));
  addFolder('loop_style_b', 'loop-style', ['folder-unreadable'], (p) => symlinkSync('loop_style_a', p));
  addFolder('up_style', 'parent-link-style', ['link-not-followed'], (p) => symlinkSync('..', p));
  addFolder('outside_style', 'outside-style', ['link-not-followed'], (p) => symlinkSync(opts.outside, p));
  addFolder('twin_style', 'same-folder-style', ['link-not-followed'], (p) => symlinkSync(STYLES[0]!, p));
  if (opts.permissionsBind) {
    addFolder('locked_style', 'unreadable-style', ['folder-unreadable'], (p) => {
      mkdirSync(p);
      writeFileSync(join(p, '1.json'), text(simpleLabel(1)));
      chmodSync(p, 0o000);
    });
  }
  return { root, files, folders, notGenerated };
}

export interface FuzzOutcome {
  /** Every skipped file and folder the scan reported (the full list: results/scan_report.json). */
  skippedFiles: { path: string; reason: string; detail: string }[];
  skippedFolders: { path: string; reason: string; detail: string }[];
  /** Image key → garments stored, for every image the scan stored. */
  stored: Map<string, number>;
  /** Image key → reasons of its excluded garments. */
  excluded: Map<string, string[]>;
}

/** Every way the outcome differs from what the tree asks for; empty when the scan did it all right. */
export function checkFuzzScan(tree: FuzzTree, out: FuzzOutcome): string[] {
  const problems: string[] = [];
  const skipped = new Map(out.skippedFiles.map((s) => [s.path, s]));
  const expectedSkips = new Set<string>();
  for (const f of tree.files) {
    const s = skipped.get(f.path);
    if (f.skip) {
      expectedSkips.add(f.path);
      if (!s) problems.push(`${f.kind}: ${f.path} was not reported as skipped`);
      else if (!f.skip.includes(s.reason as SkipReason))
        problems.push(
          `${f.kind}: ${f.path} skipped as ${s.reason} (${s.detail}), expected ${f.skip.join(' or ')}`,
        );
      else if (s.detail.trim() === '') problems.push(`${f.kind}: ${f.path} skipped with no detail`);
    } else if (f.keep) {
      if (s) problems.push(`${f.kind}: good file ${f.path} was skipped: ${s.reason}: ${s.detail}`);
      const n = out.stored.get(f.keep.key);
      if (n === undefined) problems.push(`${f.kind}: ${f.keep.key} (${f.path}) was not stored`);
      else if (n !== f.keep.garments)
        problems.push(`${f.kind}: ${f.keep.key} has ${n} garments, expected ${f.keep.garments}`);
      const ex = (out.excluded.get(f.keep.key) ?? []).sort();
      if (ex.join(',') !== [...f.keep.excluded].sort().join(','))
        problems.push(`${f.kind}: ${f.keep.key} excluded [${ex}], expected [${f.keep.excluded}]`);
    }
  }
  for (const s of out.skippedFiles) {
    if (!expectedSkips.has(s.path)) problems.push(`unexpected skip: ${s.path}: ${s.reason}: ${s.detail}`);
  }
  const folders = new Map(out.skippedFolders.map((s) => [s.path, s]));
  for (const f of tree.folders) {
    const s = folders.get(f.path);
    if (!s) problems.push(`${f.kind}: folder ${f.path} was not reported`);
    else if (!f.skip.includes(s.reason as SkipReason))
      problems.push(`${f.kind}: folder ${f.path} reported as ${s.reason}, expected ${f.skip.join(' or ')}`);
  }
  for (const s of out.skippedFolders) {
    if (!tree.folders.some((f) => f.path === s.path))
      problems.push(`unexpected folder skip: ${s.path}: ${s.detail}`);
  }
  return problems;
}

/** What a finished scan of `workspace` did: the full report file and the stored images. */
export function readFuzzOutcome(workspace: string): FuzzOutcome {
  const report = JSON.parse(readFileSync(join(workspace, 'results', 'scan_report.json'), 'utf8')) as {
    skippedFiles: FuzzOutcome['skippedFiles'];
    skippedFolders: FuzzOutcome['skippedFolders'];
  };
  const db = new Database(join(workspace, 'workspace.db'), { readonly: true });
  try {
    const stored = new Map<string, number>();
    for (const r of db
      .prepare(
        'SELECT im.key k, COUNT(it.id) n FROM images im LEFT JOIN items it ON it.image_key = im.key GROUP BY im.key',
      )
      .all() as { k: string; n: number }[])
      stored.set(r.k, r.n);
    const excluded = new Map<string, string[]>();
    for (const r of db.prepare('SELECT image_key k, reason FROM excluded_garments').all() as {
      k: string;
      reason: string;
    }[]) {
      excluded.set(r.k, [...(excluded.get(r.k) ?? []), r.reason]);
    }
    return { skippedFiles: report.skippedFiles, skippedFolders: report.skippedFolders, stored, excluded };
  } finally {
    db.close();
  }
}

/**
 * A CLI run's stderr without the slow-query log's lines (`kfashion: slow query <name>: <ms> ms`, see
 * store/statements.ts). [Note: slow queries are no crash] A loaded machine (CI, a fuzz run beside a
 * benchmark) can take a statement past the log's threshold; that line is a diagnostic the scan wrote
 * on purpose, and counting it as a crash made the fuzzer fail runs whose every file was handled right.
 */
export function stderrWithoutSlowQueries(stderr: string): string {
  return stderr.replace(/^kfashion: slow query [^\n]*: \d+ ms\n?/gm, '');
}
