/**
 * `kfashion eval`: the trained JSON encoder on the validation split, as EVALUATION.md prescribes —
 * JSON → image (main) and image → JSON, gallery or in-batch protocol, every Recall@K and MRR beside
 * its ceiling, Precision@K, similarities, embedding health, per style folder and per garment category,
 * and the query-aware subsets (all / anchor / high-quality / category-balanced). Writes
 * results/evaluation_<stamp>.json and .png and records the run in the workspace.
 */
import { mkdirSync } from 'node:fs';
import { relative } from 'node:path';
import type { DataCheck } from '../../src-shared/evaluation.ts';
import {
  DEFAULT_EVAL_BATCH,
  type DirectionFigures,
  EVAL_KS,
  type EvalProtocol,
  type EvaluationReport,
  type PerKLabels,
  type QueryAwareFigures,
  type QuerySubsetFigures,
  type RetrievalFigures,
} from '../../src-shared/evaluation.ts';
import { FIELDS, type FieldName, type GarmentAttributes } from '../../src-shared/fields.ts';
import { CancelledError, type WorkOptions } from '../../src-shared/jobs.ts';
import { barsPanel, COLORS, figureSvg, histogramPanel, svgToPng } from '../charts/evaluation-charts.ts';
import { Rng } from '../dataset/rng.ts';
import {
  embeddingHealth,
  emptyResults,
  HIST_BINS,
  type QueryResults,
  rankTask,
  rankTaskWith,
  summarise,
  TIE_RULE,
} from '../retrieval/retrieval-metrics.ts';
import { MIN_ORT_CANDIDATES, openBlockScorer } from '../retrieval/score-blocks.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CentralityStore } from '../store/centrality-store.ts';
import { getMeta } from '../store/database.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { fingerprintDifferences, fingerprintOf } from '../training/data-fingerprint.ts';
import {
  currentRunId,
  hasBestCheckpoint,
  readRunConfig,
  readSplitIds,
  resolveRun,
  runPaths,
  runsStore,
} from '../training/runs.ts';
import type { EncoderFactory } from '../training/trainer.ts';
import { loadTrainingData } from '../training/training-data.ts';
import { ANCHOR_FRACTION, anchorItems } from './centrality.ts';
import { type CheckpointEncoder, openCheckpointEncoder } from './checkpoint-encoder.ts';
import { protocolLabels } from './figure-rows.ts';
import { type Direction, type EvalSet, galleryPlan, inBatchPlan, type ProtocolPlan } from './protocols.ts';
import {
  fileStamp,
  recordEvaluation,
  SYNTHETIC_EVAL_NOTE,
  uniqueResultPath,
  writeJsonAtomic,
} from './results.ts';

export class EvaluationError extends Error {
  override name = 'EvaluationError';
}

export const DEFAULT_EVAL_SEED = 42;

export interface EvaluateOptions extends WorkOptions {
  /** A checkpoint file or folder; default the current run's best checkpoint. */
  checkpoint?: string;
  /** Evaluate this run's best checkpoint (id, number, start of the id, "current"). */
  run?: string;
  /** Refuse when the run's data (split items, vectors) differs from the workspace's. */
  strict?: boolean;
  /** Said as soon as it is known (the CLI prints it to stderr); also in the report. */
  onWarning?: (message: string) => void;
  protocol?: EvalProtocol;
  /** In-batch batch size B (default 64, at least 32). */
  batchSize?: number;
  /** Seed of the in-batch shuffle and the category-balanced draw (default 42). */
  seed?: number;
  backend?: string;
  createEncoder?: EncoderFactory;
  /** Write the result files and the run record (default true). */
  write?: boolean;
  now?: Date;
}

/** The validation split as evaluation needs it, with labels for the per-group figures. */
export interface ValidationData {
  set: EvalSet;
  model: string;
  synthetic: boolean;
  styleFolders: string[];
  categories: string[];
  /** Every encoder field present. */
  highQuality: boolean[];
}

const NO_CATEGORY = '(no category)';

