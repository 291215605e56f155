/**
 * `kfashion baseline`: fits the ridge baseline (ridge-baseline.ts) on the workspace's training split
 * and stores it as a run of kind `baseline` (a row and runs/<id>/ with config.json, run.json and
 * results/baseline.json), evaluated with the gallery protocol like any trained run, so its figures
 * stand beside the models' in `runs list` and `runs compare`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RetrievalFigures } from '../../src-shared/evaluation.ts';
import type { FieldName } from '../../src-shared/fields.ts';
import { writeJsonAtomic } from '../store/atomic-file.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { relPath, runPaths, runsStore, writeRunConfig, writeRunStatus } from '../training/runs.ts';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from '../training/train-config.ts';
import { loadTrainingData } from '../training/training-data.ts';
import { multiHot, RIDGE_LAMBDA_GRID, type RidgeSelectMetric, ridgeBaseline } from './ridge-baseline.ts';

export interface BaselineOptions {
  fields?: FieldName[];
  model?: string;
  metric?: RidgeSelectMetric;
  now?: Date;
}

export interface BaselineResult {
  runId: string;
  seq: number;
  fields: string[];
  model: string;
  synthetic: boolean;
  lambda: number;
  relativeLambda: number;
  selectedBy: RidgeSelectMetric;
  tried: { relativeLambda: number; lambda: number; value: number }[];
  figures: RetrievalFigures;
  protocol: string;
  train: number;
  val: number;
  ms: number;
  file: string;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');

export async function fitBaselineRun(ws: Workspace, opts: BaselineOptions = {}): Promise<BaselineResult> {
  const t0 = performance.now();
  const now = opts.now ?? new Date();
  const config = resolveTrainConfig({
    overrides: { fields: opts.fields ?? [...DEFAULT_TRAIN_CONFIG.fields], model: opts.model },
  });
  const data = loadTrainingData(ws, { fields: config.fields, model: config.model });
  const fields = data.fields as string[];
  const dim = data.embedding.dim;
  const tr = multiHot(data.train.indices, fields, data.vocabSizes, data.train.ids.length);
  const va = multiHot(data.val.indices, fields, data.vocabSizes, data.val.ids.length);
  // Loose relevance (same category and style), as evaluation defines it.
  const attrs = new Map<string, string>();
  const list = (v: string | string[] | undefined) =>
    v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
  for (const it of new DatasetStore(ws.db).iterateItems({ split: 'val' })) {
    attrs.set(
      it.id,
      `${list(it.attributes.category)[0] ?? ''}|${list(it.attributes.style).sort().join(',')}`,
    );
  }
  const looseIds = new Map<string, number>();
  const loose = Int32Array.from(data.val.ids, (id) => {
    const k = attrs.get(id) ?? '';
    if (!looseIds.has(k)) looseIds.set(k, looseIds.size);
    return looseIds.get(k)!;
  });
  const metric = opts.metric ?? 'mrr';
  const r = ridgeBaseline({
    train: { x: tr.x, images: data.train.images, n: data.train.ids.length },
    val: { x: va.x, images: data.val.images, ids: data.val.ids, loose },
    p: tr.p,
    dim,
    metric,
  });
  const ms = performance.now() - t0;

  const runId = `baseline-${stamp(now)}-${randomBytes(2).toString('hex')}`;
  const p = runPaths(ws, runId);
  mkdirSync(join(p.dir, 'results'), { recursive: true });
  const store = runsStore(ws);
  const startedAt = now.toISOString();
  const runConfig = { ...config, model: data.embedding.model };
  const backend = 'closed-form ridge (CPU, float64)';
  const seq = store.insert({
    id: runId,
    kind: 'baseline',
    config: {
      ...runConfig,
      baseline: { method: 'ridge', lambdaGrid: [...RIDGE_LAMBDA_GRID], selectedBy: metric },
    },
    backend,
    startedAt,
    tags: ['baseline'],
    folder: relPath(ws, p.dir),
    pid: process.pid,
    host: hostname(),
  });
  writeRunConfig(ws, {
    format: 'kfashion-run-config',
    version: 1,
    runId,
    kind: 'baseline',
    createdAt: startedAt,
    config: runConfig,
    encoder: null,
    imageEmbedding: {
      model: data.embedding.model,
      source: data.embedding.source,
      synthetic: data.embedding.synthetic,
    },
    backend,
    augmentation: null,
    data: null,
    parent: null,
    replayOf: null,
    study: null,
  });
  const f = r.figures;
  const protocol = `gallery, N=${f.queries}`;
  const file = join(p.dir, 'results', 'baseline.json');
  const result: BaselineResult = {
    runId,
    seq,
    fields,
    model: data.embedding.model,
    synthetic: data.embedding.synthetic,
    lambda: r.fit.lambda,
    relativeLambda: r.fit.relativeLambda,
    selectedBy: metric,
    tried: r.tried,
    figures: f,
    protocol,
    train: data.train.ids.length,
    val: data.val.ids.length,
    ms: Math.round(ms),
    file: relPath(ws, file),
  };
  writeJsonAtomic(file, { ...result, timestamp: new Date().toISOString(), run_id: runId });
  store.finish(runId, {
    status: 'done',
    finishedAt: new Date().toISOString(),
    summary: {
      method: 'ridge',
      lambda: r.fit.lambda,
      relativeLambda: r.fit.relativeLambda,
      selectedBy: metric,
      ceiling: f.ceiling,
    },
    bestEpoch: null,
    epochsRun: 0,
    // No training loss exists for a closed-form fit: valLoss is NaN (stored as null).
    headline: {
      epoch: 0,
      valLoss: Number.NaN,
      top1: f.recall['1'],
      top5: f.recall['5'],
      mrr: f.mrr,
      recall10: f.recall['10'],
      protocol: `${protocol} (ridge baseline, λ chosen on validation)`,
    },
  });
  writeRunStatus(ws, store.get(runId)!);
  return result;
}
