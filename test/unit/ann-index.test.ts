/**
 * The approximate index: a planted near-duplicate is found, recall@10 is computed against the exact
 * index (and agrees with a recount here), the graph is cached per vector set and rebuilt when the
 * vectors change.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnIndex, recallAt, sampleQueries, vectorFingerprint } from '../../src-main/retrieval/ann-index.ts';
import { VectorIndex } from '../../src-main/retrieval/vector-index.ts';

const DIM = 64;
const N = 3000;

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Clustered unit vectors: 30 centres in an 8-d subspace, plus a little full-dimensional noise. */
function clustered(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const g = () => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
  const basis = Float32Array.from({ length: 8 * DIM }, g);
  const centres = Array.from({ length: 30 }, () => Float32Array.from({ length: 8 }, g));
  const out = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * centres.length)]!;
    let s = 0;
    for (let j = 0; j < DIM; j++) {
      let x = 0.1 * g();
      for (let l = 0; l < 8; l++) x += (c[l]! + 0.4 * g()) * basis[l * DIM + j]!;
      out[i * DIM + j] = x;
    }
    for (let j = 0; j < DIM; j++) s += out[i * DIM + j]! ** 2;
    for (let j = 0; j < DIM; j++) out[i * DIM + j]! /= Math.sqrt(s);
  }
  return out;
}

const ids = Array.from({ length: N }, (_, i) => `item-${i}`);
const vectors = clustered(N, 3);
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function exactOf(v: Float32Array) {
  const exact = await VectorIndex.build(ids, v, DIM, { backend: 'js' });
  return { exact, search: (q: Float32Array, k: number) => exact.search(q, k) };
}

describe('approximate index (HNSW)', () => {
  it('finds a planted near-duplicate as its top hit', async () => {
    const { search } = await exactOf(vectors);
    const ann = await AnnIndex.build(ids, vectors, DIM, { exact: search, recallQueries: 50 });
    const planted = 1234;
    const q = vectors.slice(planted * DIM, (planted + 1) * DIM);
    for (let j = 0; j < DIM; j++) q[j]! += 0.001 * Math.sin(j);
    const [hits] = await ann.search(q, 10);
    expect(hits![0]!.id).toBe(`item-${planted}`);
    expect(hits![0]!.score).toBeGreaterThan(0.99);
    expect(hits).toHaveLength(10);
    // Best first.
    for (let i = 1; i < hits!.length; i++)
      expect(hits![i]!.score).toBeLessThanOrEqual(hits![i - 1]!.score + 1e-6);
  });

  it('measures recall@10 against the exact index on every build, and the figure is a real count', async () => {
    const { search } = await exactOf(vectors);
    const ann = await AnnIndex.build(ids, vectors, DIM, { exact: search, recallQueries: 100, seed: 5 });
    expect(ann.figures.recallQueries).toBe(100);
    // Recount with the same seeded queries.
    const queries = sampleQueries(vectors, N, DIM, 100, 5);
    const recount = recallAt(await ann.search(queries, 10), await search(queries, 10));
    expect(ann.recallAt10).toBeCloseTo(recount, 10);
    expect(ann.recallAt10).toBeGreaterThan(0.9);
    expect(ann.engine).toMatch(/recall@10 [01]\.\d{3} vs exact on 100 queries/);
    // A weak graph (tiny candidate lists) measures lower: the figure is computed, not assumed.
    const weak = await AnnIndex.build(ids, vectors, DIM, {
      exact: search,
      recallQueries: 100,
      seed: 5,
      connectivity: 2,
      expansionAdd: 2,
      expansionSearch: 1,
    });
    expect(weak.recallAt10!).toBeLessThan(ann.recallAt10!);
  });

  it('recallAt counts the exact top-10 that were found', () => {
    const h = (index: number) => ({ index, id: String(index), score: 0 });
    const exact = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(h)];
    expect(recallAt([[0, 1, 2, 3, 4, 50, 60, 70, 80, 90].map(h)], exact)).toBe(0.5);
    expect(recallAt([exact[0]!], exact)).toBe(1);
  });

  it('caches the graph per vector set and rebuilds when the vectors change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-ann-'));
    dirs.push(dir);
    const { search } = await exactOf(vectors);
    const first = await AnnIndex.build(ids, vectors, DIM, {
      exact: search,
      cacheDir: dir,
      model: 'tiny clip',
    });
    expect(first.fromCache).toBe(false);
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.usearch'))).toHaveLength(1);
    expect(files.some((f) => f.includes('.tmp'))).toBe(false);
    const again = await AnnIndex.build(ids, vectors, DIM, {
      exact: search,
      cacheDir: dir,
      model: 'tiny clip',
    });
    expect(again.fromCache).toBe(true);
    expect(again.recallAt10).toBe(first.recallAt10);
    expect(again.engine).toMatch(/from cache/);
    // One vector changed: another fingerprint, a new build.
    const changed = vectors.slice();
    changed.copyWithin(0, DIM, 2 * DIM);
    expect(vectorFingerprint(ids, changed, DIM)).not.toBe(first.figures.fingerprint);
    const rebuilt = await AnnIndex.build(ids, changed, DIM, {
      exact: (await exactOf(changed)).search,
      cacheDir: dir,
      model: 'tiny clip',
    });
    expect(rebuilt.fromCache).toBe(false);
    expect(existsSync(join(dir, `tiny_clip-${rebuilt.figures.fingerprint}-m16-e128.json`))).toBe(true);
  });
});
