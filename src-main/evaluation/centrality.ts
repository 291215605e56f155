/**
 * The best-seller proxy by embedding centrality (EVALUATION.md): with no sales data, the garments
 * whose image embeddings sit nearest the centre of all of them stand in for best-sellers.
 *
 *   centre      = normalise(mean of the L2-normalised image embeddings)
 *   centrality  = cosine(image embedding, centre)
 *   anchor set  = the top 10 % by centrality (⌈0.1·N⌉ items; ties broken by item id)
 *
 * Computed over every item that has an embedding of the training image-embedding model (train and
 * validation alike: the proxy describes the catalogue, not a split), stored per item in the workspace
 * (item_centrality, centrality_centres) so recommendation and query-aware evaluation read the same set.
 */
import { relative } from 'node:path';
import type { CentralityReport, CentralityStats } from '../../src-shared/evaluation.ts';
import type { WorkOptions } from '../../src-shared/jobs.ts';
import { COLORS, figureSvg, histogramPanel, svgToPng } from '../charts/evaluation-charts.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CentralityStore } from '../store/centrality-store.ts';
import { getMeta } from '../store/database.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { checkpointExists, loadCheckpoint } from '../training/checkpoints.ts';
import { chooseEmbeddingModel } from '../training/training-data.ts';
import {
  fileStamp,
  recordEvaluation,
  SYNTHETIC_EVAL_NOTE,
  uniqueResultPath,
  writeJsonAtomic,
} from './results.ts';

export const ANCHOR_FRACTION = 0.1;

export class CentralityError extends Error {
  override name = 'CentralityError';
}

/** Centre and centrality of [n × dim] vectors (each row normalised first, defensively). */
export function centralityOf(
  vectors: Float32Array,
  dim: number,
): { centre: Float32Array; values: Float64Array } {
  const n = vectors.length / dim;
  if (!Number.isInteger(n) || n === 0) {
    throw new CentralityError(`centrality needs at least one ${dim}-d vector, got ${vectors.length} floats`);
  }
  const norms = new Float64Array(n);
  const sum = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[i * dim + d]! ** 2;
    norms[i] = Math.sqrt(s) || 1;
    for (let d = 0; d < dim; d++) sum[d]! += vectors[i * dim + d]! / norms[i]!;
  }
  let cn = 0;
  for (let d = 0; d < dim; d++) cn += sum[d]! ** 2;
  cn = Math.sqrt(cn);
  if (cn === 0)
    throw new CentralityError(
      'the embeddings cancel out: their mean is the zero vector, so there is no centre',
    );
  const centre = new Float32Array(dim);
  for (let d = 0; d < dim; d++) centre[d] = sum[d]! / cn;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[i * dim + d]! * centre[d]!;
    values[i] = s / norms[i]!;
  }
  return { centre, values };
}

/** Rows by centrality, highest first (ties by id), and how many form the anchor set. */
export function anchorOrder(
  values: ArrayLike<number>,
  ids: readonly string[],
  fraction = ANCHOR_FRACTION,
): { order: number[]; count: number } {
  const order = Array.from({ length: values.length }, (_, i) => i).sort(
    (a, b) => values[b]! - values[a]! || (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0),
  );
  const count = values.length === 0 ? 0 : Math.max(1, Math.ceil(values.length * fraction - 1e-9));
  return { order, count };
}

export function centralityStats(values: ArrayLike<number>, rows?: readonly number[]): CentralityStats {
  const idx = rows ?? Array.from({ length: values.length }, (_, i) => i);
  const n = idx.length;
  if (n === 0) return { count: 0, mean: 0, min: 0, max: 0, std: 0 };
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const i of idx) {
    const v = values[i]!;
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / n;
  let ss = 0;
  for (const i of idx) ss += (values[i]! - mean) ** 2;
  return { count: n, mean, min, max, std: Math.sqrt(ss / n) };
}

