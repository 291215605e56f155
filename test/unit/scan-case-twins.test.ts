/**
 * The names of a style folder that collide by case, found without a map of every name (Note: case
 * twins without every name): the same groups, in the same order, as the map of every name gave.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { caseTwinGroups } from '../../src-main/dataset/scan.ts';
import { CaseTwins } from '../../src-main/dataset/scan-guards.ts';

/** What the scan did before: every name into one map. */
function allNamesTwins(names: string[]): Map<string, string[]> {
  const t = new CaseTwins();
  for (const n of names) t.add(n);
  return t.groups;
}

describe('case twins', () => {
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
});
