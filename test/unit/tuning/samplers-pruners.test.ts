import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src-main/dataset/rng.ts';
import { categoricalEstimator, numericEstimator } from '../../../src-main/tuning/parzen-estimator.ts';
import { AshaPruner, MedianPruner } from '../../../src-main/tuning/pruners.ts';
import {
  type FrozenTrial,
  GridSampler,
  RandomSampler,
  type Sampler,
  TpeSampler,
} from '../../../src-main/tuning/samplers.ts';
import { checkSearchSpace } from '../../../src-main/tuning/search-space.ts';
import type { ParamValue } from '../../../src-shared/tuning.ts';

const space = checkSearchSpace(
  {
    parameters: {
      lr: { type: 'log-uniform', low: 1e-5, high: 1e-1 },
      dropout: { type: 'uniform', low: 0, high: 0.9 },
      depth: { type: 'int', low: 1, high: 8 },
      activation: { type: 'categorical', choices: ['relu', 'gelu', 'silu'] },
    },
  },
  'synthetic',
);

/** A synthetic objective with its maximum 0 at lr = 1e-3, dropout = 0.6, depth = 3, gelu. */
const objective = (p: Record<string, ParamValue>) =>
  -((Math.log10(p.lr as number) + 3) ** 2) -
  ((p.dropout as number) - 0.6) ** 2 * 10 -
  ((p.depth as number) - 3) ** 2 / 4 -
  (p.activation === 'gelu' ? 0 : 1);

function optimise(sampler: Sampler, n: number): { best: number; trials: FrozenTrial[] } {
  const trials: FrozenTrial[] = [];
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const params = sampler.sample(space, trials, i);
    const value = objective(params);
    best = Math.max(best, value);
    trials.push({ number: i, state: 'COMPLETE', value, params, intermediate: new Map() });
  }
  return { best, trials };
}

describe('Parzen estimators', () => {
  it('a numeric estimator concentrates around its observations and integrates to 1', () => {
    const e = numericEstimator([0.2, 0.21, 0.19], 0, 1);
    expect(e.logPdf(0.2)).toBeGreaterThan(e.logPdf(0.8));
    let mass = 0;
    for (let i = 0; i < 10000; i++) mass += Math.exp(e.logPdf((i + 0.5) / 10000)) / 10000;
    expect(mass).toBeCloseTo(1, 2);
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const x = e.sample(rng);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(1);
    }
  });
  it('a categorical estimator favours observed choices and keeps mass on the others (prior)', () => {
    const e = categoricalEstimator([1, 1, 1], 3);
    const p = [0, 1, 2].map((c) => Math.exp(e.logPdf(c)));
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(p[1]).toBeGreaterThan(0.5);
    expect(p[1]).toBeGreaterThan(3 * p[0]!);
    expect(p[0]).toBeGreaterThan(0);
  });
});

describe('samplers', () => {
  it('TPE beats random search on a synthetic objective in most seeds', () => {
    let wins = 0;
    const seeds = 10;
    for (let seed = 0; seed < seeds; seed++) {
      const tpe = optimise(new TpeSampler(seed), 50).best;
      const rnd = optimise(new RandomSampler(seed), 50).best;
      if (tpe > rnd) wins++;
    }
    expect(wins).toBeGreaterThanOrEqual(7);
  });

  it('TPE samples uniformly during start-up and then concentrates on the good region', () => {
    const { trials } = optimise(new TpeSampler(3, { startupTrials: 10 }), 60);
    const late = trials.slice(40);
    const gelu = late.filter((t) => t.params.activation === 'gelu').length;
    expect(gelu).toBeGreaterThan(late.length / 2);
    const lrs = late.map((t) => Math.log10(t.params.lr as number));
    const mean = lrs.reduce((a, b) => a + b, 0) / lrs.length;
    expect(Math.abs(mean + 3)).toBeLessThan(1);
  });

  it('draws depend on (seed, trial number, history) only: a resumed study samples the same', () => {
    const a = optimise(new TpeSampler(7), 25).trials;
    const b = new TpeSampler(7).sample(space, a.slice(0, 20), 20);
    expect(b).toEqual(a[20]!.params);
    for (const t of a) {
      expect(Number.isInteger(t.params.depth)).toBe(true);
      expect(t.params.lr as number).toBeGreaterThanOrEqual(1e-5);
      expect(t.params.lr as number).toBeLessThanOrEqual(1e-1);
    }
  });

  it('grid visits every point once, skipping points earlier trials took', () => {
    const g = checkSearchSpace(
      {
        parameters: {
          hiddenDim: { type: 'categorical', choices: [256, 512] },
          depth: { type: 'int', low: 1, high: 3 },
        },
      },
      'grid',
    );
    const s = new GridSampler(1);
    const trials: FrozenTrial[] = [];
    for (let i = 0; i < 6; i++) {
      trials.push({
        number: i,
        state: 'COMPLETE',
        value: 0,
        params: s.sample(g, trials, i),
        intermediate: new Map(),
      });
    }
    expect(new Set(trials.map((t) => JSON.stringify(t.params))).size).toBe(6);
    expect(() => new GridSampler(1).sample(space, [], 0)).toThrow(/parameter "lr": the grid sampler needs/);
  });
});

