import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src-main/dataset/rng.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src-main/training/train-config.ts';
import { tune } from '../../src-main/tuning/tune-study.ts';
import { FIELD_NAMES } from '../../src-shared/fields.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const values = (v: string | string[] | undefined) => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/**
 * Replaces the workspace's image vectors by a map of the item's fields in which one extra field
 * (`planted`, not among the defaults) carries most of the signal: an encoder that reads it can tell
 * far more images apart than one that does not.
 */
function plant(ws: Workspace, planted: string): void {
  const items = [...new DatasetStore(ws.db).iterateItems()];
  const store = new EmbeddingStore(ws.db);
  const dim = store.models().find((m) => m.model === 'synthetic-demo')!.dim;
  const rng = new Rng(11);
  const table = new Map<string, Float32Array>();
  const vec = (key: string) => {
    let v = table.get(key);
    if (!v) {
      v = Float32Array.from({ length: dim }, () => rng.normal());
      table.set(key, v);
    }
    return v;
  };
  const out = new Float32Array(items.length * dim);
  items.forEach((it, i) => {
    const parts: [string, number][] = [];
    for (const f of DEFAULT_TRAIN_CONFIG.fields)
      for (const v of values(it.attributes[f])) parts.push([`${f}=${v}`, 0.3]);
    for (const v of values(it.attributes[planted as keyof typeof it.attributes]))
      parts.push([`${planted}=${v}`, 3]);
    let n = 0;
    for (const [k, w] of parts) {
      const e = vec(k);
      for (let d = 0; d < dim; d++) out[i * dim + d]! += w * e[d]!;
    }
    for (let d = 0; d < dim; d++) n += out[i * dim + d]! ** 2;
    for (let d = 0; d < dim; d++) out[i * dim + d]! /= Math.sqrt(n) || 1;
  });
  store.put(
    'synthetic-demo',
    items.map((it) => it.id),
    out,
  );
}

describe('field study (--preset fields)', () => {
  it('ranks first the one extra field planted to carry the image signal', async () => {
    const dir = copyWorkspace(fixture.workspace, join(fixture.root, 'fields'));
    const ws = Workspace.open(dir);
    try {
      // The extra field with the most distinct values in this demo.
      const items = [...new DatasetStore(ws.db).iterateItems()];
      const extra = FIELD_NAMES.filter((f) => !DEFAULT_TRAIN_CONFIG.fields.includes(f));
      const distinct = (f: string) =>
        new Set(items.flatMap((it) => values(it.attributes[f as keyof typeof it.attributes]))).size;
      const planted = [...extra].sort((a, b) => distinct(b) - distinct(a))[0]!;
      expect(distinct(planted)).toBeGreaterThan(3);
      plant(ws, planted);
      const r = await tune(ws, {
        name: 'fields',
        preset: 'fields',
        fieldSeeds: [1, 2],
        pruner: 'none',
        overrides: { epochs: 6, batchSize: 16, lr: 0.05, patience: 6 },
        createEncoder: linearEncoderFactory(),
        evalEncoder: linearEncoderFactory(),
      });
      expect(r.trials).toHaveLength(13 * 2);
      expect(r.trials.every((t) => t.state === 'COMPLETE')).toBe(true);
      const rep = r.fieldStudy!;
      expect(rep.ranking[0]!.field).toBe(planted);
      expect(rep.ranking[0]!.consistent).toBe(true);
      expect(rep.recommendation.fields).toContain(planted);
      const entry = rep.entries.find((e) => e.label === `+ ${planted}`)!;
      expect(entry.ceiling.recall10).toBeGreaterThanOrEqual(
        rep.entries.find((e) => e.label === 'default')!.ceiling.recall10,
      );
    } finally {
      ws.close();
    }
  }, 300_000);
});
