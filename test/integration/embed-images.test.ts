import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedImages } from '../../src-main/encoders/embed-images.ts';
import { openImageEncoder } from '../../src-main/encoders/image-encoder/open-encoder.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';

const COLOURS = ['#c0392b', '#27ae60', '#2980b9', '#f1c40f', '#8e44ad', '#7f8c8d', '#16a085', '#d35400'];

let tree: FixtureTree;
let base: string;
let modelDir: string;

async function addColourImage(style: string, stem: string, colour: string): Promise<void> {
  await sharp({ create: { width: 80, height: 100, channels: 3, background: colour } })
    .jpeg({ quality: 95 })
    .toFile(join(tree.imageDir(style), `${stem}.jpg`));
}

beforeAll(async () => {
  tree = new FixtureTree();
  base = tempDir('kf-embed-');
  modelDir = join(base, 'tiny-clip');
  writeTinyClip(modelDir);
  // Garments 1-8 with images of different colours, 9 without an image.
  for (let i = 1; i <= 9; i++) tree.addLabel('로맨틱', simpleLabel(i));
  for (let i = 1; i <= 8; i++) await addColourImage('로맨틱', String(i), COLOURS[i - 1]!);
});
afterAll(() => {
  tree.cleanup();
  rmSync(base, { recursive: true, force: true });
});

function unitRows(m: Float32Array, dim: number): number[] {
  const norms: number[] = [];
  for (let r = 0; r < m.length / dim; r++) norms.push(Math.hypot(...m.subarray(r * dim, (r + 1) * dim)));
  return norms;
}

