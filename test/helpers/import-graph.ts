/**
 * The import graph of a source folder, its cycles, and the README's folder-layer rule.
 *
 * Why the TypeScript compiler API and not madge or dependency-cruiser: the graph needs only the
 * module specifiers of each file, which `ts.preProcessFile` lists (static imports, `export … from`,
 * `import type`, and `import()`/`require()` with a string literal) with the compiler the project
 * already depends on. madge (8.x) pulls in precinct with a detective per language (Sass, Stylus,
 * Vue, AMD…), spinners and graphviz bindings; dependency-cruiser (18.x) acorn, enhanced-resolve and a
 * rule language of its own; the cycle search and the layer rule are then still ours to write. Here
 * both are a few dozen lines over a plain map.
 *
 * Type-only imports count: they vanish at run time, but a loop through types is still two files that
 * cannot be understood, or moved, one without the other.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** File → the files it imports (absolute paths), and the package specifiers it imports. */
export interface ImportGraph {
  root: string;
  edges: Map<string, string[]>;
  packages: Map<string, string[]>;
  /** Relative specifiers that name no file: "file: specifier". */
  unresolved: string[];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

function resolveSpecifier(from: string, spec: string): string | null {
  // A bundler query (electron-vite's `icon.png?asset`) is not part of the path.
  const base = resolve(dirname(from), spec.replace(/\?.*$/, ''));
  const candidates = [base, base.replace(/\.(m|c)?js$/, '.$1ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/** The graph of every .ts file under `root`; edges leaving `root` (e.g. to src-shared/) are dropped. */
export function importGraph(root: string): ImportGraph {
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of sourceFiles(root)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = new Set<string>();
    const pkgs = new Set<string>();
    for (const { fileName: spec } of info.importedFiles) {
      if (!spec.startsWith('.')) {
        pkgs.add(spec);
        continue;
      }
      const target = resolveSpecifier(file, spec);
      if (!target) unresolved.push(`${relative(root, file)}: ${spec}`);
      else if (!relative(root, target).startsWith('..')) deps.add(target);
    }
    edges.set(file, [...deps].sort());
    packages.set(file, [...pkgs].sort());
  }
  return { root, edges, packages, unresolved };
}

/**
 * Every import loop, one per strongly connected component (Tarjan), each as the files of one
 * concrete loop in import order, first file repeated at the end: a → b → … → a.
 */
export function findCycles(edges: Map<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  // Iterative, so a deep import chain cannot overflow the call stack.
  for (const start of edges.keys()) {
    if (index.has(start)) continue;
    const work: { v: string; i: number }[] = [{ v: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work.at(-1)!;
      const deps = edges.get(top.v) ?? [];
      if (top.i < deps.length) {
        const w = deps[top.i++]!;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(top.v)!));
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        const selfLoop = (edges.get(top.v) ?? []).includes(top.v);
        if (comp.length > 1 || selfLoop) components.push(comp);
      }
    }
  }
  return components.map((comp) => loopThrough(comp.sort()[0]!, new Set(comp), edges));
}

/** A shortest loop from `start` back to itself inside one component (breadth-first). */
function loopThrough(start: string, inComp: Set<string>, edges: Map<string, readonly string[]>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of edges.get(v) ?? []) {
      if (!inComp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.splice(1, 0, u);
        path.push(start);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * The folders of the README's folder map, top to bottom: the rows `| \`name/\` | … |` of the table
 * that follows the paragraph starting "Folder map.".
 */
export function readmeFolderOrder(readme: string): string[] {
  const at = readme.indexOf('Folder map.');
  if (at < 0) throw new Error('README.md has no "Folder map." paragraph');
  const lines = readme.slice(at).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const folders: string[] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    const m = /^\|\s*`([\w-]+)\/`\s*\|/.exec(line);
    if (m) folders.push(m[1]!);
  }
  return folders;
}

/** The top folder of a file under root ('' for a file directly in root). */
export function topFolder(root: string, file: string): string {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

/** Imports that break "a folder imports only from folders below it", as "from → to" lines. */
export function layerViolations(graph: ImportGraph, order: readonly string[]): string[] {
  const out: string[] = [];
  for (const [file, deps] of graph.edges) {
    const a = topFolder(graph.root, file);
    for (const dep of deps) {
      const b = topFolder(graph.root, dep);
      if (a === b) continue;
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      if (ia < 0 || ib < 0 || ib <= ia) {
        out.push(`${relative(graph.root, file)} → ${relative(graph.root, dep)}`);
      }
    }
  }
  return out;
}
