/**
 * How the scan lists a style folder: its label files in name order (Note: scan in key order), with
 * the names that collide by case found without a map of every name, and named in the directory's order.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { caseTwinGroups, listJsonFiles } from '../../src-main/dataset/scan.ts';
import { CaseTwins } from '../../src-main/dataset/scan-guards.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const dir = tempDir('kf-scan-listing-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the scan did before: every name into one map. */
function allNamesTwins(names: string[]): Map<string, string[]> {
  const t = new CaseTwins();
  for (const n of names) t.add(n);
  return t.groups;
}

describe('scan listing', () => {
  it('finds the same case twins as a map of every name, in the same order', () => {
    const rng = new Rng(7);
    const letters = ['a', 'A', 'b', 'B', '가', '\u1100\u1161', 'é', 'e\u0301', '1', '2'];
    for (let round = 0; round < 200; round++) {
      const names = new Set<string>();
      const n = rng.int(0, 40);
      for (let i = 0; i < n; i++) {
        const len = rng.int(1, 3);
        let stem = '';
        for (let j = 0; j < len; j++) stem += letters[rng.int(0, letters.length - 1)];
        names.add(`${stem}${rng.float() < 0.2 ? '.JSON' : '.json'}`);
      }
      const list = [...names];
      expect(caseTwinGroups(list)).toEqual(allNamesTwins(list));
    }
  });

  it('holds nothing for plain names, and names twins in the order given', () => {
    expect(caseTwinGroups(['100.json', '101.json', '가.json']).size).toBe(0);
    const groups = caseTwinGroups(['b.json', 'X.json', 'a.json', 'x.JSON', 'x.json']);
    expect([...groups.entries()]).toEqual([['x.json', ['X.json', 'x.JSON', 'x.json']]]);
  });

  it('lists a folder in name order, with its links and its twins', () => {
    const d = join(dir, 'style');
    mkdirSync(d);
    const names = Array.from({ length: 500 }, (_, i) => `${(i * 7919) % 1000}.json`);
    for (const n of names) writeFileSync(join(d, n), '{}');
    writeFileSync(join(d, 'T1.json'), '{}');
    writeFileSync(join(d, 't1.json'), '{}');
    writeFileSync(join(d, 'image.jpg'), '');
    symlinkSync(join(d, '7.json'), join(d, 'link.json'));
    const listing = listJsonFiles(d);
    expect(listing.error).toBeUndefined();
    expect(listing.names).toEqual([...names, 'T1.json', 't1.json', 'link.json'].sort());
    expect([...listing.links]).toEqual(['link.json']);
    expect([...listing.caseTwins.keys()]).toEqual(['t1.json']);
    expect([...listing.caseTwins.values()][0]!.sort()).toEqual(['T1.json', 't1.json']);
  });
});
