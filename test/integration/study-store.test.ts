import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src-main/store/database.ts';
import { StudiesStore } from '../../src-main/store/studies-store.ts';
import { AshaPruner, NopPruner } from '../../src-main/tuning/pruners.ts';
import { RandomSampler, TpeSampler } from '../../src-main/tuning/samplers.ts';
import { checkSearchSpace } from '../../src-main/tuning/search-space.ts';
import { studyChartsPng } from '../../src-main/tuning/study-charts.ts';
import { parameterImportance, studyResults } from '../../src-main/tuning/study-results.ts';
import { type Objective, runStudy, TrialPruned } from '../../src-main/tuning/study-runner.ts';
import type { ParamValue } from '../../src-shared/tuning.ts';

let dir: string;
let file: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kf-study-'));
  file = join(dir, 'workspace.db');
  db = openDatabase(file);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const space = checkSearchSpace(
  {
    parameters: {
      lr: { type: 'log-uniform', low: 1e-4, high: 1e-2 },
      hiddenDim: { type: 'categorical', choices: [256, 512, 1024] },
      fields: { type: 'categorical', choices: [['category'], ['category', 'style']] },
    },
    fixed: { temperature: 0.07 },
  },
  'test',
);
const f = (p: Record<string, ParamValue>) =>
  -((Math.log10(p.lr as number) + 3) ** 2) + (p.hiddenDim === 512 ? 0.5 : 0);

