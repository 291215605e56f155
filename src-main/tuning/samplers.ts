/**
 * Samplers: given the study's space and its trials so far, the next trial's parameters. One small
 * interface as in Optuna (a sampler sees the whole history, the storage is the single source of
 * truth), so a resumed study samples as if it had never stopped: every draw comes from a generator
 * derived from (seed, sampler, trial number), never from state kept in the process.
 *
 * Every study maximises its metric (Top-5, Top-1, MRR or Recall@10 are all "higher is better").
 */
import type { ParamValue, SamplerName, TrialState } from '../../src-shared/tuning.ts';
import { Rng } from '../dataset/rng.ts';
import { categoricalEstimator, numericEstimator } from './parzen-estimator.ts';
import {
  type Distribution,
  fromTransformed,
  gridValues,
  type SearchSpace,
  toTransformed,
  transformedBounds,
  valueKey,
} from './search-space.ts';

/** A trial as samplers and pruners read it. */
export interface FrozenTrial {
  number: number;
  state: TrialState;
  value: number | null;
  params: Record<string, ParamValue>;
  /** Per-epoch intermediate values (step → value). */
  intermediate: Map<number, number>;
}

export interface Sampler {
  readonly name: SamplerName;
  /** Parameters for trial `number` given every stored trial of the study. */
  sample(space: SearchSpace, trials: readonly FrozenTrial[], number: number): Record<string, ParamValue>;
}

/** A uniform draw from one distribution (in the transformed space for numbers). */
export function sampleUniform(d: Distribution, rng: Rng): ParamValue {
  if (d.kind === 'categorical') return d.choices[rng.int(0, d.choices.length - 1)]!;
  if (d.kind === 'int' && !d.log) return d.low + rng.int(0, (d.high - d.low) / d.step) * d.step;
  const [lo, hi] = transformedBounds(d);
  return fromTransformed(d, rng.range(lo, hi));
}

export class RandomSampler implements Sampler {
  readonly name = 'random' as const;
  constructor(private readonly seed: number) {}
  sample(space: SearchSpace, _trials: readonly FrozenTrial[], number: number): Record<string, ParamValue> {
    const out: Record<string, ParamValue> = {};
    for (const [name, d] of Object.entries(space.parameters)) {
      out[name] = sampleUniform(d, Rng.derive(this.seed, 'random', number, name));
    }
    return out;
  }
}

/**
 * The Cartesian product of every parameter's grid, visited in a seeded shuffled order (as Optuna's
 * GridSampler does); a point some earlier trial already took (in any state but WAITING) is skipped,
 * so a resumed study does not repeat it. Past the end it starts over.
 */
export class GridSampler implements Sampler {
  readonly name = 'grid' as const;
  constructor(private readonly seed: number) {}

  static size(space: SearchSpace): number {
    return Object.entries(space.parameters).reduce((n, [name, d]) => n * gridValues(name, d).length, 1);
  }

  sample(space: SearchSpace, trials: readonly FrozenTrial[], number: number): Record<string, ParamValue> {
    const names = Object.keys(space.parameters);
    const values = names.map((n) => gridValues(n, space.parameters[n]!));
    const size = values.reduce((a, v) => a * v.length, 1);
    const order = Rng.derive(this.seed, 'grid').shuffle(Array.from({ length: size }, (_, i) => i));
    const point = (idx: number) => {
      const out: Record<string, ParamValue> = {};
      let rest = idx;
      names.forEach((n, i) => {
        const vs = values[i]!;
        out[n] = vs[rest % vs.length]!;
        rest = Math.floor(rest / vs.length);
      });
      return out;
    };
    const key = (p: Record<string, ParamValue>) => names.map((n) => valueKey(p[n]!)).join('|');
    const taken = new Set(
      trials.filter((t) => t.number !== number && t.state !== 'WAITING').map((t) => key(t.params)),
    );
    for (const idx of order) {
      const p = point(idx);
      if (!taken.has(key(p))) return p;
    }
    return point(order[number % size]!);
  }
}

export interface TpeOptions {
  /** Random trials before TPE starts modelling (Optuna: 10). */
  startupTrials?: number;
  /** Candidates drawn from l(x) per parameter; the best l/g ratio wins (Optuna: 24). */
  eiCandidates?: number;
  priorWeight?: number;
  /** Size of the good set for n observations (Optuna: min(ceil(0.1 n), 25)). */
  gamma?: (n: number) => number;
}

export const defaultGamma = (n: number) => Math.min(Math.ceil(0.1 * n), 25);

/**
 * Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011), independent per parameter as
 * Optuna's default TPESampler:
 *  1. fewer than `startupTrials` finished trials: sample uniformly;
 *  2. otherwise rank finished trials best first — complete trials by value, then pruned trials by how
 *     far they got (last epoch reported, then its value) — and split them into the γ(n) best ("good",
 *     density l) and the rest ("bad", density g);
 *  3. per parameter, fit Parzen estimators l and g (parzen-estimator.ts) to the two sets' values, draw
 *     `eiCandidates` from l and keep the one maximising log l(x) − log g(x): for TPE's model the
 *     expected improvement is monotone in l(x)/g(x) (the paper's eq. 4).
 * Failed trials carry no information about the objective and are left out.
 */
