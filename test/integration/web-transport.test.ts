/**
 * Browser mode's transport on real HTTP (127.0.0.1, a free port): RPC through the renderer's own
 * transport module, events over a real WebSocket during a real scan job (on the bundled worker
 * thread), and the media route's refusals of every way out of the workspace.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { createWebServer } from '../../src-main/server/web-server.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { createHttpTransport, httpMediaUrl } from '../../src-renderer/src/lib/transport.ts';
import { type ApiClient, type ApiEventPayload, createClient, parseJobResult } from '../../src-shared/api.ts';
import { FixtureTree, simpleLabel } from '../helpers/kfashion-fixture.ts';

// Node 20 has no global WebSocket; `ws` (what @fastify/websocket uses) has the browser's API.
const WebSocketImpl = createRequire(import.meta.url)('ws') as typeof WebSocket;

const JOB_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'job-worker.js');

let fixture: FixtureTree;
let base: string;
let workspace: string;
let outside: string;
let session: ApiSession;
let app: FastifyInstance;
let origin: string;
let client: ApiClient;

beforeAll(async () => {
  fixture = new FixtureTree();
  for (let i = 1; i <= 12; i++) {
    const style = i % 2 ? '레트로' : '로맨틱';
    fixture.addLabel(style, simpleLabel(i));
    await fixture.addImage(style, String(i));
  }
  base = mkdtempSync(join(tmpdir(), 'kf-web-'));
  workspace = join(base, 'ws 작업');
  outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.png'), 'SECRET-OUTSIDE');
  session = new ApiSession({
    mode: 'browser',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir: join(base, 'data'),
    jobs: new JobHost({ workerScript: JOB_WORKER }),
  });
  session.openWorkspace(workspace, { create: true });
  app = await createWebServer({ session, rendererDir: null });
  origin = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  client = createClient(createHttpTransport(origin, WebSocketImpl));
});

afterAll(async () => {
  await app?.close();
  await session?.close();
  fixture?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** A raw HTTP GET/POST with the path exactly as given (fetch would normalise `..` away). */
