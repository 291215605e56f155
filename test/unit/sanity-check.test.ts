/** `kfashion sanity`'s checks on synthetic inputs and on a scanned demo workspace. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSanityCheck, runSanityCheck } from '../../src-main/training/sanity-check.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('sanity check', () => {
  it('passes every check on synthetic inputs', async () => {
    const seen: string[] = [];
    const r = await runSanityCheck({
      seed: 3,
      backend: 'wasm',
      batchSize: 8,
      onCheck: (c) => seen.push(c.name),
    });
    expect(r.checks.filter((c) => !c.pass)).toEqual([]);
    expect(r.pass).toBe(true);
    expect(r.data).toBe('synthetic');
    expect(seen).toEqual(r.checks.map((c) => c.name));
    expect(r.checks.map((c) => c.name)).toEqual([
      'output shape 512 and L2 norm 1',
      'every field changes the output',
      'multi-valued fields are order-invariant and ignore padding',
      'an item gives the same vector alone and inside a batch (eval mode)',
      'every trainable tensor gets a non-zero gradient',
      'the loss is finite and falls over a few steps',
      'training leaves the image embeddings untouched',
      'gradient: linear',
      'gradient: field embedding (masked mean)',
      'gradient: concatenation',
      'gradient: activation relu',
      'gradient: activation gelu',
      'gradient: activation silu',
      'gradient: dropout',
      'gradient: LayerNorm',
      'gradient: BatchNorm',
      'gradient: residual block (LayerNorm, GELU, dropout)',
      'gradient: L2 normalisation',
      'gradient: symmetric InfoNCE',
      'gradient: soft-target InfoNCE (MixUp)',
      'gradient: whole model (3 blocks, residual, LayerNorm, GELU, dropout)',
    ]);
    expect(r.backend).toMatch(/^wasm/);
    const text = formatSanityCheck(r);
    expect(text.split('\n').at(-1)).toBe('SANITY CHECK PASS');
    expect(r.resultsPath).toBeUndefined();
  }, 60_000);

  it('runs on a workspace and writes temp_logs/sanity_check_results.json', async () => {
    const demo = await buildDemoTrainingWorkspace();
    roots.push(demo.root);
    const r = await runSanityCheck({ workspace: demo.workspace, seed: 1, backend: 'wasm', batchSize: 8 });
    expect(r.checks.filter((c) => !c.pass)).toEqual([]);
    expect(r.data).toBe('workspace');
    const file = join(demo.workspace, 'temp_logs', 'sanity_check_results.json');
    expect(r.resultsPath).toBe(file);
    expect(existsSync(file)).toBe(true);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.pass).toBe(true);
    expect(saved.checks).toHaveLength(21);
    expect(Date.parse(saved.timestamp)).not.toBeNaN();
    expect(saved.runId).toMatch(/^sanity-/);
  }, 120_000);

  it('rejects a folder that is not a workspace', async () => {
    await expect(runSanityCheck({ workspace: '/nonexistent/kf-ws', backend: 'wasm' })).rejects.toThrow(
      /No workspace/,
    );
  });
});
