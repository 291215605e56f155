/**
 * The training batches with the run's augmentation applied: JSON augmentation per step (dataset/
 * augment/json-augment.ts) and, per epoch, one stored image view per garment (`--image-views V`:
 * the original or one of its first V augmented views, drawn uniformly, seeded by (seed, epoch)).
 *
 * Everything is derived from (run seed, epoch, step) and the stored vectors, never from generator
 * state carried between steps, so a replay or a resumed run sees bit-identical batches.
 */
import type { AugmentationSettings } from '../../src-shared/augmentation-config.ts';
import { augmentationActive, jsonAugmentationActive } from '../../src-shared/augmentation-config.ts';
import { viewSettingsKey } from '../dataset/augment/image-views.ts';
import { type AugmentSource, JsonAugmenter, type JsonAugmentTrace } from '../dataset/augment/json-augment.ts';
import { Rng } from '../dataset/rng.ts';
import type { EncoderInputs } from '../encoders/json-encoder/json-encoder-types.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { ViewEmbeddingStore } from '../store/view-embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { buildAugmentationSamples, writeAugmentationSamples } from './augmentation-samples.ts';
import { type MixPair, mixTargets, mixupImages, mixupRng } from './mixup.ts';
import { gatherImages, makeInputs, type TrainingData } from './training-data.ts';

export class AugmentationSetupError extends Error {
  override name = 'AugmentationSetupError';
}

export class AugmentedBatches {
  private constructor(
    private readonly data: TrainingData,
    readonly settings: AugmentationSettings,
    private readonly seed: number,
    private readonly source: AugmentSource,
    private readonly json: JsonAugmenter | null,
    /** views[v−1] = [nTrain × dim] vectors of view v. */
    private readonly views: Float32Array[],
    /** The view recipe the vectors were read from (null without views). */
    readonly recipe: string | null,
  ) {}

  /** Reads what the settings need (categories; the views' vectors) once, before the first epoch. */
  static create(
    ws: Workspace,
    data: TrainingData,
    settings: AugmentationSettings,
    seed: number,
  ): AugmentedBatches {
    const store = new DatasetStore(ws.db);
    const categories = data.train.ids.map((id) => {
      const c = store.getItem(id)?.attributes.category;
      return typeof c === 'string' ? c : null;
    });
    const source: AugmentSource = {
      indices: data.train.indices,
      styleFolders: data.train.styleFolders,
      categories,
    };
    const json = jsonAugmentationActive(settings.json)
      ? new JsonAugmenter(settings.json, {
          fields: data.fields,
          fieldKinds: data.fieldKinds,
          vocabulary: data.vocabulary,
        })
      : null;
    const views: Float32Array[] = [];
    let recipe: string | null = null;
    if (settings.image.views > 0) {
      recipe = viewSettingsKey(settings.image.viewSettings, settings.image.viewSeed);
      const vs = new ViewEmbeddingStore(ws.db);
      for (let v = 1; v <= settings.image.views; v++) {
        try {
          views.push(vs.matrix(data.embedding.model, recipe, v, data.train.ids));
        } catch (e) {
          throw new AugmentationSetupError(
            `--image-views ${settings.image.views}: ${(e as Error).message.replace('Embed the views first', `Embed them first ("kfashion embed --workspace ${ws.root} --model ${data.embedding.model} --views ${settings.image.views}${settings.image.viewSeed ? ` --view-seed ${settings.image.viewSeed}` : ''}")`)}`,
          );
        }
      }
    }
    return new AugmentedBatches(data, settings, seed, source, json, views, recipe);
  }

  /** The encoder inputs of a training step's rows, JSON-augmented when the run asks for it. */
  inputs(rows: readonly number[], epoch: number, step: number, trace?: JsonAugmentTrace[]): EncoderInputs {
    if (!this.json) return makeInputs(this.data.train, this.data.fields, rows);
    const indices = this.json.augmentRows(this.source, rows, { seed: this.seed, epoch, step }, trace);
    return makeInputs({ indices }, this.data.fields, [...rows.keys()]);
  }