describe('kfashion embed (tiny CLIP-shaped ONNX model, real crops and SQLite)', () => {
  it('embeds every garment with an image, caches, and redoes only a changed box', async () => {
    const wb = Workbench.open(join(base, 'ws'));
    try {
      await wb.scan({ data: tree.root });
      const first = await wb.embed({ modelPath: modelDir, model: 'tiny-clip', batch: 3, threads: 1 });
      expect(first).toMatchObject({
        model: 'tiny-clip',
        source: 'onnx',
        device: 'cpu',
        threads: 1,
        batch: 3,
        total: 9,
        embedded: 8,
        cached: 0,
        noImage: 1,
        noImageIds: ['로맨틱/9/상의'],
        failed: [],
      });
      expect(first.imgPerSec).toBeGreaterThan(0);
      const ids = Array.from({ length: 8 }, (_, i) => `로맨틱/${i + 1}/상의`);
      const store = new EmbeddingStore(wb.workspace.db);
      const m = store.matrix('tiny-clip', ids);
      expect(m.length).toBe(8 * 512);
      for (const n of unitRows(m, 512)) expect(n).toBeCloseTo(1, 5);
      // Different colours, different vectors.
      expect(Math.abs(m[0]! - m[512]!)).toBeGreaterThan(1e-4);
      expect(wb.embeddingModels()).toMatchObject([
        { model: 'tiny-clip', dim: 512, source: 'onnx', count: 8 },
      ]);
      expect(wb.summary().embeddings).toEqual([{ model: 'tiny-clip', dim: 512, source: 'onnx', count: 8 }]);

      const again = await wb.embed({ modelPath: modelDir, model: 'tiny-clip', batch: 3, threads: 1 });
      expect(again).toMatchObject({ embedded: 0, cached: 8, noImage: 1 });

      // Move garment 3's box: a re-scan changes its crop key, so only it is embedded again.
      const before3 = store.matrix('tiny-clip', ['로맨틱/3/상의']);
      const before4 = store.matrix('tiny-clip', ['로맨틱/4/상의']);
      tree.addLabel(
        '로맨틱',
        simpleLabel(3, {
          polygons: {
            상의: [
              [0, 0],
              [80, 0],
              [80, 100],
              [0, 100],
            ],
          },
        }),
      );
      await wb.scan({ data: tree.root });
      const third = await wb.embed({ modelPath: modelDir, model: 'tiny-clip', batch: 3, threads: 1 });
      expect(third).toMatchObject({ embedded: 1, cached: 7 });
      // Same solid colour, so the vector is (nearly) the same; the point is it was recomputed.
      expect(store.cropKeys('tiny-clip').get('로맨틱/3/상의')).toBe(
        wb.workspace.db.prepare("SELECT key FROM crops WHERE item_id = '로맨틱/3/상의'").pluck().get(),
      );
      expect(store.matrix('tiny-clip', ['로맨틱/3/상의'])[0]).toBeCloseTo(before3[0]!, 2);
      expect(Array.from(store.matrix('tiny-clip', ['로맨틱/4/상의']))).toEqual(Array.from(before4));
    } finally {
      wb.close();
    }
  });

  it('reports an image that vanished since the scan and goes on', async () => {
    const t = new FixtureTree();
    const wb = Workbench.open(join(base, 'ws-missing'));
    try {
      for (let i = 1; i <= 3; i++) t.addLabel('레트로', simpleLabel(i));
      for (let i = 1; i <= 3; i++) await t.addImage('레트로', String(i));
      await wb.scan({ data: t.root });
      rmSync(join(t.imageDir('레트로'), '2.jpg'));
      const s = await wb.embed({ modelPath: modelDir, threads: 1 });
      expect(s.embedded).toBe(2);
      expect(s.failed).toHaveLength(1);
      expect(s.failed[0]!.id).toBe('레트로/2/상의');
      expect(s.failed[0]!.reason).toContain('no longer exists');
      expect(s.model).toBe('tiny-clip');
    } finally {
      wb.close();
      t.cleanup();
    }
  });

  it('keeps the batches stored before a cancel, and the next run finishes the rest', async () => {
    const wb = Workbench.open(join(base, 'ws-cancel'));
    const { encoder, origin } = await openImageEncoder({ modelPath: modelDir, threads: 1 });
    try {
      await wb.scan({ data: tree.root });
      const abort = new AbortController();
      const run = embedImages(wb.workspace, encoder, origin, {
        batch: 2,
        signal: abort.signal,
        onProgress: (_phase, _step, _total, metrics) => {
          if ((metrics?.embedded ?? 0) >= 4) abort.abort();
        },
      });
      await expect(run).rejects.toThrow(CancelledError);
      await expect(run).rejects.toThrow('4 images embedded and stored');
      const store = new EmbeddingStore(wb.workspace.db);
      expect(store.models()[0]!.count).toBe(4);
      const rest = await embedImages(wb.workspace, encoder, origin, { batch: 2 });
      expect(rest).toMatchObject({ embedded: 4, cached: 4 });
      expect(store.models()[0]!.count).toBe(8);
    } finally {
      await encoder.close();
      wb.close();
    }
  });

  it('fills batches across up-to-date items, so a few changed boxes still embed in one batch', async () => {
    const wb = Workbench.open(join(base, 'ws-refill'));
    const { encoder, origin } = await openImageEncoder({ modelPath: modelDir, threads: 1 });
    const sizes: number[] = [];
    const embed = encoder.embed.bind(encoder);
    const counting = {
      ...encoder,
      embed: (px: Float32Array | readonly Float32Array[]) => {
        sizes.push((px as Float32Array).length / (3 * 224 * 224));
        return embed(px);
      },
    };
    try {
      await wb.scan({ data: tree.root });
      await embedImages(wb.workspace, counting, origin, { batch: 4 });
      expect(sizes).toEqual([4, 4]);
      // Invalidate items 2 and 7 (far apart in id order): one batch of 2, not two batches of 1.
      wb.workspace.db
        .prepare("UPDATE image_embeddings SET crop_key = 'stale' WHERE item_id IN (?, ?)")
        .run('로맨틱/2/상의', '로맨틱/7/상의');
      sizes.length = 0;
      expect(await embedImages(wb.workspace, counting, origin, { batch: 4 })).toMatchObject({
        embedded: 2,
        cached: 6,
      });
      expect(sizes).toEqual([2]);
    } finally {
      await encoder.close();
      wb.close();
    }
  });

  it('downloads a registry model from the hub on first use, then embeds with it (fashion-clip layout)', async () => {
    // A local stand-in for the model hub, serving the tiny both-towers model as fashion-clip's files.
    const files = join(base, 'hub-files');
    writeTinyClip(files, 'fashion-clip');
    const served: string[] = [];
    const server = createServer((req, res) => {
      const prefix = '/patrickjohncyh/fashion-clip/resolve/main/';
      const url = req.url ?? '';
      served.push(url);
      if (!url.startsWith(prefix)) {
        res.writeHead(404);
        res.end();
        return;
      }
      const body = readFileSync(join(files, url.slice(prefix.length)));
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const hub = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const wb = Workbench.open(join(base, 'ws-hub'));
    try {
      await wb.scan({ data: tree.root });
      const modelsDir = join(base, 'models');
      const phases = new Set<string>();
      const s = await wb.embed(
        { threads: 1, files: { modelsDir, hub } },
        { onProgress: (e) => phases.add(e.phase) },
      );
      expect(s).toMatchObject({ model: 'fashion-clip', embedded: 8, noImage: 1, failed: [] });
      expect(s.onnxPath).toBe(join(modelsDir, 'fashion-clip', 'onnx', 'model.onnx'));
      expect(served.sort()).toEqual([
        '/patrickjohncyh/fashion-clip/resolve/main/onnx/model.onnx',
        '/patrickjohncyh/fashion-clip/resolve/main/preprocessor_config.json',
      ]);
      expect(phases).toContain('download model.onnx');
      expect(phases).toContain('embed');
      expect(wb.embeddingModels()[0]).toMatchObject({
        model: 'fashion-clip',
        source: 'onnx',
        detail: { repo: 'patrickjohncyh/fashion-clip', precision: 'fp32' },
      });
      // Second run: files are there, nothing is fetched, everything is cached.
      served.length = 0;
      expect(await wb.embed({ threads: 1, files: { modelsDir, hub } })).toMatchObject({
        embedded: 0,
        cached: 8,
      });
      expect(served).toEqual([]);
    } finally {
      wb.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('refuses to compute over imported vectors of the same id', async () => {
    const wb = Workbench.open(join(base, 'ws'));
    try {
      const store = new EmbeddingStore(wb.workspace.db);
      store.defineModel('from-python', 512, 'import');
      await expect(wb.embed({ modelPath: modelDir, model: 'from-python', threads: 1 })).rejects.toThrow(
        'This workspace\'s "from-python" embeddings were imported from a file',
      );
    } finally {
      wb.close();
    }
  });
});
