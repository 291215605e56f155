import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { generateDemoDataset } from '../../src-main/dataset/synthetic/generate-demo.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { copyWorkspace, importDemoEmbeddings } from '../helpers/training-fixture.ts';

/** The small demo WITH pictures (crops for the grids), scanned, stand-in vectors imported, trained by the CLI. */
let root: string;
let data: string;
let ws: string;
let untouched: string;
beforeAll(async () => {
  root = tempDir('kf-search-cli-');
  data = join(root, 'demo');
  ws = join(root, 'ws');
  await generateDemoDataset({ outDir: data, seed: 7, scale: 'small', images: true });
  const w = Workspace.open(ws);
  try {
    await scanDataset(w, { data });
    await importDemoEmbeddings(w, data);
  } finally {
    w.close();
  }
  // One short epoch with the real tfjs encoder: search loads the checkpoint the way users do.
  const t = kfashion(['train', '--workspace', ws, '--epochs', '1', '--batch-size', '32'], {
    timeoutMs: 120_000,
  });
  expect(t.code, t.stderr).toBe(0);
  untouched = copyWorkspace(ws, join(root, 'untouched'));
}, 180_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('kfashion search / report (CLI, trained demo workspace)', () => {
  it('--query in Korean keys: top-K with cosines, crops, a grid PNG and the SYNTHETIC label', async () => {
    const r = kfashion(
      ['search', '--workspace', ws, '--query', '{"카테고리":"블라우스","스타일":"로맨틱"}'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('SYNTHETIC: the gallery\'s image embeddings ("synthetic-demo")');
    expect(r.stdout).toContain('json-to-image: category 블라우스 · style 로맨틱');
    expect(r.stdout).toMatch(/exact cosine top-5 over 363 "synthetic-demo" image embeddings/);
    expect(r.stdout).toMatch(/#1\s+0\.\d{4}\s+\S+\/\S+\/\S+/);
    const dir = /Written: (results\/similarity_search\/\S+)\/results\.json/.exec(r.stdout)?.[1];
    expect(dir, r.stdout).toBeDefined();
    const run = JSON.parse(readFileSync(join(ws, dir!, 'results.json'), 'utf8'));
    expect(run).toMatchObject({ kind: 'similarity-search', mode: 'query', k: 5, synthetic: true });
    expect(run.run_id).toMatch(/^search-/);
    const hits = run.searches[0].hits as { score: number; crop: string | null }[];
    expect(hits).toHaveLength(5);
    for (const h of hits) {
      expect(h.crop).toMatch(/^crops\//);
      expect(existsSync(join(ws, h.crop!))).toBe(true);
    }
    const grid = await sharp(join(ws, dir!, 'grid.png')).stats();
    // Real crops were drawn: the grid is not a blank page with text.
    expect(grid.channels[0]!.stdev).toBeGreaterThan(20);
  }, 60_000);

  it('--demo --json: one query per (style, category), grids saved', () => {
    const r = kfashion(['search', '--workspace', ws, '--demo', '--samples', '4', '--k', '3', '--json'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.searches).toHaveLength(4);
    expect(run.files.grids).toHaveLength(4);
    for (const g of run.files.grids) expect(existsSync(g)).toBe(true);
    for (const s of run.searches) expect(s.query.source_item.id).toMatch(/\//);
  }, 60_000);

  it('bad queries and flags fail with the key, value or flag named', () => {
    const value = kfashion(['search', '--workspace', ws, '--query', '{"카테고리":"블라우즈"}']);
    expect(value.code).toBe(1);
    expect(value.stderr).toContain('Unknown category value "블라우즈"');
    expect(value.stderr).toContain('Close values: 블라우스.');
    const key = kfashion(['search', '--workspace', ws, '--query', '{"colour":"레드"}']);
    expect(key.code).toBe(1);
    expect(key.stderr).toContain('Unknown query key "colour"');
    const none = kfashion(['search', '--workspace', ws]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exactly one of --query <json>, --image <path> or --demo');
    const samples = kfashion(['search', '--workspace', ws, '--demo', '--samples', '101']);
    expect(samples.code).toBe(2);
    expect(samples.stderr).toContain('--samples expects a whole number from 1 to 100, got "101"');
    const json = kfashion(['search', '--workspace', ws, '--query', '{카테고리}']);
    expect(json.code).toBe(1);
    expect(json.stderr).toContain('--query is not valid JSON');
  });

  it('--image: embeds the picture with the workspace image encoder (demo stand-in, SYNTHETIC)', async () => {
    const dir = copyWorkspace(untouched, join(root, 'image'));
    const wb = Workbench.open(dir, { create: false });
    try {
      await wb.embed({ model: 'demo-standin' });
    } finally {
      await wb.closeAsync();
    }
    // The query is one garment's cached crop: the very picture its stored vector was computed from,
    // so that garment must come first with cosine 1.
    const cropName = readdirSync(join(dir, 'crops', '로맨틱')).sort()[0]!;
    const picture = join(dir, 'crops', '로맨틱', cropName);
    const itemId = `로맨틱/${cropName.replace(/\.jpg$/, '').replace('__', '/')}`;
    const r = kfashion(['search', '--workspace', dir, '--image', picture, '--k', '3', '--json'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({
      mode: 'image',
      synthetic: true,
      image_encoder: { model: 'demo-standin', synthetic: true },
      gallery: { model: 'demo-standin' },
    });
    expect(run.note).toContain('stand-in image encoder');
    expect(run.searches[0].hits).toHaveLength(3);
    expect(run.searches[0].hits[0].id).toBe(itemId);
    expect(run.searches[0].hits[0].score).toBeCloseTo(1, 4);
  }, 120_000);

  it('--image --to json: tags a picture with the nearest attribute combinations, once encoder and checkpoint share a model', async () => {
    const dir = copyWorkspace(untouched, join(root, 'tag'));
    const wb = Workbench.open(dir, { create: false });
    try {
      await wb.embed({ model: 'demo-standin' });
    } finally {
      await wb.closeAsync();
    }
    const cropName = readdirSync(join(dir, 'crops', '로맨틱')).sort()[0]!;
    const picture = join(dir, 'crops', '로맨틱', cropName);
    // The checkpoint was trained against synthetic-demo vectors; the picture would be embedded by
    // demo-standin: refused, naming both.
    const refused = kfashion(['search', '--workspace', dir, '--image', picture, '--to', 'json'], {
      timeoutMs: 60_000,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('"synthetic-demo"');
    expect(refused.stderr).toContain('"demo-standin"');
    expect(kfashion(['search', '--workspace', dir, '--query', '{}', '--to', 'json']).stderr).toContain(
      '--to json tags a picture',
    );
    const t = kfashion(
      ['train', '--workspace', dir, '--epochs', '1', '--batch-size', '32', '--model', 'demo-standin'],
      { timeoutMs: 120_000 },
    );
    expect(t.code, t.stderr).toBe(0);
    const r = kfashion(
      ['search', '--workspace', dir, '--image', picture, '--to', 'json', '--k', '4', '--json'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({
      kind: 'image-tagging',
      k: 4,
      synthetic: true,
      image_encoder: { model: 'demo-standin' },
      checkpoint: { epoch: 1, fields: ['category', 'style', 'silhouette', 'material', 'detail'] },
    });
    expect(run.vocabulary).toHaveLength(4);
    expect(run.training).toHaveLength(4);
    expect(run.training_combinations).toBeGreaterThan(100);
    for (const list of [run.vocabulary, run.training]) {
      const scores = list.map((c: { score: number }) => c.score);
      expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
      expect(scores.every((v: number) => v >= -1 && v <= 1)).toBe(true);
    }
    // The vocabulary's beam search keeps the best it finds: at least as good as any training combination.
    expect(run.vocabulary[0].score).toBeGreaterThanOrEqual(run.training[0].score - 1e-6);
    expect(run.per_field.map((f: { field: string }) => f.field)).toEqual(run.checkpoint.fields);
    const text = kfashion(['search', '--workspace', dir, '--image', picture, '--to', 'json', '--k', '2'], {
      timeoutMs: 60_000,
    });
    expect(text.stdout).toContain('Nearest combinations composed from the vocabulary (top 2)');
    expect(text.stdout).toMatch(/carried by training items \(top 2 of \d+\)/);
  }, 240_000);

  it('kfashion report: a self-contained HTML page, running demo searches when none are saved', () => {
    const r = kfashion(['report', '--workspace', untouched], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('SYNTHETIC');
    expect(r.stdout).toMatch(/Ran demo searches for the report: search-/);
    const file = /Report report-\S+: (results\/report_\S+\.html)/.exec(r.stdout)?.[1];
    expect(file, r.stdout).toBeDefined();
    const html = readFileSync(join(untouched, file!), 'utf8');
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    const imgs = [...html.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1]!);
    expect(imgs.length).toBeGreaterThanOrEqual(2);
    for (const src of imgs) expect(src).toMatch(/^data:image\/png;base64,/);
    const best = JSON.parse(readFileSync(join(untouched, 'checkpoints', 'best_model.json'), 'utf8'));
    expect(html).toContain(best.runId);
    expect(html).toContain('No evaluation in results/');
  }, 120_000);
});
