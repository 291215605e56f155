import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../../src-main/store/workspace.ts';
import type { CentralityReport, EvaluationReport } from '../../src-shared/evaluation.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let untrained: string;
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  untrained = copyWorkspace(fixture.workspace, join(fixture.root, 'untrained'));
  // The real tfjs encoder, trained for seconds: eval must load what `train` wrote.
  const t = kfashion(['train', '--workspace', fixture.workspace, '--quick'], { timeoutMs: 120_000 });
  expect(t.code, t.stderr).toBe(0);
}, 180_000);
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const bestMetrics = () =>
  JSON.parse(readFileSync(join(fixture.workspace, 'checkpoints', 'best_model.json'), 'utf8')).metrics as {
    top1: number;
    top5: number;
    recall10: number;
    mrr: number;
    posSim: number;
  };

describe('kfashion eval (demo workspace, tfjs encoder)', () => {
  it('gallery --json: the figures, their ceilings, files, and agreement with training validation', async () => {
    const r = kfashion(['eval', '--workspace', fixture.workspace, '--json'], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as EvaluationReport;
    for (const k of [
      'protocol',
      'direction',
      'queries',
      'recall',
      'precision',
      'mrr',
      'ceiling',
      'positive_similarity',
      'negative_similarity',
      'per_style',
      'checkpoint',
      'timestamp',
    ]) {
      expect(j, k).toHaveProperty(k);
    }
    expect(j.protocol).toBe('gallery');
    expect(j.direction).toBe('json-to-image');
    expect(Object.keys(j.recall)).toEqual(['1', '5', '10']);
    expect(j.synthetic).toBe(true);
    expect(j.note).toContain('SYNTHETIC');
    expect(new Date(j.timestamp).toISOString()).toBe(j.timestamp);
    expect(j.run_id).toMatch(/^eval-/);
    expect(j.checkpoint.run_id).toMatch(/^train-/);
    expect(j.candidates).toBe(j.queries);
    // Same model, data and tie rule as the trainer's validation of the best epoch: identical figures.
    const best = bestMetrics();
    expect(j.recall['1']).toBe(best.top1);
    expect(j.recall['5']).toBe(best.top5);
    expect(j.recall['10']).toBe(best.recall10);
    expect(j.mrr).toBeCloseTo(best.mrr, 12);
    expect(j.positive_similarity).toBeCloseTo(best.posSim, 6);
    for (const k of ['1', '5', '10'] as const) {
      expect(j.recall[k]).toBeLessThanOrEqual(j.ceiling.recall[k] + 1e-12);
      expect(j.of_ceiling.recall[k]).toBeCloseTo(j.recall[k] / j.ceiling.recall[k], 12);
    }
    expect(j.mrr).toBeLessThanOrEqual(j.ceiling.mrr);
    expect(Object.keys(j.per_style).sort()).toEqual(['레트로', '로맨틱', '리조트']);
    const perStyleQueries = Object.values(j.per_style).reduce((a, f) => a + f.queries, 0);
    expect(perStyleQueries).toBe(j.queries);
    expect(Object.keys(j.per_category).length).toBeGreaterThan(3);
    expect(j.image_to_json.direction).toBe('image-to-json');
    expect(j.image_to_json.ceiling.recall['1']).toBe(1);
    expect(j.health.json.norm.ok).toBe(true);
    expect(j.health.json.mean_pairwise_cosine).toBeLessThan(0.9);
    const qa = j.query_aware;
    expect(qa.subsets.all.queries).toBe(j.queries);
    expect(qa.subsets.anchor.queries).toBeGreaterThan(0);
    expect(qa.subsets.category_balanced.queries).toBe(3 * qa.category_balanced.per_style);
    expect(qa.anchor_minus_all_points.recall10).toBeCloseTo(
      Math.round((qa.subsets.anchor.recall['10'] - qa.subsets.all.recall['10']) * 1000) / 10,
      9,
    );
    expect(qa.statement).toMatch(/Anchor queries (beat|do NOT beat) all queries/);
    // Files: the JSON written is the report printed; the chart is a PNG.
    const saved = JSON.parse(readFileSync(join(fixture.workspace, j.files.json), 'utf8')) as EvaluationReport;
    expect(saved.run_id).toBe(j.run_id);
    expect(saved.recall).toEqual(j.recall);
    const meta = await sharp(join(fixture.workspace, j.files.chart)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(1800);
    // The run is listed in the workspace.
    const ws = Workspace.open(fixture.workspace, { create: false });
    try {
      const row = ws.db
        .prepare('SELECT kind, protocol, synthetic FROM evaluations WHERE run_id = ?')
        .get(j.run_id);
      expect(row).toEqual({ kind: 'evaluation', protocol: `gallery, N=${j.queries}`, synthetic: 1 });
    } finally {
      ws.close();
    }
  }, 120_000);

  it('in-batch: labelled with B, never below 32; human output puts every figure beside its ceiling', () => {
    const r = kfashion(['eval', '--workspace', fixture.workspace, '--protocol', 'in-batch', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as EvaluationReport;
    expect(j.protocol_label).toBe('in-batch, B=64');
    expect(j.labels['5']).toBe('Top-5 (in-batch, B=64)');
    expect(j.candidates).toBe(64);
    expect(j.batch_size).toBe(64);
    expect(j.batches).toBe(Math.ceil(j.queries / 64));
    const small = kfashion([
      'eval',
      '--workspace',
      fixture.workspace,
      '--protocol',
      'in-batch',
      '--batch-size',
      '16',
    ]);
    expect(small.code).toBe(2);
    expect(small.stderr).toContain('--batch-size expects a whole number >= 32');
    const human = kfashion(['eval', '--workspace', fixture.workspace, '--protocol', 'in-batch']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('SYNTHETIC');
    expect(human.stdout).toMatch(/metric\s+value\s+ceiling\s+% of ceiling/);
    expect(human.stdout).toMatch(/Top-5 \(in-batch, B=64\)\s+\d+\.\d %\s+\d+\.\d %\s+\d+\.\d %/);
    expect(human.stdout).toMatch(/MRR\s+0\.\d{3}\s+\d\.\d{3}\s+\d+\.\d %/);
    expect(human.stdout).toContain('Query-aware evaluation');
    expect(human.stdout).toContain('Per garment category');
  }, 120_000);

  it('centrality --json: stored per item, top 10 % anchors, anchor mean above the overall mean', async () => {
    const r = kfashion(['centrality', '--workspace', fixture.workspace, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout) as CentralityReport;
    expect(c.model).toBe('synthetic-demo');
    expect(c.synthetic).toBe(true);
    expect(c.anchor.count).toBe(Math.ceil(c.items * 0.1));
    expect(c.anchor_mean_exceeds_overall).toBe(c.anchor.mean > c.overall.mean);
    expect(c.anchor.mean).toBeGreaterThan(c.overall.mean);
    expect(c.statement).toMatch(/^Yes: the anchor mean/);
    expect(Object.values(c.per_style).reduce((a, s) => a + s.count, 0)).toBe(c.items);
    expect(existsSync(join(fixture.workspace, c.files.chart))).toBe(true);
    const ws = Workspace.open(fixture.workspace, { create: false });
    try {
      const n = ws.db
        .prepare('SELECT COUNT(*) n, SUM(anchor) a FROM item_centrality WHERE model = ?')
        .get('synthetic-demo');
      expect(n).toEqual({ n: c.items, a: c.anchor.count });
      const top = ws.db
        .prepare('SELECT item_id FROM item_centrality WHERE model = ? AND rank = 1')
        .pluck()
        .get('synthetic-demo');
      expect(top).toBe(c.anchor.top[0]!.id);
    } finally {
      ws.close();
    }
  }, 60_000);

  it('sweep rejects bad temperatures with the flag and what it expects', () => {
    const bad = kfashion(['sweep', '--workspace', untrained, '--temperatures', '0.1,abc,-2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--temperatures expects comma-separated positive numbers');
    expect(bad.stderr).toContain('"abc", "-2" are not');
    const twice = kfashion(['sweep', '--workspace', untrained, '--temperatures', '0.1,0.1']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('lists a value twice');
  });

  it('says to train first when there is no checkpoint', () => {
    const r = kfashion(['eval', '--workspace', untrained]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('train first: kfashion train --workspace');
  });
});