export class TpeSampler implements Sampler {
  readonly name = 'tpe' as const;
  private readonly startup: number;
  private readonly candidates: number;
  private readonly priorWeight: number;
  private readonly gamma: (n: number) => number;

  constructor(
    private readonly seed: number,
    opts: TpeOptions = {},
  ) {
    this.startup = opts.startupTrials ?? 10;
    this.candidates = opts.eiCandidates ?? 24;
    this.priorWeight = opts.priorWeight ?? 1;
    this.gamma = opts.gamma ?? defaultGamma;
  }

  sample(space: SearchSpace, trials: readonly FrozenTrial[], number: number): Record<string, ParamValue> {
    const finished = trials.filter(
      (t) =>
        t.number !== number &&
        ((t.state === 'COMPLETE' && t.value !== null && Number.isFinite(t.value)) ||
          (t.state === 'PRUNED' && t.intermediate.size > 0)),
    );
    const out: Record<string, ParamValue> = {};
    if (finished.length < this.startup) {
      for (const [name, d] of Object.entries(space.parameters)) {
        out[name] = sampleUniform(d, Rng.derive(this.seed, 'tpe-startup', number, name));
      }
      return out;
    }
    const ranked = rankBestFirst(finished);
    const nGood = Math.max(1, Math.min(ranked.length - 1, this.gamma(ranked.length)));
    // Oldest first within each set, so observation weights favour recent trials.
    const good = ranked.slice(0, nGood).sort((a, b) => a.number - b.number);
    const bad = ranked.slice(nGood).sort((a, b) => a.number - b.number);
    for (const [name, d] of Object.entries(space.parameters)) {
      const rng = Rng.derive(this.seed, 'tpe', number, name);
      const has = (t: FrozenTrial) => name in t.params;
      out[name] = this.sampleOne(d, good.filter(has), bad.filter(has), name, rng);
    }
    return out;
  }

  private sampleOne(
    d: Distribution,
    good: FrozenTrial[],
    bad: FrozenTrial[],
    name: string,
    rng: Rng,
  ): ParamValue {
    if (d.kind === 'categorical') {
      const index = new Map(d.choices.map((c, i) => [valueKey(c), i]));
      const idx = (ts: FrozenTrial[]) =>
        ts.map((t) => index.get(valueKey(t.params[name]!))).filter((i): i is number => i !== undefined);
      const l = categoricalEstimator(idx(good), d.choices.length, this.priorWeight);
      const g = categoricalEstimator(idx(bad), d.choices.length, this.priorWeight);
      let best = 0;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < this.candidates; i++) {
        const c = l.sample(rng);
        const s = l.logPdf(c) - g.logPdf(c);
        if (s > bestScore) {
          bestScore = s;
          best = c;
        }
      }
      return d.choices[best]!;
    }
    const [lo, hi] = transformedBounds(d);
    const obs = (ts: FrozenTrial[]) =>
      ts
        .map((t) => t.params[name])
        .filter((v): v is number => typeof v === 'number')
        .map((v) => toTransformed(d, v));
    const l = numericEstimator(obs(good), lo, hi, this.priorWeight);
    const g = numericEstimator(obs(bad), lo, hi, this.priorWeight);
    let best = (lo + hi) / 2;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.candidates; i++) {
      let x = l.sample(rng);
      // Integers: score the point the trial will actually use.
      if (d.kind === 'int') x = toTransformed(d, fromTransformed(d, x));
      const s = l.logPdf(x) - g.logPdf(x);
      if (s > bestScore) {
        bestScore = s;
        best = x;
      }
    }
    return fromTransformed(d, best);
  }
}

/** Finished trials best first: complete by value (higher first), then pruned by progress and value. */
export function rankBestFirst(trials: readonly FrozenTrial[]): FrozenTrial[] {
  const last = (t: FrozenTrial) => {
    let step = -1;
    for (const s of t.intermediate.keys()) step = Math.max(step, s);
    return { step, value: t.intermediate.get(step) ?? Number.NEGATIVE_INFINITY };
  };
  const complete = trials.filter((t) => t.state === 'COMPLETE').sort((a, b) => b.value! - a.value!);
  const pruned = trials
    .filter((t) => t.state === 'PRUNED')
    .map((t) => ({ t, ...last(t) }))
    .sort((a, b) => b.step - a.step || b.value - a.value)
    .map((x) => x.t);
  return [...complete, ...pruned];
}

export function makeSampler(name: SamplerName, seed: number, tpe: TpeOptions = {}): Sampler {
  switch (name) {
    case 'tpe':
      return new TpeSampler(seed, tpe);
    case 'random':
      return new RandomSampler(seed);
    case 'grid':
      return new GridSampler(seed);
  }
}
