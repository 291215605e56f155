/**
 * The temperature study's evaluation (training/temperature-sweep.ts, [Note: sweep evaluation]): each
 * run's best checkpoint scored with the gallery protocol, JSON → image, and the finished study listed
 * among the workspace's evaluations.
 */
import type { SweepEvaluation } from '../training/temperature-sweep.ts';
import { openCheckpointEncoder } from './checkpoint-encoder.ts';
import { evaluateMain } from './evaluate.ts';
import { recordEvaluation } from './results.ts';

export const sweepEvaluation: SweepEvaluation = {
  async evaluateBest(ws, checkpoints, opts) {
    const encoder = await openCheckpointEncoder(ws, {
      checkpoint: checkpoints,
      backend: opts.backend,
      createEncoder: opts.encoder,
    });
    try {
      const main = await evaluateMain(ws, encoder, { protocol: 'gallery', signal: opts.signal });
      return { figures: main.figures, synthetic: main.data.synthetic };
    } finally {
      encoder.close();
    }
  },
  recordStudy(ws, study, summary) {
    recordEvaluation(ws, {
      runId: study.run_id,
      kind: 'temperature-study',
      createdAt: study.timestamp,
      checkpoint: null,
      protocol: study.protocol_label,
      synthetic: study.synthetic,
      file: study.files.json,
      summary,
    });
  },
};
