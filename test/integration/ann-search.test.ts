/**
 * The approximate index as an option in the real services: image → image search with `index: 'ann'`
 * and the recommendation server with `configureIndex('ann')` (what `serve --index ann` does) answer
 * like the exact index on a small workspace, say so in every answer with the measured recall@10, and
 * keep the graph in <workspace>/ann/ (reused, not rebuilt, by the next service on the same vectors).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { buildServer } from '../../src-main/server/app.ts';
import { createWebServer } from '../../src-main/server/web-server.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import type { CustomerInputResult } from '../../src-shared/recommend.ts';
import { buildRecommendFixture, type RecommendFixture } from '../helpers/recommend-fixture.ts';

let fx: RecommendFixture;

beforeAll(async () => {
  fx = await buildRecommendFixture();
}, 120_000);

afterAll(() => {
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

describe('--index ann in search and serve', () => {
  it('image search: same top hit as exact, the engine names the approximate index and its recall', async () => {
    const wb = Workbench.open(fx.workspace, { create: false });
    try {
      const bytes = readFileSync(join(fx.catalogDir, 'blue-jacket.jpg'));
      const exact = await wb.search({ imageBytes: bytes, imageName: 'q.jpg', k: 3, save: false });
      const ann = await wb.search({ imageBytes: bytes, imageName: 'q.jpg', k: 3, save: false, index: 'ann' });
      expect(exact.gallery.engine).not.toMatch(/approximate/);
      expect(ann.gallery.engine).toMatch(
        /^approximate: usearch HNSW .*recall@10 [01]\.\d{3} vs exact on \d+ queries/,
      );
      expect(ann.searches[0]!.hits.map((h) => h.id)).toEqual(exact.searches[0]!.hits.map((h) => h.id));
      expect(readdirSync(join(fx.workspace, 'ann')).some((f) => f.endsWith('.usearch'))).toBe(true);
    } finally {
      await wb.closeAsync();
    }
  }, 60_000);

  it('serve with the ann index: every answer carries the index and its recall@10', async () => {
    const wb = Workbench.open(fx.workspace, { create: false });
    wb.recommender().configureIndex('ann');
    const app = await buildServer({ workbench: wb });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const r = await fetch(`${url}/api/recommend/customer_input`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product_id: 'blue-jacket', k: 3 }),
      });
      const res = (await r.json()) as CustomerInputResult;
      expect(r.status, JSON.stringify(res)).toBe(200);
      expect(res.index?.kind).toBe('ann');
      expect(res.index?.engine).toMatch(/usearch HNSW/);
      expect(typeof res.index?.recallAt10).toBe('number');
      expect(res.matches).toHaveLength(3);
      expect(res.matches.map((m) => m.productId)).not.toContain('blue-jacket');
    } finally {
      await app.close();
      await wb.closeAsync();
    }
  }, 60_000);

  it('the UI path: a recommend request may ask for the ann index itself; exact stays the default', async () => {
    const wb = Workbench.open(fx.workspace, { create: false });
    try {
      const exact = await wb.recommendCustomerInput({ productId: 'blue-jacket', k: 3 });
      expect(exact.index).toBeUndefined();
      const ann = await wb.recommendCustomerInput({ productId: 'blue-jacket', k: 3, index: 'ann' });
      expect(ann.index).toMatchObject({ kind: 'ann', engine: expect.stringMatching(/usearch HNSW/) });
      expect(typeof ann.index?.recallAt10).toBe('number');
      expect(ann.matches.map((m) => m.productId)).toEqual(exact.matches.map((m) => m.productId));
      const best = await wb.recommendTop10ToNew({ ids: ['blue-jacket'], k: 2, index: 'ann' });
      expect(best.index?.kind).toBe('ann');
      // Both indexes stay live: an exact request after an ann one is exact again.
      expect((await wb.recommendCustomerInput({ productId: 'blue-jacket', k: 3 })).index).toBeUndefined();
      await expect(
        wb.recommendCustomerInput({ productId: 'blue-jacket', k: 3, index: 'hnsw' as 'ann' }),
      ).rejects.toThrow(/index must be "exact" or "ann", got "hnsw"/);
    } finally {
      await wb.closeAsync();
    }
  }, 60_000);

  it('REST: a request names its own index (JSON and multipart); exact stays the server default', async () => {
    const wb = Workbench.open(fx.workspace, { create: false });
    const app = await buildServer({ workbench: wb });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const json = (path: string, body: unknown) =>
        fetch(`${url}/api/recommend/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const exact = (await (
        await json('customer_input', { product_id: 'blue-jacket', k: 3 })
      ).json()) as CustomerInputResult;
      expect(exact.index).toBeUndefined();
      const r = await json('customer_input', { product_id: 'blue-jacket', k: 3, index: 'ann' });
      const ann = (await r.json()) as CustomerInputResult;
      expect(r.status, JSON.stringify(ann)).toBe(200);
      expect(ann.index).toMatchObject({ kind: 'ann', engine: expect.stringMatching(/usearch HNSW/) });
      expect(typeof ann.index?.recallAt10).toBe('number');
      expect(ann.matches.map((m) => m.productId)).toEqual(exact.matches.map((m) => m.productId));
      const best = await json('top10_to_new', { ids: ['blue-jacket'], k: 2, index: 'ann' });
      expect(best.status).toBe(200);
      expect(((await best.json()) as { index?: { kind: string } }).index?.kind).toBe('ann');

      // The same choice as a multipart field beside an uploaded photo.
      const form = new FormData();
      const photo = readFileSync(join(fx.catalogDir, 'blue-jacket.jpg'));
      form.append('image', new Blob([photo], { type: 'image/jpeg' }), 'q.jpg');
      form.append('k', '3');
      form.append('index', 'ann');
      const up = await fetch(`${url}/api/recommend/customer_input`, { method: 'POST', body: form });
      const upBody = (await up.json()) as CustomerInputResult;
      expect(up.status, JSON.stringify(upBody)).toBe(200);
      expect(upBody.index?.kind).toBe('ann');

      // A wrong value is a 400 naming the field, in JSON and in multipart alike.
      const bad = await json('customer_input', { product_id: 'blue-jacket', index: 'hnsw' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toMatch(/index/);
      const badForm = new FormData();
      badForm.append('image', new Blob([photo], { type: 'image/jpeg' }), 'q.jpg');
      badForm.append('index', 'fast');
      const badUp = await fetch(`${url}/api/recommend/customer_input`, { method: 'POST', body: badForm });
      expect(badUp.status).toBe(400);
      expect(((await badUp.json()) as { error: { message: string } }).error.message).toMatch(
        /index must be "exact" or "ann", got "fast"/,
      );
    } finally {
      await app.close();
      await wb.closeAsync();
    }
  }, 60_000);

  it('the web transport (RPC, as the web UI calls) carries index and answers with the recall', async () => {
    const session = new ApiSession({
      mode: 'browser',
      appName: 'K-Fashion Workbench',
      version: 'test',
      dataDir: join(fx.base, 'web-data'),
      jobs: new JobHost({ workerScript: join(import.meta.dirname, '..', '..', 'dist', 'job-worker.js') }),
    });
    session.openWorkspace(fx.workspace, { create: false });
    const app = await createWebServer({ session, rendererDir: null });
    try {
      const url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
      const call = (body: unknown) =>
        fetch(`${url}/api/rpc/recommend.customerInput`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const r = await call({ productId: 'blue-jacket', k: 3, index: 'ann' });
      const envelope = (await r.json()) as { ok: boolean; result: CustomerInputResult };
      expect(r.status, JSON.stringify(envelope)).toBe(200);
      expect(envelope.result.index?.kind).toBe('ann');
      expect(typeof envelope.result.index?.recallAt10).toBe('number');
      const bad = await call({ productId: 'blue-jacket', index: 'fast' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toMatch(/index/);
    } finally {
      await app.close();
      await session.close();
    }
  }, 60_000);
});
