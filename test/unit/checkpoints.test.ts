import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonEncoderState } from '../../src-main/encoders/json-encoder/json-encoder-types.ts';
import {
  type CheckpointInfo,
  checkpointExists,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src-main/training/checkpoints.ts';
import { earlyStoppingToJson, initialEarlyStopping } from '../../src-main/training/early-stopping.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kf-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t = (shape: number[], f: (i: number) => number) => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});

const state: JsonEncoderState = {
  params: {
    'field_embeddings.category.weight': t([4, 3], (i) => i / 10),
    'mlp.0.weight': t([2, 3], (i) => -i),
    'mlp.0.bias': t([2], (i) => i + 0.5),
  },
  optimizer: {
    step: 17,
    moments: {
      'exp_avg.field_embeddings.category.weight': t([4, 3], (i) => i * 1e-3),
      'exp_avg_sq.field_embeddings.category.weight': t([4, 3], (i) => i * 1e-6),
    },
  },
  rngState: 123456789,
};

const info = (): Omit<CheckpointInfo, 'format' | 'version' | 'kind' | 'weights'> => ({
  runId: 'train-20261124T000000Z-abcd',
  timestamp: '2026-11-24T00:00:00.000Z',
  epoch: 3,
  step: 17,
  config: resolveTrainConfig({ overrides: { fields: ['category'], model: 'synthetic-demo' } }),
  encoder: {
    fields: ['category'],
    fieldKinds: { category: 'single' },
    vocabSizes: { category: 4 },
    embedDim: 3,
    hiddenDim: 2,
    outputDim: 512,
    dropout: 0.1,
  },
  fields: ['category'],
  vocabulary: { category: ['<pad>', '<unk>', '블라우스', '티셔츠'] },
  backend: 'wasm (1 thread)',
  metrics: null,
  imageEmbedding: { model: 'synthetic-demo', source: 'synthetic', synthetic: true },
});

describe('checkpoints', () => {
  it('round-trips best (weights only) and last (weights, moments, resume state)', () => {
    expect(checkpointExists(dir, 'best')).toBe(false);
    expect(() => loadCheckpoint(dir, 'last')).toThrow(
      `No last checkpoint in ${dir}: expected last.json and last.safetensors (written at the end of every training epoch).`,
    );
    saveCheckpoint(dir, 'best', state, info());
    const resume = {
      epoch: 3,
      optimizerStep: 17,
      rngState: state.rngState,
      earlyStopping: earlyStoppingToJson(initialEarlyStopping(10)),
      history: [],
      startedAt: '2026-11-24T00:00:00.000Z',
      elapsedMs: 1234,
      dataOrder: 'seeded',
    };
    saveCheckpoint(dir, 'last', state, { ...info(), resume });
    const best = loadCheckpoint(dir, 'best');
    expect(best.state.params).toEqual(state.params);
    expect(best.state.optimizer.moments).toEqual({});
    expect(best.info).toMatchObject({ kind: 'best', runId: info().runId, vocabulary: info().vocabulary });
    expect(best.info.weights.tensors).toEqual([
      { name: 'field_embeddings.category.weight', shape: [4, 3] },
      { name: 'mlp.0.weight', shape: [2, 3] },
      { name: 'mlp.0.bias', shape: [2] },
    ]);
    const last = loadCheckpoint(dir, 'last');
    expect(last.state).toEqual(state);
    expect(last.info.resume).toEqual(resume);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('| `mlp.0.weight` | [2, 3] |');
    expect(readme).toContain('SYNTHETIC');
    expect(readme).toContain(
      'model.load_state_dict(load_safetensors("best_model.safetensors"), strict=True)',
    );
  });

  it('detects weights that do not belong to their JSON (a save interrupted between the two files)', () => {
    saveCheckpoint(dir, 'last', state, { ...info(), resume: undefined });
    const other = { ...state, params: { ...state.params, 'mlp.0.bias': t([2], () => 9) } };
    const json = readFileSync(join(dir, 'last.json'));
    saveCheckpoint(dir, 'last', other, info());
    writeFileSync(join(dir, 'last.json'), json);
    expect(() => loadCheckpoint(dir, 'last')).toThrow('last.safetensors does not match last.json');
    writeFileSync(join(dir, 'best_model.json'), '{"format": "something-else", "version": 1}');
    expect(() => loadCheckpoint(dir, 'best')).toThrow('expected a kfashion-json-encoder checkpoint');
  });
});
