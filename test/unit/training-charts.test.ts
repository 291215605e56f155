import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { niceTicks } from '../../src-main/charts/chart-style.ts';
import { renderTrainingCharts, trainingChartsSvg } from '../../src-main/charts/training-charts.ts';
import type { EpochRecord } from '../../src-main/training/checkpoints.ts';

const record = (epoch: number): EpochRecord => ({
  epoch,
  step: epoch * 10,
  trainLoss: 3 / epoch,
  valLoss: 2 / epoch + 0.1 * epoch,
  top1: 0.1 * epoch,
  top5: 0.15 * epoch,
  mrr: 0.12 * epoch,
  posSim: 0.1 * epoch,
  negSim: 0.01,
  meanNorm: 1,
  lr: 1e-3 / epoch,
  gradNorm: 1,
  epochMs: 100,
  msPerStep: 10,
  finishedAt: '2026-11-24T00:00:00.000Z',
});

describe('training charts', () => {
  it('picks round tick values that cover the range', () => {
    expect(niceTicks(0, 1, 6)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.37, 2.9, 6)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0.02, 0.093, 5)).toEqual([0.02, 0.04, 0.06, 0.08, 0.1]);
    expect(niceTicks(5, 5).length).toBeGreaterThanOrEqual(2);
  });

  it('draws four titled panels with legends, the best epoch, SYNTHETIC, escaped Korean text', () => {
    const svg = trainingChartsSvg([1, 2, 3, 4].map(record), {
      title: '학습 <run> & co',
      subtitle: '레트로 · 로맨틱',
      bestEpoch: 3,
      synthetic: true,
      galleryItems: 65,
    });
    for (const t of [
      'Loss (symmetric InfoNCE)',
      'Validation retrieval, JSON → image (gallery of 65)',
      'Cosine similarity (validation)',
      'Learning rate',
      '>train<',
      '>validation<',
      '>Top-1<',
      '>Top-5<',
      '>positive pairs<',
      '>negative pairs<',
      'best (epoch 3)',
      '>SYNTHETIC<',
      '학습 &lt;run&gt; &amp; co',
      'Noto Sans CJK KR',
    ]) {
      expect(svg).toContain(t);
    }
  });

  it('renders a 1600×1100 PNG headless, even for a single epoch', async () => {
    const png = await renderTrainingCharts([record(1)], { title: 'one epoch' });
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 1600, height: 1100 });
  });
});
