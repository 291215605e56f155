/**
 * A checkpoint is two files (weights, and the JSON holding their checksum). A kill between the two
 * renames of a save used to leave new weights beside the old JSON, and `--resume` then refused the run
 * ("checksum differs"), losing every epoch. The save now writes both temporary files before either
 * rename, and a load completes the pair from the JSON's temporary file.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonEncoderState } from '../../src-main/encoders/json-encoder/json-encoder-types.ts';
import { type CheckpointInfo, loadCheckpoint, saveCheckpoint } from '../../src-main/training/checkpoints.ts';
import { earlyStoppingToJson, initialEarlyStopping } from '../../src-main/training/early-stopping.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';

const root = mkdtempSync(join(tmpdir(), 'kf-ckpt-pair-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const state = (v: number): JsonEncoderState => ({
  params: { 'mlp.0.weight': { shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => i * v) } },
  optimizer: { step: v, moments: {} },
  rngState: v,
});

const info = (epoch: number): Omit<CheckpointInfo, 'format' | 'version' | 'kind' | 'weights'> => ({
  runId: 'train-20261204T000000Z-pair',
  timestamp: '2026-12-04T00:00:00.000Z',
  epoch,
  step: epoch * 10,
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
  resume: {
    epoch,
    optimizerStep: epoch * 10,
    rngState: epoch,
    earlyStopping: earlyStoppingToJson(initialEarlyStopping(10, 0)),
    history: [],
    startedAt: '2026-12-04T00:00:00.000Z',
    elapsedMs: 1,
    dataFingerprint: 'f',
  } as unknown as CheckpointInfo['resume'],
});

describe('a checkpoint save killed between its two renames', () => {
  it('loads the new epoch: the pending JSON completes the pair', () => {
    const ws = join(root, 'killed');
    const next = join(root, 'next');
    for (const d of [ws, next]) mkdirSync(d);
    saveCheckpoint(ws, 'last', state(1), info(1));
    saveCheckpoint(next, 'last', state(2), info(2));
    // What the kill leaves: epoch 2's weights renamed into place, its JSON still under the temporary
    // name of a process that is gone.
    copyFileSync(join(next, 'last.safetensors'), join(ws, 'last.safetensors'));
    copyFileSync(join(next, 'last.json'), join(ws, '.last.json.999999999.tmp'));
    const loaded = loadCheckpoint(ws, 'last');
    expect(loaded.info.epoch).toBe(2);
    expect(Array.from(loaded.state.params['mlp.0.weight']!.data)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(readdirSync(ws).sort()).toEqual(['last.json', 'last.safetensors']);
  });

  it('without a matching pending JSON it still refuses, naming the files', () => {
    const ws = join(root, 'mismatch');
    const next = join(root, 'next2');
    for (const d of [ws, next]) mkdirSync(d);
    saveCheckpoint(ws, 'last', state(1), info(1));
    saveCheckpoint(next, 'last', state(3), info(3));
    copyFileSync(join(next, 'last.safetensors'), join(ws, 'last.safetensors'));
    expect(() => loadCheckpoint(ws, 'last')).toThrow(/last\.safetensors does not match last\.json/);
  });
});
