/**
 * Pruners: after each epoch a trial reports its validation figure (the study's metric, higher is
 * better) and the pruner says whether to stop it. Optuna's interface: `shouldPrune(trial, others)`,
 * with everything read from the stored trials, so a resumed study prunes as before.
 */
import type { PrunerName } from '../../src-shared/tuning.ts';
import type { FrozenTrial } from './samplers.ts';

export interface Pruner {
  readonly name: PrunerName;
  /** Whether `trial`, which has just reported `step`, should stop; `others` are the study's other trials. */
  shouldPrune(trial: FrozenTrial, step: number, others: readonly FrozenTrial[]): boolean;
  /** Human-readable settings, recorded with the study. */
  describe(): string;
}

export class NopPruner implements Pruner {
  readonly name = 'none' as const;
  shouldPrune(): boolean {
    return false;
  }
  describe(): string {
    return 'none';
  }
}

/** The value a trial had reached at `step`: its report at the first epoch ≥ step (undefined if none). */
function valueAtOrAfter(t: FrozenTrial, step: number): number | undefined {
  let best: number | undefined;
  let at = Number.POSITIVE_INFINITY;
  for (const [s, v] of t.intermediate) {
    if (s >= step && s < at) {
      at = s;
      best = v;
    }
  }
  return best;
}

export interface AshaOptions {
  /** Epochs before the first rung (Optuna's min_resource). */
  minResource?: number;
  /** η: the top 1/η of a rung go on (Optuna: 4; 3 suits short studies). */
  reductionFactor?: number;
  /** s: the first rung is at minResource · η^s. */
  minEarlyStoppingRate?: number;
}

/**
 * Asynchronous Successive Halving (Li, Jamieson, Rostamizadeh, Gonina, Hardt, Recht, Ben-Tzur,
 * Talwalkar, "A System for Massively Parallel Hyperparameter Tuning", MLSys 2020; arXiv 1810.05934,
 * 2018), as Optuna's SuccessiveHalvingPruner: rung k sits at epoch r·η^(s+k). When a trial reaches a
 * rung it is compared with every trial that has reached that rung so far (itself included) and goes on
 * only if it is among the best ⌊n/η⌋ of them (at least the best one). No trial waits for others:
 * early trials are judged against fewer competitors, which is what makes it asynchronous.
 */
export class AshaPruner implements Pruner {
  readonly name = 'asha' as const;
  readonly minResource: number;
  readonly eta: number;
  readonly s: number;

  constructor(opts: AshaOptions = {}) {
    this.minResource = opts.minResource ?? 1;
    this.eta = opts.reductionFactor ?? 3;
    this.s = opts.minEarlyStoppingRate ?? 0;
    if (!(this.eta >= 2)) throw new Error(`ASHA reduction factor must be at least 2 (got ${this.eta})`);
    if (!(this.minResource >= 1))
      throw new Error(`ASHA min resource must be at least 1 (got ${this.minResource})`);
  }

  /** The epoch of rung k. */
  rung(k: number): number {
    return this.minResource * this.eta ** (this.s + k);
  }

  describe(): string {
    return `asha (min resource ${this.minResource}, reduction factor ${this.eta}, rungs at epochs ${[0, 1, 2, 3].map((k) => this.rung(k)).join(', ')}, …)`;
  }

  shouldPrune(trial: FrozenTrial, step: number, others: readonly FrozenTrial[]): boolean {
    const value = trial.intermediate.get(step);
    if (value === undefined || Number.isNaN(value)) return value !== undefined; // NaN: prune
    // The previous report: rungs between it and this step are reached now.
    let prev = 0;
    for (const s of trial.intermediate.keys()) if (s < step) prev = Math.max(prev, s);
    for (let k = 0; this.rung(k) <= step; k++) {
      const r = this.rung(k);
      if (r <= prev) continue;
      const competing = [value];
      for (const o of others) {
        if (o.number === trial.number || o.state === 'FAIL' || o.state === 'WAITING') continue;
        const v = valueAtOrAfter(o, r);
        if (v !== undefined && !Number.isNaN(v)) competing.push(v);
      }
      competing.sort((a, b) => b - a);
      const keep = Math.max(1, Math.floor(competing.length / this.eta));
      if (value < competing[keep - 1]!) return true;
    }
    return false;
  }
}

export interface MedianOptions {
  /** Complete trials needed before anything is pruned (Optuna: 5). */
  startupTrials?: number;
  /** Epochs of every trial never pruned (Optuna: 0). */
  warmupSteps?: number;
}

/**
 * Median stopping rule (Golovin et al., "Google Vizier", KDD 2017) as Optuna's MedianPruner: prune when
 * the trial's best value so far is below the median of the complete trials' values at the same epoch.
 */
export class MedianPruner implements Pruner {
  readonly name = 'median' as const;
  readonly startup: number;
  readonly warmup: number;
  constructor(opts: MedianOptions = {}) {
    this.startup = opts.startupTrials ?? 5;
    this.warmup = opts.warmupSteps ?? 0;
  }
  describe(): string {
    return `median (after ${this.startup} complete trials, warm-up ${this.warmup} epochs)`;
  }
  shouldPrune(trial: FrozenTrial, step: number, others: readonly FrozenTrial[]): boolean {
    if (step <= this.warmup) return false;
    const complete = others.filter((o) => o.state === 'COMPLETE' && o.number !== trial.number);
    if (complete.length < this.startup) return false;
    let best = Number.NEGATIVE_INFINITY;
    for (const [s, v] of trial.intermediate) if (s <= step && v > best) best = v;
    if (Number.isNaN(trial.intermediate.get(step) ?? 0)) return true;
    const at = complete.map((o) => o.intermediate.get(step)).filter((v): v is number => v !== undefined);
    if (at.length === 0) return false;
    at.sort((a, b) => a - b);
    const mid = at.length / 2;
    const median = at.length % 2 ? at[Math.floor(mid)]! : (at[mid - 1]! + at[mid]!) / 2;
    return best < median;
  }
}

export function makePruner(
  name: PrunerName,
  opts: { asha?: AshaOptions; median?: MedianOptions } = {},
): Pruner {
  switch (name) {
    case 'asha':
      return new AshaPruner(opts.asha);
    case 'median':
      return new MedianPruner(opts.median);
    case 'none':
      return new NopPruner();
  }
}
