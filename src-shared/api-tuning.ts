/**
 * Contract methods of tuning studies (part of the one contract in api.ts, declared here to keep that
 * file readable): the studies of the open workspace, one study's results as the Tuning tab draws them
 * (trials, best trial, history, importance, the staged preset's stages, the ridge baseline beside
 * them), and the `tune` job that runs or resumes a study like `kfashion tune`.
 */
import { z } from 'zod';
import { defineMethod } from './api-core.ts';
import { jobKindSchema, trainOverridesSchema, typed } from './api-schemas.ts';
import {
  type ParamValue,
  PRESETS,
  PRUNERS,
  SAMPLERS,
  STUDY_METRICS,
  type StudyResults,
  searchSpaceFileSchema,
  TRIAL_STATES,
} from './tuning.ts';

const count = z.number().int().min(0);
const paramValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.string())]);
/** A study name as `kfashion tune --name` takes it. */
export const studyNameSchema = z
  .string()
  .trim()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}._-]{0,63}$/u, {
    error: "must be letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)",
  });

export interface StudyListEntry {
  name: string;
  status: string;
  metric: string;
  /** e.g. "Top-5 (gallery)". */
  metricLabel: string;
  trials: number;
  best: number | null;
}

export const studyListEntrySchema = typed<StudyListEntry>()({
  name: z.string(),
  status: z.string(),
  metric: z.string(),
  metricLabel: z.string(),
  trials: count,
  best: z.number().nullable(),
});

/** The newest ridge baseline run's figures (gallery protocol), drawn as a reference line. */
export interface StudyBaseline {
  runId: string;
  /** Its figure for the study's metric. */
  value: number;
  figures: { top1: number; top5: number; mrr: number; recall10: number | null };
  protocol: string;
  fields: string[];
}

/** One stage of the staged preset: what it tuned, what it fixed from the stage before and why. */
export interface StudyStage {
  name: string;
  tunes: string[];
  trials: number;
  fixed: Record<string, ParamValue>;
  why: string;
  best: { number: number; value: number } | null;
}

/** A tuned parameter's distribution, so charts put it on a linear or log axis between its bounds. */
export interface StudyParam {
  name: string;
  type: 'uniform' | 'log-uniform' | 'int' | 'categorical';
  low: number | null;
  high: number | null;
  log: boolean;
  choices: ParamValue[] | null;
}

export interface StudyView {
  results: StudyResults;
  /** The study's metric's ceiling (the best trial's; it depends on the fields, not the settings). */
  ceiling: number | null;
  params: StudyParam[];
  stages: StudyStage[];
  baseline: StudyBaseline | null;
  /** Training settings every trial shares (the space's values override them). */
  base: Record<string, unknown>;
  /** Chart name → workspace-relative PNG path (only when asked for charts). */
  charts: Record<string, string>;
  /** Whether a process is running trials of this study now. */
  running: boolean;
}

const trialRowSchema = z.looseObject({
  number: count,
  state: z.enum(TRIAL_STATES),
  value: z.number().nullable(),
  params: z.record(z.string(), paramValue),
  runId: z.string().nullable(),
  error: z.string().nullable(),
  steps: count,
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  attrs: z.record(z.string(), z.unknown()),
});

export const studyViewSchema = typed<StudyView>()({
  results: z.looseObject({
    name: z.string(),
    metric: z.enum(STUDY_METRICS),
    metricLabel: z.string(),
    status: z.string(),
    sampler: z.string(),
    pruner: z.string(),
    counts: z.record(z.string(), count),
    trials: z.array(trialRowSchema),
    best: trialRowSchema.nullable(),
    history: z.array(z.looseObject({ number: count, value: z.number(), best: z.number() })),
    importance: z.array(z.looseObject({ name: z.string(), importance: z.number() })),
    importanceMethod: z.string(),
  }),
  ceiling: z.number().nullable(),
  params: z.array(z.looseObject({ name: z.string(), type: z.string(), log: z.boolean() })),
  stages: z.array(z.looseObject({ name: z.string(), why: z.string(), tunes: z.array(z.string()) })),
  baseline: z.looseObject({ runId: z.string(), value: z.number(), protocol: z.string() }).nullable(),
  base: z.record(z.string(), z.unknown()),
  charts: z.record(z.string(), z.string()),
  running: z.boolean(),
});

export const tuningStartSchema = z
  .strictObject({
    /** A new study's name (default tune-<timestamp>). */
    name: studyNameSchema.optional(),
    /** Finish this stopped or killed study with its stored settings (the other keys are ignored). */
    resume: studyNameSchema.optional(),
    preset: z.enum(PRESETS).optional(),
    /** A search space as `--space FILE.json` holds it. */
    space: searchSpaceFileSchema.optional(),
    trials: z.number().int().min(1).max(1000).optional(),
    sampler: z.enum(SAMPLERS).optional(),
    pruner: z.enum(PRUNERS).optional(),
    metric: z.enum(STUDY_METRICS).optional(),
    seed: z.number().int().min(0).optional(),
    timeoutS: z.number().int().min(1).optional(),
    /** Every trial with the training quick preset (smoke studies). */
    quick: z.boolean().optional(),
    fieldSeeds: z.array(z.number().int().min(0)).min(2).max(10).optional(),
    /** Training settings every trial shares unless the space tunes them. */
    overrides: trainOverridesSchema.optional(),
  })
  .refine((v) => v.resume !== undefined || (v.preset === undefined) !== (v.space === undefined), {
    error: 'give exactly one of preset or space (or resume: NAME)',
    path: ['preset'],
  });

/** The `tune` job's result (tuning/tune-study.ts TuneResult). */
export const tuneResultSchema = z.looseObject({
  study: z.looseObject({ name: z.string(), status: z.string() }),
  ran: count,
  stoppedBy: z.enum(['done', 'timeout', 'signal']),
  best: z
    .looseObject({ number: count, value: z.number().nullable(), runId: z.string().nullable() })
    .nullable(),
});

export const tuningMethods = [
  defineMethod({
    name: 'tuning.list',
    summary: 'Every tuning study of the workspace with its state, metric, trial count and best value.',
    input: z.strictObject({}),
    output: z.array(studyListEntrySchema),
  }),
  defineMethod({
    name: 'tuning.show',
    summary:
      "One study: trials (state, settings, value, run), best trial, optimisation history, parameter importance (and its method), the staged preset's stages, the newest ridge baseline's figure; charts: true also writes the study's PNGs.",
    input: z.strictObject({ name: studyNameSchema, charts: z.boolean().default(false) }),
    output: studyViewSchema,
  }),
  defineMethod({
    name: 'tuning.start',
    summary:
      'Job: runs (or with resume, finishes) a tuning study like `kfashion tune`; each trial a run of kind tune. Cancel with job.cancel; resume later. Returns the job and the study name at once.',
    input: tuningStartSchema,
    output: z.object({ job: z.string(), kind: jobKindSchema, study: z.string() }),
  }),
] as const;
