/**
 * The API fuzzer at CI size: a few hundred generated hostile requests to each real server on
 * 127.0.0.1, browser mode (`web`: every contract method over /api/rpc and the REST routes) and the
 * recommendation server (`serve`: the REST routes), with a small upload limit so that oversized
 * bodies stay small. No answer may be a 5xx, every request must get an answer, every refusal must be
 * the JSON error shape, and nothing may quote a server file. Both servers still answer afterwards . The full run is `npm run fuzz -- api`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { buildServer } from '../../src-main/server/app.ts';
import { createWebServer } from '../../src-main/server/web-server.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { runJobSpec } from '../../src-main/services/job-table.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import {
  apiFuzzRequests,
  type FuzzSummary,
  type OpenApiDoc,
  rpcMethods,
  runApiFuzz,
} from '../helpers/api-fuzzer.ts';
import { buildRecommendFixture, type RecommendFixture, solidJpeg } from '../helpers/recommend-fixture.ts';

const LIMIT = 64 * 1024;
const REQUESTS = Number(process.env.KFASHION_FUZZ_REQUESTS ?? 400);

let fx: RecommendFixture;
let wb: Workbench;
let serve: FastifyInstance;
let serveUrl: string;
let session: ApiSession;
let web: FastifyInstance;
let webUrl: string;
let jpeg: Buffer;

beforeAll(async () => {
  fx = await buildRecommendFixture();
  jpeg = await solidJpeg('#884422');
  const root = join(fx.base, 'allowed');
  mkdirSync(root, { recursive: true });
  wb = Workbench.open(fx.workspace, { create: false });
  serve = await buildServer({ workbench: wb, uploadLimitBytes: LIMIT });
  serveUrl = await serve.listen({ host: '127.0.0.1', port: 0 });
  session = new ApiSession({
    mode: 'browser',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir: join(fx.base, 'app-data'),
    jobs: new JobHost({ inline: runJobSpec }),
    allowedRoots: [root],
  });
  session.openWorkspace(fx.workspace);
  web = await createWebServer({ session, rendererDir: null, uploadLimitBytes: LIMIT });
  webUrl = await web.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await serve?.close();
  await web?.close();
  await session?.close();
  await wb?.closeAsync();
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

async function fuzz(url: string, mode: 'web' | 'serve', seed: number): Promise<FuzzSummary> {
  const openapi = (await (await fetch(new URL('/openapi.json', url))).json()) as OpenApiDoc;
  const gen = apiFuzzRequests({ mode, openapi, uploadLimitBytes: LIMIT, images: { jpeg } }, seed);
  return runApiFuzz(url, gen, REQUESTS, { concurrency: 4 });
}

function expectClean(s: FuzzSummary): void {
  expect(s.requests).toBe(REQUESTS);
  // The findings in full, so that a failure says which request broke what.
  expect(
    s.findings.map(
      (f) => `${f.kind} ${f.status} ${f.request.target} ${f.request.mutation}: ${f.answer.slice(0, 160)}`,
    ),
  ).toEqual([]);
  // Refusals happened (the fuzzer is not just sending valid requests).
  const refused = Object.entries(s.byStatus)
    .filter(([st]) => Number(st) >= 400)
    .reduce((a, [, n]) => a + n, 0);
  expect(refused).toBeGreaterThan(REQUESTS / 2);
}

describe('API fuzz (CI size)', () => {
  it('covers every contract method', () => {
    const names = rpcMethods().map((m) => m.name);
    expect(names).toContain('search.run');
    expect(names).toContain('catalog.remove');
    expect(names.length).toBeGreaterThan(30);
  });

  it(`browser mode: ${REQUESTS} hostile requests, no 5xx, every one answered`, async () => {
    const s = await fuzz(webUrl, 'web', 7);
    expectClean(s);
    // Every contract method was reached.
    for (const m of rpcMethods()) expect(s.byTarget[`rpc ${m.name}`] ?? 0, m.name).toBeGreaterThan(0);
    const health = await fetch(new URL('/api/health', webUrl));
    expect(health.status).toBe(200);
  }, 300_000);

  it(`serve: ${REQUESTS} hostile requests, no 5xx, every one answered`, async () => {
    const s = await fuzz(serveUrl, 'serve', 11);
    expectClean(s);
    for (const route of [
      'POST /api/catalog',
      'POST /api/recommend/customer_input',
      'DELETE /api/catalog/{id}',
    ]) {
      expect(s.byTarget[route] ?? 0, route).toBeGreaterThan(0);
    }
    const health = await fetch(new URL('/api/health', serveUrl));
    expect(health.status).toBe(200);
  }, 300_000);
});
