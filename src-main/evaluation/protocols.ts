/**
 * The two protocols of EVALUATION.md as ranking tasks over one validation set, in both directions.
 *
 * gallery   every query is ranked against the candidates made from ALL validation items.
 * in-batch  the validation set is shuffled (seeded) into batches of exactly B and each query is ranked
 *           only within its batch. When B does not divide N, the last r < B queries are completed to B
 *           candidates with B − r other validation items drawn (seeded) from the earlier batches; those
 *           act as candidates only, so every query counts exactly once and every batch has exactly B
 *           candidates — the "B" in "Top-5 (in-batch, B=64)" is exact. Figures are means over
 *           queries, i.e. over batches weighted by the queries each counts (all B but the last).
 *
 * Directions:
 * json-to-image  the query is an item's attribute JSON vector; candidates are the image embeddings; the
 *                item's own image is the one correct answer. Identical encoder inputs give identical
 *                queries: the ceiling (retrieval-metrics.ts) accounts for that.
 * image-to-json  the query is an image; candidates are the DISTINCT attribute JSONs (identical encoder
 *                inputs give bit-identical vectors, i.e. one candidate listed m times, which would only
 *                create exact ties); the correct answer is the item's own JSON. Its ceiling is 100 %.
 */
import { MIN_EVAL_BATCH } from '../../src-shared/evaluation.ts';
import { Rng } from '../dataset/rng.ts';
import type { RankingTask } from '../retrieval/retrieval-metrics.ts';

export class EvalProtocolError extends Error {
  override name = 'EvalProtocolError';
}

/** The validation set as the evaluation sees it: paired vectors plus labels, row i = ids[i]. */
export interface EvalSet {
  dim: number;
  ids: string[];
  /** [n × dim] JSON-encoder outputs. */
  json: Float32Array;
  /** [n × dim] image embeddings. */
  images: Float32Array;
  /** Class of the encoder input (equal ⇔ identical JSON vector). */
  strict: Int32Array;
  /** Class of (category, style). */
  loose: Int32Array;
}

export type Direction = 'json-to-image' | 'image-to-json';

export function gatherRows(matrix: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    out.set(matrix.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  return out;
}

/** Gives each (context, key) pair a unique ceiling-group id. */
class GroupIds {
  private readonly ids = new Map<string, number>();
  get(context: number, key: number | string): number {
    const k = `${context}:${key}`;
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(k, id);
    }
    return id;
  }
}

/**
 * One task: `queryRows` (items counted as queries) ranked against candidates made from `contextRows`
 * (which contains every query row).
 */
function contextTask(
  set: EvalSet,
  direction: Direction,
  queryRows: readonly number[],
  contextRows: readonly number[],
  context: number,
  groups: GroupIds,
): RankingTask {
  const { dim } = set;
  if (direction === 'json-to-image') {
    const pos = new Map(contextRows.map((r, i) => [r, i]));
    return {
      dim,
      queries: gatherRows(set.json, dim, queryRows),
      candidates: gatherRows(set.images, dim, contextRows),
      targets: queryRows.map((r) => pos.get(r)!),
      slots: queryRows,
      strictQ: queryRows.map((r) => set.strict[r]!),
      strictC: contextRows.map((r) => set.strict[r]!),
      looseQ: queryRows.map((r) => set.loose[r]!),
      looseC: contextRows.map((r) => set.loose[r]!),
      groups: queryRows.map((r) => groups.get(context, set.strict[r]!)),
    };
  }
  // image-to-json: one candidate per distinct encoder input in the context.
  const firstOfClass = new Map<number, number>();
  for (const r of contextRows) if (!firstOfClass.has(set.strict[r]!)) firstOfClass.set(set.strict[r]!, r);
  const candRows = [...firstOfClass.values()];
  const candOfClass = new Map(candRows.map((r, i) => [set.strict[r]!, i]));
  return {
    dim,
    queries: gatherRows(set.images, dim, queryRows),
    candidates: gatherRows(set.json, dim, candRows),
    targets: queryRows.map((r) => candOfClass.get(set.strict[r]!)!),
    slots: queryRows,
    strictQ: queryRows.map((r) => set.strict[r]!),
    strictC: candRows.map((r) => set.strict[r]!),
    looseQ: queryRows.map((r) => set.loose[r]!),
    looseC: candRows.map((r) => set.loose[r]!),
    // Every image has its own answer and all can rank it first: each query is its own group.
    groups: queryRows.map((r) => groups.get(context, `q${r}`)),
  };
}

export interface ProtocolPlan {
  tasks: RankingTask[];
  /** Candidates per query (gallery size, or B). */
  candidates: number;
  batches: number | null;
}

export function galleryPlan(set: EvalSet, direction: Direction): ProtocolPlan {
  const all = set.ids.map((_, i) => i);
  const task = contextTask(set, direction, all, all, 0, new GroupIds());
  return { tasks: [task], candidates: task.candidates.length / set.dim, batches: null };
}

/** The in-batch batches: per batch the counted query rows and the candidate rows (queries first). */
export function inBatchBatches(
  n: number,
  batchSize: number,
  seed: number,
): { queries: number[]; context: number[] }[] {
  if (!Number.isInteger(batchSize) || batchSize < MIN_EVAL_BATCH) {
    throw new EvalProtocolError(
      `--batch-size must be a whole number of at least ${MIN_EVAL_BATCH} for the in-batch protocol (smaller batches inflate every figure), got ${batchSize}.`,
    );
  }
  if (n < batchSize) {
    throw new EvalProtocolError(
      `The in-batch protocol with B=${batchSize} needs at least ${batchSize} validation items; this workspace has ${n}. Use --protocol gallery, or a smaller --batch-size (at least ${MIN_EVAL_BATCH}).`,
    );
  }
  const order = Rng.derive('eval-in-batch', seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const out: { queries: number[]; context: number[] }[] = [];
  for (let i = 0; i < n; i += batchSize) {
    const queries = order.slice(i, i + batchSize);
    let context = queries;
    if (queries.length < batchSize) {
      const earlier = Rng.derive('eval-in-batch-fill', seed).shuffle(order.slice(0, i));
      context = [...queries, ...earlier.slice(0, batchSize - queries.length)];
    }
    out.push({ queries, context });
  }
  return out;
}

export function inBatchPlan(
  set: EvalSet,
  direction: Direction,
  batchSize: number,
  seed: number,
): ProtocolPlan {
  const groups = new GroupIds();
  const batches = inBatchBatches(set.ids.length, batchSize, seed);
  return {
    tasks: batches.map((b, i) => contextTask(set, direction, b.queries, b.context, i, groups)),
    candidates: batchSize,
    batches: batches.length,
  };
}