  /** Which view each training garment uses in `epoch`: 0 = the original, v = augmented view v. */
  viewPicks(epoch: number): Uint8Array {
    const n = this.data.train.ids.length;
    const picks = new Uint8Array(n);
    if (this.views.length === 0) return picks;
    const rng = Rng.derive('image-view-pick', this.seed, epoch);
    for (let r = 0; r < n; r++) picks[r] = rng.int(0, this.views.length);
    return picks;
  }

  /** The image vectors of a step's rows, each garment's view of this epoch. */
  images(rows: readonly number[], picks: Uint8Array): Float32Array {
    const dim = this.data.embedding.dim;
    if (this.views.length === 0) return gatherImages(this.data.train, dim, rows);
    const out = new Float32Array(rows.length * dim);
    rows.forEach((r, b) => {
      const v = picks[r]!;
      const m = v === 0 ? this.data.train.images : this.views[v - 1]!;
      out.set(m.subarray(r * dim, (r + 1) * dim), b * dim);
    });
    return out;
  }

  /**
   * MixUp of a step's image vectors ([Note: MixUp and InfoNCE] in mixup.ts): with the run's
   * probability each row is mixed with another row of the batch, λ ~ Beta(α, α) folded to ≥ 0.5,
   * drawn from (seed, epoch, step) alone so a replay or resume mixes the same rows by the same λ.
   * Returns the images to train on and the soft targets, or the images unchanged and no targets when
   * MixUp is off or no row of this step was mixed (then the step is plain InfoNCE, bit for bit).
   */
  mix(
    images: Float32Array,
    B: number,
    epoch: number,
    step: number,
  ): { images: Float32Array; targets: Float64Array | undefined; pairs: MixPair[] } {
    const { mixup, mixupAlpha } = this.settings.image;
    if (!(mixup > 0)) return { images, targets: undefined, pairs: [] };
    const dim = this.data.embedding.dim;
    const m = mixupImages(images, B, dim, mixup, mixupAlpha, mixupRng(this.seed, epoch, step));
    if (m.pairs.length === 0) return { images, targets: undefined, pairs: [] };
    return { images: m.images, targets: mixTargets(B, m.pairs), pairs: m.pairs };
  }

  /**
   * The augmentation of a step as a record for the dashboard (augmentation-samples.ts), written into
   * `resultsDir`. The step's draws are redone from their seed, so they are the ones training used.
   */
  recordSamples(
    ws: Workspace,
    resultsDir: string,
    runId: string,
    rows: readonly number[],
    epoch: number,
    step: number,
    picks: Uint8Array,
  ): string {
    const decoder = new JsonAugmenter(this.settings.json, {
      fields: this.data.fields,
      fieldKinds: this.data.fieldKinds,
      vocabulary: this.data.vocabulary,
    });
    const traces: JsonAugmentTrace[] = [];
    const after = this.json
      ? this.json.augmentRows(this.source, rows, { seed: this.seed, epoch, step }, traces)
      : null;
    if (!after) for (const row of rows) traces.push({ row, dropped: [], replaced: [], mixed: null });
    const before: Record<string, Int32Array[]> = {};
    for (const f of this.data.fields) before[f] = rows.map((r) => this.data.train.indices[f]![r]!);
    const file = buildAugmentationSamples(ws, {
      runId,
      settings: this.settings,
      recipe: this.recipe,
      model: this.data.embedding.model,
      epoch,
      step,
      ids: this.data.train.ids,
      traces,
      before: (b) => decoder.decode(before, b),
      after: (b) => decoder.decode(after ?? before, b),
      picks,
    });
    return writeAugmentationSamples(resultsDir, file);
  }
}

/** The run's augmentation, or null when its config has none (or all of it is off). */
export function augmentationForRun(
  ws: Workspace,
  data: TrainingData,
  config: { augmentation?: AugmentationSettings; seed: number },
): AugmentedBatches | null {
  const a = config.augmentation;
  if (!a || !augmentationActive(a)) return null;
  return AugmentedBatches.create(ws, data, a, config.seed);
}
