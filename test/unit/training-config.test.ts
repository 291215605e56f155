import { describe, expect, it } from 'vitest';
import {
  BACKEND_NAMES,
  configDifferences,
  DEFAULT_TRAIN_CONFIG,
  parseTrainConfig,
  resolveTrainConfig,
  TrainConfigError,
} from '../../src-main/training/train-config.ts';
import { FIELD_NAMES } from '../../src-shared/fields.ts';

describe('training config', () => {
  it('has defaults for the quality bar and the research plan presets, every value overridable', () => {
    const d = resolveTrainConfig();
    // The tuned defaults (README: the 3-seed comparison against the earlier defaults and the baseline).
    expect(d).toMatchObject({
      epochs: 30,
      batchSize: 128,
      lr: 1e-3,
      temperature: 0.025,
      dropout: 0.15,
      patience: 10,
      fields: ['category', 'style', 'silhouette', 'material', 'detail'],
    });
    expect(d.weightDecay).toBeGreaterThan(0);
    expect(d.clipNorm).toBeGreaterThan(0);
    expect(d.warmupFraction).toBeGreaterThan(0);
    expect(resolveTrainConfig({ stage: 1 })).toMatchObject({
      epochs: 5,
      batchSize: d.batchSize,
      lr: d.lr,
      temperature: d.temperature,
    });
    expect(resolveTrainConfig({ stage: 2 })).toMatchObject({
      epochs: 10,
      batchSize: 64,
      lr: 1e-4,
      temperature: 0.07,
    });
    expect(resolveTrainConfig({ stage: 2, overrides: { lr: 3e-4, epochs: undefined } })).toMatchObject({
      epochs: 10,
      lr: 3e-4,
    });
    expect(resolveTrainConfig({ quick: true })).toMatchObject({ batchSize: 4, epochs: 2 });
    expect(resolveTrainConfig({ stage: 2, quick: true, overrides: { epochs: 1 } })).toMatchObject({
      batchSize: 4,
      epochs: 1,
      lr: 1e-4,
    });
  });

  it("records ort as a new run's engine, keeps the earlier rule for a tfjs backend, BatchNorm and saved configs", () => {
    expect(resolveTrainConfig().engine).toBe('ort');
    expect(resolveTrainConfig({ quick: true, overrides: { depth: 3, residual: true } }).engine).toBe('ort');
    // A tfjs backend (the GPU path) and BatchNorm: no engine recorded, the earlier automatic choice.
    expect(resolveTrainConfig({ overrides: { backend: 'node-gpu' } }).engine).toBeUndefined();
    expect(resolveTrainConfig({ overrides: { norm: 'batch', depth: 2 } }).engine).toBeUndefined();
    expect(resolveTrainConfig({ overrides: { engine: 'tfjs' } }).engine).toBe('tfjs');
    // A saved config recorded without an engine replays and resumes without one (on tfjs, as trained).
    const legacy = parseTrainConfig({ ...DEFAULT_TRAIN_CONFIG });
    expect(resolveTrainConfig({ base: legacy }).engine).toBeUndefined();
    expect(resolveTrainConfig({ base: legacy, overrides: { epochs: 40 } }).engine).toBeUndefined();
    // A study's base names ort; a trial asking for BatchNorm gets the engine that builds it.
    const study = resolveTrainConfig({ quick: true });
    expect(resolveTrainConfig({ base: study, overrides: { norm: 'batch' } }).engine).toBe('layered');
    expect(resolveTrainConfig({ base: study, overrides: { norm: 'layer' } }).engine).toBe('ort');
  });

  it('rejects bad values naming the setting, its flag, what was expected and what it got', () => {
    const bad = (o: Record<string, unknown>) => () => resolveTrainConfig({ overrides: o });
    expect(bad({ lr: -0.001 })).toThrow(TrainConfigError);
    expect(bad({ lr: -0.001 })).toThrow('lr (--lr): the learning rate must be a positive number, got -0.001');
    expect(bad({ batchSize: 1 })).toThrow(
      'batchSize (--batch-size): must be at least 2: InfoNCE needs in-batch negatives, got 1',
    );
    expect(bad({ epochs: 0 })).toThrow('epochs (--epochs): must be at least 1, got 0');
    expect(bad({ temperature: 0 })).toThrow(
      'temperature (--temperature): the temperature must be a positive number, got 0',
    );
    expect(bad({ temperature: -1 })).toThrow('got -1');
    expect(bad({ fields: ['category', 'colour'] })).toThrow(
      `fields (--fields): unknown field "colour"; valid fields: ${FIELD_NAMES.join(', ')}, got "colour"`,
    );
    expect(bad({ fields: ['style', 'style'] })).toThrow('lists a field twice');
    expect(bad({ fields: [] })).toThrow('needs at least one field');
    expect(bad({ backend: 'tpu' })).toThrow(
      `backend (--backend): must be one of ${BACKEND_NAMES.join(', ')}`,
    );
    // Every problem at once, not just the first.
    expect(bad({ lr: 0, batchSize: 1 })).toThrow(/batchSize \(--batch-size\).*\n.*lr \(--lr\)/s);
    expect(() => parseTrainConfig({ ...DEFAULT_TRAIN_CONFIG, learningRate: 1 }, 'last.json')).toThrow(
      'Invalid last.json:\n  unknown setting(s) learningRate',
    );
  });

  it('accepts extra K-Fashion fields', () => {
    expect(resolveTrainConfig({ overrides: { fields: ['category', 'color'] } }).fields).toEqual([
      'category',
      'color',
    ]);
  });

  it('names what a resume would change, except the epoch count and backend', () => {
    const saved = resolveTrainConfig({ overrides: { model: 'm' } });
    expect(configDifferences(saved, { ...saved, epochs: 99, backend: 'cpu' })).toEqual([]);
    expect(configDifferences(saved, { ...saved, lr: 1 })).toEqual([`--lr (saved ${saved.lr}, given 1)`]);
  });

  it('lists the same backends as the tfjs backend picker', async () => {
    const { BACKEND_CHOICES } = await import('../../src-main/encoders/tf-backend.ts');
    expect([...BACKEND_NAMES]).toEqual([...BACKEND_CHOICES]);
  });
});
