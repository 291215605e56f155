import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawViewParams, viewSettingsKey } from '../../src-main/dataset/augment/image-views.ts';
import { Rng } from '../../src-main/dataset/rng.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { ViewEmbeddingStore } from '../../src-main/store/view-embedding-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { readSafetensors } from '../../src-main/training/safetensors.ts';
import { resolveTrainConfig, type TrainConfig } from '../../src-main/training/train-config.ts';
import { defaultEncoderFactory, train } from '../../src-main/training/trainer.ts';
import { augmentationSchema, viewSettingsSchema } from '../../src-shared/augmentation-config.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let n = 0;
const fresh = () => copyWorkspace(fixture.workspace, join(fixture.root, `copy-${++n}`));
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const config = (augmentation?: unknown): TrainConfig =>
  resolveTrainConfig({
    overrides: {
      batchSize: 16,
      epochs: 2,
      lr: 3e-3,
      seed: 5,
      augmentation: augmentation === undefined ? undefined : augmentationSchema.parse(augmentation),
    },
  });

function newestRun(dir: string): string {
  const ids = readdirSync(join(dir, 'runs')).sort();
  return join(dir, 'runs', ids.at(-1)!);
}

async function run(dir: string, c: TrainConfig) {
  const ws = Workspace.open(dir, { create: false });
  try {
    return await train(ws, c, { createEncoder: linearEncoderFactory() });
  } finally {
    ws.close();
  }
}

/** The last weights of the workspace's newest run. */
const weights = (dir: string) =>
  Object.fromEntries(
    [...readSafetensors(join(newestRun(dir), 'checkpoints', 'last.safetensors')).tensors].map(([k, t]) => [
      k,
      Array.from(t.data),
    ]),
  );

/** Stores `views` perturbed copies of every "synthetic-demo" vector under the default view recipe. */
function storeViews(dir: string, views: number): string {
  const ws = Workspace.open(dir, { create: false });
  try {
    const emb = new EmbeddingStore(ws.db);
    const ids = ws.db
      .prepare('SELECT item_id FROM image_embeddings ORDER BY item_id')
      .pluck()
      .all() as string[];
    const base = emb.matrix('synthetic-demo', ids);
    const recipe = viewSettingsKey(viewSettingsSchema.parse({}), 0);
    const store = new ViewEmbeddingStore(ws.db);
    store.defineRecipe(recipe, viewSettingsSchema.parse({}), 0);
    for (let v = 1; v <= views; v++) {
      const noise = new Rng(v).unitRows(ids.length, 512);
      const m = new Float32Array(base.length);
      for (let r = 0; r < ids.length; r++) {
        let s = 0;
        for (let k = 0; k < 512; k++) {
          const x = base[r * 512 + k]! + 0.3 * noise[r * 512 + k]!;
          m[r * 512 + k] = x;
          s += x * x;
        }
        for (let k = 0; k < 512; k++) m[r * 512 + k]! /= Math.sqrt(s);
      }
      store.put(
        'synthetic-demo',
        recipe,
        ids.map((itemId) => ({
          itemId,
          view: v,
          cropKey: 'k',
          path: `crops/views/${itemId}-${v}.png`,
          params: drawViewParams(viewSettingsSchema.parse({}), 0, itemId, v, { width: 40, height: 60 }),
        })),
        m,
      );
    }
    return recipe;
  } finally {
    ws.close();
  }
}