/** The image-embedding model centrality uses: asked for, else the best checkpoint's, else the only one. */
export function centralityModel(ws: Workspace, wanted?: string): string {
  const models = new EmbeddingStore(ws.db).models();
  if (wanted === undefined && checkpointExists(ws.paths.checkpoints, 'best')) {
    const m = loadCheckpoint(ws.paths.checkpoints, 'best').info.imageEmbedding.model;
    if (models.some((x) => x.model === m)) return m;
  }
  try {
    return chooseEmbeddingModel(models, wanted).model;
  } catch (e) {
    throw new CentralityError((e as Error).message);
  }
}

export interface CentralityData {
  model: string;
  dim: number;
  ids: string[];
  styleFolders: string[];
  values: Float64Array;
  centre: Float32Array;
  order: number[];
  anchorCount: number;
  synthetic: boolean;
}

/** Reads every item's embedding of `model` and computes centrality (nothing is written). */
export function computeCentralityData(ws: Workspace, model: string): CentralityData {
  const store = new EmbeddingStore(ws.db);
  const info = store.models().find((m) => m.model === model);
  if (!info) throw new CentralityError(`No "${model}" image embeddings in this workspace.`);
  // Streamed row by row into one matrix: `.all()` would hold every row's vector twice at once (a
  // Buffer per row plus the matrix), 2 × 2.4 GB at K-Fashion's 1.2M garments.
  const n = store.countOfScannedItems(model);
  if (n === 0) {
    throw new CentralityError(
      `The "${model}" embeddings match no scanned item: nothing to compute centrality over.`,
    );
  }
  const dim = info.dim;
  const vectors = new Float32Array(n * dim);
  const ids: string[] = [];
  const styleFolders: string[] = [];
  const rows = store.iterateOfScannedItems(model);
  for (const r of rows) {
    if (ids.length === n) break; // rows added since the count (another writer) are left for next time
    if (r.vector.byteLength !== dim * 4) {
      throw new CentralityError(
        `${r.id}: stored "${model}" vector has ${r.vector.byteLength / 4} floats, expected ${dim}`,
      );
    }
    // Byte copy: SQLite blobs are not 4-byte aligned.
    new Uint8Array(vectors.buffer, ids.length * dim * 4, dim * 4).set(r.vector);
    ids.push(r.id);
    styleFolders.push(r.style);
  }
  const { centre, values } = centralityOf(
    ids.length === n ? vectors : vectors.subarray(0, ids.length * dim),
    dim,
  );
  const { order, count } = anchorOrder(values, ids);
  return {
    model,
    dim,
    ids,
    styleFolders,
    values,
    centre,
    order,
    anchorCount: count,
    synthetic: info.source === 'synthetic' || (getMeta<boolean>(ws.db, 'synthetic') ?? false),
  };
}

/** Stores centrality per item and the centre (replacing the model's previous values). */
export function storeCentrality(ws: Workspace, d: CentralityData, runId: string, at: string): void {
  const embeddingsAt = new EmbeddingStore(ws.db).updatedAt(d.model) as string;
  const rankOf = new Int32Array(d.ids.length);
  d.order.forEach((row, r) => {
    rankOf[row] = r + 1;
  });
  new CentralityStore(ws.db).replace(
    d.model,
    // A generator, not an array: 1.2M row objects would sit in memory at once.
    (function* () {
      for (const [i, id] of d.ids.entries()) {
        yield { id, centrality: d.values[i]!, rank: rankOf[i]!, anchor: rankOf[i]! <= d.anchorCount };
      }
    })(),
    {
      runId,
      computedAt: at,
      embeddingsAt,
      items: d.ids.length,
      anchorFraction: ANCHOR_FRACTION,
      anchorThreshold: d.values[d.order[d.anchorCount - 1]!]!,
      vector: d.centre,
    },
  );
}

