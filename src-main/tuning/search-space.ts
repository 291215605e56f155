/**
 * Search spaces: the JSON file checked into distributions the samplers understand, and the research
 * plan's presets as data.
 *
 * A distribution is Optuna's: a float range (optionally on a log scale), an integer range with a step
 * (optionally log), or a list of choices. Samplers work in a "transformed" space — log for log
 * distributions, the integer range widened by half a step on each side — so one Parzen estimator
 * serves every numeric kind.
 */
import { FIELD_NAMES } from '../../src-shared/fields.ts';
import {
  type DistributionSpec,
  type ParamKind,
  type ParamValue,
  type PresetName,
  type SearchSpaceFile,
  searchSpaceFileSchema,
  TUNABLE_PARAMETERS,
} from '../../src-shared/tuning.ts';

export class SearchSpaceError extends Error {
  override name = 'SearchSpaceError';
}

export type Distribution =
  | { kind: 'float'; low: number; high: number; log: boolean; grid?: number[] }
  | { kind: 'int'; low: number; high: number; step: number; log: boolean; grid?: number[] }
  | { kind: 'categorical'; choices: ParamValue[] };

export interface SearchSpace {
  /** Parameter name → distribution, in the file's order. */
  parameters: Record<string, Distribution>;
  /** Settings every trial of the study uses. */
  fixed: Record<string, ParamValue>;
}

/** Stable identity of a parameter value (field sets compare as lists). */
export const valueKey = (v: ParamValue): string => JSON.stringify(v);

