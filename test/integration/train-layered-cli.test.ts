/**
 * `kfashion train` with the layered encoder's flags (derived from src-shared/encoder-config.ts): a deep
 * residual LayerNorm GELU model with a step schedule trains end to end through the built CLI, its
 * checkpoint carries the PyTorch names of that shape, and bad values are named by flag.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/pytorch-reference.ts';
import { readSafetensors } from '../../src-main/training/safetensors.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('kfashion train (layered encoder)', () => {
  it('trains a residual LayerNorm GELU variant with a step schedule and records its shape', () => {
    const r = kfashion(
      [
        'train',
        '--workspace',
        fixture.workspace,
        '--quick',
        '--hidden-dim',
        '64',
        '--depth',
        '3',
        '--residual',
        '--norm',
        'layer',
        '--activation',
        'gelu',
        '--scheduler',
        'step',
        '--step-every',
        '1',
        '--gamma',
        '0.5',
        // The layered engine by name: a new run's default engine is ort ([Note: default engine]).
        '--engine',
        'layered',
        '--json',
      ],
      { timeoutMs: 180_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.backend).toMatch(/^layered tfjs-wasm \(\d threads?\)$/);
    expect(j.config).toMatchObject({
      depth: 3,
      residual: true,
      norm: 'layer',
      activation: 'gelu',
      scheduler: 'step',
      engine: 'layered',
    });
    const names = [
      ...readSafetensors(join(fixture.workspace, 'checkpoints', 'best_model.safetensors')).tensors.keys(),
    ];
    expect(names).toEqual(
      expect.arrayContaining([
        'mlp.0.weight',
        'mlp.1.weight',
        'mlp.4.linear.weight',
        'mlp.5.norm.bias',
        'mlp.6.weight',
      ]),
    );
    const info = JSON.parse(readFileSync(join(fixture.workspace, 'checkpoints', 'best_model.json'), 'utf8'));
    expect(info.encoder).toMatchObject({ depth: 3, residual: true, norm: 'layer', activation: 'gelu' });
    // The README's PyTorch code loads this checkpoint with strict=True (where torch exists).
    const python = findTorchPython();
    if (!python) {
      console.log('train-layered-cli: README PyTorch load skipped — no python3 can `import torch`');
      return;
    }
    const readme = readFileSync(join(fixture.workspace, 'checkpoints', 'README.md'), 'utf8');
    const code = /```python\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const run = spawnSync(python, ['-c', `${code}\nprint(sum(p.numel() for p in model.parameters()))`], {
      cwd: join(fixture.workspace, 'checkpoints'),
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(Number(run.stdout.trim())).toBeGreaterThan(0);
  }, 240_000);

  it('names the flag of a bad value', () => {
    const bad = kfashion(['train', '--workspace', fixture.workspace, '--depth', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--depth must be at least 1, got "0"');
    const norm = kfashion(['train', '--workspace', fixture.workspace, '--norm', 'group']);
    expect(norm.code).toBe(2);
    expect(norm.stderr).toMatch(/--norm.*group.*none, layer, batch/);
  });
});
