/**
 * Real examples of a run's augmentation, recorded by the trainer at its first step and shown by the
 * dashboard: for a few garments of the first batch, the attribute JSON before and after the JSON
 * augmentation of that very step, and the image view that garment used in that epoch (its stored
 * picture and parameters), with the run's settings. Nothing is re-drawn for display, so what the
 * dashboard shows is what training used.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AugmentationSettings } from '../../src-shared/augmentation-config.ts';
import { describeView, type ViewParams } from '../dataset/augment/image-views.ts';
import type { JsonAugmentTrace } from '../dataset/augment/json-augment.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { CropStore } from '../store/crop-store.ts';
import { ViewEmbeddingStore } from '../store/view-embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';

export const AUGMENTATION_SAMPLES_FILE = 'augmentation_samples.json';
const SAMPLES = 4;

export interface AugmentationSample {
  itemId: string;
  epoch: number;
  step: number;
  /** Attribute JSON the encoder would have seen without augmentation, and what it saw. */
  before: Record<string, string | string[]>;
  after: Record<string, string | string[]>;
  /** One line per change, e.g. "dropped silhouette", "style 로맨틱 → 페미닌", "material swapped with …". */
  changes: string[];
  /** The image the garment's vector came from this epoch: 0 = its crop, v = augmented view v. */
  view: number;
  /** That picture, relative to the workspace (the crop, or the rendered view). */
  imagePath: string | null;
  /** How the view was made (empty for the original crop). */
  viewDescription: string;
}

export interface AugmentationSamplesFile {
  runId: string;
  createdAt: string;
  settings: AugmentationSettings;
  /** The view recipe the views came from. */
  recipe: string | null;
  samples: AugmentationSample[];
}

/** One line per change; `idOf` names a split row (default: "row N"). */
export function describeTrace(
  t: JsonAugmentTrace,
  idOf: (row: number) => string = (r) => `row ${r}`,
): string[] {
  const out: string[] = [];
  if (t.mixed) out.push(`${t.mixed.field} swapped with ${idOf(t.mixed.withRow)} (same category)`);
  for (const r of t.replaced) out.push(`${r.field} ${r.from} → ${r.to}`);
  for (const f of t.dropped) out.push(`dropped ${f}`);
  return out;
}

/**
 * Builds the record from the first step's traces. `ids` are the training split's item ids (trace
 * rows index them), `picks` the epoch's view of every garment.
 */
export function buildAugmentationSamples(
  ws: Workspace,
  opts: {
    runId: string;
    settings: AugmentationSettings;
    recipe: string | null;
    model: string;
    epoch: number;
    step: number;
    ids: readonly string[];
    traces: readonly JsonAugmentTrace[];
    before: (b: number) => Record<string, string | string[]>;
    after: (b: number) => Record<string, string | string[]>;
    picks: Uint8Array;
  },
): AugmentationSamplesFile {
  const views = new ViewEmbeddingStore(ws.db);
  const crops = new CropStore(ws.db);
  // Prefer garments that something happened to, so the examples show the augmentation.
  const order = opts.traces
    .map((t, b) => ({ t, b, n: describeTrace(t).length + (opts.picks[t.row] ? 1 : 0) }))
    .sort((x, y) => y.n - x.n || x.b - y.b)
    .slice(0, SAMPLES);
  const samples = order.map(({ t, b }): AugmentationSample => {
    const itemId = opts.ids[t.row]!;
    const view = opts.picks[t.row] ?? 0;
    const stored = view > 0 && opts.recipe ? views.get(opts.model, opts.recipe, itemId, view) : null;
    const changes = describeTrace(t, (r) => opts.ids[r] ?? `row ${r}`);
    return {
      itemId,
      epoch: opts.epoch,
      step: opts.step,
      before: opts.before(b),
      after: opts.after(b),
      changes,
      view,
      imagePath: stored?.path ?? crops.pathOf(itemId) ?? null,
      viewDescription: stored ? describeView(stored.params as ViewParams) : '',
    };
  });
  return {
    runId: opts.runId,
    createdAt: new Date().toISOString(),
    settings: opts.settings,
    recipe: opts.recipe,
    samples,
  };
}

export function writeAugmentationSamples(resultsDir: string, file: AugmentationSamplesFile): string {
  const path = join(resultsDir, AUGMENTATION_SAMPLES_FILE);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
  return path;
}

export function readAugmentationSamples(path: string): AugmentationSamplesFile | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AugmentationSamplesFile;
  } catch {
    return null;
  }
}
