/**
 * `kfashion sanity [--workspace WS]`: quick checks that the JSON encoder and its training step behave
 * before anyone spends an hour training (the seed's sanity check, results in
 * temp_logs/sanity_check_results.json). On a workspace's own items and image
 * embeddings when given one, else on synthetic inputs drawn with rng.ts.
 *
 * Each check is independent and reports pass/fail with a detail line; the result is written to
 * `temp_logs/sanity_check_results.json` when a workspace is given (or `resultsPath` is set).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_ENCODER_FIELDS, FIELDS, type FieldName } from '../../src-shared/fields.ts';
import { KNOWN_VALUES } from '../dataset/kfashion-values.ts';
import { Rng } from '../dataset/rng.ts';
import { GRADIENT_TOLERANCE, layerGradientChecks } from '../encoders/json-encoder/gradient-check.ts';
import { createJsonEncoder, makeJsonEncoderConfig } from '../encoders/json-encoder/json-encoder.ts';
import type {
  EncoderInputs,
  JsonEncoderConfig,
  OptimizerSettings,
} from '../encoders/json-encoder/json-encoder-types.ts';
import { type BackendChoice, describeBackend } from '../encoders/tf-backend.ts';
import { Workspace } from '../store/workspace.ts';
import { gatherImages, loadTrainingData, makeInputs } from './training-data.ts';

export interface SanityCheckOptions {
  /** Workspace folder; synthetic inputs when absent. */
  workspace?: string;
  seed?: number;
  backend?: BackendChoice;
  /** Encoder fields (default: the research plan's five). */
  fields?: FieldName[];
  /** Image-embedding model in the workspace (default as `kfashion train` picks it). */
  model?: string;
  /** Items per check batch (default 16). */
  batchSize?: number;
  /** Where to write the JSON result; default `<workspace>/temp_logs/sanity_check_results.json`. */
  resultsPath?: string;
  /** Called as each check finishes, so the CLI can print them live. */
  onCheck?: (check: SanityCheck) => void;
}

export interface SanityCheck {
  name: string;
  pass: boolean;
  detail: string;
}

export interface SanityCheckResult {
  pass: boolean;
  checks: SanityCheck[];
  data: 'synthetic' | 'workspace';
  backend: string;
  seed: number;
  runId: string;
  timestamp: string;
  resultsPath?: string;
}

const OUTPUT_DIM = 512;
const NORM_TOLERANCE = 1e-5;
const SAME_TOLERANCE = 1e-5;
const TRAIN_STEPS = 15;
const OPT: OptimizerSettings = {
  lr: 1e-3,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipNorm: 1,
};
const TEMPERATURE = 0.07;

interface CheckData {
  config: JsonEncoderConfig;
  inputs: EncoderInputs;
  images: Float32Array;
}

/** Synthetic inputs: K-Fashion vocabulary sizes, random values, 1-3 values per multi field, unit images. */
export function syntheticSanityData(fields: readonly FieldName[], batch: number, seed: number): CheckData {
  const rng = Rng.derive(seed, 'sanity-synthetic');
  const vocabSizes = Object.fromEntries(fields.map((f) => [f, KNOWN_VALUES[f].length + 2]));
  const inputs: EncoderInputs = { batchSize: batch, fields: {} };
  for (const f of fields) {
    const slots = FIELDS[f].kind === 'single' ? 1 : 4;
    const indices = new Int32Array(batch * slots);
    for (let b = 0; b < batch; b++) {
      const n = slots === 1 ? 1 : rng.int(1, 3);
      for (let s = 0; s < n; s++) indices[b * slots + s] = rng.int(2, vocabSizes[f]! - 1);
    }
    inputs.fields[f] = { indices, slots };
  }
  const images = rng.unitRows(batch, OUTPUT_DIM);
  return { config: makeJsonEncoderConfig(vocabSizes, { fields: [...fields] }), inputs, images };
}

