import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import type { EncoderFactory } from '../../src-main/training/trainer.ts';
import type { TemperatureStudy } from '../../src-shared/evaluation.ts';
import type { JobProgress } from '../../src-shared/jobs.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('temperature sweep (demo data, JS test encoder)', () => {
  it('--quick: one run per temperature in its own folder, evaluated, without touching the main checkpoints', async () => {
    const wb = Workbench.open(fixture.workspace, { create: false });
    const events: JobProgress[] = [];
    let study: TemperatureStudy;
    const main = join(fixture.workspace, 'checkpoints', 'best_model.json');
    try {
      // A main checkpoint first: the sweep must leave it as it is.
      await wb.train({ quick: true, overrides: { epochs: 1 }, createEncoder: linearEncoderFactory() });
      const before = sha(main);
      study = await wb.sweep(
        {
          temperatures: [0.07, 0.1, 0.15],
          quick: true,
          createEncoder: linearEncoderFactory(),
          evalEncoder: linearEncoderFactory(),
        },
        { onProgress: (e) => events.push(e) },
      );
      expect(sha(main)).toBe(before);
    } finally {
      wb.close();
    }
    expect(study.kind).toBe('temperature-study');
    expect(study.synthetic).toBe(true);
    expect(study.note).toContain('SYNTHETIC');
    expect(study.runs.map((r) => r.temperature)).toEqual([0.07, 0.1, 0.15]);
    expect(study.config).toMatchObject({ batchSize: 4, epochs: 2, seed: 42, quick: true });
    expect(new Set(study.runs.map((r) => r.train_run_id)).size).toBe(3);
    for (const r of study.runs) {
      // Each run's gallery figures are its best epoch's validation figures (same data, model, tie rule).
      const info = JSON.parse(readFileSync(join(fixture.workspace, r.checkpoint), 'utf8'));
      expect(info.config.temperature).toBe(r.temperature);
      expect(info.config.seed).toBe(42);
      expect(r.top1).toBe(info.metrics.top1);
      expect(r.top5).toBe(info.metrics.top5);
      expect(r.mrr).toBeCloseTo(info.metrics.mrr, 12);
      expect(r.of_ceiling.top5).toBeCloseTo(r.top5 / r.ceiling.recall['5'], 12);
    }
    // The recommendation is the best MRR, and says why.
    const best = [...study.runs].sort((a, b) => b.mrr - a.mrr)[0]!;
    expect(study.best.temperature).toBe(best.temperature);
    expect(study.recommendation).toContain(`Use T = ${best.temperature}: it has the highest MRR`);
    // Two quick epochs: every run still improves in its last one, which the recommendation calls out.
    expect(study.runs.every((r) => r.best_epoch === r.epochs_run && !r.stopped_early)).toBe(true);
    expect(study.recommendation).toContain('Caution: every run still improved in its last epoch');
    expect(study.earlier_finding.holds).not.toBeNull();
    expect(study.earlier_finding.statement).toMatch(/The earlier finding (holds|does NOT hold) on this data/);
    expect(study.earlier_finding.statement).toContain('T = 0.15 is');
    for (const f of [study.files.json, study.files.chart])
      expect(existsSync(join(fixture.workspace, f)), f).toBe(true);
    // Each temperature is a run of its own (kind sweep, tagged with the study), never made current.
    const wb2 = Workbench.open(fixture.workspace, { create: false });
    try {
      const runs = wb2.runs();
      const swept = runs.filter((r) => r.study === study.run_id);
      expect(swept.map((r) => r.kind)).toEqual(['sweep', 'sweep', 'sweep']);
      expect(swept.map((r) => r.tags)).toEqual([
        [study.run_id, 'T=0.07'],
        [study.run_id, 'T=0.1'],
        [study.run_id, 'T=0.15'],
      ]);
      expect(swept.every((r) => !r.current && r.status === 'done')).toBe(true);
      expect(runs.find((r) => r.current)?.kind).toBe('train');
      for (const r of study.runs) {
        expect(r.checkpoint).toBe(`runs/${r.train_run_id}/checkpoints/best.json`);
        expect(existsSync(join(fixture.workspace, r.checkpoint))).toBe(true);
      }
    } finally {
      wb2.close();
    }
    // Progress per temperature and epoch.
    const phases = new Set(events.map((e) => e.phase));
    expect(phases).toContain('T=0.1 (2/3) epoch 2/2');
    expect(phases).toContain('T=0.15 (3/3) evaluate');
    expect(events.find((e) => e.phase === 'T=0.07 (1/3) epoch 1/2')?.metrics.temperature).toBe(0.07);
  }, 120_000);

  it('records a failed run and compares the rest; cannot check the earlier finding without 0.1 and 0.15; rejects bad temperatures', async () => {
    // A model whose loss diverges at T = 0.2 only.
    const linear = linearEncoderFactory();
    const divergesAt02: EncoderFactory = async (config, opts) => {
      const made = await linear(config, opts);
      const step = made.model.trainStep.bind(made.model);
      made.model.trainStep = (x, img, t, o) =>
        t === 0.2 ? { loss: Number.NaN, gradNorm: 0 } : step(x, img, t, o);
      return made;
    };
    const wb = Workbench.open(fixture.workspace, { create: false });
    try {
      const s = await wb.sweep({
        temperatures: [0.07, 0.2, 0.3],
        quick: true,
        overrides: { epochs: 1 },
        createEncoder: divergesAt02,
        evalEncoder: linearEncoderFactory(),
      });
      expect(s.runs.map((r) => r.temperature)).toEqual([0.07, 0.3]);
      expect(s.failed).toEqual([{ temperature: 0.2, error: expect.stringContaining('the run diverged') }]);
      expect(s.recommendation).toContain('Not compared: T = 0.2');
      expect(s.earlier_finding.holds).toBeNull();
      expect(s.earlier_finding.statement).toContain('needs both 0.1 and 0.15');
      await expect(wb.sweep({ temperatures: [0.1, -1] })).rejects.toThrow(
        'every value must be a positive number, got -1',
      );
      await expect(wb.sweep({ temperatures: [] })).rejects.toThrow('needs at least one value');
    } finally {
      wb.close();
    }
  }, 120_000);
});
