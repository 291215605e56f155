import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import { StudiesStore } from '../../src-main/store/studies-store.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { listRuns } from '../../src-main/training/runs.ts';
import type { EncoderFactory } from '../../src-main/training/trainer.ts';
import { tune } from '../../src-main/tuning/tune-study.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

let n = 0;
const fresh = () => copyWorkspace(fixture.workspace, join(fixture.root, `ws-${n++}`));
const enc = () => ({ createEncoder: linearEncoderFactory(), evalEncoder: linearEncoderFactory() });

describe('tune (demo data, JS test encoder)', () => {
  it('runs each trial as a run tagged with the study, records values with ceilings, and shows results', async () => {
    const dir = fresh();
    const space = join(fixture.root, 'space.json');
    writeFileSync(
      space,
      JSON.stringify({
        parameters: {
          lr: { type: 'log-uniform', low: 1e-3, high: 3e-2 },
          temperature: { type: 'categorical', choices: [0.05, 0.1] },
        },
      }),
    );
    const wb = Workbench.open(dir, { create: false });
    try {
      const r = await wb.tune({
        name: 's1',
        spaceFile: space,
        trials: 3,
        sampler: 'random',
        pruner: 'none',
        quick: true,
        ...enc(),
      });
      expect(r.study.status).toBe('done');
      expect(r.trials.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE']);
      for (const t of r.trials) {
        expect(t.runId).toBeTruthy();
        expect(t.intermediate.size).toBeGreaterThan(0);
        expect(t.attrs.ceiling).toBeGreaterThan(0);
        expect(t.value).toBeLessThanOrEqual(t.attrs.ceiling as number);
      }
      const ws = Workspace.open(dir);
      try {
        const runs = listRuns(ws).filter((x) => x.study === 's1');
        expect(runs).toHaveLength(3);
        expect(runs.every((x) => x.kind === 'tune' && x.tags.includes('study:s1'))).toBe(true);
      } finally {
        ws.close();
      }
      const show = await wb.studyShow('s1');
      expect(show.results.best?.number).toBe(r.best?.number);
      for (const p of Object.values(show.charts))
        expect((await sharp(join(dir, p)).metadata()).format).toBe('png');
      expect(await wb.studyList()).toEqual([
        expect.objectContaining({ name: 's1', status: 'done', trials: 3 }),
      ]);
    } finally {
      wb.close();
    }
  }, 120_000);

  it('a crashed trial is marked failed with its error and the study goes on; bad spaces are refused before any trial', async () => {
    const dir = fresh();
    const ws = Workspace.open(dir);
    try {
      let made = 0;
      const inner = linearEncoderFactory();
      const crashing: EncoderFactory = async (config, o) => {
        if (made++ === 1) throw new Error('simulated crash');
        return inner(config, o);
      };
      const space = join(fixture.root, 'space-t.json');
      writeFileSync(
        space,
        JSON.stringify({ parameters: { temperature: { type: 'uniform', low: 0.05, high: 0.1 } } }),
      );
      const r = await tune(ws, {
        name: 'crash',
        spaceFile: space,
        trials: 3,
        sampler: 'random',
        pruner: 'none',
        quick: true,
        createEncoder: crashing,
        evalEncoder: linearEncoderFactory(),
      });
      expect(r.trials.map((t) => t.state)).toEqual(['COMPLETE', 'FAIL', 'COMPLETE']);
      expect(r.trials[1]!.error).toMatch(/simulated crash/);
      const bad = join(fixture.root, 'bad.json');
      writeFileSync(bad, JSON.stringify({ parameters: { hiddenDim: { type: 'categorical', choices: [] } } }));
      await expect(tune(ws, { name: 'bad', spaceFile: bad, ...enc() })).rejects.toThrow(
        /parameter "hiddenDim": the choice list is empty/,
      );
      expect(new StudiesStore(ws.db).getStudy('bad')).toBeNull();
    } finally {
      ws.close();
    }
  }, 120_000);

  it('ASHA prunes trials from per-epoch reports, and a cancelled study resumes without repeating finished trials', async () => {
    const dir = fresh();
    const ws = Workspace.open(dir);
    try {
      const space = join(fixture.root, 'space-lr.json');
      writeFileSync(
        space,
        JSON.stringify({
          parameters: {
            lr: { type: 'log-uniform', low: 1e-4, high: 1e-1 },
            epochs: { type: 'int', low: 3, high: 4 },
          },
        }),
      );
      const ctl = new AbortController();
      await expect(
        tune(ws, {
          name: 'res',
          spaceFile: space,
          trials: 4,
          sampler: 'tpe',
          pruner: 'asha',
          quick: true,
          ...enc(),
          signal: ctl.signal,
          // Ctrl-C in the middle of the third trial's training.
          onProgress: (phase) => {
            if (phase.startsWith('trial 2 ')) ctl.abort();
          },
        }),
      ).rejects.toThrow(/--resume res/);
      const store = new StudiesStore(ws.db);
      const before = store.trials(store.requireStudy('res').id);
      expect(store.requireStudy('res').status).toBe('stopped');
      const r = await tune(ws, { resume: 'res', ...enc() });
      expect(r.study.status).toBe('done');
      const counted = r.trials.filter((t) => t.state !== 'FAIL' || !t.interrupted);
      expect(counted).toHaveLength(4);
      // The interrupted third trial was run again with the same settings.
      const cut = r.trials.find((t) => t.number === 2)!;
      expect(cut).toMatchObject({ state: 'FAIL', interrupted: true });
      expect(r.trials.find((t) => t.attrs.retry_of === 2)?.params).toEqual(cut.params);
      expect(r.trials.some((t) => t.state === 'PRUNED')).toBe(true);
      // The trials finished before the cancel are the same rows, with the same runs.
      for (const b of before.filter((t) => t.state === 'COMPLETE' || t.state === 'PRUNED')) {
        expect(r.trials.find((t) => t.number === b.number)).toMatchObject({ state: b.state, runId: b.runId });
      }
      // The space tunes epochs; trials never report more epochs than they ran.
      for (const t of r.trials)
        if (t.state === 'PRUNED') expect(t.intermediate.size).toBeLessThan(t.params.epochs as number);
    } finally {
      ws.close();
    }
  }, 180_000);

  it('the ridge baseline is stored as a run of kind baseline with gallery figures and their ceiling', async () => {
    const dir = fresh();
    const wb = Workbench.open(dir, { create: false });
    try {
      const b = await wb.baseline({});
      expect(b.figures.recall['10']).toBeGreaterThan(0);
      expect(b.figures.recall['10']).toBeLessThanOrEqual(b.figures.ceiling.recall['10']);
      expect(existsSync(join(dir, b.file))).toBe(true);
      const ws = Workspace.open(dir);
      try {
        const row = listRuns(ws).find((x) => x.id === b.runId)!;
        expect(row).toMatchObject({ kind: 'baseline', status: 'done' });
        expect(row.headline?.recall10).toBe(b.figures.recall['10']);
      } finally {
        ws.close();
      }
    } finally {
      wb.close();
    }
  }, 60_000);
});

describe('staged preset', () => {
  it('runs the stages in turn, each fixing the best settings of the stage before, and says so', async () => {
    const dir = fresh();
    const ws = Workspace.open(dir);
    const said: string[] = [];
    try {
      const r = await tune(ws, {
        name: 'staged',
        preset: 'staged',
        trials: 3,
        sampler: 'random',
        pruner: 'none',
        quick: true,
        overrides: { patience: 1 },
        onStage: (m) => said.push(m),
        ...enc(),
      });
      expect(r.stages.map((s) => s.name)).toEqual(['priority1', 'priority2', 'priority3']);
      const stage1 = r.trials.filter((t) => t.attrs.stage === 'priority1');
      const stage2 = r.trials.filter((t) => t.attrs.stage === 'priority2');
      expect(stage1.length).toBeGreaterThanOrEqual(1);
      const best1 = r.stages[0]!.best!;
      // Stage 2 fixed the best of stage 1.
      expect(r.stages[1]!.fixed).toMatchObject(best1.params);
      expect(stage2.length).toBeGreaterThanOrEqual(1);
      expect(said.find((m) => m.startsWith('Stage priority2'))).toContain(
        `the best of stage priority1 (trial ${best1.number}`,
      );
      expect(r.study.status).toBe('done');
    } finally {
      ws.close();
    }
  }, 300_000);
});
