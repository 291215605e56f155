/**
 * The server against bad input: malformed bodies, wrong field types, fake and truncated images,
 * oversized uploads, unknown ids and path-traversal attempts. Every answer is checked (status, code,
 * message), and afterwards the server still answers and the database is intact with its data unchanged.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src-main/server/app.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { buildRecommendFixture, type RecommendFixture, solidJpeg } from '../helpers/recommend-fixture.ts';

let fx: RecommendFixture;
let wb: Workbench;
let app: FastifyInstance;
let url: string;
let port: number;
const LIMIT = 64 * 1024;
const TABLES = [
  'catalog_products',
  'catalog_embeddings',
  'items',
  'images',
  'image_embeddings',
  'embedding_models',
  'crops',
];
let countsBefore: Record<string, number>;
let catalogFilesBefore: string[];

const counts = () =>
  Object.fromEntries(
    TABLES.map((t) => [t, wb.workspace.db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number]),
  );

beforeAll(async () => {
  fx = await buildRecommendFixture();
  wb = Workbench.open(fx.workspace, { create: false });
  app = await buildServer({ workbench: wb, uploadLimitBytes: LIMIT });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  port = Number(new URL(url).port);
  countsBefore = counts();
  catalogFilesBefore = readdirSync(join(fx.workspace, 'catalog')).sort();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await wb?.closeAsync();
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

interface Answer {
  status: number;
  error: { message: string; code: string; status: number; field?: string };
}

async function answer(r: Response): Promise<Answer> {
  const text = await r.text();
  let body: { error: Answer['error'] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`status ${r.status}: not JSON: ${text.slice(0, 200)}`);
  }
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(body.error.status).toBe(r.status);
  return { status: r.status, error: body.error };
}

const postRaw = (path: string, body: string | Uint8Array | FormData, type?: string) =>
  fetch(`${url}${path}`, { method: 'POST', headers: type ? { 'content-type': type } : {}, body }).then(
    answer,
  );
const postJson = (path: string, body: unknown) => postRaw(path, JSON.stringify(body), 'application/json');

function upload(
  field: string,
  bytes: Uint8Array,
  name: string,
  fields: Record<string, string> = {},
): FormData {
  const f = new FormData();
  f.append(field, new Blob([bytes], { type: 'image/jpeg' }), name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

/** A GET whose path is sent byte for byte (fetch would normalise "../"). */
function rawGet(path: string): Promise<{ status: number; body: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server: bad input', () => {
  it('malformed JSON and wrong content types', async () => {
    const bad = await postRaw(
      '/api/recommend/customer_input',
      '{"product_id": "red-blouse",',
      'application/json',
    );
    expect(bad.status).toBe(400);
    expect(bad.error.code).toBe('bad_json');
    expect(bad.error.message).toMatch(/^The request body is not valid JSON/);

    const empty = await postRaw('/api/recommend/top10_to_new', '', 'application/json');
    expect(empty).toMatchObject({ status: 400, error: { code: 'bad_json' } });

    const text = await postRaw('/api/recommend/customer_input', 'red-blouse', 'text/plain');
    expect(text.status).toBe(415);
    expect(text.error.code).toBe('unsupported_media_type');
    expect(text.error.message).toContain('Send application/json, or multipart/form-data');
  });

  it('wrong field types, unknown fields and out-of-range values name the field', async () => {
    const cases: [string, unknown, RegExp, string?][] = [
      ['/api/recommend/customer_input', { product_id: 'red-blouse', k: '5' }, /k must be integer/, 'k'],
      ['/api/recommend/customer_input', { product_id: 42 }, /product_id must be string/, 'product_id'],
      ['/api/recommend/customer_input', { k: 3 }, /must have required property 'product_id'/, 'product_id'],
      ['/api/recommend/customer_input', { product_id: 'red-blouse', k: 0 }, /k must be >= 1/, 'k'],
      ['/api/recommend/customer_input', { product_id: 'red-blouse', k: 101 }, /k must be <= 100/, 'k'],
      [
        '/api/recommend/customer_input',
        { product_id: 'red-blouse', colour: 'red' },
        /unknown field "colour"/,
        'colour',
      ],
      ['/api/recommend/customer_input', [1, 2], /body must be object/],
      ['/api/recommend/top10_to_new', { ids: 'red-blouse' }, /ids must be array/, 'ids'],
      ['/api/recommend/top10_to_new', { ids: [7] }, /ids\[0\] must be string/, 'ids[0]'],
      ['/api/recommend/top10_to_new', { ids: [] }, /ids must NOT have fewer than 1 items/, 'ids'],
      [
        '/api/recommend/top10_to_new',
        { use_centrality_proxy: 'yes' },
        /use_centrality_proxy must be boolean/,
        'use_centrality_proxy',
      ],
      ['/api/recommend/top10_to_new', {}, /give the best-sellers/, 'ids'],
      [
        '/api/recommend/top10_to_new',
        { ids: ['red-blouse'], use_centrality_proxy: true },
        /use_centrality_proxy takes the anchor set/,
        'use_centrality_proxy',
      ],
    ];
    for (const [path, body, message, field] of cases) {
      const a = await postJson(path, body);
      expect(a.status, `${path} ${JSON.stringify(body)}: ${a.error.message}`).toBe(400);
      expect(a.error.message).toMatch(message);
      if (field) expect(a.error.field).toBe(field);
    }
  });

  it('fake, empty and truncated images; unknown multipart fields; k as text', async () => {
    const fake = await postRaw(
      '/api/recommend/customer_input',
      upload('image', Buffer.from('just some text, not a picture\n'), 'photo.jpg'),
    );
    expect(fake.status).toBe(415);
    expect(fake.error).toMatchObject({ code: 'not_an_image', field: 'image' });
    expect(fake.error.message).toMatch(
      /^image \(photo\.jpg\): not an image \(it does not start with a JPEG, PNG, WebP, GIF or TIFF signature\)/,
    );

    const empty = await postRaw('/api/recommend/customer_input', upload('image', new Uint8Array(0), 'e.jpg'));
    expect(empty).toMatchObject({ status: 415, error: { code: 'not_an_image' } });
    expect(empty.error.message).toContain('the file is empty');

    const jpeg = await sharp({
      create: {
        width: 300,
        height: 300,
        channels: 3,
        background: '#808080',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const t = await postRaw('/api/recommend/customer_input', upload('image', truncated, 'half.jpg'));
    expect(t.status).toBe(400);
    expect(t.error.code).toBe('damaged_image');
    expect(t.error.message).toMatch(/^image \(half\.jpg\): the JPEG image is damaged or truncated/);

    const t2 = await postRaw('/api/recommend/top10_to_new', upload('images', truncated, 'half.jpg'));
    expect(t2).toMatchObject({ status: 400, error: { code: 'damaged_image', field: 'images[0]' } });

    const wrongField = await postRaw(
      '/api/recommend/customer_input',
      upload('photo', await solidJpeg('#ff0000'), 'a.jpg'),
    );
    expect(wrongField).toMatchObject({ status: 400, error: { field: 'photo' } });
    expect(wrongField.error.message).toContain('unknown file field "photo"; this endpoint takes "image"');

    const kText = await postRaw(
      '/api/recommend/customer_input',
      upload('image', await solidJpeg('#ff0000'), 'a.jpg', { k: 'ten' }),
    );
    expect(kText).toMatchObject({
      status: 400,
      error: { field: 'k', message: 'k must be a whole number from 1 to 100, got "ten"' },
    });

    const noFile = new FormData();
    noFile.append('k', '3');
    const nf = await postRaw('/api/recommend/customer_input', noFile);
    expect(nf).toMatchObject({ status: 400, error: { field: 'image' } });

    const fakeProduct = await postRaw(
      '/api/catalog',
      upload('image', Buffer.from('<html>not an image</html>'), 'p.png', { name: 'x' }),
    );
    expect(fakeProduct).toMatchObject({ status: 415, error: { code: 'not_an_image' } });
    const badAttrs = await postRaw(
      '/api/catalog',
      upload('image', await solidJpeg('#123456'), 'p.jpg', { name: 'x', attributes: '{"a":' }),
    );
    expect(badAttrs).toMatchObject({ status: 400, error: { field: 'attributes' } });
    const listAttrs = await postRaw(
      '/api/catalog',
      upload('image', await solidJpeg('#123456'), 'p.jpg', { name: 'x', attributes: '[1]' }),
    );
    expect(listAttrs.error.message).toMatch(/attributes must be a JSON object/);
    const badId = await postRaw(
      '/api/catalog',
      upload('image', await solidJpeg('#123456'), 'p.jpg', { name: 'x', id: '../../evil' }),
    );
    expect(badId).toMatchObject({ status: 400, error: { field: 'id' } });
    expect(badId.error.message).toContain('is not a valid product id');
    const noName = await postRaw('/api/catalog', upload('image', await solidJpeg('#123456'), 'p.jpg'));
    expect(noName).toMatchObject({
      status: 400,
      error: { field: 'name', message: 'name is required (a non-empty text)' },
    });
  });

  it('oversized uploads and bodies are 413', async () => {
    const big = Buffer.alloc(LIMIT + 10_000, 0);
    big.set(await solidJpeg('#ff0000'));
    const a = await postRaw('/api/recommend/customer_input', upload('image', big, 'big.jpg'));
    expect(a.status, a.error.message).toBe(413);
    expect(a.error.code).toBe('too_large');
    expect(a.error.message).toMatch(/^The request is too large/);
    const b = await postRaw('/api/catalog', upload('image', big, 'big.jpg', { name: 'big' }));
    expect(b.status).toBe(413);
    const json = await postJson('/api/recommend/customer_input', { product_id: 'x'.repeat(LIMIT + 1) });
    expect(json).toMatchObject({ status: 413, error: { code: 'too_large' } });
  });

  it('unknown ids are 404 naming the id', async () => {
    const a = await postJson('/api/recommend/customer_input', { product_id: 'no-such-product' });
    expect(a).toMatchObject({ status: 404, error: { code: 'unknown_id', field: 'product_id' } });
    expect(a.error.message).toBe(
      'product_id: "no-such-product" is neither a catalog product nor a dataset item of this workspace',
    );
    const b = await postJson('/api/recommend/top10_to_new', { ids: ['red-blouse', '로맨틱/999/상의'] });
    expect(b).toMatchObject({ status: 404, error: { field: 'ids[1]' } });
    expect(b.error.message).toContain('"로맨틱/999/상의"');
    const c = await fetch(`${url}/api/catalog/nope`).then(answer);
    expect(c).toMatchObject({ status: 404, error: { message: 'no catalog product "nope"' } });
    const d = await fetch(`${url}/api/catalog/nope`, { method: 'DELETE' }).then(answer);
    expect(d.status).toBe(404);
    const e = await fetch(`${url}/api/nothing-here`).then(answer);
    expect(e).toMatchObject({ status: 404, error: { code: 'no_route' } });
  });

  it('path traversal: relative, encoded, absolute, backslashes, links and the database are refused', async () => {
    // A file outside the workspace, and a link to it from inside results/.
    const outside = join(fx.base, 'secret.png');
    writeFileSync(outside, await solidJpeg('#000000'));
    mkdirSync(join(fx.workspace, 'results'), { recursive: true });
    symlinkSync(outside, join(fx.workspace, 'results', 'link.png'));

    const cases: [string, number, RegExp][] = [
      ['/api/files/../../etc/passwd', 400, /without "\.\.", "\." or empty segments/],
      ['/api/files/catalog/../../secret.png', 400, /without "\.\."/],
      ['/api/files/%2e%2e/%2e%2e/etc/passwd', 400, /without "\.\."/],
      ['/api/files/catalog%2F..%2F..%2Fsecret.png', 400, /without "\.\."/],
      ['/api/files/%2Fetc%2Fpasswd', 400, /no absolute paths/],
      ['/api/files//etc/passwd', 400, /no absolute paths/],
      ['/api/files/catalog/..%5C..%5Csecret.png', 400, /backslashes/],
      ['/api/files/C:%5CWindows%5Cwin.ini', 400, /drive letters/],
      ['/api/files/workspace.db', 403, /only files inside catalog\/, crops\/, results\/ are/],
      ['/api/files/catalog/x.db', 403, /only images .* and JSON files are/],
      ['/api/files/results/link.png', 403, /resolves outside the workspace's results\/ folder/],
      ['/api/files/catalog/missing.jpg', 404, /no file "catalog\/missing\.jpg" in the workspace/],
      ['/api/catalog/..%2F..%2Fetc%2Fpasswd', 404, /no catalog product "\.\.\/\.\.\/etc\/passwd"/],
    ];
    for (const [path, status, message] of cases) {
      const r = await rawGet(path);
      expect(r.status, `${path}: ${r.body}`).toBe(status);
      expect(r.type).toMatch(/^application\/json/);
      const body = JSON.parse(r.body) as { error: { message: string } };
      expect(body.error.message, path).toMatch(message);
      expect(r.body).not.toContain('root:');
    }
    // The upload's file name is never a path: nothing named like it appears anywhere.
    const add = await postRaw(
      '/api/catalog',
      upload('image', Buffer.from('not an image'), '../../../evil.jpg', { name: 'e' }),
    );
    expect(add.status).toBe(415);
    const ok = await fetch(`${url}/api/catalog`, {
      method: 'POST',
      body: upload('image', await solidJpeg('#010203'), '../../../evil.jpg', { name: 'evil', id: 'evil' }),
    });
    expect(ok.status).toBe(201);
    const stored = (await ok.json()) as { product: { image: string; imageSha256: string } };
    expect(stored.product.image).toBe(`catalog/${stored.product.imageSha256}.jpg`);
    expect(readdirSync(fx.base)).not.toContain('evil.jpg');
    expect(readdirSync(fx.workspace)).not.toContain('evil.jpg');
    expect((await fetch(`${url}/api/catalog/evil`, { method: 'DELETE' })).status).toBe(200);
    // A served file still works after all that.
    const good = await rawGet(
      `/api/files/${catalogFilesBefore[0]!.startsWith('catalog') ? '' : 'catalog/'}${catalogFilesBefore[0]}`,
    );
    expect(good.status).toBe(200);
  });

  it('a workspace that is not ready says what to run (409): no image encoder, then an empty catalog', async () => {
    const emptyWb = Workbench.open(join(fx.base, 'empty ws'));
    const emptyApp = await buildServer({ workbench: emptyWb });
    try {
      const u = await emptyApp.listen({ host: '127.0.0.1', port: 0 });
      const r = await fetch(`${u}/api/recommend/customer_input`, {
        method: 'POST',
        body: upload('image', await solidJpeg('#ff0000'), 'a.jpg'),
      }).then(answer);
      expect(r).toMatchObject({ status: 409, error: { code: 'not_ready' } });
      expect(r.error.message).toMatch(
        /has no image encoder yet, so query images cannot be embedded\. Run "kfashion embed --workspace /,
      );
      const enc = await fetch(`${u}/api/encoder`);
      expect(await enc.json()).toBeNull();
      // With an encoder but no products: the catalog is empty.
      const { setWorkspaceEncoder } = await import(
        '../../src-main/encoders/image-encoder/workspace-encoder.ts'
      );
      setWorkspaceEncoder(emptyWb.workspace, { modelPath: fx.modelDir, model: 'tiny-clip' }, 'tiny-clip');
      const e = await fetch(`${u}/api/recommend/customer_input`, {
        method: 'POST',
        body: upload('image', await solidJpeg('#ff0000'), 'a.jpg'),
      }).then(answer);
      expect(e).toMatchObject({ status: 409, error: { code: 'not_ready' } });
      expect(e.error.message).toMatch(/^The catalog of new products is empty: add products first/);
    } finally {
      await emptyApp.close();
      await emptyWb.closeAsync();
    }
  });

  it('afterwards the server answers, the database is intact and its data unchanged', async () => {
    const h = await fetch(`${url}/api/health`);
    expect(h.status).toBe(200);
    expect(((await h.json()) as { ok: boolean }).ok).toBe(true);
    const r = await fetch(`${url}/api/recommend/customer_input`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product_id: 'red-blouse', k: 2 }),
    });
    expect(r.status).toBe(200);
    expect(wb.workspace.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(counts()).toEqual(countsBefore);
    expect(readdirSync(join(fx.workspace, 'catalog')).sort()).toEqual(catalogFilesBefore);
    // Failed calls are logged as errors for the KPIs, good ones as ok.
    const kpi = (await (await fetch(`${url}/api/kpi`)).json()) as { count: number; errors: number };
    expect(kpi.count).toBe(1);
    expect(kpi.errors).toBeGreaterThan(5);
    expect(readFileSync(join(fx.workspace, 'workspace.db')).subarray(0, 15).toString()).toBe(
      'SQLite format 3',
    );
  });
});
