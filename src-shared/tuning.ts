/**
 * Tuning studies as data: the search-space file (`kfashion tune --space FILE.json`), the parameters a
 * study may tune, and the shapes of study results that the CLI, the API and the UI show.
 *
 * A search space names training settings and gives each a distribution (Optuna's vocabulary):
 *   { "parameters": {
 *       "lr":          { "type": "log-uniform", "low": 1e-4, "high": 1e-3 },
 *       "dropout":     { "type": "uniform", "low": 0.1, "high": 0.3 },
 *       "epochs":      { "type": "int", "low": 50, "high": 100, "step": 25 },
 *       "hiddenDim":   { "type": "categorical", "choices": [256, 512, 1024] },
 *       "fields":      { "type": "categorical", "choices": [["category", "style"], ["category", "style", "color"]] } },
 *     "fixed": { "temperature": 0.07 } }
 * Numeric distributions may carry a "grid" (the values the grid sampler visits); categorical ones are
 * their own grid. Pure TypeScript: imported by the renderer too.
 */
import { z } from 'zod';
import { ACTIVATION_NAMES, NORMS, SCHEDULERS } from './encoder-config.ts';
import { FIELD_NAMES } from './fields.ts';

/** Choices of the encoder's categorical settings, from its one config schema. */
export const TUNE_NORMS = NORMS;
export const TUNE_ACTIVATIONS = ACTIVATION_NAMES;
export const TUNE_SCHEDULERS = SCHEDULERS;

/** A value a parameter takes: a number, a word, a switch or a field set. */
export type ParamValue = number | string | boolean | string[];

/** What a tunable parameter accepts, so a space is checked before any trial runs. */
export type ParamKind =
  | { kind: 'float'; min: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { kind: 'int'; min: number; max?: number }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' }
  | { kind: 'fields' };

/** The settings a study may tune (names as in the training config and `kfashion train` flags). */
export const TUNABLE_PARAMETERS: Readonly<Record<string, ParamKind & { help: string }>> = {
  epochs: { kind: 'int', min: 1, help: 'epoch budget (early stopping may end sooner)' },
  batchSize: { kind: 'int', min: 2, help: 'batch size (in-batch negatives)' },
  lr: { kind: 'float', min: 0, minExclusive: true, help: 'peak learning rate' },
  temperature: { kind: 'float', min: 0, minExclusive: true, help: 'InfoNCE temperature' },
  weightDecay: { kind: 'float', min: 0, help: 'AdamW weight decay' },
  dropout: { kind: 'float', min: 0, max: 1, maxExclusive: true, help: 'dropout probability' },
  embedDim: { kind: 'int', min: 1, max: 4096, help: 'field-embedding size' },
  hiddenDim: { kind: 'int', min: 1, max: 16384, help: 'hidden width' },
  depth: { kind: 'int', min: 1, max: 32, help: 'hidden blocks' },
  residual: { kind: 'boolean', help: 'residual hidden blocks' },
  norm: { kind: 'enum', values: TUNE_NORMS, help: 'normalisation after each hidden Linear' },
  activation: { kind: 'enum', values: TUNE_ACTIVATIONS, help: 'hidden activation' },
  scheduler: { kind: 'enum', values: TUNE_SCHEDULERS, help: 'learning-rate schedule' },
  gradClip: { kind: 'float', min: 0, help: 'global gradient-norm clip (0 = off)' },
  warmup: { kind: 'float', min: 0, max: 0.5, help: 'warm-up fraction of the steps' },
  patience: { kind: 'int', min: 1, help: 'early-stopping patience (epochs)' },
  fields: { kind: 'fields', help: 'the encoder field set' },
  seed: { kind: 'int', min: 0, help: 'training seed (the field study repeats each set under several)' },
};

const num = z.number({ error: 'must be a number' }).refine(Number.isFinite, { error: 'must be finite' });

const floatDist = z
  .object({
    type: z.enum(['uniform', 'log-uniform']),
    low: num,
    high: num,
    grid: z.array(num).min(1, { error: 'grid must list at least one value' }).optional(),
  })
  .strict();
const intDist = z
  .object({
    type: z.literal('int'),
    low: num.refine(Number.isInteger, { error: 'must be a whole number' }),
    high: num.refine(Number.isInteger, { error: 'must be a whole number' }),
    step: num
      .refine((v) => Number.isInteger(v) && v >= 1, { error: 'must be a whole number ≥ 1' })
      .optional(),
    log: z.boolean().optional(),
    grid: z.array(num).min(1, { error: 'grid must list at least one value' }).optional(),
  })
  .strict();
const categoricalDist = z
  .object({
    type: z.literal('categorical'),
    choices: z.array(z.union([z.number(), z.string(), z.boolean(), z.array(z.string())])),
  })
  .strict();

export const distributionSchema = z.discriminatedUnion('type', [floatDist, intDist, categoricalDist], {
  error: 'type must be one of uniform, log-uniform, int, categorical',
});
export type DistributionSpec = z.infer<typeof distributionSchema>;

/** The JSON file as written; `search-space.ts` checks names, bounds and values on top of this. */
export const searchSpaceFileSchema = z
  .object({
    parameters: z.record(z.string(), distributionSchema),
    fixed: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.array(z.string())]))
      .optional(),
  })
  .strict();
export type SearchSpaceFile = z.infer<typeof searchSpaceFileSchema>;

export const SAMPLERS = ['tpe', 'random', 'grid'] as const;
export const PRUNERS = ['asha', 'median', 'none'] as const;
export const PRESETS = ['priority1', 'priority2', 'priority3', 'staged', 'fields'] as const;
/** The figure a study maximises: gallery protocol (EVALUATION.md), always labelled with its ceiling. */
export const STUDY_METRICS = ['top5', 'top1', 'mrr', 'recall10'] as const;
export type SamplerName = (typeof SAMPLERS)[number];
export type PrunerName = (typeof PRUNERS)[number];
export type PresetName = (typeof PRESETS)[number];
export type StudyMetric = (typeof STUDY_METRICS)[number];

export const METRIC_LABELS: Readonly<Record<StudyMetric, string>> = {
  top5: 'Top-5',
  top1: 'Top-1',
  mrr: 'MRR',
  recall10: 'Recall@10',
};

export const TRIAL_STATES = ['WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

export { FIELD_NAMES };

/** One trial as results show it. */
export interface TrialRow {
  number: number;
  state: TrialState;
  value: number | null;
  params: Record<string, ParamValue>;
  runId: string | null;
  error: string | null;
  /** Epochs reported (intermediate values). */
  steps: number;
  startedAt: string;
  finishedAt: string | null;
  attrs: Record<string, unknown>;
}

export interface ParamImportance {
  name: string;
  /** Share of the objective's variance explained by this parameter alone (sums to 1 over params). */
  importance: number;
}

export interface StudyResults {
  name: string;
  metric: StudyMetric;
  /** e.g. "Top-5 (gallery)". */
  metricLabel: string;
  direction: 'maximize';
  status: string;
  sampler: string;
  pruner: string;
  counts: Record<TrialState, number>;
  trials: TrialRow[];
  best: TrialRow | null;
  /** Per finished trial in number order: its value and the best so far. */
  history: { number: number; value: number; best: number }[];
  importance: ParamImportance[];
  importanceMethod: string;
}
