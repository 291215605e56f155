import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

describe('kfashion train (demo data)', () => {
  it('--quick trains end to end in seconds, says SYNTHETIC, the backend and the files written', () => {
    const r = kfashion(['train', '--workspace', fixture.workspace, '--quick'], { timeoutMs: 120_000 });
    expect(r.stderr + r.stdout).not.toContain('Error:');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('SYNTHETIC: training against "synthetic-demo"');
    expect(r.stderr).toMatch(/epoch 2\/2 100%\|█+\| \d+\/\d+ \[/);
    expect(r.stdout).toContain('SYNTHETIC: trained against "synthetic-demo"');
    expect(r.stdout).toMatch(
      // A new run's default engine: the layered model on ONNX Runtime ([Note: default engine]).
      /2 of 2 epochs\.\nBackend layered onnxruntime \(\d+ threads?\); \d+ train \/ \d+ val pairs, batch 4/,
    );
    expect(r.stdout).toMatch(/Top-5\s+\d+\.\d %/);
    // The current run's files at the seed's paths; the run's own (with last.*) in runs/<id>/.
    for (const f of ['best_model.safetensors', 'best_model.json', 'README.md']) {
      expect(existsSync(join(fixture.workspace, 'checkpoints', f)), f).toBe(true);
    }
    const runId = /Run (train-\S+) \(#1\)/.exec(r.stdout)?.[1];
    expect(runId, r.stdout).toBeDefined();
    for (const f of ['best.safetensors', 'best.json', 'last.safetensors', 'last.json', 'README.md']) {
      expect(existsSync(join(fixture.workspace, 'runs', runId!, 'checkpoints', f)), f).toBe(true);
    }
    expect(r.stdout).toContain("This is now the workspace's current run");
    for (const f of ['training_results.json', 'training_summary.json', 'training_charts.png']) {
      expect(existsSync(join(fixture.workspace, 'results', f)), f).toBe(true);
    }
    // The run finished: --resume has nothing left to do and says how to go on.
    const again = kfashion(['train', '--workspace', fixture.workspace, '--resume']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Nothing to resume');
    expect(again.stderr).toContain('finished all 2 epochs. Give --epochs N with N > 2');
    // ... and with more epochs it continues the same run.
    const more = kfashion(
      ['train', '--workspace', fixture.workspace, '--resume', '--epochs', '3', '--json'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(more.code, more.stderr).toBe(0);
    const j = JSON.parse(more.stdout);
    expect(j).toMatchObject({ resumedFromEpoch: 2, epochsRun: 3, imageEmbedding: { synthetic: true } });
    expect(j.history.map((h: { epoch: number }) => h.epoch)).toEqual([1, 2, 3]);
  }, 240_000); // three CLI trainings; seconds each alone, slower when the suite shares the cores

  it('rejects bad settings with the flag and what it expects', () => {
    const ws = fixture.workspace;
    const batch = kfashion(['train', '--workspace', ws, '--batch-size', '1']);
    expect(batch.code).toBe(2);
    expect(batch.stderr).toContain('--batch-size expects a whole number >= 2, got "1"');
    const queries = kfashion(['train', '--workspace', ws, '--val-queries', '0']);
    expect(queries.code).toBe(2);
    expect(queries.stderr).toContain('--val-queries expects a whole number >= 1, got "0"');
    const lr = kfashion(['train', '--workspace', ws, '--lr', '-0.1']);
    expect(lr.code).toBe(2);
    expect(lr.stderr).toContain('--lr expects a positive number, got "-0.1"');
    const field = kfashion(['train', '--workspace', ws, '--fields', 'category,colour', '--quick']);
    expect(field.code).toBe(1);
    expect(field.stderr).toContain(
      'fields (--fields): unknown field "colour"; valid fields: category, style',
    );
    const stage = kfashion(['train', '--workspace', ws, '--stage', '3']);
    expect(stage.code).toBe(2);
    expect(stage.stderr).toContain('--stage expects one of 1, 2, got "3"');
    const model = kfashion(['train', '--workspace', ws, '--model', 'fashion-clip', '--quick']);
    expect(model.code).toBe(1);
    expect(model.stderr).toContain(
      'No "fashion-clip" image embeddings in this workspace (--model). It has: synthetic-demo',
    );
  }, 120_000);
});