export function loadValidationData(ws: Workspace, encoder: CheckpointEncoder): ValidationData {
  const model = encoder.info.imageEmbedding.model;
  const embeddings = new EmbeddingStore(ws.db);
  const models = embeddings.models();
  const info = models.find((m) => m.model === model);
  if (!info) {
    const have = models.map((m) => m.model).join(', ') || 'none';
    throw new EvaluationError(
      `The checkpoint (run ${encoder.info.runId}) was trained against "${model}" image embeddings; this workspace has none (it has: ${have}). Evaluate it in the workspace it was trained in, or embed with that model.`,
    );
  }
  if (info.dim !== encoder.dim) {
    throw new EvaluationError(
      `"${model}" embeddings here are ${info.dim}-d but the checkpoint outputs ${encoder.dim}-d vectors.`,
    );
  }
  const have = embeddings.cropKeys(model);
  const ids: string[] = [];
  const attrs: GarmentAttributes[] = [];
  const styleFolders: string[] = [];
  const missing: string[] = [];
  for (const it of new DatasetStore(ws.db).iterateItems({ split: 'val' })) {
    if (!have.has(it.id)) {
      missing.push(it.id);
      continue;
    }
    ids.push(it.id);
    attrs.push(it.attributes);
    styleFolders.push(it.styleFolder);
  }
  if (missing.length > 0) {
    throw new EvaluationError(
      `${missing.length} of ${missing.length + ids.length} validation items have no "${model}" image embedding, e.g. ${missing.slice(0, 5).join(', ')}. Embed them first ("kfashion embed --workspace ${ws.root}").`,
    );
  }
  if (ids.length < 2) {
    throw new EvaluationError(
      `The workspace has ${ids.length} validation items with embeddings; evaluation needs at least 2. Redraw the split ("kfashion split").`,
    );
  }
  const classes = (keys: string[]) => {
    const map = new Map<string, number>();
    return Int32Array.from(keys, (k) => {
      let v = map.get(k);
      if (v === undefined) {
        v = map.size;
        map.set(k, v);
      }
      return v;
    });
  };
  const list = (v: string | string[] | undefined) =>
    v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
  const fields = encoder.info.fields as FieldName[];
  return {
    model,
    synthetic: info.source === 'synthetic' || encoder.info.imageEmbedding.synthetic,
    styleFolders,
    categories: attrs.map((a) => list(a.category)[0] ?? NO_CATEGORY),
    highQuality: attrs.map((a) =>
      fields.every((f) => {
        const v = a[f];
        return FIELDS[f].kind === 'single' ? typeof v === 'string' && v !== '' : list(v).length > 0;
      }),
    ),
    set: {
      dim: encoder.dim,
      ids,
      json: encoder.encode(attrs),
      images: embeddings.matrix(model, ids),
      strict: classes(attrs.map((a) => encoder.inputKey(a))),
      loose: classes(attrs.map((a) => `${list(a.category)[0] ?? ''}|${list(a.style).sort().join(',')}`)),
    },
  };
}

export function planFor(
  set: EvalSet,
  direction: Direction,
  protocol: EvalProtocol,
  batchSize: number,
  seed: number,
): ProtocolPlan {
  return protocol === 'gallery' ? galleryPlan(set, direction) : inBatchPlan(set, direction, batchSize, seed);
}

/** Ranks every query of a plan; yields to the event loop between tasks so a cancel gets through. */
export async function runPlan(
  plan: ProtocolPlan,
  n: number,
  work: WorkOptions & { phase: string },
): Promise<QueryResults> {
  const res = emptyResults(n, EVAL_KS);
  const total = plan.tasks.length;
  work.onProgress?.(work.phase, 0, total);
  const cancelled = () => {
    if (work.signal?.aborted) throw new CancelledError('evaluation cancelled; nothing was written.');
  };
  for (let i = 0; i < total; i++) {
    cancelled();
    const task = plan.tasks[i]!;
    if (task.candidates.length / task.dim >= MIN_ORT_CANDIDATES) {
      // A large gallery: its dot products on ONNX Runtime, with progress within the task.
      const scorer = await openBlockScorer(task.candidates, task.dim);
      try {
        await rankTaskWith(task, res, scorer.scores, scorer.blockRows, (done, queries) => {
          cancelled();
          // Counted in queries while a gallery task runs (a gallery plan is one task per direction).
          work.onProgress?.(work.phase, done, queries);
        });
      } finally {
        await scorer.close();
      }
    } else rankTask(task, res);
    work.onProgress?.(work.phase, i + 1, total);
    await new Promise<void>((r) => setImmediate(r));
  }
  return res;
}

