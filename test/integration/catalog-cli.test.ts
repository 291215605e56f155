/**
 * `kfashion catalog add|import|list|remove|embed`, `kfashion serve` and `kfashion embed --model
 * demo-standin`, run as the real CLI on a real workspace with the tiny generated ONNX image encoder.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import { writeNpySync } from '../../src-main/store/npy.ts';
import { buildRecommendFixture, type RecommendFixture, solidJpeg } from '../helpers/recommend-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';

let fx: RecommendFixture;

beforeAll(async () => {
  fx = await buildRecommendFixture({ catalog: false });
}, 60_000);

afterAll(() => {
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

function snapshot(): { rows: Record<string, number>; version: number; files: string[]; vectors: string } {
  const wb = Workbench.open(fx.workspace, { create: false });
  try {
    const db = wb.workspace.db;
    const rows = Object.fromEntries(
      ['catalog_products', 'catalog_embeddings'].map((t) => [
        t,
        db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number,
      ]),
    );
    const version = db.prepare('SELECT version FROM catalog_state').pluck().get() as number;
    const vectors = (
      db
        .prepare('SELECT product_id, hex(vector) FROM catalog_embeddings ORDER BY product_id')
        .raw()
        .all() as string[][]
    )
      .map((r) => r.join(':'))
      .join('|');
    return { rows, version, files: readdirSync(join(fx.workspace, 'catalog')).sort(), vectors };
  } finally {
    wb.close();
  }
}

describe('kfashion catalog', () => {
  it('import DIR embeds every product; importing the same folder again changes nothing', () => {
    const first = kfashion(['catalog', 'import', fx.catalogDir, '--workspace', fx.workspace, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const r1 = JSON.parse(first.stdout);
    expect(r1).toMatchObject({
      model: 'tiny-clip',
      embedded: 8,
      importedVectors: 0,
      updated: [],
      unchanged: [],
      skipped: [],
      synthetic: false,
    });
    expect(r1.added).toHaveLength(8);
    const before = snapshot();
    expect(before.rows).toEqual({ catalog_products: 8, catalog_embeddings: 8 });
    expect(before.files).toHaveLength(8);

    const second = kfashion(['catalog', 'import', fx.catalogDir, '--workspace', fx.workspace]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('0 added, 0 updated, 8 unchanged, 0 skipped');
    expect(second.stdout).toContain('vectors (tiny-clip): 0 computed, 0 imported');
    // Nothing written at all: the triggers would have bumped the version.
    expect(snapshot()).toEqual(before);
  });

  it('a folder without catalog.json: every image, style from the sub-folder, ids from the hash; non-images skipped', async () => {
    const dir = join(fx.base, 'loose folder');
    mkdirSync(join(dir, '리조트'), { recursive: true });
    writeFileSync(join(dir, 'straw-hat.png'), await solidJpeg('#c0a060')); // a JPEG named .png: content decides
    writeFileSync(join(dir, '리조트', 'sandal.jpg'), await solidJpeg('#804020'));
    writeFileSync(join(dir, 'notes.jpg'), 'not an image');
    const r = JSON.parse(kfashion(['catalog', 'import', dir, '--workspace', fx.workspace, '--json']).stdout);
    expect(r.added).toHaveLength(2);
    expect(r.added.every((id: string) => /^p-[0-9a-f]{16}$/.test(id))).toBe(true);
    expect(r.skipped).toEqual([{ file: 'notes.jpg', reason: expect.stringContaining('not an image') }]);
    const list = JSON.parse(kfashion(['catalog', 'list', '--workspace', fx.workspace, '--json']).stdout);
    expect(list.total).toBe(10);
    const sandal = list.products.find((p: { name: string }) => p.name === 'sandal');
    expect(sandal).toMatchObject({ style: '리조트', embeddings: ['tiny-clip'] });
    const again = JSON.parse(
      kfashion(['catalog', 'import', dir, '--workspace', fx.workspace, '--json']).stdout,
    );
    expect(again.unchanged).toHaveLength(2);
    const removed = kfashion(['catalog', 'remove', ...r.added, '--workspace', fx.workspace]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe(`Removed 2 products: ${r.added.join(', ')}\n`);
  });

  it('imports precomputed vectors (.npy + ids) and re-importing them changes nothing', () => {
    const dir = join(fx.base, 'vectors');
    mkdirSync(dir, { recursive: true });
    const ids = ['red-blouse', 'green-skirt', 'blue-jacket'];
    const v = new Float32Array(3 * 512);
    for (let i = 0; i < v.length; i++) v[i] = Math.sin(i * 0.37 + 1);
    writeNpySync(join(dir, 'vec.npy'), v, [3, 512]);
    writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
    const args = [
      'catalog',
      'import',
      fx.catalogDir,
      '--workspace',
      fx.workspace,
      '--embeddings',
      join(dir, 'vec.npy'),
      '--ids',
      join(dir, 'ids.json'),
      '--model',
      'python-clip',
      '--json',
    ];
    const r = JSON.parse(kfashion(args).stdout);
    expect(r).toMatchObject({ model: 'python-clip', importedVectors: 3, embedded: 0 });
    expect(r.updated.sort()).toEqual([...ids].sort());
    const before = snapshot();
    const again = JSON.parse(kfashion(args).stdout);
    expect(again).toMatchObject({ importedVectors: 0, added: [], updated: [] });
    expect(snapshot()).toEqual(before);
    const products = JSON.parse(
      kfashion(['catalog', 'list', '--workspace', fx.workspace, '--json']).stdout,
    ).products;
    expect(products.find((p: { id: string }) => p.id === 'red-blouse').embeddings).toEqual([
      'python-clip',
      'tiny-clip',
    ]);
  });

  it('add, list, remove; bad input exits with a clear message', async () => {
    const img = join(fx.base, 'coat.jpg');
    writeFileSync(img, await solidJpeg('#203040'));
    const add = kfashion([
      'catalog',
      'add',
      '--workspace',
      fx.workspace,
      '--image',
      img,
      '--name',
      'Wool coat',
      '--id',
      'wool-coat',
      '--category',
      '코트',
      '--attributes',
      '{"카테고리":"코트"}',
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(
      /^Added wool-coat "Wool coat" \(catalog\/[0-9a-f]{64}\.jpg\); vectors: tiny-clip\n$/,
    );
    const human = kfashion(['catalog', 'list', '--workspace', fx.workspace]);
    expect(human.stdout).toMatch(/wool-coat\s+Wool coat\s+코트\s+tiny-clip/);
    expect(human.stdout).toContain('9 products; workspace image encoder: tiny-clip (ONNX export)');

    const text = join(fx.base, 'fake.jpg');
    writeFileSync(text, 'hello');
    const fake = kfashion(['catalog', 'add', '--workspace', fx.workspace, '--image', text, '--name', 'x']);
    expect(fake.code).toBe(1);
    expect(fake.stderr).toContain(`${text}: not an image`);
    const badId = kfashion([
      'catalog',
      'add',
      '--workspace',
      fx.workspace,
      '--image',
      img,
      '--name',
      'x',
      '--id',
      'a/b',
    ]);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('id: "a/b" is not a valid product id');
    const badAttrs = kfashion([
      'catalog',
      'add',
      '--workspace',
      fx.workspace,
      '--image',
      img,
      '--name',
      'x',
      '--attributes',
      '[1]',
    ]);
    expect(badAttrs.code).toBe(2);
    expect(badAttrs.stderr).toContain('--attributes expects a JSON object');
    const half = kfashion([
      'catalog',
      'import',
      fx.catalogDir,
      '--workspace',
      fx.workspace,
      '--embeddings',
      'x.npy',
    ]);
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('--embeddings FILE.npy and --ids FILE.json go together');
    const unknown = kfashion(['catalog', 'remove', 'wool-coat', 'no-such', '--workspace', fx.workspace]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ids[1]: no catalog product "no-such"');
    // Nothing was removed by the failed call.
    expect(
      JSON.parse(kfashion(['catalog', 'list', '--workspace', fx.workspace, '--json']).stdout).total,
    ).toBe(9);
    expect(kfashion(['catalog', 'remove', 'wool-coat', '--workspace', fx.workspace]).code).toBe(0);
  });
});

describe('kfashion serve', () => {
  it('serves on the given port and stops cleanly on SIGTERM', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');
    const child = spawn(process.execPath, [bin, 'serve', '--workspace', fx.workspace, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c: string) => {
        stderr += c;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`no address after 20 s: ${stderr}`)), 20_000);
    });
    expect(stderr).toContain('image encoder: tiny-clip (ONNX export)');
    expect(stderr).toContain('catalog: 8 new products');
    const r = await fetch(`${address}/api/recommend/customer_input`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ product_id: fx.itemIds[0], k: 1 }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { matches: { productId: string }[] }).matches[0]!.productId).toBe(
      'red-blouse',
    );
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('kfashion: server stopped.');
  }, 40_000);
});

describe('kfashion embed --model demo-standin', () => {
  it('embeds with the SYNTHETIC stand-in, says so, and makes it the workspace image encoder', () => {
    const r = kfashion(['embed', '--workspace', fx.workspace, '--model', 'demo-standin', '--threads', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('SYNTHETIC stand-in image encoder (demo-standin)');
    expect(r.stdout).toContain(`Embedded 8 garment crops with demo-standin`);
    const info = kfashion(['info', '--workspace', fx.workspace]);
    expect(info.stdout).toContain(
      'demo-standin: 8 vectors, 512-d, SYNTHETIC stand-in image encoder, not FashionCLIP',
    );
    expect(info.stdout).toContain(
      'Image encoder (image → image): demo-standin (SYNTHETIC stand-in image encoder, not FashionCLIP)',
    );
    // The catalog has no demo-standin vectors yet: catalog embed computes them.
    const e = JSON.parse(kfashion(['catalog', 'embed', '--workspace', fx.workspace, '--json']).stdout);
    expect(e).toEqual({ model: 'demo-standin', embedded: 8 });
    const list = kfashion(['catalog', 'list', '--workspace', fx.workspace]);
    expect(list.stdout).toContain(
      '8 products; workspace image encoder: demo-standin (SYNTHETIC stand-in image encoder, not FashionCLIP)',
    );
    expect(list.stdout).toMatch(/^SYNTHETIC: /);
    expect(list.stdout).not.toContain('without its vector');
  });
});
