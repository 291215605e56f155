import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointEncoderError,
  openCheckpointEncoder,
} from '../../src-main/evaluation/checkpoint-encoder.ts';
import { DatasetStore } from '../../src-main/store/dataset-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { loadCheckpoint } from '../../src-main/training/checkpoints.ts';
import { listRuns } from '../../src-main/training/runs.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';
import { encodeSplit, train } from '../../src-main/training/trainer.ts';
import { loadTrainingData } from '../../src-main/training/training-data.ts';
import { validationMetrics } from '../../src-main/training/validation-metrics.ts';
import { LinearJsonEncoder, linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let trained: string;
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  trained = copyWorkspace(fixture.workspace, join(fixture.root, 'trained'));
  const ws = Workspace.open(trained, { create: false });
  try {
    await train(ws, resolveTrainConfig({ overrides: { batchSize: 16, epochs: 2, lr: 3e-3, seed: 3 } }), {
      createEncoder: linearEncoderFactory(),
    });
  } finally {
    ws.close();
  }
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('openCheckpointEncoder', () => {
  it("encodes validation items exactly as the trainer's encodeSplit does for the same checkpoint", async () => {
    const ws = Workspace.open(trained, { create: false });
    try {
      const enc = await openCheckpointEncoder(ws, { createEncoder: linearEncoderFactory() });
      const info = enc.info;
      expect(info.kind).toBe('best');
      expect(enc.dim).toBe(512);
      expect(enc.backend).toBe('js-linear (test)');
      // The trainer's view: the same checkpoint loaded into a model, encodeSplit over the val split.
      const data = loadTrainingData(ws, { fields: info.config.fields, model: info.config.model });
      const model = new LinearJsonEncoder(info.encoder, 0);
      model.setState(loadCheckpoint(ws.paths.checkpoints, 'best').state);
      const expected = encodeSplit(model, data, 'val');
      const store = new DatasetStore(ws.db);
      const attrs = data.val.ids.map((id) => store.getItem(id)!.attributes);
      const got = enc.encode(attrs);
      expect(got.length).toBe(expected.length);
      expect(Array.from(got)).toEqual(Array.from(expected));
      // ... and so reproduces the best epoch's recorded validation figures.
      const m = validationMetrics(got, data.val.images, 512, 0);
      expect(m.top1).toBe(info.metrics!.top1);
      expect(m.mrr).toBeCloseTo(info.metrics!.mrr, 12);
      enc.close();
      expect(() => enc.encode(attrs)).toThrow('after close');
    } finally {
      ws.close();
    }
  });

  it('maps an unknown value to <unk> and a missing field to <pad>', async () => {
    const ws = Workspace.open(trained, { create: false });
    try {
      const enc = await openCheckpointEncoder(ws, { createEncoder: linearEncoderFactory() });
      const [a, b, c] = [
        { category: 'no-such-category', style: ['no-such-style'] },
        { category: '<unk>', style: ['<unk>'] },
        {},
      ];
      const v = enc.encode([a, b, c]);
      // <unk> spelled out and an unknown value index the same row.
      expect(Array.from(v.subarray(0, 512))).toEqual(Array.from(v.subarray(512, 1024)));
      // Nothing at all: every field is padding → zero vector before normalisation (the linear model).
      expect(Array.from(v.subarray(1024)).every((x) => x === 0)).toBe(true);
      enc.close();
    } finally {
      ws.close();
    }
  });

  it('opens a checkpoint by folder, .json or .safetensors path', async () => {
    const ws = Workspace.open(trained, { create: false });
    const elsewhere = join(fixture.root, 'copied-ckpt');
    mkdirSync(elsewhere, { recursive: true });
    // last.* lives in the run's own folder (runs/<id>/checkpoints/), next to best.*.
    const runCk = join(trained, 'runs', listRuns(ws)[0]!.id, 'checkpoints');
    copyFileSync(join(runCk, 'last.json'), join(elsewhere, 'last.json'));
    copyFileSync(join(runCk, 'last.safetensors'), join(elsewhere, 'last.safetensors'));
    try {
      for (const p of [
        elsewhere,
        join(elsewhere, 'last.json'),
        join(elsewhere, 'last.safetensors'),
        join(ws.paths.checkpoints, 'best_model.json'),
        runCk,
        join(runCk, 'best.safetensors'),
      ]) {
        const enc = await openCheckpointEncoder(ws, { checkpoint: p, createEncoder: linearEncoderFactory() });
        expect(enc.info.runId).toMatch(/^train-/);
        expect(enc.infoPath.endsWith('.json')).toBe(true);
        enc.close();
      }
      await expect(
        openCheckpointEncoder(ws, {
          checkpoint: join(fixture.root, 'nope'),
          createEncoder: linearEncoderFactory(),
        }),
      ).rejects.toThrow('no such file or folder');
    } finally {
      ws.close();
    }
  });

  it('says "train first" when the workspace has no checkpoint', async () => {
    const ws = Workspace.open(fixture.workspace, { create: false });
    try {
      const err = await openCheckpointEncoder(ws, { createEncoder: linearEncoderFactory() }).catch((e) => e);
      expect(err).toBeInstanceOf(CheckpointEncoderError);
      expect(err.message).toContain(`train first: kfashion train --workspace ${ws.root}`);
    } finally {
      ws.close();
    }
  });
});
