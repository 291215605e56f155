import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedEmbeddingMap, computeEmbeddingMap } from '../../src-main/evaluation/embedding-map.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';
import { train } from '../../src-main/training/trainer.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let trained: string;
const createEncoder = linearEncoderFactory();

beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  trained = copyWorkspace(fixture.workspace, join(fixture.root, 'trained'));
  const ws = Workspace.open(trained, { create: false });
  try {
    await train(ws, resolveTrainConfig({ overrides: { batchSize: 16, epochs: 1, lr: 3e-3, seed: 3 } }), {
      createEncoder,
    });
  } finally {
    ws.close();
  }
}, 60_000);
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('embedding map', () => {
  it('projects every validation garment twice (picture and attributes), caches per checkpoint, and recomputes when asked', async () => {
    const ws = Workspace.open(trained, { create: false });
    try {
      const val = new DatasetStore(ws.db).countItems({ split: 'val' });
      expect(cachedEmbeddingMap(ws, 'pca')).toBeNull();
      const steps: string[] = [];
      const map = await computeEmbeddingMap(ws, {
        method: 'pca',
        createEncoder,
        onProgress: (phase) => steps.push(phase),
      });
      expect(map.items).toHaveLength(val);
      expect(map.image).toHaveLength(val);
      expect(map.json).toHaveLength(val);
      expect(map.checkpoint).toMatchObject({ epoch: 1 });
      expect(map.model).toBe('synthetic-demo');
      expect(steps).toContain('pca');
      expect(map.explained![0]).toBeGreaterThan(map.explained![1]);
      expect(map.image.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
      // Cached: the same key, read back without computing.
      expect(cachedEmbeddingMap(ws, 'pca')?.key).toBe(map.key);
      expect(cachedEmbeddingMap(ws, 'umap')).toBeNull();
      const again = await computeEmbeddingMap(ws, { method: 'pca', createEncoder });
      expect(again.timestamp).toBe(map.timestamp);
      const umap = await computeEmbeddingMap(ws, { method: 'umap', createEncoder });
      expect(umap.image).toHaveLength(val);
      expect(umap.method).toBe('umap');
      expect(umap.key).not.toBe(map.key);
    } finally {
      ws.close();
    }
  }, 120_000);

  it('stops when cancelled', async () => {
    const ws = Workspace.open(trained, { create: false });
    try {
      const ac = new AbortController();
      ac.abort();
      await expect(
        computeEmbeddingMap(ws, { method: 'umap', refresh: true, createEncoder, signal: ac.signal }),
      ).rejects.toThrow('cancelled');
    } finally {
      ws.close();
    }
  });
});
