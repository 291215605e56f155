/**
 * The request guard of both servers (`serve`: buildServer; `web`: createWebServer) on real HTTP:
 * Host and Origin refusals, cross-site writes, a named front-end origin with CORS, the token away
 * from loopback (Bearer, and browser mode's ?token= → cookie), the allowed roots of browser-mode RPC
 * paths, error bodies that never carry a server file's bytes, short echoes of unknown ids, the RPC
 * body limit, and the one error → status map on REST and RPC side by side.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { buildServer } from '../../src-main/server/app.ts';
import { rpcBodyLimit } from '../../src-main/server/limits.ts';
import { TOKEN_COOKIE } from '../../src-main/server/request-guard.ts';
import { createWebServer } from '../../src-main/server/web-server.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { runJobSpec } from '../../src-main/services/job-table.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { encodeNpy } from '../../src-main/store/npy.ts';
import { buildRecommendFixture, type RecommendFixture, solidJpeg } from '../helpers/recommend-fixture.ts';

/** The part of the `ws` client used here (Node's API: request headers, the refused upgrade's answer). */
interface WsClient {
  on(event: 'open' | 'error', listener: () => void): void;
  on(
    event: 'unexpected-response',
    listener: (req: { destroy(): void }, res: { statusCode?: number }) => void,
  ): void;
  close(): void;
}
const WebSocketImpl = createRequire(import.meta.url)('ws') as new (
  url: string,
  opts: { headers: Record<string, string> },
) => WsClient;

const SHOP = 'https://shop.example';
const EVIL = 'http://evil.example';
const TOKEN = 'test-token-0123456789-abcdefghij';
/** What a server file holds that must never come back in an error body. */
const SECRET = 'root:x:0:0:SECRET-SERVER-FILE-CONTENT:/root:/bin/bash';

let fx: RecommendFixture;
let wb: Workbench;
let session: ApiSession;
let serve: FastifyInstance;
let web: FastifyInstance;
let serveUrl: string;
let webUrl: string;
let allowedRoot: string;
let outside: string;
let dataDir: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field
  json: any;
}

/** A request with headers exactly as given (fetch would not send a foreign Host or a Cookie). */
function raw(
  base: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: url.port, path, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A multipart body with one file field (and text fields), as a browser form would send it. */
function multipart(
  field: string,
  bytes: Buffer,
  filename: string,
  fields: Record<string, string> = {},
): { body: Buffer; type: string } {
  const b = `----kfguard${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    bytes,
    Buffer.from(`\r\n--${b}--\r\n`),
  );
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` };
}