describe('training with augmentation', () => {
  it('applies JSON augmentation, records it in the run config, and a replay is bit-identical', async () => {
    const aug = { json: { fieldDropout: 0.2, synonym: 0.3, mix: 0.2, styleStrength: { 레트로: 2 } } };
    const [plain, a] = [fresh(), fresh()];
    await run(plain, config());
    const ra = await run(a, config(aug));
    const parsed = augmentationSchema.parse(aug);
    const runConfig = JSON.parse(readFileSync(join(ra.runDir, 'config.json'), 'utf8'));
    expect(runConfig.config.augmentation).toEqual(parsed);
    expect(runConfig.augmentation).toEqual(parsed);
    expect(
      JSON.parse(readFileSync(join(a, 'checkpoints', 'best_model.json'), 'utf8')).config.augmentation,
    ).toEqual(parsed);
    expect(weights(a)).not.toEqual(weights(plain));

    // Replay from what the run recorded (its config.json), not from the settings given above.
    const wb = Workbench.open(a, { create: false });
    try {
      const rb = await wb.train({
        configFile: join(ra.runDir, 'config.json'),
        createEncoder: linearEncoderFactory(),
      });
      expect(rb.replayOf).toBe(ra.runId);
      expect(rb.config.augmentation).toEqual(parsed);
      expect(rb.history.map((h) => h.valLoss)).toEqual(ra.history.map((h) => h.valLoss));
      expect(rb.history.map((h) => h.top1)).toEqual(ra.history.map((h) => h.top1));
      const last = (dir: string) =>
        Object.fromEntries(
          [...readSafetensors(join(dir, 'checkpoints', 'last.safetensors')).tensors].map(([k, t]) => [
            k,
            Array.from(t.data),
          ]),
        );
      expect(last(rb.runDir)).toEqual(last(ra.runDir));

      // The dashboard shows the current run's (the replay's) real augmentation: its own samples.
      const d = await wb.dashboard();
      expect(d.augmentation).toMatchObject({ runId: rb.runId, settings: parsed });
      expect(d.augmentation!.source).toBe(`runs/${rb.runId}/results/augmentation_samples.json`);
      expect(d.augmented_samples.length).toBeGreaterThan(0);
      expect(d.augmented_samples.some((x) => (x.changes ?? []).length > 0)).toBe(true);
    } finally {
      wb.close();
    }

    // The first step's real augmentation, for the dashboard, in the run's own results.
    const samples = JSON.parse(readFileSync(join(ra.runDir, 'results', 'augmentation_samples.json'), 'utf8'));
    expect(samples.runId).toBe(ra.runId);
    expect(samples.settings).toEqual(parsed);
    expect(samples.samples.length).toBeGreaterThan(0);
    const changed = samples.samples.filter((s: { changes: string[] }) => s.changes.length > 0);
    expect(changed.length).toBeGreaterThan(0);
    for (const s of changed) expect(s.after).not.toEqual(s.before);
  }, 180_000);

  it('a config without augmentation trains exactly as before (no file, same weights)', async () => {
    const [x, y] = [fresh(), fresh()];
    await run(x, config());
    await run(y, config({}));
    expect(weights(y)).toEqual(weights(x));
    expect(existsSync(join(newestRun(y), 'results', 'augmentation_samples.json'))).toBe(false);
  }, 120_000);

  it('samples one stored view per garment per epoch, deterministically, and says when views are missing', async () => {
    const [a, b, plain, missing] = [fresh(), fresh(), fresh(), fresh()];
    for (const d of [a, b]) storeViews(d, 2);
    storeViews(missing, 1);
    const c = config({ image: { views: 2 } });
    const ra = await run(a, c);
    await run(b, c);
    await run(plain, config());
    expect(weights(b)).toEqual(weights(a));
    expect(weights(a)).not.toEqual(weights(plain));
    const samples = JSON.parse(readFileSync(join(ra.runDir, 'results', 'augmentation_samples.json'), 'utf8'));
    expect(samples.runId).toBe(ra.runId);
    expect(samples.recipe).toBe(viewSettingsKey(viewSettingsSchema.parse({}), 0));
    const used = samples.samples.filter((s: { view: number }) => s.view > 0);
    expect(used.length).toBeGreaterThan(0);
    for (const s of used) {
      expect(s.imagePath).toBe(`crops/views/${s.itemId}-${s.view}.png`);
      expect(s.viewDescription).toMatch(new RegExp(`^view ${s.view} · crop`));
    }
    await expect(run(missing, c)).rejects.toThrow(
      /--image-views 2: .*no view 2 .*kfashion embed .*--views 2/,
    );
  }, 120_000);

  it('trains with MixUp (soft targets) and every other setting at once, records them all in the run config, and a replay is bit-identical', async () => {
    const aug = {
      json: {
        fieldDropout: 0.1,
        synonym: 0.2,
        mix: 0.3,
        mixFields: ['material'],
        styleStrength: { 레트로: 1.5 },
      },
      image: { views: 2, mixup: 0.5, mixupAlpha: 0.8 },
    };
    const parsed = augmentationSchema.parse(aug);
    const [plain, a, noMix] = [fresh(), fresh(), fresh()];
    for (const d of [a, noMix]) storeViews(d, 2);
    await run(plain, config());
    const ra = await run(a, config(aug));
    await run(noMix, config({ ...aug, image: { views: 2 } }));
    const runConfig = JSON.parse(readFileSync(join(ra.runDir, 'config.json'), 'utf8'));
    expect(runConfig.config.augmentation.image).toMatchObject({ views: 2, mixup: 0.5, mixupAlpha: 0.8 });
    expect(runConfig.config.augmentation.json).toMatchObject(aug.json);
    // MixUp changed the training (same settings without it give other weights).
    expect(weights(a)).not.toEqual(weights(noMix));
    expect(runConfig.config.augmentation).toEqual(parsed);
    expect(weights(a)).not.toEqual(weights(plain));
    const wb = Workbench.open(a, { create: false });
    try {
      const rb = await wb.train({
        configFile: join(ra.runDir, 'config.json'),
        createEncoder: linearEncoderFactory(),
      });
      expect(rb.replayOf).toBe(ra.runId);
      expect(rb.config.augmentation).toEqual(parsed);
      expect(rb.history.map((h) => h.trainLoss)).toEqual(ra.history.map((h) => h.trainLoss));
      const last = (dir: string) =>
        Object.fromEntries(
          [...readSafetensors(join(dir, 'checkpoints', 'last.safetensors')).tensors].map(([k, t]) => [
            k,
            Array.from(t.data),
          ]),
        );
      expect(last(rb.runDir)).toEqual(last(ra.runDir));
    } finally {
      wb.close();
    }
  }, 180_000);

  it('trains with MixUp on the default (tfjs) engine', async () => {
    const dir = fresh();
    const ws = Workspace.open(dir, { create: false });
    try {
      const r = await train(
        ws,
        { ...config({ image: { mixup: 1, mixupAlpha: 0.4 } }), epochs: 1 },
        { createEncoder: defaultEncoderFactory },
      );
      expect(Number.isFinite(r.history[0]!.trainLoss)).toBe(true);
    } finally {
      ws.close();
    }
  }, 180_000);
});