/** Why `value` is not acceptable for `name` (null when it is). */
function valueProblem(kind: ParamKind, value: unknown): string | null {
  switch (kind.kind) {
    case 'float':
    case 'int': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      if (kind.kind === 'int' && !Number.isInteger(value)) return 'must be a whole number';
      const lo = kind.min;
      const loOk = 'minExclusive' in kind && kind.minExclusive ? value > lo : value >= lo;
      if (!loOk)
        return `must be ${'minExclusive' in kind && kind.minExclusive ? 'greater than' : 'at least'} ${lo}`;
      if (kind.max !== undefined) {
        const hiOk = 'maxExclusive' in kind && kind.maxExclusive ? value < kind.max : value <= kind.max;
        if (!hiOk)
          return `must be ${'maxExclusive' in kind && kind.maxExclusive ? 'below' : 'at most'} ${kind.max}`;
      }
      return null;
    }
    case 'enum':
      return typeof value === 'string' && kind.values.includes(value)
        ? null
        : `must be one of ${kind.values.join(', ')}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'fields': {
      if (!Array.isArray(value) || value.length === 0) return 'must be a non-empty list of field names';
      const bad = value.find((f) => !(FIELD_NAMES as readonly string[]).includes(f as string));
      if (bad !== undefined) return `has unknown field "${String(bad)}" (valid: ${FIELD_NAMES.join(', ')})`;
      if (new Set(value).size !== value.length) return 'lists a field twice';
      return null;
    }
  }
}

function knownKind(name: string, where: string): ParamKind {
  const kind = TUNABLE_PARAMETERS[name];
  if (!kind) {
    throw new SearchSpaceError(
      `${where}: unknown parameter "${name}"; parameters that can be tuned: ${Object.keys(TUNABLE_PARAMETERS).join(', ')}`,
    );
  }
  return kind;
}

function checkDistribution(name: string, spec: DistributionSpec, where: string): Distribution {
  const kind = knownKind(name, where);
  const at = `${where}: parameter "${name}"`;
  if (spec.type === 'categorical') {
    if (spec.choices.length === 0) throw new SearchSpaceError(`${at}: the choice list is empty`);
    const seen = new Set<string>();
    for (const c of spec.choices) {
      const p = valueProblem(kind, c);
      if (p) throw new SearchSpaceError(`${at}: choice ${JSON.stringify(c)} ${p}`);
      const k = valueKey(c);
      if (seen.has(k)) throw new SearchSpaceError(`${at}: choice ${JSON.stringify(c)} is listed twice`);
      seen.add(k);
    }
    return { kind: 'categorical', choices: spec.choices };
  }
  if (kind.kind !== 'float' && kind.kind !== 'int') {
    throw new SearchSpaceError(`${at}: ${spec.type} needs a numeric parameter; give "categorical" choices`);
  }
  if (spec.low > spec.high) {
    throw new SearchSpaceError(`${at}: low (${spec.low}) is greater than high (${spec.high})`);
  }
  for (const [label, v] of [
    ['low', spec.low],
    ['high', spec.high],
  ] as const) {
    const p = valueProblem(kind, v);
    if (p && !(kind.kind === 'int' && spec.type !== 'int' && p === 'must be a whole number')) {
      throw new SearchSpaceError(`${at}: ${label} ${p}`);
    }
  }
  const log = spec.type === 'log-uniform' || (spec.type === 'int' && spec.log === true);
  if (log && spec.low <= 0) throw new SearchSpaceError(`${at}: a log scale needs low > 0 (got ${spec.low})`);
  const grid = spec.grid;
  if (grid) {
    for (const g of grid) {
      if (g < spec.low || g > spec.high) {
        throw new SearchSpaceError(`${at}: grid value ${g} is outside [${spec.low}, ${spec.high}]`);
      }
    }
  }
  if (spec.type === 'int' || kind.kind === 'int') {
    if (!Number.isInteger(spec.low) || !Number.isInteger(spec.high)) {
      throw new SearchSpaceError(`${at}: a whole-number parameter needs whole-number low and high`);
    }
    const step = spec.type === 'int' ? (spec.step ?? 1) : 1;
    if (log && step !== 1) throw new SearchSpaceError(`${at}: a log scale needs step 1`);
    if ((spec.high - spec.low) % step !== 0) {
      throw new SearchSpaceError(
        `${at}: high − low (${spec.high - spec.low}) is not a multiple of step ${step}`,
      );
    }
    return { kind: 'int', low: spec.low, high: spec.high, step, log, ...(grid ? { grid } : {}) };
  }
  return { kind: 'float', low: spec.low, high: spec.high, log, ...(grid ? { grid } : {}) };
}

/** Checks a parsed space file; `where` names it in errors (a file path or "--preset staged"). */
export function checkSearchSpace(input: unknown, where: string): SearchSpace {
  const parsed = searchSpaceFileSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    // parameters.<name>.<key>: say which parameter.
    const label =
      path[0] === 'parameters' && path[1] !== undefined
        ? `parameter "${path[1]}"${path.length > 2 ? ` (${path.slice(2).join('.')})` : ''}`
        : path.length
          ? path.join('.')
          : 'the file';
    throw new SearchSpaceError(`${where}: ${label}: ${issue.message}`);
  }
  const file: SearchSpaceFile = parsed.data;
  const names = Object.keys(file.parameters);
  if (names.length === 0) throw new SearchSpaceError(`${where}: "parameters" is empty: nothing to tune`);
  const parameters: Record<string, Distribution> = {};
  for (const name of names) parameters[name] = checkDistribution(name, file.parameters[name]!, where);
  const fixed: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(file.fixed ?? {})) {
    const kind = knownKind(name, `${where} (fixed)`);
    const p = valueProblem(kind, value);
    if (p) throw new SearchSpaceError(`${where}: fixed parameter "${name}" ${p}`);
    if (name in parameters) {
      throw new SearchSpaceError(`${where}: parameter "${name}" is both tuned and fixed`);
    }
    fixed[name] = value;
  }
  return { parameters, fixed };
}

/** Parses the text of a space file (`--space FILE.json`). */
export function parseSearchSpace(text: string, file: string): SearchSpace {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SearchSpaceError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return checkSearchSpace(json, file);
}

// ── Transformed space ────────────────────────────────────────────────────────────────────────────

/** The numeric interval samplers work in: log for log scales; integers widened by half a step. */
export function transformedBounds(d: Extract<Distribution, { kind: 'float' | 'int' }>): [number, number] {
  const half = d.kind === 'int' ? d.step / 2 : 0;
  if (d.log) return [Math.log(d.low - (d.kind === 'int' ? 0.5 : 0)), Math.log(d.high + half)];
  return [d.low - half, d.high + half];
}

export function toTransformed(d: Extract<Distribution, { kind: 'float' | 'int' }>, v: number): number {
  return d.log ? Math.log(v) : v;
}

/** Back from the transformed space: clamped into [low, high], integers rounded onto the step grid. */
export function fromTransformed(d: Extract<Distribution, { kind: 'float' | 'int' }>, t: number): number {
  let v = d.log ? Math.exp(t) : t;
  if (d.kind === 'int') v = d.low + Math.round((v - d.low) / d.step) * d.step;
  return Math.min(d.high, Math.max(d.low, v));
}

/** The values a grid sampler visits for one parameter (an error names the parameter when it cannot). */
export function gridValues(name: string, d: Distribution): ParamValue[] {
  if (d.kind === 'categorical') return d.choices;
  if (d.grid) return d.grid;
  if (d.kind === 'int') {
    const n = (d.high - d.low) / d.step + 1;
    if (n <= 100) return Array.from({ length: n }, (_, i) => d.low + i * d.step);
  }
  throw new SearchSpaceError(
    `parameter "${name}": the grid sampler needs a finite list of values; give it a "grid" list or use --sampler tpe|random`,
  );
}

// ── Presets ──────────────────────────────────────────────────────────────────────────────────────

/** A stage of the staged preset: its space and its share of the trials (20, 15, 10 of 45). */
export interface Stage {
  name: string;
  space: SearchSpaceFile;
  trials: number;
}

/**
 * The research plan's grids. Priority 1: epochs / batch / lr / temperature; 2: model shape;
 * 3: regularisation and schedule. Written as grids (categorical), so TPE, random and grid all apply.
 */
export const PRESET_SPACES: Readonly<Record<Exclude<PresetName, 'staged' | 'fields'>, SearchSpaceFile>> = {
  priority1: {
    parameters: {
      epochs: { type: 'categorical', choices: [50, 75, 100] },
      batchSize: { type: 'categorical', choices: [64, 96, 128] },
      lr: { type: 'log-uniform', low: 1e-4, high: 1e-3, grid: [1e-4, 3e-4, 5e-4, 1e-3] },
      temperature: { type: 'categorical', choices: [0.05, 0.07, 0.1] },
    },
  },
  priority2: {
    parameters: {
      embedDim: { type: 'categorical', choices: [64, 128, 256] },
      hiddenDim: { type: 'categorical', choices: [256, 512, 1024] },
      dropout: { type: 'uniform', low: 0.1, high: 0.3, grid: [0.1, 0.2, 0.3] },
    },
  },
  priority3: {
    parameters: {
      weightDecay: { type: 'log-uniform', low: 1e-5, high: 1e-3, grid: [1e-5, 1e-4, 1e-3] },
      scheduler: { type: 'categorical', choices: ['cosine', 'step', 'exponential'] },
      gradClip: { type: 'categorical', choices: [0.5, 1, 2] },
    },
  },
};

/** The staged strategy: 20, then 15, then 10 trials, each stage fixing the best of the one before. */
export const STAGED_PRESET: readonly Stage[] = [
  { name: 'priority1', space: PRESET_SPACES.priority1, trials: 20 },
  { name: 'priority2', space: PRESET_SPACES.priority2, trials: 15 },
  { name: 'priority3', space: PRESET_SPACES.priority3, trials: 10 },
];

/** The fields preset's field sets: leave-one-out of the defaults and add-one of every other field. */
export function fieldStudySets(
  defaults: readonly string[],
  all: readonly string[] = FIELD_NAMES,
): { label: string; fields: string[] }[] {
  const sets = [{ label: 'default', fields: [...defaults] }];
  for (const f of defaults) sets.push({ label: `− ${f}`, fields: defaults.filter((d) => d !== f) });
  for (const f of all) if (!defaults.includes(f)) sets.push({ label: `+ ${f}`, fields: [...defaults, f] });
  return sets;
}

/** The fields preset as a space: one categorical parameter over the field sets (grid order). */
export function fieldStudySpace(defaults: readonly string[]): SearchSpaceFile {
  return {
    parameters: { fields: { type: 'categorical', choices: fieldStudySets(defaults).map((s) => s.fields) } },
  };
}
