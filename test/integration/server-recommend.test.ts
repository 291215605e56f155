/**
 * The HTTP server's happy paths on a real SQLite workspace, the tiny generated ONNX image encoder and a
 * real socket on 127.0.0.1: every endpoint answers with checked figures.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordEvaluation } from '../../src-main/evaluation/results.ts';
import { buildServer } from '../../src-main/server/app.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import {
  type CatalogList,
  type CustomerInputResult,
  type DashboardData,
  type KpiSummary,
  type Top10ToNewResult,
  workspaceFileUrl,
} from '../../src-shared/recommend.ts';
import {
  buildRecommendFixture,
  PRODUCT_COLOURS,
  type RecommendFixture,
  solidJpeg,
  solidPng,
} from '../helpers/recommend-fixture.ts';

let fx: RecommendFixture;
let wb: Workbench;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  fx = await buildRecommendFixture();
  wb = Workbench.open(fx.workspace, { create: false });
  app = await buildServer({ workbench: wb, uploadLimitBytes: 256 * 1024 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await wb?.closeAsync();
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

const post = (path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

function form(
  files: { field: string; bytes: Uint8Array; name: string; type?: string }[],
  fields: Record<string, string> = {},
): FormData {
  const f = new FormData();
  for (const x of files) f.append(x.field, new Blob([x.bytes], { type: x.type ?? 'image/jpeg' }), x.name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

describe('recommendation server', () => {
  it('lists the imported catalog with vectors of the workspace encoder', async () => {
    const r = await fetch(`${url}/api/catalog`);
    expect(r.status).toBe(200);
    const list = (await r.json()) as CatalogList;
    expect(list.total).toBe(Object.keys(PRODUCT_COLOURS).length);
    expect(list.missingVectors).toBe(0);
    expect(list.encoder).toEqual({
      model: 'tiny-clip',
      kind: 'path',
      synthetic: false,
      label: 'tiny-clip (ONNX export)',
    });
    const blouse = list.products.find((p) => p.id === 'red-blouse')!;
    expect(blouse).toMatchObject({
      name: 'red blouse',
      style: '로맨틱',
      category: '블라우스',
      synthetic: false,
      embeddings: ['tiny-clip'],
    });
    expect(blouse.image).toBe(`catalog/${blouse.imageSha256}.jpg`);
    // The stored image is the file's bytes, served at imageUrl.
    const img = await fetch(`${url}${blouse.imageUrl}`);
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/jpeg');
    expect(
      Buffer.from(await img.arrayBuffer()).equals(readFileSync(join(fx.catalogDir, 'red-blouse.jpg'))),
    ).toBe(true);
  });

  it("customer_input: a product's own image comes back first with cosine ≈ 1", async () => {
    const bytes = readFileSync(join(fx.catalogDir, 'blue-jacket.jpg'));
    const r = await fetch(`${url}/api/recommend/customer_input`, {
      method: 'POST',
      body: form([{ field: 'image', bytes, name: 'photo.jpg' }], { k: '3' }),
    });
    const res = (await r.json()) as CustomerInputResult;
    expect(r.status, JSON.stringify(res)).toBe(200);
    expect(res.k).toBe(3);
    expect(res.matches).toHaveLength(3);
    expect(res.matches[0]!.productId).toBe('blue-jacket');
    expect(res.matches[0]!.score).toBeGreaterThan(0.9999);
    expect(res.matches[1]!.score).toBeLessThan(res.matches[0]!.score);
    expect(res.input).toEqual({ kind: 'upload', id: 'upload:0', filename: 'photo.jpg' });
    expect(res.encoder.model).toBe('tiny-clip');
    expect(res.catalogSize).toBe(8);
    expect(res.runId).toMatch(/^rec-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(Date.parse(res.timestamp)).not.toBeNaN();
    expect(res.note).toBeUndefined();
  });

  it('customer_input: a PNG of the same colour finds the same product; default k is 10 clamped to the catalog', async () => {
    const r = await fetch(`${url}/api/recommend/customer_input`, {
      method: 'POST',
      body: form([
        {
          field: 'image',
          bytes: await solidPng(PRODUCT_COLOURS['green-skirt']!.colour, 120, 90),
          name: 'x.png',
          type: 'image/png',
        },
      ]),
    });
    const res = (await r.json()) as CustomerInputResult;
    expect(r.status).toBe(200);
    expect(res.k).toBe(10);
    expect(res.matches).toHaveLength(8);
    expect(res.matches[0]!.productId).toBe('green-skirt');
    // Scores are sorted best first.
    for (let i = 1; i < res.matches.length; i++)
      expect(res.matches[i - 1]!.score).toBeGreaterThanOrEqual(res.matches[i]!.score);
  });

  it('customer_input by product id never returns the product itself', async () => {
    const r = await post('/api/recommend/customer_input', { product_id: 'red-blouse', k: 7 });
    const res = (await r.json()) as CustomerInputResult;
    expect(r.status).toBe(200);
    expect(res.input).toEqual({ kind: 'catalog', id: 'red-blouse' });
    expect(res.matches).toHaveLength(7);
    expect(res.matches.map((m) => m.productId)).not.toContain('red-blouse');
  });

  it('top10_to_new with dataset item ids: the same-colour product first, and trend figures that add up', async () => {
    // Items 0 (red) and 2 (blue) of the fixture, sorted ids: find them by colour order.
    const red = fx.itemIds.find((id) => id.includes('/1000/'))!;
    const blue = fx.itemIds.find((id) => id.includes('/1002/'))!;
    const r = await post('/api/recommend/top10_to_new', { ids: [red, blue], k: 4 });
    expect(r.status).toBe(200);
    const res = (await r.json()) as Top10ToNewResult;
    expect(res.inputs.map((x) => x.input)).toEqual([
      { kind: 'item', id: red },
      { kind: 'item', id: blue },
    ]);
    expect(res.inputs[0]!.matches[0]!.productId).toBe('red-blouse');
    expect(res.inputs[1]!.matches[0]!.productId).toBe('blue-jacket');
    for (const x of res.inputs) expect(x.matches).toHaveLength(4);
    const all = res.inputs.flatMap((x) => x.matches);
    expect(res.trend.matches).toBe(8);
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    expect(sum(res.trend.styleDistribution)).toBeCloseTo(1, 5);
    expect(sum(res.trend.categoryDistribution)).toBeCloseTo(1, 5);
    const styleCount = all.filter((m) => m.style === '로맨틱').length;
    expect(res.trend.styleDistribution['로맨틱']).toBeCloseTo(styleCount / 8, 5);
    expect(res.trend.maxSimilarity).toBeCloseTo(Math.max(...all.map((m) => m.score)), 5);
    expect(res.trend.meanSimilarity).toBeCloseTo(all.reduce((a, m) => a + m.score, 0) / 8, 5);
    const counts = new Map<string, number>();
    for (const m of all) counts.set(m.productId, (counts.get(m.productId) ?? 0) + 1);
    expect(res.trend.mostMatched[0]!.count).toBe(Math.max(...counts.values()));
    expect(res.inputSource).toContain('2 ids');
  });

  it('top10_to_new with uploads and with the centrality proxy', async () => {
    const up = await fetch(`${url}/api/recommend/top10_to_new`, {
      method: 'POST',
      body: form(
        [
          { field: 'images', bytes: await solidJpeg(PRODUCT_COLOURS['purple-dress']!.colour), name: 'a.jpg' },
          { field: 'images', bytes: await solidJpeg(PRODUCT_COLOURS['orange-knit']!.colour), name: 'b.jpg' },
        ],
        { k: '2' },
      ),
    });
    expect(up.status).toBe(200);
    const u = (await up.json()) as Top10ToNewResult;
    expect(u.inputs.map((x) => x.matches[0]!.productId)).toEqual(['purple-dress', 'orange-knit']);
    expect(u.inputs[0]!.input).toEqual({ kind: 'upload', id: 'upload:0', filename: 'a.jpg' });

    const proxy = await post('/api/recommend/top10_to_new', { use_centrality_proxy: true });
    expect(proxy.status).toBe(200);
    const p = (await proxy.json()) as Top10ToNewResult;
    // 8 garments → the anchor set is the top 10 %, rounded up: 1 item.
    expect(p.inputs).toHaveLength(1);
    expect(p.inputs[0]!.input.kind).toBe('anchor');
    expect(fx.itemIds).toContain(p.inputs[0]!.input.id);
    expect(p.inputs[0]!.input.centrality).toBeGreaterThan(0);
    expect(p.inputSource).toContain('centrality proxy');
    expect(p.k).toBe(10);
  });

  it('catalog add, get and remove over HTTP', async () => {
    const bytes = await solidJpeg('#102030');
    const add = await fetch(`${url}/api/catalog`, {
      method: 'POST',
      body: form([{ field: 'image', bytes, name: 'navy.jpg' }], {
        id: 'navy-coat',
        name: 'Navy coat',
        category: '코트',
        attributes: JSON.stringify({ 카테고리: '코트', 색상: '네이비' }),
      }),
    });
    expect(add.status).toBe(201);
    const added = (await add.json()) as {
      product: { id: string; embeddings: string[]; attributes: unknown; style: null };
    };
    expect(added.product).toMatchObject({
      id: 'navy-coat',
      embeddings: ['tiny-clip'],
      style: null,
      attributes: { 카테고리: '코트', 색상: '네이비' },
    });
    const again = await fetch(`${url}/api/catalog`, {
      method: 'POST',
      body: form([{ field: 'image', bytes, name: 'navy.jpg' }], { id: 'navy-coat', name: 'Navy coat 2' }),
    });
    expect(again.status).toBe(200);
    const found = (await (
      await post('/api/recommend/customer_input', { product_id: fx.itemIds[0]!, k: 20 })
    ).json()) as CustomerInputResult;
    expect(found.matches.map((m) => m.productId)).toContain('navy-coat');
    expect(found.catalogSize).toBe(9);
    const got = await fetch(`${url}/api/catalog/navy-coat`);
    expect(((await got.json()) as { name: string }).name).toBe('Navy coat 2');
    const del = await fetch(`${url}/api/catalog/navy-coat`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ removed: ['navy-coat'] });
    expect((await fetch(`${url}/api/catalog/navy-coat`)).status).toBe(404);
    const after = (await (
      await post('/api/recommend/customer_input', { product_id: fx.itemIds[0]!, k: 20 })
    ).json()) as CustomerInputResult;
    expect(after.catalogSize).toBe(8);
  });

  it('KPIs count the calls and their latency; the dashboard has its five parts', async () => {
    const kpi = (await (await fetch(`${url}/api/kpi`)).json()) as KpiSummary;
    const logged = wb.workspace.db
      .prepare("SELECT COUNT(*) FROM recommendation_log WHERE status = 'ok'")
      .pluck()
      .get() as number;
    expect(kpi.count).toBe(logged);
    expect(kpi.count).toBeGreaterThanOrEqual(8);
    expect(kpi.latencyMs.p50).toBeGreaterThan(0);
    expect(kpi.latencyMs.p99!).toBeGreaterThanOrEqual(kpi.latencyMs.p95!);
    expect(kpi.latencyMs.p95!).toBeGreaterThanOrEqual(kpi.latencyMs.p50!);
    expect(kpi.meanTop1Similarity).toBeGreaterThan(0.5);
    expect(kpi.meanTop1Similarity).toBeLessThanOrEqual(1.000001);
    expect(kpi.catalog).toEqual({ products: 8, withVectors: 8 });
    const cat = kpi.embeddingHealth.find((h) => h.set === 'catalog')!;
    expect(cat.health.vectors).toBe(8);
    expect(cat.health.norm.ok).toBe(true);
    expect(kpi.embeddingHealth.find((h) => h.set === 'dataset')!.health.vectors).toBe(8);
    expect(kpi.lastEvaluation).toBeNull();

    const d = (await (await fetch(`${url}/api/dashboard`)).json()) as DashboardData;
    expect(Object.keys(d).sort()).toEqual([
      'augmentation',
      'augmented_samples',
      'hyperparams',
      'kpi',
      'loss_curve',
      'top_k_images',
    ]);
    expect(d.loss_curve).toBeNull();
    expect(d.hyperparams).toBeNull();
    expect(d.top_k_images.length).toBeGreaterThan(0);
    // No training run, so no augmentation to show: nothing is drawn for display only.
    expect(d.augmented_samples).toEqual([]);
    expect(d.augmentation).toBeNull();
  });

  it('KPI and dashboard read the last evaluation, the loss curve and the hyperparameters from the result files', async () => {
    const results = join(fx.workspace, 'results');
    const checkpoints = join(fx.workspace, 'checkpoints');
    mkdirSync(results, { recursive: true });
    mkdirSync(checkpoints, { recursive: true });
    // An older and a newer evaluation report (the shape `kfashion eval` writes); the newer one counts.
    const report = (stamp: string, top1: number) => ({
      kind: 'evaluation',
      run_id: `eval-${stamp}`,
      timestamp: stamp,
      synthetic: false,
      recall: { '1': top1, '5': 0.61, '10': 0.74 },
      mrr: 0.42,
      protocol_label: 'gallery, N=435',
    });
    writeFileSync(
      join(results, 'evaluation_20260101T000000Z.json'),
      JSON.stringify(report('2026-01-01T00:00:00.000Z', 0.2)),
    );
    writeFileSync(
      join(results, 'evaluation_20260301T000000Z.json'),
      JSON.stringify(report('2026-03-01T00:00:00.000Z', 0.25)),
    );
    writeFileSync(join(results, 'evaluation_broken.json'), '{ not json');
    // Each report is found through its row in the evaluations table, as `kfashion eval` records it.
    const ws = Workspace.open(fx.workspace, { create: false });
    for (const [stamp, file] of [
      ['2026-01-01T00:00:00.000Z', 'evaluation_20260101T000000Z.json'],
      ['2026-03-01T00:00:00.000Z', 'evaluation_20260301T000000Z.json'],
      ['2026-04-01T00:00:00.000Z', 'evaluation_broken.json'],
    ] as const) {
      recordEvaluation(ws, {
        runId: `eval-${stamp}`,
        kind: 'evaluation',
        createdAt: stamp,
        checkpoint: 'train-x',
        checkpointEpoch: 3,
        protocol: 'gallery',
        synthetic: false,
        file: `results/${file}`,
        summary: {},
      });
    }
    ws.close();
    const history = [1, 2, 3].map((epoch) => ({
      epoch,
      trainLoss: 3 - epoch * 0.5,
      valLoss: 3.2 - epoch * 0.4,
    }));
    writeFileSync(
      join(results, 'training_results.json'),
      JSON.stringify({ runId: 'train-x', config: { epochs: 3 }, history }),
    );
    writeFileSync(
      join(checkpoints, 'best_model.json'),
      JSON.stringify({
        runId: 'train-x',
        epoch: 3,
        backend: 'wasm',
        config: { temperature: 0.1, lr: 0.001, batchSize: 64 },
      }),
    );
    const kpi = (await (await fetch(`${url}/api/kpi`)).json()) as KpiSummary;
    expect(kpi.lastEvaluation).toEqual({
      file: 'results/evaluation_20260301T000000Z.json',
      timestamp: '2026-03-01T00:00:00.000Z',
      runId: 'eval-2026-03-01T00:00:00.000Z',
      // No run of this workspace is current (its results were written by hand), so the figure is
      // stale and says which run it came from.
      trainingRunId: 'train-x',
      checkpointEpoch: 3,
      stale: true,
      currentRunId: null,
      top1: 0.25,
      top5: 0.61,
      recall10: 0.74,
      mrr: 0.42,
      protocol: 'gallery, N=435',
      synthetic: false,
    });
    const d = (await (await fetch(`${url}/api/dashboard`)).json()) as DashboardData;
    expect(d.loss_curve).toEqual({
      runId: 'train-x',
      epochs: [1, 2, 3],
      trainLoss: history.map((h) => h.trainLoss),
      valLoss: history.map((h) => h.valLoss),
      source: 'results/training_results.json',
    });
    expect(d.hyperparams).toMatchObject({
      source: 'checkpoints/best_model.json',
      runId: 'train-x',
      temperature: 0.1,
      batchSize: 64,
    });
    // No augmentation file for train-x: none shown. Then the samples the trainer records for it.
    expect(d.augmented_samples).toEqual([]);
    const crop = wb.workspace.db
      .prepare('SELECT item_id, path FROM crops ORDER BY item_id LIMIT 1')
      .get() as {
      item_id: string;
      path: string;
    };
    const settings = { json: { fieldDropout: 0.2 }, image: { views: 0 } };
    const sample = {
      itemId: crop.item_id,
      epoch: 1,
      step: 0,
      before: { category: '블라우스', silhouette: '루즈' },
      after: { category: '블라우스' },
      changes: ['dropped silhouette'],
      view: 0,
      imagePath: crop.path,
      viewDescription: '',
    };
    const file = { runId: 'train-x', createdAt: 'now', settings, recipe: null, samples: [sample] };
    writeFileSync(join(results, 'augmentation_samples.json'), JSON.stringify(file));
    // Another run's file is never shown as the current run's.
    writeFileSync(
      join(results, 'augmentation_samples.json.other'),
      JSON.stringify({ ...file, runId: 'train-y' }),
    );
    const d2 = (await (await fetch(`${url}/api/dashboard`)).json()) as DashboardData;
    expect(d2.augmentation).toEqual({
      runId: 'train-x',
      settings,
      recipe: null,
      source: 'results/augmentation_samples.json',
    });
    expect(d2.augmented_samples).toHaveLength(1);
    expect(d2.augmented_samples[0]).toMatchObject({
      itemId: crop.item_id,
      augmentation: 'original crop · dropped silhouette',
      before: sample.before,
      after: sample.after,
      view: 0,
    });
    expect(d2.augmented_samples[0]!.dataUrl).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    writeFileSync(join(results, 'augmentation_samples.json'), JSON.stringify({ ...file, runId: 'train-y' }));
    const d3 = (await (await fetch(`${url}/api/dashboard`)).json()) as DashboardData;
    expect(d3.augmented_samples).toEqual([]);
    // The evaluation report is served as a workspace file.
    const served = await fetch(`${url}/api/files/results/evaluation_20260301T000000Z.json`);
    expect(served.status).toBe(200);
    expect(((await served.json()) as { mrr: number }).mrr).toBe(0.42);
  });

  it('serves garment crops whose paths hold Hangul, percent-encoded per segment', async () => {
    const rel = wb.workspace.db
      .prepare('SELECT path FROM crops ORDER BY item_id LIMIT 1')
      .pluck()
      .get() as string;
    expect(rel).toMatch(/^crops\/(로맨틱|리조트)\//);
    const r = await fetch(`${url}${workspaceFileUrl(rel)}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await r.arrayBuffer()).equals(readFileSync(join(fx.workspace, rel)))).toBe(true);
  });

  it('serves /openapi.json with every route', async () => {
    const spec = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(spec.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/recommend/top10_to_new',
      '/api/recommend/customer_input',
      '/api/catalog',
      '/api/catalog/{id}',
      '/api/kpi',
      '/api/dashboard',
    ]) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
  });
});
