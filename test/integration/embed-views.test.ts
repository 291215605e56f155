import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewSettingsKey } from '../../src-main/dataset/augment/image-views.ts';
import { embedViews } from '../../src-main/encoders/embed-views.ts';
import { openImageEncoder } from '../../src-main/encoders/image-encoder/open-encoder.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { ViewEmbeddingStore } from '../../src-main/store/view-embedding-store.ts';
import { viewSettingsSchema } from '../../src-shared/augmentation-config.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import { FixtureTree, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';

let tree: FixtureTree;
let base: string;
let modelDir: string;

beforeAll(async () => {
  tree = new FixtureTree();
  base = tempDir('kf-views-');
  modelDir = join(base, 'tiny-clip');
  writeTinyClip(modelDir);
  for (let i = 1; i <= 4; i++) {
    tree.addLabel('로맨틱', simpleLabel(i));
    // A gradient, so crops, flips and rotations change the pixels (a solid colour would not).
    const raw = Buffer.alloc(80 * 100 * 3);
    for (let p = 0; p < 80 * 100; p++) {
      raw[p * 3] = (p % 80) * 3;
      raw[p * 3 + 1] = Math.floor(p / 80) * 2;
      raw[p * 3 + 2] = i * 50;
    }
    await sharp(raw, { raw: { width: 80, height: 100, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(join(tree.imageDir('로맨틱'), `${i}.jpg`));
  }
});
afterAll(() => {
  tree.cleanup();
  rmSync(base, { recursive: true, force: true });
});

const ids = Array.from({ length: 4 }, (_, i) => `로맨틱/${i + 1}/상의`);

describe('kfashion embed --views (tiny CLIP-shaped ONNX model, real crops and SQLite)', () => {
  it('stores N views per crop, deterministic per seed, cached on a second run and when more are asked', async () => {
    const wb = Workbench.open(join(base, 'ws'));
    try {
      await wb.scan({ data: tree.root });
      const first = await wb.embed({
        modelPath: modelDir,
        model: 'tiny-clip',
        batch: 3,
        threads: 1,
        views: 2,
      });
      const recipe = viewSettingsKey(viewSettingsSchema.parse({}), 0);
      expect(first.views).toMatchObject({
        recipe,
        views: 2,
        garments: 4,
        embedded: 8,
        cached: 0,
        failed: [],
      });
      const views = new ViewEmbeddingStore(wb.workspace.db);
      const v1 = views.matrix('tiny-clip', recipe, 1, ids);
      const v2 = views.matrix('tiny-clip', recipe, 2, ids);
      const orig = new EmbeddingStore(wb.workspace.db).matrix('tiny-clip', ids);
      expect(Array.from(v1)).not.toEqual(Array.from(v2));
      expect(Array.from(v1)).not.toEqual(Array.from(orig));
      for (let r = 0; r < 4; r++)
        expect(Math.hypot(...v1.subarray(r * 512, (r + 1) * 512))).toBeCloseTo(1, 5);
      const stored = views.get('tiny-clip', recipe, ids[0]!, 1)!;
      expect(existsSync(join(wb.workspace.root, stored.path))).toBe(true);
      expect(stored.params).toMatchObject({ view: 1, crop: expect.any(Object) });
      const png1 = readFileSync(join(wb.workspace.root, stored.path));

      const again = await wb.embed({ modelPath: modelDir, model: 'tiny-clip', threads: 1, views: 2 });
      expect(again.views).toMatchObject({ embedded: 0, cached: 8 });
      const more = await wb.embed({ modelPath: modelDir, model: 'tiny-clip', threads: 1, views: 3 });
      expect(more.views).toMatchObject({ embedded: 4, cached: 8 });

      // Another seed is another recipe: its own vectors, the first seed's untouched.
      const other = await wb.embed({
        modelPath: modelDir,
        model: 'tiny-clip',
        threads: 1,
        views: 1,
        viewSeed: 5,
      });
      expect(other.views!.recipe).not.toBe(recipe);
      expect(Array.from(views.matrix('tiny-clip', recipe, 1, ids))).toEqual(Array.from(v1));
      expect(Array.from(views.matrix('tiny-clip', other.views!.recipe, 1, ids))).not.toEqual(Array.from(v1));

      // The same seed in a fresh workspace renders the very same views and vectors.
      const wb2 = Workbench.open(join(base, 'ws2'));
      try {
        await wb2.scan({ data: tree.root });
        await wb2.embed({ modelPath: modelDir, model: 'tiny-clip', threads: 1, views: 2 });
        const views2 = new ViewEmbeddingStore(wb2.workspace.db);
        expect(Array.from(views2.matrix('tiny-clip', recipe, 1, ids))).toEqual(Array.from(v1));
        const p2 = views2.get('tiny-clip', recipe, ids[0]!, 1)!;
        expect(readFileSync(join(wb2.workspace.root, p2.path)).equals(png1)).toBe(true);
      } finally {
        wb2.close();
      }
      expect(() => views.matrix('tiny-clip', recipe, 4, ids)).toThrow(/have no view 4 .*--views/);
    } finally {
      wb.close();
    }
  });

  it('keeps the views stored before a cancel; the next run finishes the rest', async () => {
    const wb = Workbench.open(join(base, 'ws-cancel'));
    const { encoder } = await openImageEncoder({ modelPath: modelDir, threads: 1 });
    try {
      await wb.scan({ data: tree.root });
      await wb.embed({ modelPath: modelDir, model: 'tiny-clip', threads: 1 });
      const abort = new AbortController();
      const run = embedViews(wb.workspace, encoder, {
        views: 2,
        batch: 2,
        signal: abort.signal,
        onProgress: (_p, _s, _t, m) => {
          if ((m?.embedded ?? 0) >= 2) abort.abort();
        },
      });
      await expect(run).rejects.toThrow(CancelledError);
      const recipe = viewSettingsKey(viewSettingsSchema.parse({}), 0);
      const store = new ViewEmbeddingStore(wb.workspace.db);
      const kept = store.cropKeys('tiny-clip', recipe).size;
      expect(kept).toBeGreaterThanOrEqual(2);
      const rest = await embedViews(wb.workspace, encoder, { views: 2, batch: 2 });
      expect(rest.embedded + rest.cached).toBe(8);
      expect(rest.cached).toBe(kept);
      expect(store.cropKeys('tiny-clip', recipe).size).toBe(8);
    } finally {
      await encoder.close();
      wb.close();
    }
  });
});
