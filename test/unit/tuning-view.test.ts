/**
 * The Tuning tab's figures as data (normalised parallel-coordinate axes, slices, history with the
 * baseline, the label naming metric and ceiling) and the staged preset's stages rebuilt from stored
 * trials (what each stage fixed and why).
 */
import { describe, expect, it } from 'vitest';
import type { TrialRecord as StudyTrialRecord } from '../../src-main/store/studies-store.ts';
import { studyStages } from '../../src-main/tuning/study-view.ts';
import type { StudySettings } from '../../src-main/tuning/tune-study.ts';
import {
  figureLabel,
  historySeries,
  normalise,
  parallelLines,
  slicePoints,
} from '../../src-renderer/src/tabs/tuning/study-charts.ts';
import type { StudyParam, StudyView } from '../../src-shared/api-tuning.ts';

const lr: StudyParam = { name: 'lr', type: 'log-uniform', low: 1e-4, high: 1e-2, log: true, choices: null };
const hidden: StudyParam = {
  name: 'hiddenDim',
  type: 'categorical',
  low: null,
  high: null,
  log: false,
  choices: [256, 512, 1024],
};

function trial(number: number, state: 'COMPLETE' | 'PRUNED', value: number | null, params: object) {
  return {
    number,
    state,
    value,
    params: params as Record<string, number>,
    runId: `r${number}`,
    error: null,
    steps: 2,
    startedAt: '2026-12-04T10:00:00.000Z',
    finishedAt: '2026-12-04T10:01:00.000Z',
    attrs: {},
  };
}

function view(): StudyView {
  const trials = [
    trial(0, 'COMPLETE', 0.5, { lr: 1e-4, hiddenDim: 256 }),
    trial(1, 'PRUNED', null, { lr: 1e-2, hiddenDim: 512 }),
    trial(2, 'COMPLETE', 0.7, { lr: 1e-3, hiddenDim: 1024 }),
  ];
  return {
    results: {
      name: 's',
      metric: 'top5',
      metricLabel: 'Top-5 (gallery)',
      direction: 'maximize',
      status: 'done',
      sampler: 'tpe',
      pruner: 'asha',
      counts: { WAITING: 0, RUNNING: 0, COMPLETE: 2, PRUNED: 1, FAIL: 0 },
      trials,
      best: trials[2]!,
      history: [
        { number: 0, value: 0.5, best: 0.5 },
        { number: 2, value: 0.7, best: 0.7 },
      ],
      importance: [],
      importanceMethod: 'first-order variance share',
    },
    ceiling: 0.98,
    params: [lr, hidden],
    stages: [],
    baseline: {
      runId: 'b',
      value: 0.4,
      figures: { top1: 0.2, top5: 0.4, mrr: 0.3, recall10: 0.5 },
      protocol: 'gallery, N=10',
      fields: [],
    },
    base: {},
    charts: {},
    running: false,
  };
}

describe('tuning figures', () => {
  it('names metric, protocol and ceiling', () => {
    expect(figureLabel(view())).toBe('Top-5 (gallery) · ceiling 98.0 %');
  });

  it('normalises log parameters on a log axis and choices by position', () => {
    expect(normalise(lr, 1e-3)).toBeCloseTo(0.5, 12);
    expect(normalise(lr, 1)).toBe(1); // clamped
    expect(normalise(hidden, 512)).toBe(0.5);
    expect(normalise(hidden, 2048)).toBeNull();
    expect(normalise(lr, undefined)).toBeNull();
  });

  it('draws complete trials only, with the baseline as a reference', () => {
    const h = historySeries(view());
    expect(h).toEqual({ labels: [0, 2], value: [0.5, 0.7], best: [0.5, 0.7], baseline: [0.4, 0.4] });
    const p = parallelLines(view());
    expect(p.axes).toEqual(['lr', 'hiddenDim', 'Top-5 (gallery)']);
    // The value axis runs from the baseline (lower than every trial) to the best trial.
    expect(p.valueRange).toEqual([0.4, 0.7]);
    expect(p.lines.map((l) => l.trial)).toEqual([0, 2]);
    expect(p.lines[1]!.points[0]).toBeCloseTo(0.5, 12);
    expect(p.lines[1]!.points.slice(1)).toEqual([1, 1]);
    expect(p.lines[0]!.points[2]).toBeCloseTo(1 / 3, 12);
    const s = slicePoints(view(), hidden);
    expect(s.ticks).toEqual(['256', '512', '1024']);
    expect(s.points).toEqual([
      { x: 0, y: 0.5, trial: 0 },
      { x: 2, y: 0.7, trial: 2 },
    ]);
  });
});

describe('staged preset stages from stored trials', () => {
  const space = (names: string[]) => ({
    parameters: Object.fromEntries(
      names.map((n) => [n, { kind: 'float' as const, low: 0, high: 1, log: false }]),
    ),
    fixed: {},
  });
  const rec = (number: number, stage: string, value: number | null, params: object) =>
    ({
      id: number,
      studyId: 1,
      number,
      state: value === null ? 'PRUNED' : 'COMPLETE',
      value,
      runId: null,
      error: null,
      interrupted: false,
      pid: null,
      startedAt: null,
      finishedAt: null,
      attrs: { stage },
      params,
      intermediate: new Map(),
    }) as StudyTrialRecord;

  it('each stage fixes the best complete trial of the stage before, and says so', () => {
    const settings = {
      space: space(['lr']),
      stages: [
        { name: 'priority1', space: space(['lr']), trials: 2 },
        { name: 'priority2', space: space(['dropout']), trials: 2 },
        { name: 'priority3', space: space(['weightDecay']), trials: 1 },
      ],
    } as unknown as StudySettings;
    const stages = studyStages(settings, [
      rec(0, 'priority1', 0.5, { lr: 0.1 }),
      rec(1, 'priority1', 0.6, { lr: 0.2 }),
      rec(2, 'priority2', null, { dropout: 0.3 }),
      rec(3, 'priority2', 0.55, { dropout: 0.1 }),
    ]);
    expect(stages.map((s) => s.fixed)).toEqual([{}, { lr: 0.2 }, { lr: 0.2, dropout: 0.1 }]);
    expect(stages[0]!.why).toBe('tunes lr from the defaults');
    expect(stages[1]!.why).toMatch(/^fixes lr=0.2: the best of stage priority1 \(trial 1, value 0.6000\)/);
    expect(stages[2]!.why).toMatch(/fixes dropout=0.1: the best of stage priority2 \(trial 3/);
    expect(stages.map((s) => s.best)).toEqual([{ number: 1, value: 0.6 }, { number: 3, value: 0.55 }, null]);
  });
});