describe('study store', () => {
  it('round-trips a study, trials, parameters and intermediate values through a reopened file', () => {
    const store = new StudiesStore(db);
    const s = store.createStudy('s1', 'top5', 'gallery', { sampler: 'tpe', space: { parameters: {} } });
    expect(() => store.createStudy('s1', 'top5', 'gallery', {})).toThrow(/already exists.*--resume s1/);
    const t = store.addTrial(
      s.id,
      { lr: 3e-4, fields: ['category', 'style'], residual: true },
      { state: 'RUNNING' },
    );
    store.reportIntermediate(t.id, 1, 0.4);
    store.reportIntermediate(t.id, 2, 0.5);
    store.setRunId(t.id, 'train-x');
    store.mergeAttrs(t.id, { mrr: 0.3 });
    expect(store.finishTrial(t.id, 'COMPLETE', 0.5)).toBe(true);
    expect(store.finishTrial(t.id, 'FAIL', null, 'again')).toBe(false); // only a running trial finishes
    expect(() => store.reportIntermediate(t.id, 3, Number.NaN)).toThrow(/not finite/);
    db.close();
    db = openDatabase(file);
    const again = new StudiesStore(db);
    const [back] = again.trials(again.requireStudy('s1').id);
    expect(back).toMatchObject({
      number: 0,
      state: 'COMPLETE',
      value: 0.5,
      runId: 'train-x',
      params: { lr: 3e-4, fields: ['category', 'style'], residual: true },
      attrs: { mrr: 0.3 },
    });
    expect([...back!.intermediate]).toEqual([
      [1, 0.4],
      [2, 0.5],
    ]);
    expect(() => again.requireStudy('nope')).toThrow(/No study named "nope".*studies: s1/);
  });

  it('runs a study, records a crashed trial as failed and goes on', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('crash', 'top5', 'gallery', {});
    const objective: Objective = async (t) => {
      if (t.number === 2) throw new Error('out of memory');
      expect(t.params.temperature).toBe(0.07);
      return { value: f(t.params), attrs: { ceiling: 1 } };
    };
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 5,
      objective,
    });
    expect(r).toMatchObject({ ran: 5, finished: 5, stoppedBy: 'done' });
    const trials = store.trials(study.id);
    expect(trials.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'FAIL', 'COMPLETE', 'COMPLETE']);
    expect(trials[2]!.error).toBe('Error: out of memory');
    expect(store.requireStudy('crash').status).toBe('done');
  });

  it('resumes after a kill: finished trials are kept, the interrupted one is run again, the total is as asked', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('resume', 'top5', 'gallery', {});
    const calls: number[] = [];
    const objective: Objective = async (t) => {
      calls.push(t.number);
      return { value: f(t.params) };
    };
    await runStudy({
      store,
      study,
      space,
      sampler: new TpeSampler(3),
      pruner: new NopPruner(),
      trials: 3,
      objective,
    });
    // A process killed mid-trial leaves a RUNNING row owned by a dead pid.
    const dead = store.addTrial(
      study.id,
      { lr: 1e-3, hiddenDim: 512, fields: ['category'] },
      { state: 'RUNNING', pid: 999_999 },
    );
    store.reportIntermediate(dead.id, 1, 0.2);
    store.setStatus(study.id, 'running');
    calls.length = 0;
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new TpeSampler(3),
      pruner: new NopPruner(),
      trials: 6,
      objective,
      isAlive: () => false,
    });
    expect(r.requeued).toBe(1);
    expect(r.ran).toBe(3);
    const trials = store.trials(study.id);
    const interrupted = trials.find((t) => t.id === dead.id)!;
    expect(interrupted).toMatchObject({ state: 'FAIL', interrupted: true });
    expect(interrupted.error).toMatch(/interrupted/);
    const retry = trials.find((t) => t.attrs.retry_of === dead.number)!;
    expect(retry.params).toEqual(dead.params);
    expect(retry.state).toBe('COMPLETE');
    // The three trials of the first call were not run again.
    expect(calls).not.toContain(0);
    expect(trials.filter((t) => t.state === 'COMPLETE')).toHaveLength(6);
    // Nothing left to do: a second resume runs nothing.
    const again = await runStudy({
      store,
      study,
      space,
      sampler: new TpeSampler(3),
      pruner: new NopPruner(),
      trials: 6,
      objective,
    });
    expect(again.ran).toBe(0);
  });

  it('a cancel mid-trial leaves it for --resume, and a timeout stops starting trials', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('cancel', 'top5', 'gallery', {});
    const ctl = new AbortController();
    const objective: Objective = async (t) => {
      if (t.number === 1) {
        ctl.abort();
        throw new Error('cancelled');
      }
      return { value: 1 };
    };
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 4,
      objective,
      signal: ctl.signal,
    });
    expect(r.stoppedBy).toBe('signal');
    expect(store.requireStudy('cancel').status).toBe('stopped');
    const states = store.trials(study.id).map((t) => [t.state, t.interrupted]);
    expect(states).toEqual([
      ['COMPLETE', false],
      ['FAIL', true],
      ['WAITING', false],
    ]);
    let clock = 0;
    const slow: Objective = async () => {
      clock += 1000;
      return { value: 1 };
    };
    const t = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 10,
      objective: slow,
      timeoutMs: 2500,
      now: () => clock,
    });
    expect(t).toMatchObject({ ran: 3, stoppedBy: 'timeout' });
    expect(store.trials(study.id).some((x) => x.state === 'WAITING')).toBe(false);
  });

  it('prunes through ASHA from per-epoch reports', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('asha', 'top5', 'gallery', {});
    // Trial k's curve: value k·0.1 at every epoch, trials in decreasing order after the first.
    const levels = [0.9, 0.5, 0.95, 0.1, 0.2, 0.99];
    const objective: Objective = async (t) => {
      const level = levels[t.number]!;
      for (let epoch = 1; epoch <= 9; epoch++) {
        if (t.report(epoch, level)) throw new TrialPruned(epoch);
      }
      return { value: level };
    };
    await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(2),
      pruner: new AshaPruner({ minResource: 1, reductionFactor: 3 }),
      trials: 6,
      objective,
    });
    const trials = store.trials(study.id);
    expect(trials.map((t) => t.state)).toEqual([
      'COMPLETE',
      'PRUNED',
      'COMPLETE',
      'PRUNED',
      'PRUNED',
      'COMPLETE',
    ]);
    expect(trials[1]!.intermediate.size).toBe(1);
  });

  it('results: history, best, importance and three PNG charts', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('res', 'top5', 'gallery', {
      sampler: 'tpe',
      pruner: 'none',
      space: { parameters: space.parameters },
    });
    await runStudy({
      store,
      study,
      space,
      sampler: new TpeSampler(5, { startupTrials: 5 }),
      pruner: new NopPruner(),
      trials: 14,
      objective: async (t) => ({ value: f(t.params) }),
    });
    const r = studyResults(store.requireStudy('res'), store.trials(study.id));
    expect(r.metricLabel).toBe('Top-5 (gallery)');
    expect(r.best!.value).toBe(Math.max(...r.trials.map((t) => t.value!)));
    expect(r.history.at(-1)!.best).toBe(r.best!.value);
    expect(r.importance.map((i) => i.name).sort()).toEqual(['fields', 'hiddenDim', 'lr']);
    expect(r.importance.reduce((a, i) => a + i.importance, 0)).toBeCloseTo(1, 10);
    const charts = await studyChartsPng(r);
    for (const png of Object.values(charts)) {
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(400);
    }
  });
});

describe('parameter importance', () => {
  it('ranks the parameter that drives the objective first and a parameter with no effect last', () => {
    const trials = Array.from({ length: 40 }, (_, i) => ({
      state: 'COMPLETE' as const,
      value: (i % 4) * 1.0 + ((i * 7) % 3) * 0.01,
      params: { strong: i % 4, weak: (i * 7) % 3, none: (i * 13) % 5 === 0 ? 'a' : 'b' },
    }));
    const imp = parameterImportance(trials, ['strong', 'weak', 'none']);
    expect(imp[0]!.name).toBe('strong');
    expect(imp[0]!.importance).toBeGreaterThan(0.9);
  });
});