export interface StoredCentrality {
  model: string;
  runId: string;
  computedAt: string;
  /** False when the model's embeddings changed after the centrality was computed. */
  current: boolean;
  /** Item id → centrality, rank (1 = most central) and anchor membership. */
  items: Map<string, { centrality: number; rank: number; anchor: boolean }>;
}

/**
 * The stored centrality of `model` (null when never computed): what recommendation uses as the
 * best-seller proxy (anchor items) and what evaluation's anchor queries are.
 */
export function loadCentrality(ws: Workspace, model: string): StoredCentrality | null {
  const centrality = new CentralityStore(ws.db);
  const head = centrality.head(model);
  if (!head) return null;
  const rows = centrality.items(model);
  return {
    model,
    runId: head.runId,
    computedAt: head.computedAt,
    current: head.embeddingsAt === head.updatedAt,
    items: new Map(rows.map((r) => [r.id, { centrality: r.centrality, rank: r.rank, anchor: r.anchor }])),
  };
}

/** The anchor items' ids of `model`, most central first, recomputing and storing when missing or stale. */
export function anchorItems(ws: Workspace, model: string): string[] {
  let stored = loadCentrality(ws, model);
  if (!stored?.current) {
    const d = computeCentralityData(ws, model);
    const at = new Date().toISOString();
    storeCentrality(ws, d, `centrality-${fileStamp(new Date(at))}`, at);
    stored = loadCentrality(ws, model)!;
  }
  return [...stored.items.entries()]
    .filter(([, v]) => v.anchor)
    .sort((a, b) => a[1].rank - b[1].rank)
    .map(([id]) => id);
}

const HIST_BINS = 60;

export interface CentralityOptions extends WorkOptions {
  model?: string;
  now?: Date;
}

