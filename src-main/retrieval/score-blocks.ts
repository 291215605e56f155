/**
 * Dense score blocks for ranking a whole validation gallery (training validation each epoch, and
 * `kfashion eval`): scores [q × N] = queries · candidatesᵀ, a block of queries at a time, on ONNX
 * Runtime's CPU GEMM.
 *
 * Why: the gallery protocol ranks every validation query against every validation item, so its cost
 * is N² dot products of 512 floats. The plain JS loop (score-matrix.ts)
 * runs at a few GFLOP/s: fine for a few thousand items, minutes at 10k+, hopeless on the full
 * K-Fashion validation split. ORT's GEMM runs near the machine's peak on every core (PERFORMANCE.md:
 * 80–130 GFLOP/s here), the same engine the similarity search uses (retrieval/vector-index.ts). Blocks also bound memory:
 * the whole N × N matrix of a 30k-item validation split would be 3.6 GB.
 *
 * Below `minOrtRows` candidates the JS loop is kept: its scores are bit-identical to the ones training
 * validation computes, so a small run's figures stay bit-identical to what they were, and eval reproduces training's. A
 * different summation order can move a score by an ulp, which only matters for exact ties.
 */
import type ort from 'onnxruntime-node';
import { onnxModel } from '../encoders/onnx-model-writer.ts';
import { blockColumns, blockLayout } from './gallery-blocks.ts';
import { scoreMatrix } from './score-matrix.ts';

/** Computes [rows × candidates] scores for a block of query rows. */
export type BlockScores = (queries: Float32Array, rows: number) => Promise<Float32Array>;

/** From this many candidates up, blocks are scored on ONNX Runtime (same default as the search). */
export const MIN_ORT_CANDIDATES = 4096;

export interface BlockScorer {
  readonly backend: 'onnxruntime' | 'js';
  /** Query rows per block: bounds a block's scores to about 32 M floats (128 MB). */
  readonly blockRows: number;
  readonly scores: BlockScores;
  close(): Promise<void>;
}

function scoresGraph(dim: number): Uint8Array {
  return onnxModel({
    name: 'dense_scores',
    inputs: [
      { name: 'queries', type: 'float', dims: ['Q', dim] },
      { name: 'candidates_t', type: 'float', dims: [dim, 'N'] },
    ],
    outputs: [{ name: 'scores', type: 'float', dims: ['Q', 'N'] }],
    nodes: [{ op: 'MatMul', inputs: ['queries', 'candidates_t'], outputs: ['scores'] }],
    initializers: [],
  });
}

function jsScorer(candidates: Float32Array, dim: number): BlockScorer {
  return {
    backend: 'js',
    blockRows: 128,
    scores: async (queries) => scoreMatrix(queries, candidates, dim).scores,
    close: async () => {},
  };
}

/**
 * A scorer for one candidate matrix ([N × dim], rows L2-normalised). ONNX Runtime from
 * `minOrtRows` candidates up; the JS loop below that, or when onnxruntime-node cannot load.
 */
export async function openBlockScorer(
  candidates: Float32Array,
  dim: number,
  opts: { minOrtRows?: number } = {},
): Promise<BlockScorer> {
  const n = candidates.length / dim;
  if (n < (opts.minOrtRows ?? MIN_ORT_CANDIDATES)) return jsScorer(candidates, dim);
  let mod: typeof ort;
  try {
    mod = (await import('onnxruntime-node')).default;
  } catch {
    return jsScorer(candidates, dim);
  }
  if (!process.env.KFASHION_DEBUG) mod.env.logLevel = 'fatal';
  const session = await mod.InferenceSession.create(scoresGraph(dim), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: process.env.KFASHION_DEBUG ? 2 : 4,
  });
  // [d, N]: MLAS streams a plain right-hand side faster than it packs a transposed one. The vector
  // index's gallery layout with a single block of all N rows is exactly that transpose.
  const candT = new mod.Tensor('float32', blockColumns(candidates, blockLayout(n, n), dim), [dim, n]);
  return {
    backend: 'onnxruntime',
    blockRows: Math.max(1, Math.min(1024, Math.floor(2 ** 25 / n))),
    async scores(queries, rows) {
      const res = await session.run({
        queries: new mod.Tensor('float32', queries, [rows, dim]),
        candidates_t: candT,
      });
      return res.scores!.data as Float32Array;
    },
    close: () => session.release(),
  };
}
