/**
 * The ONNX Runtime training engine in the real trainer and the built CLI: `--engine ort` trains a
 * residual LayerNorm GELU variant end to end, its checkpoint has the layered model's PyTorch names and
 * loads for evaluation with weights only, and a run killed mid-epoch resumes to exactly the weights of
 * the uninterrupted run (weights, AdamW moments and the dropout generator come back from `last.*`).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src-main/training/safetensors.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';
import { kfashion } from '../helpers/run-cli.ts';
import {
  buildDemoTrainingWorkspace,
  copyWorkspace,
  lastParams,
  trainStraightAndResumed,
} from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let n = 0;
const fresh = () => copyWorkspace(fixture.workspace, join(fixture.root, `copy-${++n}`));
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('ONNX Runtime training engine in the trainer', () => {
  it('resumes a run cancelled mid-epoch to exactly the uninterrupted run’s weights', async () => {
    const config = resolveTrainConfig({
      overrides: {
        batchSize: 16,
        epochs: 2,
        lr: 3e-3,
        seed: 5,
        hiddenDim: 64,
        embedDim: 16,
        engine: 'ort',
        depth: 2,
        residual: true,
        norm: 'layer',
        activation: 'gelu',
      },
    });
    const straight = fresh();
    const interrupted = fresh();
    const a = await trainStraightAndResumed(straight, interrupted, config);
    expect(a.backend).toMatch(/^layered onnxruntime \(\d threads?\)$/);
    expect(lastParams(interrupted)).toEqual(lastParams(straight));
  }, 180_000);
});

describe('kfashion train --engine ort (built CLI)', () => {
  it('trains a residual LayerNorm GELU variant, records the engine, and eval loads the checkpoint', () => {
    const ws = fresh();
    const r = kfashion(
      [
        'train',
        '--workspace',
        ws,
        '--quick',
        '--engine',
        'ort',
        '--hidden-dim',
        '64',
        '--depth',
        '3',
        '--residual',
        '--norm',
        'layer',
        '--activation',
        'gelu',
        '--json',
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.backend).toMatch(/^layered onnxruntime \(\d threads?\)$/);
    expect(j.config).toMatchObject({ engine: 'ort', depth: 3, residual: true, norm: 'layer' });
    const names = [...readSafetensors(join(ws, 'checkpoints', 'best_model.safetensors')).tensors.keys()];
    expect(names).toEqual(
      expect.arrayContaining(['mlp.0.weight', 'mlp.4.linear.weight', 'mlp.5.norm.bias', 'mlp.6.weight']),
    );
    const ev = kfashion(['eval', '--workspace', ws, '--json'], { timeoutMs: 120_000 });
    expect(ev.code, ev.stderr).toBe(0);
  }, 300_000);

  it('names the flags when the engine cannot train the shape', () => {
    const r = kfashion(['train', '--workspace', fresh(), '--quick', '--engine', 'ort', '--norm', 'batch']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--engine ort cannot train --norm batch.*--engine layered/);
  }, 120_000);
});
