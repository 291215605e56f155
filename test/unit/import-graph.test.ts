import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findCycles,
  importGraph,
  layerViolations,
  readmeFolderOrder,
  topFolder,
} from '../helpers/import-graph.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src-main');

describe('import graph helpers', () => {
  it('finds each loop once, as a concrete path, including self-imports and loops through long chains', () => {
    const g = new Map<string, string[]>([
      ['a', ['b']],
      ['b', ['c', 'x']],
      ['c', ['a']],
      ['x', ['y']],
      ['y', []],
      ['s', ['s']],
      ['p', ['q']],
      ['q', ['p', 'y']],
    ]);
    const cycles = findCycles(g)
      .map((c) => c.join(' → '))
      .sort();
    expect(cycles).toEqual(['a → b → c → a', 'p → q → p', 's → s']);
    expect(
      findCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads the folder order from the README table and flags upward and unlisted imports', () => {
    const readme =
      'intro\nFolder map. words\n\n| folder | holds |\n| --- | --- |\n| `top/` | x |\n| `low/` | y |\n\nafter';
    expect(readmeFolderOrder(readme)).toEqual(['top', 'low']);
    const root = '/r';
    const graph = {
      root,
      edges: new Map([
        ['/r/top/a.ts', ['/r/low/b.ts', '/r/top/c.ts']],
        ['/r/low/b.ts', ['/r/top/a.ts']],
        ['/r/other/d.ts', ['/r/low/b.ts']],
      ]),
      packages: new Map(),
      unresolved: [],
    };
    expect(topFolder(root, '/r/top/a.ts')).toBe('top');
    expect(layerViolations(graph, ['top', 'low'])).toEqual(['low/b.ts → top/a.ts', 'other/d.ts → low/b.ts']);
  });
});

describe('src-main import graph', () => {
  const graph = importGraph(SRC);
  const rel = (f: string) => relative(ROOT, f);

  it('resolves every relative import', () => {
    expect(graph.edges.size).toBeGreaterThan(100);
    expect(graph.unresolved).toEqual([]);
  });

  it('has no import cycle (static, export-from, type-only and dynamic imports)', () => {
    const cycles = findCycles(graph.edges).map((c) => c.map(rel).join('\n  → '));
    expect(cycles, `import cycles:\n${cycles.join('\n\n')}`).toEqual([]);
  });

  it("keeps the README's folder map: every folder listed, each importing only from folders below it", () => {
    const order = readmeFolderOrder(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(order).toContain('retrieval');
    const folders = new Set([...graph.edges.keys()].map((f) => topFolder(SRC, f)));
    expect(
      [...folders].filter((f) => !order.includes(f)).sort(),
      'folders missing from the README map',
    ).toEqual([]);
    expect(layerViolations(graph, order)).toEqual([]);
  });

  it('imports Electron only in electron/', () => {
    const outside = [...graph.packages]
      .filter(
        ([file, pkgs]) =>
          topFolder(SRC, file) !== 'electron' &&
          pkgs.some((p) => p === 'electron' || p.startsWith('electron/')),
      )
      .map(([file]) => rel(file));
    expect(outside).toEqual([]);
  });
});