function raw(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; type: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            type: String(res.headers['content-type'] ?? ''),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('RPC over HTTP', () => {
  it('answers a call through the renderer transport', async () => {
    const info = await client.call('app.info', {});
    expect(info).toMatchObject({ mode: 'browser', canPickFolder: false, workspace: session.workspace });
  });

  it('refuses invalid input with a 400 envelope naming the field, and the client rethrows it', async () => {
    const res = await raw('/api/rpc/dataset.scan', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: 42 }),
    });
    expect(res.status).toBe(400);
    const envelope = JSON.parse(res.body);
    expect(envelope).toMatchObject({ ok: false, error: { name: 'ValidationError', code: 'invalid_input' } });
    expect(envelope.error.message).toMatch(/^Invalid input to dataset\.scan: data: /);
    await expect(client.call('dataset.sampleCrops', { limit: 0 })).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(/limit: /),
    });
  });

  it('keeps a handler error message (Korean included) and its name across', async () => {
    await expect(client.call('workspace.open', { path: join(base, '없는 폴더') })).rejects.toMatchObject({
      name: 'WorkspaceError',
      message: expect.stringContaining('없는 폴더'),
    });
    await expect(client.call('workspace.pick', {})).rejects.toMatchObject({ name: 'NotAvailableError' });
  });

  it('answers 404 for an unknown method, 415 for a non-JSON body, malformed JSON as an envelope', async () => {
    const unknown = await raw('/api/rpc/nope.nope', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.message).toBe('Unknown method: nope.nope');
    const plain = await raw('/api/rpc/app.info', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
    const broken = await raw('/api/rpc/app.info', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.body)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('refuses other origins and foreign Host headers (DNS rebinding)', async () => {
    const post = (headers: Record<string, string>) =>
      raw('/api/rpc/app.info', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });
    expect((await post({ origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ origin: 'null' })).status).toBe(403);
    expect((await post({ host: 'evil.example' })).status).toBe(403);
    expect((await post({ origin })).status).toBe(200);
    expect((await raw('/media/x.png', { headers: { host: 'evil.example:80' } })).status).toBe(403);
    // The REST routes of buildServer are behind the same guard.
    expect((await raw('/api/health')).status).toBe(200);
    expect((await raw('/api/health', { headers: { host: 'evil.example' } })).status).toBe(403);
    expect((await raw('/api/kpi', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('lists the contract', async () => {
    const res = await raw('/api/contract');
    const body = JSON.parse(res.body) as { methods: { name: string }[]; events: { name: string }[] };
    expect(body.methods.map((m) => m.name)).toContain('train.start');
    expect(body.events.map((e) => e.name)).toContain('job.progress');
  });
});

describe('a real scan job with events over the WebSocket', () => {
  it('streams started, progress and done, then the workspace has the items', async () => {
    const progress: ApiEventPayload<'job.progress'>[] = [];
    const started: string[] = [];
    const changed: string[] = [];
    const offs = [
      client.on('job.progress', (p) => progress.push(p)),
      client.on('job.started', (p) => started.push(p.job)),
      client.on('workspace.changed', (p) => changed.push(p.reason)),
    ];
    const done = new Promise<ApiEventPayload<'job.done'>>((resolve, reject) => {
      offs.push(client.on('job.done', resolve));
      offs.push(client.on('job.failed', (f) => reject(new Error(f.error.message))));
    });
    // The socket opens on the first subscription; wait until the server has it (a UI subscribes
    // long before it starts a job). The web server itself subscribes once (app.workbench follow).
    for (let i = 0; i < 250 && session.subscribers < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(session.subscribers).toBe(2);
    const handle = await client.call('dataset.scan', { data: fixture.root });
    expect(handle.kind).toBe('scan');
    const finished = await done;
    expect(finished.job).toBe(handle.job);
    expect(started).toContain(handle.job);
    // Progress came from the worker thread, under the job id the caller knows.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.job === handle.job && p.kind === 'scan')).toBe(true);
    expect(progress.map((p) => p.phase)).toContain('scan');
    const last = progress.at(-1)!;
    expect(last.elapsedMs).toBeGreaterThanOrEqual(0);
    const report = parseJobResult('scan', finished.result);
    expect(report.total.garments).toBe(12);
    await expect(client.call('job.get', { job: handle.job })).resolves.toMatchObject({ status: 'done' });
    const summary = await client.call('workspace.summary', {});
    expect(summary.items).toBe(12);
    await new Promise((r) => setTimeout(r, 50));
    expect(changed).toContain('scan');
    for (const off of offs) off();
  });

  it('serves a sample crop through /media/ and the vocabulary for the query builder', async () => {
    const sample = await client.call('dataset.sampleCrops', { limit: 3, seed: 5 });
    expect(sample.total).toBe(12);
    expect(sample.items).toHaveLength(3);
    const crop = sample.items[0]!.crop!;
    expect(crop).toMatch(/^crops\/(레트로|로맨틱)\//);
    const res = await fetch(httpMediaUrl(origin, crop));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]); // a JPEG
    const vocab = await client.call('dataset.vocabulary', { fields: ['category'] });
    expect(vocab.fields.category?.find((v) => v.value === '블라우스')?.count).toBe(12);
    expect(vocab.fields.category?.some((v) => v.value === '<pad>')).toBe(false);
  });

  it("serves a garment's whole photo with its box for the detail panel, and 404s an unknown item", async () => {
    const sample = await client.call('dataset.sampleCrops', { limit: 1, seed: 5 });
    const id = sample.items[0]!.id;
    const photo = await client.call('dataset.photo', { id });
    // The fixture's 80×100 picture (under the preview size: kept whole) and its label's polygon.
    expect(photo).toMatchObject({ id, width: 80, height: 100, original: { width: 80, height: 100 } });
    expect(photo.box).toEqual({ x: 10, y: 10, w: 40, h: 50 });
    expect(photo.boxSource).toBe('polygon');
    // A copy inside the workspace, served by the media rules like a crop (never the data folder).
    expect(photo.photo).toMatch(/^crops\/photos\/[0-9a-f]{24}\.jpg$/);
    const res = await fetch(httpMediaUrl(origin, photo.photo));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    // Asked again: the same copy.
    await expect(client.call('dataset.photo', { id })).resolves.toMatchObject({ photo: photo.photo });
    await expect(client.call('dataset.photo', { id: '레트로/none/상의' })).rejects.toMatchObject({
      code: 'unknown_id',
      message: expect.stringContaining('레트로/none/상의'),
    });
  });
});

describe('the other services over the contract', () => {
  it('answer on a scanned workspace that has not trained or embedded yet', async () => {
    await expect(client.call('eval.list', {})).resolves.toEqual([]);
    await expect(client.call('recommend.encoder', {})).resolves.toBeNull();
    await expect(client.call('catalog.list', {})).resolves.toMatchObject({ total: 0, products: [] });
    await expect(client.call('kpi.summary', {})).resolves.toMatchObject({ count: 0 });
    await expect(client.call('train.status', {})).resolves.toMatchObject({ running: null, results: null });
    await expect(client.call('dataset.excluded', {})).resolves.toMatchObject({ total: 0 });
    // Work that needs a trained checkpoint fails with the service's own message, not a crash.
    const evalJob = await client.call('eval.run', {});
    const failed = await new Promise<ApiEventPayload<'job.failed'>>((resolve) => {
      const off = client.on('job.failed', (f) => {
        if (f.job === evalJob.job) {
          off();
          resolve(f);
        }
      });
    });
    expect(failed).toMatchObject({ kind: 'evaluate', cancelled: false });
    expect(failed.error.message.length).toBeGreaterThan(10);
    await expect(client.call('job.cancel', { job: 'nope-1' })).rejects.toMatchObject({
      name: 'JobNotFoundError',
    });
    await expect(client.call('eval.report', { file: '../outside/secret.json' })).rejects.toMatchObject({
      name: 'MediaPathError',
    });
  });

  it('refuses a second writer job on the same workspace, naming the running one', async () => {
    const first = await client.call('dataset.crops', {});
    try {
      await expect(client.call('dataset.scan', { data: fixture.root })).rejects.toMatchObject({
        name: 'JobConflictError',
        message: expect.stringContaining(first.job),
      });
    } finally {
      await new Promise<void>((resolve) => {
        const check = () =>
          client.call('job.get', { job: first.job }).then((j) => {
            if (j.status === 'running') setTimeout(check, 50);
            else resolve();
          });
        void check();
      });
    }
  });
});

describe('media paths', () => {
  it('refuses every way out of the workspace and never leaks the file', async () => {
    symlinkSync(outside, join(workspace, 'results', 'link-out'));
    writeFileSync(join(workspace, 'results', 'inside.png'), 'INSIDE');
    const attempts = [
      '/media/../outside/secret.png',
      '/media/results/../../outside/secret.png',
      '/media/%2e%2e/outside/secret.png',
      '/media/results%2f..%2f..%2foutside%2fsecret.png',
      '/media/%252e%252e%252foutside%252fsecret.png',
      `/media/${encodeURIComponent(join(outside, 'secret.png'))}`,
      '/media//etc/passwd',
      '/media/results%5c..%5c..%5coutside%5csecret.png',
      '/media/C:%2fWindows%2fwin.ini',
      '/media/results/link-out/secret.png',
      '/media/workspace.db',
      '/media/results/inside.png%00.png',
    ];
    for (const path of attempts) {
      const res = await raw(path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.body, path).not.toContain('SECRET-OUTSIDE');
    }
    const ok = await raw('/media/results/inside.png');
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('INSIDE');
    expect(ok.type).toBe('image/png');
    expect((await raw('/media/results/missing.png')).status).toBe(404);
  });
});
