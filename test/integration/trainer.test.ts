import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { loadCheckpoint } from '../../src-main/training/checkpoints.ts';
import { resolveTrainConfig, type TrainConfig } from '../../src-main/training/train-config.ts';
import { train } from '../../src-main/training/trainer.ts';
import { CancelledError, type JobProgress } from '../../src-shared/jobs.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import {
  buildDemoTrainingWorkspace,
  copyWorkspace,
  lastParams,
  newestRunCheckpoints,
  trainStraightAndResumed,
  withWs,
} from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let n = 0;
const fresh = () => copyWorkspace(fixture.workspace, join(fixture.root, `copy-${++n}`));
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const small = (o: Partial<TrainConfig> = {}) =>
  resolveTrainConfig({ overrides: { batchSize: 16, epochs: 2, lr: 3e-3, seed: 5, ...o } });

describe('trainer', () => {
  it('trains, validates every epoch, and writes checkpoints, results, the chart and the run record', async () => {
    const dir = fresh();
    const events: JobProgress[] = [];
    const wb = Workbench.open(dir, { create: false });
    let result: Awaited<ReturnType<Workbench['train']>>;
    try {
      result = await wb.train(
        { overrides: { batchSize: 16, epochs: 3, lr: 3e-3 }, createEncoder: linearEncoderFactory() },
        { onProgress: (e) => events.push(e) },
      );
    } finally {
      wb.close();
    }
    expect(result.status).toBe('done');
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(result.imageEmbedding).toEqual({ model: 'synthetic-demo', source: 'synthetic', synthetic: true });
    const first = result.history[0]!;
    const lastEpoch = result.history[2]!;
    expect(lastEpoch.trainLoss).toBeLessThan(first.trainLoss);
    expect(lastEpoch.valLoss).toBeLessThan(first.valLoss);
    // The stand-in embeddings carry attribute signal: retrieval is far above chance (1/val size).
    expect(lastEpoch.top5).toBeGreaterThan(10 / result.data.val);
    expect(lastEpoch.meanNorm).toBeCloseTo(1, 5);
    expect(lastEpoch.posSim).toBeGreaterThan(lastEpoch.negSim);
    expect(result.bestEpoch).toBe(3);
    expect(result.msPerStep).toBeGreaterThan(0);

    // Progress: phase "epoch k/n", steps of the epoch, loss and lr, and last validation's Top-1/5.
    const steps = result.data.stepsPerEpoch;
    expect(steps).toBe(Math.floor(result.data.train / 16) + (result.data.train % 16 >= 2 ? 1 : 0));
    const e2 = events.filter((e) => e.phase === 'epoch 2/3');
    expect(e2.at(-1)).toMatchObject({ step: steps, total: steps });
    expect(Object.keys(e2[1]!.metrics).sort()).toEqual(['loss', 'lr', 'top1', 'top5']);
    // Each epoch's end is announced once, typed (the Train tab refreshes its charts on it), after the
    // epoch's validation has finished.
    const ends = events.filter((e) => e.event);
    expect(ends.map((e) => e.event)).toEqual([1, 2, 3].map((epoch) => ({ kind: 'epoch-end', epoch })));
    expect(ends.map((e) => [e.phase, e.step === e.total])).toEqual([
      ['validate 1/3', true],
      ['validate 2/3', true],
      ['validate 3/3', true],
    ]);
    // Beside the phase text, where the run stands, typed: epoch k of 3, the global step and that
    // step's own loss (the metrics' loss is the epoch's running mean).
    expect(e2.at(-1)!.train).toMatchObject({ epoch: 2, epochs: 3, stage: 'train', globalStep: 2 * steps });
    expect(e2.at(-1)!.train!.stepLoss).toBeGreaterThan(0);
    expect(events.filter((e) => e.phase === 'validate 2/3').at(-1)!.train).toEqual({
      epoch: 2,
      epochs: 3,
      stage: 'validate',
    });
    // Each epoch keeps its per-step losses: every step here (fewer steps than the bucket limit), at
    // their global step numbers, and their mean is the epoch's training loss.
    const sl = lastEpoch.stepLoss!;
    expect(sl.map(([s]) => s)).toEqual(Array.from({ length: steps }, (_, i) => 2 * steps + i + 1));
    expect(sl.reduce((a, [, l]) => a + l, 0) / steps).toBeCloseTo(lastEpoch.trainLoss, 6);
    // The run's results file names the best epoch (the checkpoint evaluation and search use).
    expect(JSON.parse(readFileSync(result.paths.results, 'utf8')).bestEpoch).toBe(3);

    // Files.
    for (const p of Object.values(result.paths)) expect(existsSync(p), p).toBe(true);
    for (const p of Object.values(result.published ?? {})) expect(existsSync(p), p).toBe(true);
    const runJson = JSON.parse(readFileSync(join(result.runDir, 'run.json'), 'utf8'));
    expect(runJson).toMatchObject({
      runId: result.runId,
      seq: 1,
      status: 'done',
      bestEpoch: 3,
      epochsRun: 3,
    });
    const runConfig = JSON.parse(readFileSync(join(result.runDir, 'config.json'), 'utf8'));
    expect(runConfig.config).toEqual(result.config);
    expect(runConfig.data).toMatchObject({
      model: 'synthetic-demo',
      train: result.data.train,
      val: result.data.val,
    });
    expect(runConfig.data.vectors).toMatch(/^[0-9a-f]{16}$/);
    const best = loadCheckpoint(join(dir, 'checkpoints'), 'best');
    expect(best.info).toMatchObject({
      kind: 'best',
      runId: result.runId,
      epoch: 3,
      backend: 'js-linear (test)',
      fields: ['category', 'style', 'silhouette', 'material', 'detail'],
      imageEmbedding: { model: 'synthetic-demo', synthetic: true },
    });
    expect(best.info.vocabulary.category!.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(Object.keys(best.state.params)).toEqual(best.info.weights.tensors.map((t) => t.name));
    expect(Object.keys(best.state.optimizer.moments)).toEqual([]);
    // The run's own folder holds best.* and last.*; checkpoints/best_model.* is the current run's copy.
    expect(result.runDir).toBe(join(dir, 'runs', result.runId));
    expect(result.current).toBe(true);
    const ownBest = loadCheckpoint(join(result.runDir, 'checkpoints'), 'best');
    expect(ownBest.info.weights.sha256).toBe(best.info.weights.sha256);
    expect(existsSync(join(result.runDir, 'checkpoints', 'best.safetensors'))).toBe(true);
    const last = loadCheckpoint(join(result.runDir, 'checkpoints'), 'last');
    expect(Object.keys(last.state.optimizer.moments)).toHaveLength(10);
    expect(last.info.resume).toMatchObject({ epoch: 3, optimizerStep: 3 * steps });
    expect(readFileSync(join(dir, 'checkpoints', 'README.md'), 'utf8')).toContain(
      'field_embeddings.category.weight',
    );
    const summary = JSON.parse(readFileSync(result.paths.summary, 'utf8'));
    expect(summary).toMatchObject({
      runId: result.runId,
      bestEpoch: 3,
      stoppedEarly: false,
      synthetic: true,
    });
    expect(summary.note).toContain('SYNTHETIC');
    const results = JSON.parse(readFileSync(result.paths.results, 'utf8'));
    expect(results.history).toHaveLength(3);
    expect(results.config.model).toBe('synthetic-demo');
    expect(await sharp(result.paths.charts).metadata()).toMatchObject({
      format: 'png',
      width: 1600,
      height: 1100,
    });

    await withWs(dir, async (ws) => {
      expect(ws.db.prepare('SELECT status, backend FROM runs WHERE id = ?').get(result.runId)).toEqual({
        status: 'done',
        backend: 'js-linear (test)',
      });
      const top5 = ws.db
        .prepare(`SELECT epoch, value FROM run_metrics WHERE run_id = ? AND name = 'top5' ORDER BY epoch`)
        .all(result.runId);
      expect(top5).toEqual(result.history.map((h) => ({ epoch: h.epoch, value: h.top5 })));
    });
  }, 120_000);

  it('resumes exactly: 2 epochs = cancel during epoch 2 + resume, bit for bit', async () => {
    const straight = fresh();
    const interrupted = fresh();
    const config = small();
    await withWs(straight, (ws) => train(ws, config, { createEncoder: linearEncoderFactory() }));

    const abort = new AbortController();
    const err = await withWs(interrupted, (ws) =>
      train(ws, config, {
        createEncoder: linearEncoderFactory(),
        signal: abort.signal,
        onProgress: (phase, step) => {
          if (phase === 'epoch 2/2' && step === 3) abort.abort();
        },
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as Error).message).toContain('during epoch 2');
    expect(loadCheckpoint(newestRunCheckpoints(interrupted), 'last').info.epoch).toBe(1);
    await withWs(interrupted, async (ws) => {
      expect(ws.db.prepare('SELECT status FROM runs').pluck().get()).toBe('stopped');
    });

    await withWs(interrupted, async (ws) => {
      await expect(
        train(ws, { ...config, lr: 0.5 }, { createEncoder: linearEncoderFactory(), resume: true }),
      ).rejects.toThrow('these differ: --lr (saved 0.003, given 0.5)');
    });
    const made: import('../helpers/linear-json-encoder.ts').LinearJsonEncoder[] = [];
    const resumed = await withWs(interrupted, (ws) =>
      train(ws, config, { createEncoder: linearEncoderFactory(made), resume: true }),
    );
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(made[0]!.steps).toBe(resumed.data.stepsPerEpoch); // only epoch 2 was trained again
    expect(made[0]!.disposed).toBe(true);
    expect(lastParams(interrupted)).toEqual(lastParams(straight));
    const a = JSON.parse(readFileSync(join(straight, 'results', 'training_results.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(interrupted, 'results', 'training_results.json'), 'utf8'));
    const figures = (h: Record<string, number>[]) =>
      h.map(({ valLoss, top1, top5, mrr, trainLoss, lr }) => ({ valLoss, top1, top5, mrr, trainLoss, lr }));
    expect(figures(b.history)).toEqual(figures(a.history));
    await withWs(interrupted, async (ws) => {
      expect(ws.db.prepare('SELECT COUNT(*) FROM runs').pluck().get()).toBe(1);
      expect(ws.db.prepare('SELECT status FROM runs').pluck().get()).toBe('done');
    });
  }, 120_000);

  it('resumes the tfjs JSON encoder exactly too (weights, AdamW moments, dropout RNG)', async () => {
    const straight = fresh();
    const interrupted = fresh();
    const config = small({ hiddenDim: 64, embedDim: 16, engine: 'tfjs' });
    const a = await trainStraightAndResumed(straight, interrupted, config);
    expect(a.backend).toMatch(/^(wasm|cpu|node|node-gpu) \(\d+ threads?\)$/);
    expect(lastParams(interrupted)).toEqual(lastParams(straight));
  }, 120_000);

  it('keeps an epoch whose last step was the one cancelled, and resumes from it', async () => {
    const straight = fresh();
    const dir = fresh();
    const config = small();
    await withWs(straight, (ws) => train(ws, config, { createEncoder: linearEncoderFactory() }));
    const abort = new AbortController();
    const err = await withWs(dir, (ws) =>
      train(ws, config, {
        createEncoder: linearEncoderFactory(),
        signal: abort.signal,
        onProgress: (phase, step, total) => {
          if (phase === 'epoch 1/2' && step === total && step > 0) abort.abort();
        },
      }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('after epoch 1');
    await withWs(dir, (ws) => train(ws, config, { createEncoder: linearEncoderFactory(), resume: true }));
    expect(lastParams(dir)).toEqual(lastParams(straight));
  }, 120_000);

  it('stops early, keeps the best epoch, and refuses to resume a finished run', async () => {
    const dir = fresh();
    // minDelta larger than any loss: only epoch 1 counts as an improvement.
    const config = small({ epochs: 6, patience: 2, minDelta: 100 });
    const r = await withWs(dir, (ws) => train(ws, config, { createEncoder: linearEncoderFactory() }));
    expect(r).toMatchObject({ stoppedEarly: true, epochsRun: 3, bestEpoch: 1 });
    expect(loadCheckpoint(join(dir, 'checkpoints'), 'best').info.epoch).toBe(1);
    expect(loadCheckpoint(newestRunCheckpoints(dir), 'last').info.epoch).toBe(3);
    await withWs(dir, async (ws) => {
      await expect(
        train(ws, config, { createEncoder: linearEncoderFactory(), resume: true }),
      ).rejects.toThrow(/Nothing to resume: run train-\S+ stopped early at epoch 3/);
    });
  }, 120_000);

  it('ranks a seeded sample of validation queries when asked, and labels the figures as an estimate', async () => {
    const full = fresh();
    const part = fresh();
    const a = await withWs(full, (ws) => train(ws, small(), { createEncoder: linearEncoderFactory() }));
    const b = await withWs(part, (ws) =>
      train(ws, small({ valQueries: 5 }), { createEncoder: linearEncoderFactory() }),
    );
    // Validation does not touch training: the same losses; only the ranked queries differ.
    expect(b.history.map((h) => h.valLoss)).toEqual(a.history.map((h) => h.valLoss));
    expect(b.history.map((h) => h.trainLoss)).toEqual(a.history.map((h) => h.trainLoss));
    const headline = (dir: string) =>
      JSON.parse(readFileSync(join(newestRunCheckpoints(dir), '..', 'run.json'), 'utf8')).headline as {
        protocol: string;
      };
    expect(headline(full).protocol).toMatch(/^gallery, N=\d+ \(training validation\)$/);
    expect(headline(part).protocol).toMatch(
      /^gallery, N=\d+, 5 sampled queries \(training validation, an estimate\)$/,
    );
    const results = JSON.parse(readFileSync(join(part, 'results', 'training_results.json'), 'utf8'));
    expect(results.protocol).toMatch(/a seeded sample of 5 of the \d+ validation items as queries/);
    expect(results.config.valQueries).toBe(5);
    // Top-1 over 5 queries moves in steps of 1/5.
    for (const h of b.history) expect(Math.round(h.top1 * 5) / 5).toBeCloseTo(h.top1, 12);
  }, 120_000);

  it('names mismatched embedding ids, missing and ambiguous models', async () => {
    const dir = fresh();
    await withWs(dir, async (ws) => {
      const ids = ws.db
        .prepare(
          "SELECT it.id FROM items it JOIN images im ON im.key = it.image_key WHERE im.split = 'val' ORDER BY it.id LIMIT 3",
        )
        .pluck()
        .all() as string[];
      ws.db.prepare(`DELETE FROM image_embeddings WHERE item_id IN (?, ?, ?)`).run(...ids);
      await expect(train(ws, small(), { createEncoder: linearEncoderFactory() })).rejects.toThrow(
        `Mismatched embedding ids: 3 of`,
      );
      await expect(train(ws, small(), { createEncoder: linearEncoderFactory() })).rejects.toThrow(ids[0]!);
      const store = new EmbeddingStore(ws.db);
      store.defineModel('marqo-fashionclip', 512, 'onnx');
      await expect(train(ws, small(), { createEncoder: linearEncoderFactory() })).rejects.toThrow(
        'several image-embedding models: marqo-fashionclip (0 vectors, 512-d, onnx), synthetic-demo',
      );
      await expect(
        train(ws, small({ model: 'fashion-clip' }), { createEncoder: linearEncoderFactory() }),
      ).rejects.toThrow(
        'No "fashion-clip" image embeddings in this workspace (--model). It has: marqo-fashionclip',
      );
      store.remove('marqo-fashionclip');
      store.remove('synthetic-demo');
      await expect(train(ws, small(), { createEncoder: linearEncoderFactory() })).rejects.toThrow(
        'This workspace has no image embeddings yet',
      );
    });
  }, 120_000);
});
