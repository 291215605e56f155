import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { openCheckpointEncoder } from '../../src-main/evaluation/checkpoint-encoder.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';
import { train } from '../../src-main/training/trainer.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let trained: string;
const createEncoder = linearEncoderFactory();

beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  trained = copyWorkspace(fixture.workspace, join(fixture.root, 'trained'));
  const ws = Workspace.open(trained, { create: false });
  try {
    await train(ws, resolveTrainConfig({ overrides: { batchSize: 16, epochs: 2, lr: 3e-3, seed: 3 } }), {
      createEncoder,
    });
  } finally {
    ws.close();
  }
}, 60_000);
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('similarity search (service)', () => {
  it('returns the planted nearest item first, with its cosine, and saves query, results and grid', async () => {
    const dir = copyWorkspace(trained, join(fixture.root, 'planted'));
    const query = { 카테고리: '블라우스', 스타일: ['로맨틱'] };
    // Plant: give one item (not a blouse, so attributes alone cannot explain the hit) exactly the
    // query's encoder vector as its image embedding; every other vector stays as it was.
    const ws = Workspace.open(dir, { create: false });
    let planted: string;
    try {
      const enc = await openCheckpointEncoder(ws, { createEncoder });
      const v = enc.encode([{ category: '블라우스', style: ['로맨틱'] }]);
      enc.close();
      const items = [...new DatasetStore(ws.db).iterateItems()];
      planted = items.find((it) => it.attributes.category !== '블라우스' && it.styleFolder === '리조트')!.id;
      new EmbeddingStore(ws.db).put('synthetic-demo', [planted], v);
    } finally {
      ws.close();
    }
    const wb = Workbench.open(dir, { create: false });
    try {
      const run = await wb.search({ query: JSON.stringify(query), k: 4, createEncoder });
      const [s] = run.searches;
      expect(s!.hits[0]!.id).toBe(planted);
      expect(s!.hits[0]!.score).toBeCloseTo(1, 5);
      expect(s!.hits).toHaveLength(4);
      for (let i = 1; i < 4; i++) expect(s!.hits[i]!.score).toBeLessThanOrEqual(s!.hits[i - 1]!.score);
      expect(s!.hits[0]).toMatchObject({ rank: 1, style: '리조트', part: expect.any(String) });
      expect(s!.query).toMatchObject({
        direction: 'json-to-image',
        attributes: { category: '블라우스', style: ['로맨틱'] },
        input: query,
      });
      expect(run).toMatchObject({
        kind: 'similarity-search',
        mode: 'query',
        k: 4,
        synthetic: true,
        note: expect.stringContaining('SYNTHETIC'),
        gallery: { model: 'synthetic-demo', items: 363, synthetic: true },
        checkpoint: { fields: ['category', 'style', 'silhouette', 'material', 'detail'] },
      });
      expect(run.run_id).toMatch(/^search-\d{8}T\d{9}Z$/);
      expect(new Date(run.timestamp).toISOString()).toBe(run.timestamp);
      // Files: results.json is the run, query.json the query, grid.png a picture of k + 1 tiles.
      const saved = JSON.parse(readFileSync(run.files.results, 'utf8'));
      expect(saved).toMatchObject({
        run_id: run.run_id,
        timestamp: run.timestamp,
        searches: [{ grid: 'grid.png' }],
      });
      expect(JSON.parse(readFileSync(run.files.query, 'utf8'))).toMatchObject({
        run_id: run.run_id,
        timestamp: run.timestamp,
        queries: [{ label: 'category 블라우스 · style 로맨틱' }],
      });
      const meta = await sharp(run.files.grids[0]!).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBe(12 + 5 * 212);

      // The gallery is kept: a second search does not read the matrix again, and sees the same hits.
      const again = await wb.search({ query, k: 1, createEncoder, save: false });
      expect(again.searches[0]!.hits[0]!.id).toBe(planted);
      expect(again.files.dir).toBe('');
    } finally {
      await wb.closeAsync();
    }
  });

  it('reloads the gallery when the stored embeddings change', async () => {
    const dir = copyWorkspace(trained, join(fixture.root, 'reload'));
    const wb = Workbench.open(dir, { create: false });
    try {
      const q = { category: '스커트' };
      const first = await wb.search({ query: q, k: 1, createEncoder, save: false });
      const top = first.searches[0]!.hits[0]!;
      // Replace the top item's vector by a random one and bump the model's update time (as embed does).
      const store = new EmbeddingStore(wb.workspace.db);
      store.defineModel('synthetic-demo', 512, 'synthetic', { changed: true });
      store.put('synthetic-demo', [top.id], new Rng(5).unitRows(1, 512));
      const second = await wb.search({ query: q, k: 1, createEncoder, save: false });
      expect(second.searches[0]!.hits[0]!.id).not.toBe(top.id);
    } finally {
      await wb.closeAsync();
    }
  });

  it('--demo: one query per (style, category) from sampled items, each grid saved, source rank reported', async () => {
    const dir = copyWorkspace(trained, join(fixture.root, 'demo'));
    const wb = Workbench.open(dir, { create: false });
    try {
      const run = await wb.search({ demo: true, samples: 7, k: 5, createEncoder });
      expect(run.mode).toBe('demo');
      expect(run.searches).toHaveLength(7);
      const combos = run.searches.map(
        (s) => `${s.query.source_item!.style}/${s.query.source_item!.category}`,
      );
      expect(new Set(combos).size).toBe(7);
      // Round-robin over the three style folders.
      expect(new Set(run.searches.slice(0, 3).map((s) => s.query.source_item!.style))).toEqual(
        new Set(['레트로', '로맨틱', '리조트']),
      );
      for (const s of run.searches) {
        expect(s.hits).toHaveLength(5);
        const src = s.hits.find((h) => h.is_source);
        expect(s.source_rank).toBe(src ? src.rank : null);
        expect(existsSync(join(run.files.dir, s.grid!))).toBe(true);
      }
      expect(run.files.grids.map((g) => g.split(/[\\/]/).at(-1))).toEqual(
        Array.from({ length: 7 }, (_, i) => `grid_${String(i + 1).padStart(2, '0')}.png`),
      );
      // Same seed, same queries.
      const again = await wb.search({ demo: true, samples: 7, k: 5, createEncoder, save: false });
      expect(again.searches.map((s) => s.query.source_item!.id)).toEqual(
        run.searches.map((s) => s.query.source_item!.id),
      );
      await expect(wb.search({ demo: true, samples: 101, createEncoder })).rejects.toThrow(
        /samples expects a whole number from 1 to 100, got 101/,
      );
    } finally {
      await wb.closeAsync();
    }
  });

  it('rejects bad requests with messages naming the problem', async () => {
    const wb = Workbench.open(trained, { create: false });
    try {
      await expect(wb.search({ createEncoder })).rejects.toThrow(/exactly one of/);
      await expect(wb.search({ query: {}, demo: true, createEncoder })).rejects.toThrow(/exactly one of/);
      await expect(wb.search({ query: { 카테고리: '블라우즈' }, createEncoder })).rejects.toThrow(
        /Unknown category value "블라우즈".*Close values: 블라우스/,
      );
      await expect(wb.search({ query: { fit: '루즈' }, createEncoder })).rejects.toThrow(
        /Unknown query key "fit"/,
      );
      await expect(wb.search({ query: { category: '스커트' }, k: 0, createEncoder })).rejects.toThrow(
        /k expects a whole number from 1 to 50/,
      );
      // Pictures are checked by content before anything is loaded.
      await expect(wb.search({ image: join(fixture.data, 'README_SYNTHETIC.txt') })).rejects.toThrow(
        /README_SYNTHETIC\.txt: not an image/,
      );
      await expect(wb.search({ image: join(fixture.data, 'nope.jpg') })).rejects.toThrow(
        /--image .*nope\.jpg: cannot read the file \(ENOENT\)/,
      );
      // No image encoder recorded in this workspace: the message says what to run.
      const png = join(fixture.root, 'q.png');
      await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c33' } })
        .png()
        .toFile(png);
      await expect(wb.search({ image: png })).rejects.toThrow(/has no image encoder yet.*kfashion embed/);
    } finally {
      await wb.closeAsync();
    }
    const empty = Workbench.open(fixture.workspace, { create: false });
    try {
      await expect(empty.search({ query: { category: '스커트' }, createEncoder })).rejects.toThrow(
        /No trained JSON encoder/,
      );
    } finally {
      await empty.closeAsync();
    }
  });

  it('report: one self-contained HTML page with the config, metrics beside ceilings and the searches', async () => {
    const dir = copyWorkspace(trained, join(fixture.root, 'report'));
    const wb = Workbench.open(dir, { create: false });
    try {
      const ev = await wb.evaluate({ createEncoder });
      await wb.centrality();
      await wb.search({ query: { 카테고리: '드레스', 스타일: '리조트' }, k: 3, createEncoder });
      const r = await wb.report();
      expect(r.ran_searches).toBeNull();
      expect(r.file).toMatch(/results[\\/]report_\d{8}T\d{9}Z\.html$/);
      expect(r.synthetic).toBe(true);
      expect(r.sections.filter((s) => s.included).map((s) => s.name)).toEqual([
        'config',
        'training',
        'evaluation',
        'centrality',
        'searches',
      ]);
      const html = readFileSync(r.file, 'utf8');
      // Self-contained: no external src/href, every image inline.
      expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
      expect(html).not.toMatch(/<script/i);
      const imgs = [...html.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1]!);
      expect(imgs.length).toBeGreaterThanOrEqual(4); // training, evaluation, centrality charts + a grid
      for (const src of imgs) expect(src.startsWith('data:image/png;base64,')).toBe(true);
      // The metrics, beside their ceilings, and the run ids.
      const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
      expect(html).toContain(
        `<td class="t">${ev.labels['1']}</td><td>${pct(ev.recall['1'])}</td><td>${pct(ev.ceiling.recall['1'])}</td>`,
      );
      expect(html).toContain(
        `<td class="t">MRR</td><td>${ev.mrr.toFixed(3)}</td><td>${ev.ceiling.mrr.toFixed(3)}</td>`,
      );
      expect(html).toContain(ev.run_id);
      expect(html).toContain('SYNTHETIC DATA');
      expect(html).toContain('category 드레스 · style 리조트');
      expect(html).toContain('Per garment category');
      expect(html).toContain('Query-aware evaluation');
    } finally {
      await wb.closeAsync();
    }
  });
});