const scripted = (
  number: number,
  values: number[],
  state: FrozenTrial['state'] = 'RUNNING',
): FrozenTrial => ({
  number,
  state,
  value: null,
  params: {},
  intermediate: new Map(values.map((v, i) => [i + 1, v])),
});

describe('ASHA', () => {
  it('rungs sit at min resource × η^k', () => {
    const p = new AshaPruner({ minResource: 1, reductionFactor: 3 });
    expect([0, 1, 2, 3].map((k) => p.rung(k))).toEqual([1, 3, 9, 27]);
  });

  it('promotes the top 1/η of a rung and prunes the rest, on scripted intermediate values', () => {
    const p = new AshaPruner({ minResource: 1, reductionFactor: 3 });
    const others: FrozenTrial[] = [];
    // Trial 0 is alone at rung 1 (epoch 1): the best of one, promoted.
    const t0 = scripted(0, [0.5]);
    expect(p.shouldPrune(t0, 1, others)).toBe(false);
    others.push(scripted(0, [0.5, 0.55, 0.6], 'COMPLETE'));
    // Trial 1 below trial 0 at epoch 1: competing [0.5, 0.4], keep ⌊2/3⌋→1: pruned.
    expect(p.shouldPrune(scripted(1, [0.4]), 1, others)).toBe(true);
    others.push(scripted(1, [0.4], 'PRUNED'));
    // Trial 2 best at epoch 1: promoted.
    expect(p.shouldPrune(scripted(2, [0.7]), 1, others)).toBe(false);
    // Epoch 2 is no rung: never pruned there.
    expect(p.shouldPrune(scripted(2, [0.7, 0.1]), 2, others)).toBe(false);
    // Epoch 3 (rung 1): 0.58 vs trial 0's 0.6 at epoch 3: competing [0.6, 0.58] → keep 1 → pruned.
    expect(p.shouldPrune(scripted(2, [0.7, 0.1, 0.58]), 3, others)).toBe(true);
    // With 6 competitors at rung 0 the best 2 go on: third-best is pruned.
    const six = [0.9, 0.8, 0.3, 0.2, 0.1].map((v, i) => scripted(10 + i, [v], 'COMPLETE'));
    expect(p.shouldPrune(scripted(20, [0.85]), 1, six)).toBe(false);
    expect(p.shouldPrune(scripted(20, [0.75]), 1, six)).toBe(true);
  });

  it('a failed trial does not compete', () => {
    const p = new AshaPruner({ minResource: 2, reductionFactor: 2 });
    const failed = { ...scripted(0, [0.1, 0.99]), state: 'FAIL' as const };
    expect(p.shouldPrune(scripted(1, [0.1, 0.5]), 2, [failed])).toBe(false);
  });
});

describe('median pruner', () => {
  it('prunes below the median of complete trials at the same epoch, after its start-up', () => {
    const p = new MedianPruner({ startupTrials: 3 });
    const done = [0.2, 0.5, 0.8].map((v, i) => ({ ...scripted(i, [v, v]), state: 'COMPLETE' as const }));
    expect(p.shouldPrune(scripted(9, [0.1]), 1, done.slice(0, 2))).toBe(false); // start-up
    expect(p.shouldPrune(scripted(9, [0.4]), 1, done)).toBe(true);
    expect(p.shouldPrune(scripted(9, [0.6]), 1, done)).toBe(false);
  });
});