const rpc = (base: string, method: string, input: unknown, headers: Record<string, string> = {}) =>
  raw(base, `/api/rpc/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(input),
  });

const productCount = () =>
  wb.workspace.db.prepare('SELECT COUNT(*) FROM catalog_products').pluck().get() as number;

beforeAll(async () => {
  fx = await buildRecommendFixture();
  allowedRoot = join(fx.base, 'allowed');
  outside = join(fx.base, 'outside');
  dataDir = join(fx.base, 'app-data');
  mkdirSync(allowedRoot, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'passwd'), `${SECRET}\n`);

  wb = Workbench.open(fx.workspace, { create: false });
  serve = await buildServer({ workbench: wb, guard: { allowedOrigins: [SHOP] } });
  serveUrl = await serve.listen({ host: '127.0.0.1', port: 0 });

  session = new ApiSession({
    mode: 'browser',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir,
    jobs: new JobHost({ inline: runJobSpec }),
    allowedRoots: [allowedRoot],
  });
  // Opened at start, as `kfashion web --workspace` does: a "recent workspace", hence allowed.
  session.openWorkspace(fx.workspace);
  web = await createWebServer({ session, rendererDir: null, guard: { allowedOrigins: [SHOP] } });
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

describe('one request guard for serve and web', () => {
  const servers = () =>
    [
      ['serve', serveUrl],
      ['web', webUrl],
    ] as const;

  it('refuses a foreign Host (DNS rebinding) on both, with one refusal body', async () => {
    for (const [name, base] of servers()) {
      const a = await raw(base, '/api/catalog', { headers: { host: 'evil.example' } });
      expect(a.status, name).toBe(403);
      expect(a.json, name).toMatchObject({ ok: false, error: { code: 'forbidden', status: 403 } });
      expect(a.json.error.message).toContain('evil.example');
      const ok = await raw(base, '/api/catalog', { headers: { host: `localhost:${new URL(base).port}` } });
      expect(ok.status, name).toBe(200);
    }
  });

  it('refuses cross-site form, multipart and text/plain writes on both, and stores nothing', async () => {
    const before = productCount();
    const jpeg = await solidJpeg('#123456');
    for (const [name, base] of servers()) {
      const form = multipart('image', jpeg, 'evil.jpg', { name: 'evil product' });
      const byOrigin = await raw(base, '/api/catalog', {
        method: 'POST',
        headers: { 'content-type': form.type, origin: EVIL },
        body: form.body,
      });
      expect(byOrigin.status, name).toBe(403);
      // An old-style form post without Origin, but marked cross-site by the browser.
      const bySite = await raw(base, '/api/catalog', {
        method: 'POST',
        headers: { 'content-type': form.type, 'sec-fetch-site': 'cross-site' },
        body: form.body,
      });
      expect(bySite.status, name).toBe(403);
      const urlencoded = await raw(base, '/api/catalog/red-blouse', {
        method: 'DELETE',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
        body: 'a=1',
      });
      expect(urlencoded.status, name).toBe(403);
      const plain = await raw(base, '/api/rpc/catalog.remove', {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: EVIL },
        body: '{"ids":["red-blouse"]}',
      });
      expect(plain.status, name).toBe(403);
    }
    expect(productCount()).toBe(before);
  });

  it('lets a named front-end origin call, with CORS answers and a preflight', async () => {
    for (const [name, base] of servers()) {
      const preflight = await raw(base, '/api/recommend/customer_input', {
        method: 'OPTIONS',
        headers: {
          origin: SHOP,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
      expect(preflight.status, name).toBe(204);
      expect(preflight.headers['access-control-allow-origin'], name).toBe(SHOP);
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain(
        'content-type',
      );
      const list = await raw(base, '/api/catalog', { headers: { origin: SHOP } });
      expect(list.status, name).toBe(200);
      expect(list.headers['access-control-allow-origin'], name).toBe(SHOP);
      expect(String(list.headers.vary)).toContain('Origin');
      const rec = await raw(base, '/api/recommend/customer_input', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: SHOP, 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify({ product_id: 'red-blouse', k: 2 }),
      });
      expect(rec.status, `${name}: ${rec.text}`).toBe(200);
      expect(rec.headers['access-control-allow-origin']).toBe(SHOP);
      // Another origin gets no preflight and no CORS header.
      const evil = await raw(base, '/api/catalog', {
        method: 'OPTIONS',
        headers: { origin: EVIL, 'access-control-request-method': 'POST' },
      });
      expect(evil.status, name).toBe(403);
      expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    }
    const viaRpc = await rpc(webUrl, 'app.info', {}, { origin: SHOP });
    expect(viaRpc.status).toBe(200);
    expect(viaRpc.headers['access-control-allow-origin']).toBe(SHOP);
  });

  it('still takes a program (curl: no Origin, no Sec-Fetch-Site) on loopback without a token', async () => {
    const form = multipart('image', await solidJpeg('#0a0b0c'), 'curl.jpg', { name: 'curl product' });
    const added = await raw(serveUrl, '/api/catalog', {
      method: 'POST',
      headers: { 'content-type': form.type },
      body: form.body,
    });
    expect(added.status, added.text).toBe(201);
    const id = added.json.product.id as string;
    expect((await raw(serveUrl, `/api/catalog/${id}`, { method: 'DELETE' })).status).toBe(200);
  });
});

describe('a token whenever a server leaves loopback', () => {
  it('serve bound to 0.0.0.0: 401 without or with a wrong token, 200 with it; --public-read opens reads only', async () => {
    const exposed = await buildServer({
      workbench: wb,
      guard: { bindHost: '0.0.0.0', token: TOKEN, publicRead: false },
    });
    const publicRead = await buildServer({
      workbench: wb,
      guard: { bindHost: '0.0.0.0', token: TOKEN, publicRead: true, publicReadPosts: ['/api/recommend/'] },
    });
    try {
      const base = await exposed.listen({ host: '0.0.0.0', port: 0 });
      const port = new URL(base).port;
      const at = `http://127.0.0.1:${port}`;
      const none = await raw(at, '/api/catalog');
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(none.json).toMatchObject({ error: { code: 'unauthorized', status: 401 } });
      expect(none.text).not.toContain(TOKEN);
      const wrong = await raw(at, '/api/catalog', { headers: { authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.status).toBe(401);
      const shorter = await raw(at, '/api/catalog', { headers: { authorization: 'Bearer t' } });
      expect(shorter.status).toBe(401);
      const ok = await raw(at, '/api/catalog', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      // serve has no cookie login: ?token= is not a credential there.
      expect((await raw(at, `/api/catalog?token=${TOKEN}`)).status).toBe(401);
      // Exposed on purpose: an IP literal names this server; a foreign name is still refused.
      const byIp = await raw(at, '/api/catalog', {
        headers: { host: `10.1.2.3:${port}`, authorization: `Bearer ${TOKEN}` },
      });
      expect(byIp.status).toBe(200);
      expect((await raw(at, '/api/catalog', { headers: { host: 'evil.example' } })).status).toBe(403);

      const pr = `http://127.0.0.1:${new URL(await publicRead.listen({ host: '127.0.0.1', port: 0 })).port}`;
      expect((await raw(pr, '/api/catalog')).status).toBe(200);
      expect((await raw(pr, '/api/kpi')).status).toBe(200);
      const rec = await raw(pr, '/api/recommend/customer_input', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product_id: 'red-blouse', k: 1 }),
      });
      expect(rec.status, rec.text).toBe(200);
      const before = productCount();
      const form = multipart('image', await solidJpeg('#445566'), 'p.jpg', { name: 'token product' });
      const write = await raw(pr, '/api/catalog', {
        method: 'POST',
        headers: { 'content-type': form.type },
        body: form.body,
      });
      expect(write.status).toBe(401);
      expect((await raw(pr, '/api/catalog/red-blouse', { method: 'DELETE' })).status).toBe(401);
      expect(productCount()).toBe(before);
      const withToken = await raw(pr, '/api/catalog', {
        method: 'POST',
        headers: { 'content-type': form.type, authorization: `Bearer ${TOKEN}` },
        body: form.body,
      });
      expect(withToken.status, withToken.text).toBe(201);
      const removed = await raw(pr, `/api/catalog/${withToken.json.product.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(removed.status).toBe(200);
    } finally {
      await exposed.close();
      await publicRead.close();
    }
  });

  it('web with a token: ?token= on the first page load sets an HttpOnly SameSite=Strict cookie; the RPC, media and WebSocket need it', async () => {
    const tokenWeb = await createWebServer({
      session,
      rendererDir: null,
      guard: { bindHost: '0.0.0.0', token: TOKEN },
    });
    try {
      const base = await tokenWeb.listen({ host: '127.0.0.1', port: 0 });
      expect((await raw(base, '/')).status).toBe(401);
      const page = await raw(base, '/', { headers: { accept: 'text/html,application/xhtml+xml' } });
      expect(page.status).toBe(401);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('?token=');
      expect((await raw(base, '/?token=wrong-token-000000000')).status).toBe(401);
      const first = await raw(base, `/?token=${TOKEN}&tab=search`);
      expect(first.status).toBe(302);
      expect(first.headers.location).toBe('/?tab=search');
      const setCookie = String(first.headers['set-cookie']);
      expect(setCookie).toContain(`${TOKEN_COOKIE}=`);
      expect(setCookie).toContain('HttpOnly');
      expect(setCookie).toContain('SameSite=Strict');
      // The cookie is derived from the token, not the token itself.
      expect(setCookie).not.toContain(TOKEN);
      const cookie = setCookie.split(';')[0]!;
      expect((await raw(base, '/', { headers: { cookie } })).status).toBe(200);
      expect((await rpc(base, 'app.info', {})).status).toBe(401);
      const unauth = await rpc(base, 'app.info', {});
      expect(unauth.json).toMatchObject({ ok: false, error: { name: 'UnauthorizedError' } });
      expect((await rpc(base, 'app.info', {}, { cookie })).status).toBe(200);
      expect((await rpc(base, 'app.info', {}, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      expect((await raw(base, '/media/results/none.png')).status).toBe(401);
      const wsUrl = base.replace('http', 'ws');
      const opened = (headers: Record<string, string>) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocketImpl(`${wsUrl}/api/events`, { headers });
          socket.on('open', () => {
            socket.close();
            resolve('open');
          });
          socket.on('unexpected-response', (req, res) => {
            // Without this the refused upgrade's connection stays open and the server cannot close.
            req.destroy();
            resolve(String(res.statusCode));
          });
          socket.on('error', () => resolve('error'));
        });
      expect(await opened({})).toBe('401');
      expect(await opened({ cookie })).toBe('open');
    } finally {
      // Closes promptly: a refused upgrade's socket does not hold the server open.
      await tokenWeb.close();
    }
  });
});

describe('browser mode: paths inside the allowed roots only', () => {
  it('refuses paths outside the roots over RPC, naming the path and the roots, and makes no folder', async () => {
    const target = join(outside, 'new-ws');
    const open = await rpc(webUrl, 'workspace.open', { path: target, create: true });
    expect(open.status).toBe(403);
    expect(open.json.error).toMatchObject({ name: 'PathNotAllowedError', code: 'path_not_allowed' });
    expect(open.json.error.message).toContain(target);
    expect(open.json.error.message).toContain(allowedRoot);
    expect(open.json.error.message).toContain(dataDir);
    expect(existsSync(target)).toBe(false);
    const cases: [string, unknown][] = [
      ['dataset.scan', { data: '/etc' }],
      ['embed.import', { npy: '/etc/passwd', ids: join(allowedRoot, 'ids.json') }],
      ['embed.import', { npy: join(outside, 'passwd'), ids: join(allowedRoot, 'ids.json') }],
      ['catalog.import', { folder: outside }],
      ['catalog.import', { folder: allowedRoot, embeddings: { npy: '/etc/passwd', ids: '/etc/hosts' } }],
      ['demo.generate', { outDir: join(outside, 'demo') }],
      ['dataset.split', { file: join(outside, 'split.json') }],
      ['eval.run', { checkpoint: join(outside, 'best.safetensors') }],
      ['workspace.open', { path: join(allowedRoot, '..', 'outside', 'x'), create: true }],
    ];
    for (const [method, input] of cases) {
      const a = await rpc(webUrl, method, input);
      expect(a.status, `${method} ${JSON.stringify(input)}: ${a.text}`).toBe(403);
      expect(a.json.error.name).toBe('PathNotAllowedError');
      expect(a.text).not.toContain('SECRET-SERVER-FILE-CONTENT');
    }
    // A link inside a root that leads out of it is refused too.
    symlinkSync(outside, join(allowedRoot, 'link-out'));
    const viaLink = await rpc(webUrl, 'workspace.open', {
      path: join(allowedRoot, 'link-out', 'ws'),
      create: true,
    });
    expect(viaLink.status).toBe(403);
    expect(existsSync(join(outside, 'ws'))).toBe(false);
  });

  it('never quotes a server file in an error: a non-.npy file and broken ids JSON name the path and what was expected', async () => {
    // Inside a root, so the import really reads them.
    const fakeNpy = join(allowedRoot, 'passwd.npy');
    writeFileSync(fakeNpy, readFileSync(join(outside, 'passwd')));
    const goodNpy = join(allowedRoot, 'good.npy');
    writeFileSync(goodNpy, encodeNpy(new Float32Array(512).fill(0.1), [1, 512]));
    const badIds = join(allowedRoot, 'ids.json');
    writeFileSync(badIds, `${SECRET} {not json`);
    const goodIds = join(allowedRoot, 'good-ids.json');
    writeFileSync(goodIds, JSON.stringify(['로맨틱/1000/상의']));
    const npy = await rpc(webUrl, 'embed.import', { npy: fakeNpy, ids: goodIds, model: 'imported' });
    expect(npy.status, npy.text).toBe(400);
    expect(npy.json.error.name).toBe('NpyError');
    expect(npy.json.error.message).toContain(fakeNpy);
    expect(npy.json.error.message).toContain('not a NumPy .npy file');
    const ids = await rpc(webUrl, 'embed.import', { npy: goodNpy, ids: badIds, model: 'imported' });
    expect(ids.status, ids.text).toBe(400);
    expect(ids.json.error.message).toContain(badIds);
    expect(ids.json.error.message).toContain('not valid JSON');
    for (const a of [npy, ids]) {
      expect(a.text).not.toContain('root:x');
      expect(a.text).not.toContain('SECRET-SERVER-FILE-CONTENT');
    }
    // A catalog import folder whose manifest is not JSON: the same rule.
    const folder = join(allowedRoot, 'products');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'catalog.json'), `${SECRET}`);
    const job = await rpc(webUrl, 'catalog.import', { folder });
    expect(job.status, job.text).toBe(200);
    const failed = await session.jobs.wait(job.json.result.job).then(
      () => null,
      (e: Error) => e,
    );
    expect(failed?.message).toContain('not valid JSON');
    expect(failed?.message).not.toContain('SECRET-SERVER-FILE-CONTENT');
  });

  it('opens a workspace inside a root, and the workspace opened at start stays reachable', async () => {
    const inside = join(allowedRoot, 'new workspace');
    const a = await rpc(webUrl, 'workspace.open', { path: inside, create: true });
    expect(a.status, a.text).toBe(200);
    expect(existsSync(join(inside, 'workspace.db'))).toBe(true);
    const back = await rpc(webUrl, 'workspace.open', { path: fx.workspace });
    expect(back.status, back.text).toBe(200);
    expect(session.workspace).toBe(fx.workspace);
  });
});

describe('same error, same status on REST and RPC', () => {
  const b64 = (b: Buffer) => b.toString('base64');
  const notImage = Buffer.from('this is a text file, not an image at all');

  it('answers the same status on both transports (table)', async () => {
    // Longer than the 200 characters an error quotes, within the 400 an id may have.
    const longId = `p-${'x'.repeat(298)}`;
    const hugeId = 'y'.repeat(20_000);
    const jpeg = await solidJpeg('#c82828');
    type Rest = () => Promise<Answer>;
    const form = (fields: Record<string, string> = {}) => multipart('image', notImage, 'notes.jpg', fields);
    const rows: { what: string; status: number; rest: Rest | null; rpc: [string, unknown] }[] = [
      {
        what: 'a non-image upload to customer input',
        status: 415,
        rest: () => {
          const f = form();
          return raw(webUrl, '/api/recommend/customer_input', {
            method: 'POST',
            headers: { 'content-type': f.type },
            body: f.body,
          });
        },
        rpc: ['recommend.customerInput', { image: { name: 'notes.jpg', dataBase64: b64(notImage) } }],
      },
      {
        what: 'a non-image catalog add',
        status: 415,
        rest: () => {
          const f = form({ name: 'notes' });
          return raw(webUrl, '/api/catalog', {
            method: 'POST',
            headers: { 'content-type': f.type },
            body: f.body,
          });
        },
        rpc: ['catalog.add', { image: { name: 'notes.jpg', dataBase64: b64(notImage) } }],
      },
      {
        what: 'a non-image search',
        status: 415,
        rest: null,
        rpc: ['search.run', { image: { name: 'notes.jpg', dataBase64: b64(notImage) } }],
      },
      {
        what: 'an unknown product id (300 characters)',
        status: 404,
        rest: () =>
          raw(webUrl, '/api/recommend/customer_input', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ product_id: longId }),
          }),
        rpc: ['recommend.customerInput', { productId: longId }],
      },
      {
        what: 'a 20 000-character id (over the 400 an id may have)',
        status: 400,
        rest: () =>
          raw(webUrl, '/api/recommend/customer_input', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ product_id: hugeId }),
          }),
        rpc: ['recommend.customerInput', { productId: hugeId }],
      },
      {
        what: 'an unknown best-seller id',
        status: 404,
        rest: () =>
          raw(webUrl, '/api/recommend/top10_to_new', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ids: ['red-blouse', 'no-such-id'] }),
          }),
        rpc: ['recommend.top10ToNew', { ids: ['red-blouse', 'no-such-id'] }],
      },
      {
        what: 'removing an unknown product',
        status: 404,
        rest: () => raw(webUrl, '/api/catalog/no-such-product', { method: 'DELETE' }),
        rpc: ['catalog.remove', { ids: ['no-such-product'] }],
      },
      {
        what: 'k out of range',
        status: 400,
        rest: () =>
          raw(webUrl, '/api/recommend/customer_input', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ product_id: 'red-blouse', k: 0 }),
          }),
        rpc: ['recommend.customerInput', { productId: 'red-blouse', k: 0 }],
      },
      {
        what: 'a good request',
        status: 200,
        rest: () =>
          raw(webUrl, '/api/recommend/customer_input', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ product_id: 'red-blouse', k: 1 }),
          }),
        rpc: ['recommend.customerInput', { image: { name: 'red.jpg', dataBase64: b64(jpeg) }, k: 1 }],
      },
    ];
    for (const row of rows) {
      const viaRpc = await rpc(webUrl, row.rpc[0], row.rpc[1]);
      expect(viaRpc.status, `RPC ${row.what}: ${viaRpc.text.slice(0, 300)}`).toBe(row.status);
      if (row.rest) {
        const viaRest = await row.rest();
        expect(viaRest.status, `REST ${row.what}: ${viaRest.text.slice(0, 300)}`).toBe(row.status);
        if (row.status >= 400) expect(viaRest.json.error.status).toBe(row.status);
      }
      // Short echoes only: a long id does not come back whole.
      expect(viaRpc.text.length, row.what).toBeLessThan(2_000);
      expect(viaRpc.text, row.what).not.toContain('x'.repeat(201));
      expect(viaRpc.text, row.what).not.toContain('y'.repeat(201));
    }
    for (const answer of [
      await rpc(webUrl, 'recommend.customerInput', { productId: longId }),
      await raw(webUrl, '/api/recommend/customer_input', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ product_id: longId }),
      }),
    ]) {
      expect(answer.json.error.message).toContain(`"p-${'x'.repeat(198)}…" (300 characters)`);
      expect(answer.json.error.code).toBe('unknown_id');
    }
  });

  it('quotes an unknown field of any size in short form on both transports', async () => {
    const key = 'k'.repeat(100_000);
    const viaRpc = await rpc(webUrl, 'recommend.customerInput', { productId: 'red-blouse', [key]: 1 });
    const viaRest = await raw(webUrl, '/api/recommend/customer_input', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product_id: 'red-blouse', [key]: 1 }),
    });
    for (const a of [viaRpc, viaRest]) {
      expect(a.status, a.text.slice(0, 300)).toBe(400);
      expect(a.text.length).toBeLessThan(2_000);
    }
    expect(viaRest.json.error.message).toContain('(100000 characters)');
  });

  it('answers an oversized RPC body with 413 (the limit is one image, base64, plus a margin)', async () => {
    const limit = rpcBodyLimit();
    expect(limit).toBeLessThan(16 * 1024 * 1024);
    const body = JSON.stringify({ productId: 'x'.repeat(limit) });
    const a = await raw(webUrl, '/api/rpc/recommend.customerInput', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(a.status).toBe(413);
    expect(a.json).toMatchObject({ ok: false, error: { code: 'too_large' } });
    // A body that announces 200 MB is refused on its header, before any of it is held in memory.
    const announced = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: new URL(webUrl).port,
          path: '/api/rpc/app.info',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) },
        },
        (res) => {
          res.resume();
          req.destroy();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.write('{"a":"');
    });
    expect(announced).toBe(413);
    // A real picture at the upload limit still fits.
    const big = Buffer.alloc(10 * 1024 * 1024 - 1024, 0);
    big.set(await solidJpeg('#c82828'));
    const fits = await rpc(webUrl, 'recommend.customerInput', {
      image: { name: 'big.jpg', dataBase64: big.toString('base64') },
    });
    expect(fits.status).not.toBe(413);
  });
});