function workspaceSanityData(
  ws: Workspace,
  fields: readonly FieldName[],
  batch: number,
  model: string | undefined,
): CheckData {
  const data = loadTrainingData(ws, { fields, ...(model ? { model } : {}) });
  const n = Math.min(batch, data.train.ids.length);
  const rows = Array.from({ length: n }, (_, i) => i);
  return {
    config: makeJsonEncoderConfig(data.vocabSizes, { fields: [...fields] }),
    inputs: makeInputs(data.train, fields, rows),
    images: gatherImages(data.train, data.embedding.dim, rows),
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function sliceItem(inputs: EncoderInputs, item: number): EncoderInputs {
  const fields: EncoderInputs['fields'] = {};
  for (const [f, v] of Object.entries(inputs.fields))
    fields[f] = { slots: v.slots, indices: v.indices.slice(item * v.slots, (item + 1) * v.slots) };
  return { batchSize: 1, fields };
}

function cloneInputs(inputs: EncoderInputs): EncoderInputs {
  const fields: EncoderInputs['fields'] = {};
  for (const [f, v] of Object.entries(inputs.fields))
    fields[f] = { slots: v.slots, indices: v.indices.slice() };
  return { batchSize: inputs.batchSize, fields };
}

/** Runs every check; never throws for a failing check (only for unusable inputs, e.g. no workspace). */
export async function runSanityCheck(opts: SanityCheckOptions = {}): Promise<SanityCheckResult> {
  const seed = opts.seed ?? 0;
  const fields = opts.fields ?? [...DEFAULT_ENCODER_FIELDS];
  const batch = opts.batchSize ?? 16;
  if (!Number.isInteger(batch) || batch < 2)
    throw new Error(`sanity check: batch size must be ≥ 2, got ${batch}`);
  let data: CheckData;
  let resultsPath = opts.resultsPath;
  if (opts.workspace) {
    const ws = Workspace.open(opts.workspace, { create: false });
    try {
      data = workspaceSanityData(ws, fields, batch, opts.model);
      resultsPath ??= join(ws.paths.tempLogs, 'sanity_check_results.json');
    } finally {
      ws.close();
    }
  } else {
    data = syntheticSanityData(fields, batch, seed);
  }
  const { config, inputs, images } = data;
  const B = inputs.batchSize;
  const checks: SanityCheck[] = [];
  const record = (name: string, run: () => { pass: boolean; detail: string }) => {
    let c: SanityCheck;
    try {
      c = { name, ...run() };
    } catch (e) {
      c = { name, pass: false, detail: `error: ${e instanceof Error ? e.message : String(e)}` };
    }
    checks.push(c);
    opts.onCheck?.(c);
  };

  const model = await createJsonEncoder(config, { seed, backend: opts.backend ?? 'auto' });
  try {
    const base = model.encode(inputs);

    record('output shape 512 and L2 norm 1', () => {
      if (base.length !== B * OUTPUT_DIM)
        return { pass: false, detail: `expected ${B}×${OUTPUT_DIM} values, got ${base.length}` };
      let worst = 0;
      for (let b = 0; b < B; b++) {
        let n = 0;
        for (let k = 0; k < OUTPUT_DIM; k++) n += base[b * OUTPUT_DIM + k]! ** 2;
        worst = Math.max(worst, Math.abs(Math.sqrt(n) - 1));
      }
      return {
        pass: worst <= NORM_TOLERANCE,
        detail: `[${B}, ${OUTPUT_DIM}], max |norm − 1| = ${worst.toExponential(2)} (tolerance ${NORM_TOLERANCE})`,
      };
    });

    record('every field changes the output', () => {
      const quiet: string[] = [];
      const parts: string[] = [];
      for (const f of config.fields) {
        const changed = cloneInputs(inputs);
        const { indices } = changed.fields[f]!;
        const vocab = config.vocabSizes[f]!;
        // Item 0's first slot gets another value: <unk> (a trainable row), or 2 if it was <unk>, or
        // padding when the vocabulary has nothing else.
        const old = indices[0]!;
        indices[0] = old !== 1 ? 1 : vocab > 2 ? 2 : 0;
        const z = model.encode(changed);
        const diff = maxAbsDiff(z.subarray(0, OUTPUT_DIM), base.subarray(0, OUTPUT_DIM));
        parts.push(`${f} ${diff.toExponential(1)}`);
        if (!(diff > 1e-6)) quiet.push(f);
      }
      return {
        pass: quiet.length === 0,
        detail: quiet.length
          ? `no effect from: ${quiet.join(', ')} (max change ${parts.join(', ')})`
          : `max change of item 0's vector: ${parts.join(', ')}`,
      };
    });

    record('multi-valued fields are order-invariant and ignore padding', () => {
      const multi = config.fields.filter((f) => config.fieldKinds[f] === 'multi');
      if (multi.length === 0) return { pass: true, detail: 'no multi-valued field in this encoder' };
      const shuffled = cloneInputs(inputs);
      const rng = Rng.derive(seed, 'sanity-shuffle');
      for (const f of multi) {
        const { indices, slots } = inputs.fields[f]!;
        // Twice the slots, values reversed and interleaved with padding.
        const wide = slots * 2;
        const out = new Int32Array(B * wide);
        for (let b = 0; b < B; b++) {
          const vals = [...indices.subarray(b * slots, (b + 1) * slots)].filter((v) => v !== 0);
          rng.shuffle(vals).reverse();
          vals.forEach((v, i) => {
            out[b * wide + 2 * i + 1] = v;
          });
        }
        shuffled.fields[f] = { indices: out, slots: wide };
      }
      const diff = maxAbsDiff(model.encode(shuffled), base);
      return {
        pass: diff <= SAME_TOLERANCE,
        detail: `${multi.join(', ')}: values shuffled and padded to twice the slots, max change ${diff.toExponential(2)}`,
      };
    });

    record('an item gives the same vector alone and inside a batch (eval mode)', () => {
      let worst = 0;
      for (const item of [0, B - 1]) {
        const alone = model.encode(sliceItem(inputs, item));
        worst = Math.max(worst, maxAbsDiff(alone, base.subarray(item * OUTPUT_DIM, (item + 1) * OUTPUT_DIM)));
      }
      return {
        pass: worst <= SAME_TOLERANCE,
        detail: `max difference ${worst.toExponential(2)} (items 0 and ${B - 1})`,
      };
    });

    record('every trainable tensor gets a non-zero gradient', () => {
      const { loss, grads } = model.gradients(inputs, images, TEMPERATURE);
      const zero: string[] = [];
      const nonFinite: string[] = [];
      for (const [name, g] of Object.entries(grads)) {
        let any = false;
        for (const v of g.data) {
          if (!Number.isFinite(v)) {
            nonFinite.push(name);
            break;
          }
          if (v !== 0) any = true;
        }
        if (!any) zero.push(name);
      }
      const n = Object.keys(grads).length;
      return {
        pass: zero.length === 0 && nonFinite.length === 0 && Number.isFinite(loss),
        detail:
          zero.length || nonFinite.length
            ? `zero gradient: ${zero.join(', ') || 'none'}; non-finite: ${nonFinite.join(', ') || 'none'}`
            : `${n} tensors, all with non-zero finite gradients (${Object.keys(grads).join(', ')})`,
      };
    });

    const imagesBefore = images.slice();
    record('the loss is finite and falls over a few steps', () => {
      const before = model.loss(inputs, images, TEMPERATURE);
      const trace: number[] = [];
      for (let i = 0; i < TRAIN_STEPS; i++)
        trace.push(model.trainStep(inputs, images, TEMPERATURE, OPT).loss);
      const after = model.loss(inputs, images, TEMPERATURE);
      const finite = [before, after, ...trace].every(Number.isFinite);
      return {
        pass: finite && after < before,
        detail: `eval loss ${before.toFixed(4)} → ${after.toFixed(4)} after ${TRAIN_STEPS} steps (lr ${OPT.lr}, T ${TEMPERATURE}); training losses ${trace[0]!.toFixed(4)} … ${trace.at(-1)!.toFixed(4)}`,
      };
    });

    record('training leaves the image embeddings untouched', () => {
      const diff = maxAbsDiff(images, imagesBefore);
      return {
        pass: diff === 0,
        detail:
          diff === 0
            ? `${B} image vectors bit-identical after ${TRAIN_STEPS} training steps (the image encoder is frozen)`
            : `image vectors changed by up to ${diff}`,
      };
    });

    // The layered encoder's layers, each against central differences in float64.
    for (const g of layerGradientChecks(seed))
      record(`gradient: ${g.name}`, () => ({
        pass: g.worst < GRADIENT_TOLERANCE,
        detail: `worst relative error vs central differences ${g.worst.toExponential(2)} (tolerance ${GRADIENT_TOLERANCE})`,
      }));

    const timestamp = new Date().toISOString();
    const result: SanityCheckResult = {
      pass: checks.every((c) => c.pass),
      checks,
      data: opts.workspace ? 'workspace' : 'synthetic',
      backend: describeBackend(model.backend),
      seed,
      runId: `sanity-${timestamp.replace(/[:.]/g, '-')}`,
      timestamp,
      ...(resultsPath ? { resultsPath } : {}),
    };
    if (resultsPath) {
      mkdirSync(dirname(resultsPath), { recursive: true });
      writeFileSync(
        resultsPath,
        `${JSON.stringify({ ...result, config, batchSize: B, workspace: opts.workspace ?? null }, null, 2)}\n`,
      );
    }
    return result;
  } finally {
    model.dispose();
  }
}

/** The console lines the CLI prints: one per check, then `SANITY CHECK PASS` or `SANITY CHECK FAIL`. */
export function formatSanityCheck(result: SanityCheckResult): string {
  const lines = result.checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  lines.push(
    `data: ${result.data}; backend: ${result.backend}; seed ${result.seed}${result.resultsPath ? `; written to ${result.resultsPath}` : ''}`,
  );
  lines.push(result.pass ? 'SANITY CHECK PASS' : 'SANITY CHECK FAIL');
  return lines.join('\n');
}