function groupBy(labels: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  labels.forEach((l, i) => {
    const rows = m.get(l);
    if (rows) rows.push(i);
    else m.set(l, [i]);
  });
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function perGroup(res: QueryResults, labels: readonly string[]): Record<string, RetrievalFigures> {
  return Object.fromEntries([...groupBy(labels)].map(([k, rows]) => [k, summarise(res, rows)]));
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
const points = (a: number, b: number) => Math.round((a - b) * 1000) / 10;

function queryAware(
  res: QueryResults,
  data: ValidationData,
  anchor: { ids: Set<string>; threshold: number },
  seed: number,
  protocolLabel: string,
): QueryAwareFigures {
  const ids = data.set.ids;
  const anchorRows = ids.flatMap((id, i) => (anchor.ids.has(id) ? [i] : []));
  const hq = data.highQuality.flatMap((h, i) => (h ? [i] : []));
  const byStyle = groupBy(data.styleFolders);
  const per = Math.min(...[...byStyle.values()].map((r) => r.length));
  const balanced = [...byStyle].flatMap(([s, rows]) =>
    Rng.derive('category-balanced', seed, s)
      .shuffle([...rows])
      .slice(0, per),
  );
  const sub = (rows: number[] | null, description: string): QuerySubsetFigures => ({
    description,
    ...summarise(res, rows ?? undefined),
  });
  const subsets = {
    all: sub(null, `every validation query (${protocolLabel})`),
    anchor: sub(
      anchorRows,
      `queries whose own image is in the anchor set (top ${ANCHOR_FRACTION * 100} % of all ${data.model} image embeddings by centrality)`,
    ),
    high_quality: sub(hq, 'queries with every encoder field present'),
    category_balanced: sub(
      balanced,
      `${per} queries drawn from each of the ${byStyle.size} style folders (seed ${seed})`,
    ),
  };
  const a = subsets.anchor;
  const all = subsets.all;
  const diff = {
    top1: points(a.recall['1'], all.recall['1']),
    recall5: points(a.recall['5'], all.recall['5']),
    recall10: points(a.recall['10'], all.recall['10']),
  };
  const beats = a.queries > 0 && a.recall['10'] > all.recall['10'];
  const sign = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  const statement =
    a.queries === 0
      ? 'No validation query is in the anchor set: the anchor comparison cannot be made.'
      : `Anchor queries ${beats ? 'beat' : 'do NOT beat'} all queries: Recall@10 ${pct(a.recall['10'])} vs ${pct(all.recall['10'])} (${sign(diff.recall10)} points), Recall@5 ${sign(diff.recall5)} points, Top-1 ${sign(diff.top1)} points, over ${a.queries} anchor queries.`;
  return {
    subsets,
    anchor_minus_all_points: diff,
    anchor_beats_all: beats,
    statement,
    anchor: {
      model: data.model,
      fraction: ANCHOR_FRACTION,
      items: anchor.ids.size,
      threshold: anchor.threshold,
    },
    category_balanced: { seed, per_style: per, styles: [...byStyle.keys()] },
  };
}

/**
 * Compares the data the checkpoint's run trained on (its fingerprint) with the workspace's now. When
 * they differ (a re-split, a re-scan, new vectors), the figures may be inflated: validation items the
 * run trained on are counted, and the warning says how many.
 */
export function checkRunData(
  ws: Workspace,
  encoder: CheckpointEncoder,
  valIds: readonly string[],
): DataCheck {
  const info = encoder.info;
  const recorded = info.data ?? readRunConfig(ws, info.runId)?.data ?? null;
  let differences: string[];
  if (!recorded) {
    return {
      same: null,
      differences: [],
      val_items_trained_on: null,
      warning: null,
      note: `Run ${info.runId} did not record its data (made before runs did), so the data cannot be compared.`,
    };
  }
  try {
    const here = fingerprintOf(
      ws,
      loadTrainingData(ws, { fields: info.fields as FieldName[], model: info.imageEmbedding.model }),
    );
    differences = fingerprintDifferences(recorded, here);
  } catch (e) {
    differences = [`the workspace's data cannot be read as training data now (${(e as Error).message})`];
  }
  if (differences.length === 0) {
    return { same: true, differences, val_items_trained_on: 0, warning: null, note: null };
  }
  const split = readSplitIds(ws, info.runId);
  let overlap: number | null = null;
  if (split) {
    const trained = new Set(split.train);
    overlap = valIds.filter((id) => trained.has(id)).length;
  }
  const warning = `The workspace's data differs from what run ${info.runId} trained on: ${differences.join('; ')}. ${
    overlap === null
      ? 'How many of these validation items it trained on is unknown (the run did not record its item ids).'
      : `${overlap} of the ${valIds.length} validation items here were in that run's training set${overlap > 0 ? ', so these figures are inflated' : ''}.`
  }`;
  return { same: false, differences, val_items_trained_on: overlap, warning, note: null };
}

/** A sentence when the ceiling makes ambitious targets meaningless, else null. */
export function ceilingNote(f: RetrievalFigures, sharedShare: number): string | null {
  const c1 = f.ceiling.recall['1'];
  const c10 = f.ceiling.recall['10'];
  if (c10 >= 0.9 && c1 >= 0.5) return null;
  return `The data's ceiling is low: no JSON-only model can exceed Top-1 ${pct(c1)}, Recall@10 ${pct(c10)} or MRR ${f.ceiling.mrr.toFixed(3)} on these queries, because ${pct(sharedShare)} of them share their encoder input (attribute JSON) with another garment among the candidates. A target such as "Recall@10 of 75-80 %" ${c10 < 0.75 ? 'is out of reach here' : c10 < 0.8 ? 'is only partly reachable here' : 'leaves little room here'}; judge figures as a % of the ceiling.`;
}

/** Share of queries whose ceiling group holds another query. */
function sharedShare(res: QueryResults): number {
  const size = new Map<number, number>();
  for (const g of res.ceilingGroup) size.set(g, (size.get(g) ?? 0) + 1);
  let shared = 0;
  for (const g of res.ceilingGroup) if (size.get(g)! > 1) shared++;
  return res.n ? shared / res.n : 0;
}

function histogram(res: QueryResults): EvaluationReport['similarity_histogram'] {
  return {
    edges: Array.from({ length: HIST_BINS + 1 }, (_, i) => -1 + (2 * i) / HIST_BINS),
    positive: Array.from(res.positiveHist),
    negative: Array.from(res.negativeHist),
  };
}

export interface MainFigures {
  figures: RetrievalFigures;
  results: QueryResults;
  data: ValidationData;
  plan: ProtocolPlan;
}

/** JSON → image figures only (what the temperature study needs per run). */
export async function evaluateMain(
  ws: Workspace,
  encoder: CheckpointEncoder,
  opts: { protocol?: EvalProtocol; batchSize?: number; seed?: number } & WorkOptions = {},
): Promise<MainFigures> {
  const data = loadValidationData(ws, encoder);
  const plan = planFor(
    data.set,
    'json-to-image',
    opts.protocol ?? 'gallery',
    opts.batchSize ?? DEFAULT_EVAL_BATCH,
    opts.seed ?? DEFAULT_EVAL_SEED,
  );
  const results = await runPlan(plan, data.set.ids.length, { ...opts, phase: 'rank JSON → image' });
  return { figures: summarise(results), results, data, plan };
}

export async function evaluate(ws: Workspace, opts: EvaluateOptions = {}): Promise<EvaluationReport> {
  const started = performance.now();
  const now = opts.now ?? new Date();
  const timestamp = now.toISOString();
  const stamp = fileStamp(now);
  const runId = `eval-${stamp}`;
  const protocol = opts.protocol ?? 'gallery';
  const batchSize = opts.batchSize ?? DEFAULT_EVAL_BATCH;
  const seed = opts.seed ?? DEFAULT_EVAL_SEED;
  const work = { signal: opts.signal, onProgress: opts.onProgress };

  work.onProgress?.('load checkpoint', 0, 1);
  if (opts.run !== undefined && opts.checkpoint !== undefined) {
    throw new EvaluationError('Give --run or --checkpoint, not both.');
  }
  const currentRun = currentRunId(ws);
  let checkpoint = opts.checkpoint;
  if (opts.run !== undefined) {
    const row = resolveRun(ws, opts.run, '--run');
    if (!hasBestCheckpoint(ws, row.id)) {
      throw new EvaluationError(
        `--run ${opts.run}: run ${row.id} (${row.status}) has no best checkpoint: no epoch of it finished.`,
      );
    }
    checkpoint = runPaths(ws, row.id).checkpoints;
  } else if (checkpoint === undefined && currentRun && hasBestCheckpoint(ws, currentRun)) {
    checkpoint = runPaths(ws, currentRun).checkpoints;
  }
  const encoder = await openCheckpointEncoder(ws, {
    checkpoint,
    backend: opts.backend,
    createEncoder: opts.createEncoder,
  });
  try {
    work.onProgress?.('encode validation JSON', 0, 1);
    const data = loadValidationData(ws, encoder);
    const dataCheck = checkRunData(ws, encoder, data.set.ids);
    if (dataCheck.warning) {
      if (opts.strict) throw new EvaluationError(`${dataCheck.warning} Refused (--strict).`);
      opts.onWarning?.(dataCheck.warning);
    }
    const evaluatedRun = encoder.info.runId;
    const runRow = runsStore(ws).get(evaluatedRun);
    const isCurrent = evaluatedRun === currentRun;
    const n = data.set.ids.length;
    const planOf = (d: Direction) => planFor(data.set, d, protocol, batchSize, seed);
    const mainPlan = planOf('json-to-image');
    const main = await runPlan(mainPlan, n, { ...work, phase: 'rank JSON → image' });
    const revPlan = planOf('image-to-json');
    const rev = await runPlan(revPlan, n, { ...work, phase: 'rank image → JSON' });

    const protocolLabel = protocol === 'gallery' ? `gallery, N=${n}` : `in-batch, B=${batchSize}`;
    const labels: PerKLabels = protocolLabels(protocolLabel);
    const figures = summarise(main);
    const distinct = new Set(data.set.strict).size;
    const reverse: DirectionFigures = {
      direction: 'image-to-json',
      candidates: protocol === 'gallery' ? distinct : batchSize,
      description:
        protocol === 'gallery'
          ? `each validation image ranks the ${distinct} distinct attribute JSONs of the validation set (garments with identical encoder input share one JSON vector, so they are one candidate); the answer is its own JSON; ceiling 100 %`
          : `each validation image ranks the distinct attribute JSONs of its batch of ${batchSize}; the answer is its own JSON; ceiling 100 %`,
      ...summarise(rev),
      per_style: perGroup(rev, data.styleFolders),
      per_category: perGroup(rev, data.categories),
    };

    work.onProgress?.('query-aware', 0, 1);
    // The anchor set of the stored centrality (computed and stored now when missing or stale).
    const anchors = anchorItems(ws, data.model);
    const threshold = new CentralityStore(ws.db).anchorThreshold(data.model) as number;
    const qa = queryAware(main, data, { ids: new Set(anchors), threshold }, seed, protocolLabel);

    const info = encoder.info;
    const synthetic = data.synthetic || (getMeta<boolean>(ws.db, 'synthetic') ?? false);
    // An evaluation belongs to its run: runs/<id>/evaluations/ (results/ for a checkpoint outside any run).
    const evalDir = runRow?.folder ? runPaths(ws, evaluatedRun).evaluations : ws.paths.results;
    mkdirSync(evalDir, { recursive: true });
    const jsonPath = uniqueResultPath(evalDir, `evaluation_${stamp}`, '.json');
    const chartPath = jsonPath.replace(/\.json$/, '.png');
    const report: EvaluationReport = {
      kind: 'evaluation',
      run_id: runId,
      timestamp,
      synthetic,
      ...(synthetic ? { note: SYNTHETIC_EVAL_NOTE } : {}),
      workspace: ws.root,
      checkpoint: {
        path: encoder.infoPath,
        weights: encoder.weightsPath,
        run_id: info.runId,
        kind: info.kind,
        epoch: info.epoch,
        timestamp: info.timestamp,
        temperature: info.config.temperature,
        fields: info.fields,
        image_embedding: info.imageEmbedding,
      },
      run: {
        id: evaluatedRun,
        seq: runRow?.seq ?? null,
        checkpoint_epoch: info.epoch,
        current: isCurrent,
        current_run: currentRun,
      },
      stale: !isCurrent,
      data_check: dataCheck,
      protocol,
      protocol_label: protocolLabel,
      labels,
      batch_size: protocol === 'in-batch' ? batchSize : null,
      batch_seed: protocol === 'in-batch' ? seed : null,
      batches: mainPlan.batches,
      tie_rule: TIE_RULE,
      direction: 'json-to-image',
      candidates: mainPlan.candidates,
      ...figures,
      per_style: perGroup(main, data.styleFolders),
      per_category: perGroup(main, data.categories),
      image_to_json: reverse,
      health: {
        json: embeddingHealth(data.set.json, data.set.dim),
        image: embeddingHealth(data.set.images, data.set.dim),
      },
      query_aware: qa,
      ceiling_note: ceilingNote(figures, sharedShare(main)),
      similarity_histogram: histogram(main),
      files: { json: relative(ws.root, jsonPath), chart: relative(ws.root, chartPath) },
      elapsed_ms: 0,
    };
    report.elapsed_ms = Math.round(performance.now() - started);
    if (opts.write !== false) {
      work.onProgress?.('write results', 0, 1);
      writeFileAtomic(chartPath, await svgToPng(evaluationChartSvg(report)));
      writeJsonAtomic(jsonPath, report);
      recordEvaluation(ws, {
        runId,
        kind: 'evaluation',
        createdAt: timestamp,
        checkpoint: info.runId,
        checkpointEpoch: info.epoch,
        protocol: protocolLabel,
        synthetic,
        file: report.files.json,
        summary: {
          queries: report.queries,
          recall: report.recall,
          mrr: report.mrr,
          ceiling: report.ceiling,
        },
      });
      work.onProgress?.('write results', 1, 1);
    }
    return report;
  } finally {
    encoder.close();
  }
}

/** Similarity distributions, per-style and per-category Recall@K bars with their ceilings. */
export function evaluationChartSvg(r: EvaluationReport): string {
  const W = 1800;
  const series = [
    { name: 'Recall@1', color: COLORS.blue },
    { name: 'Recall@5', color: COLORS.green },
    { name: 'Recall@10', color: COLORS.orange },
  ];
  const bars = (groups: Record<string, RetrievalFigures>) =>
    Object.entries(groups).map(([label, f]) => ({
      label,
      note: String(f.queries),
      values: [f.recall['1'], f.recall['5'], f.recall['10']],
      ceilings: [f.ceiling.recall['1'], f.ceiling.recall['5'], f.ceiling.recall['10']],
    }));
  const h = r.similarity_histogram;
  return figureSvg({
    width: W,
    height: 1400,
    title: `Evaluation, JSON → image (${r.protocol_label}) — ${r.run_id}`,
    subtitle: `checkpoint ${r.checkpoint.run_id} epoch ${r.checkpoint.epoch} · ${r.checkpoint.image_embedding.model}${r.synthetic ? ' (SYNTHETIC embeddings)' : ''} · ${r.queries} queries · Top-1 ${pct(r.recall['1'])} / ceiling ${pct(r.ceiling.recall['1'])} · Top-5 ${pct(r.recall['5'])} / ${pct(r.ceiling.recall['5'])} · MRR ${r.mrr.toFixed(3)} / ${r.ceiling.mrr.toFixed(3)}`,
    synthetic: r.synthetic,
    panels: [
      histogramPanel(
        { x: 8, y: 96, w: W / 2 - 16, h: 600 },
        {
          title: 'Cosine similarity: matching vs non-matching pairs',
          xLabel: 'cosine (JSON vector, image embedding)',
          yLabel: 'share of pairs',
          edges: h.edges,
          series: [
            {
              name: `positive (mean ${r.positive_similarity.toFixed(3)})`,
              color: COLORS.green,
              counts: h.positive,
            },
            {
              name: `negative (mean ${r.negative_similarity.toFixed(3)})`,
              color: COLORS.red,
              counts: h.negative,
            },
          ],
        },
      ),
      barsPanel(
        { x: W / 2 + 8, y: 96, w: W / 2 - 16, h: 600 },
        { title: 'Per style folder (queries)', yLabel: 'Recall@K', series, groups: bars(r.per_style) },
      ),
      barsPanel(
        { x: 8, y: 710, w: W - 16, h: 680 },
        {
          title: 'Per garment category (queries); black ticks = ceiling',
          yLabel: 'Recall@K',
          series,
          groups: bars(r.per_category),
        },
      ),
    ],
  });
}