/** `kfashion centrality`: computes, stores, reports, and writes results/centrality_<stamp>.{json,png}. */
export async function runCentrality(ws: Workspace, opts: CentralityOptions = {}): Promise<CentralityReport> {
  const now = opts.now ?? new Date();
  const timestamp = now.toISOString();
  const stamp = fileStamp(now);
  const runId = `centrality-${stamp}`;
  const model = centralityModel(ws, opts.model);
  opts.onProgress?.('centrality', 0, 2);
  const d = computeCentralityData(ws, model);
  storeCentrality(ws, d, runId, timestamp);
  opts.onProgress?.('centrality', 1, 2);

  const anchorRows = d.order.slice(0, d.anchorCount);
  const anchorSet = new Set(anchorRows);
  const overall = centralityStats(d.values);
  const anchor = centralityStats(d.values, anchorRows);
  const perStyle: CentralityReport['per_style'] = {};
  const styles = [...new Set(d.styleFolders)].sort();
  for (const s of styles) {
    const rows = d.styleFolders.flatMap((x, i) => (x === s ? [i] : []));
    perStyle[s] = {
      ...centralityStats(d.values, rows),
      anchors: rows.filter((r) => anchorSet.has(r)).length,
    };
  }
  const exceeds = anchor.mean > overall.mean;
  const byStyle = Object.entries(perStyle)
    .sort((a, b) => b[1].mean - a[1].mean)
    .map(([s, v]) => `${s} ${v.mean.toFixed(4)}`)
    .join(' > ');
  const statement = `${exceeds ? 'Yes' : 'NO'}: the anchor mean ${anchor.mean.toFixed(4)} ${exceeds ? 'exceeds' : 'does not exceed'} the overall mean ${overall.mean.toFixed(4)} (by ${(anchor.mean - overall.mean).toFixed(4)}). By style: ${byStyle}.`;

  const lo = Math.min(overall.min, 0);
  const edges = Array.from({ length: HIST_BINS + 1 }, (_, i) => lo + ((1 - lo) * i) / HIST_BINS);
  const counts = new Array<number>(HIST_BINS).fill(0);
  const binOf = (v: number) =>
    Math.min(HIST_BINS - 1, Math.max(0, Math.floor(((v - lo) / (1 - lo)) * HIST_BINS)));
  for (const v of d.values) counts[binOf(v)]!++;

  const jsonPath = uniqueResultPath(ws.paths.results, `centrality_${stamp}`, '.json');
  const chartPath = jsonPath.replace(/\.json$/, '.png');
  const report: CentralityReport = {
    kind: 'centrality',
    run_id: runId,
    timestamp,
    synthetic: d.synthetic,
    ...(d.synthetic ? { note: SYNTHETIC_EVAL_NOTE } : {}),
    workspace: ws.root,
    model,
    items: d.ids.length,
    overall,
    anchor: {
      ...anchor,
      fraction: ANCHOR_FRACTION,
      threshold: d.values[anchorRows.at(-1)!]!,
      top: anchorRows.slice(0, 20).map((r) => ({ id: d.ids[r]!, centrality: d.values[r]! })),
    },
    per_style: perStyle,
    anchor_mean_exceeds_overall: exceeds,
    statement,
    histogram: { edges, counts },
    files: { json: relative(ws.root, jsonPath), chart: relative(ws.root, chartPath) },
  };

  // Per-style histograms on the same bins, so the styles' positions can be compared.
  const styleColors = [
    COLORS.orange,
    COLORS.green,
    COLORS.purple,
    COLORS.red,
    '#8c564b',
    '#e377c2',
    '#7f7f7f',
  ];
  const styleSeries = styles.slice(0, styleColors.length).map((s, i) => {
    const c = new Array<number>(HIST_BINS).fill(0);
    d.values.forEach((v, r) => {
      if (d.styleFolders[r] === s) c[binOf(v)]!++;
    });
    return { name: `${s} (mean ${perStyle[s]!.mean.toFixed(3)})`, color: styleColors[i]!, counts: c };
  });
  const W = 1600;
  const svg = figureSvg({
    width: W,
    height: 1100,
    title: `Embedding centrality (best-seller proxy) — ${runId}`,
    subtitle: `${model}${d.synthetic ? ' (SYNTHETIC embeddings)' : ''} · ${d.ids.length} items · mean ${overall.mean.toFixed(4)}, std ${overall.std.toFixed(4)}, range [${overall.min.toFixed(4)}, ${overall.max.toFixed(4)}] · anchor (top 10 %, ${anchor.count}) mean ${anchor.mean.toFixed(4)}`,
    synthetic: d.synthetic,
    panels: [
      histogramPanel(
        { x: 8, y: 96, w: W - 16, h: 500 },
        {
          title: 'All items',
          xLabel: 'cosine to the centre',
          yLabel: 'share of items',
          edges,
          series: [{ name: `all items (${d.ids.length})`, color: COLORS.blue, counts }],
          markers: [
            {
              x: report.anchor.threshold,
              label: `anchor threshold ${report.anchor.threshold.toFixed(3)}`,
              color: COLORS.red,
            },
            { x: overall.mean, label: `mean ${overall.mean.toFixed(3)}`, color: '#444' },
          ],
        },
      ),
      histogramPanel(
        { x: 8, y: 600, w: W - 16, h: 490 },
        {
          title: 'Per style folder (each style sums to 100 %)',
          xLabel: 'cosine to the centre',
          yLabel: "share of the style's items",
          edges,
          series: styleSeries,
        },
      ),
    ],
  });
  writeFileAtomic(chartPath, await svgToPng(svg));
  writeJsonAtomic(jsonPath, report);
  recordEvaluation(ws, {
    runId,
    kind: 'centrality',
    createdAt: timestamp,
    checkpoint: null,
    protocol: null,
    synthetic: d.synthetic,
    file: report.files.json,
    summary: { model, items: d.ids.length, mean: overall.mean, anchor_mean: anchor.mean, exceeds },
  });
  opts.onProgress?.('centrality', 2, 2);
  return report;
}
