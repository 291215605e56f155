/**
 * Quick reads behind the data-path and exploring views: a data folder checked before it is scanned,
 * the image-encoder models the Embed panel offers (and whether their files are here), and the most
 * and least central garments of the best-seller proxy.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CentralItem, CentralItems, DatasetCheck, EmbedModels } from '../../src-shared/explore.ts';
import type { GarmentAttributes } from '../../src-shared/fields.ts';
import { ensureCrop } from '../dataset/crops.ts';
import { EXPECTED_LAYOUT, resolveLayout } from '../dataset/layout.ts';
import { defaultModelsDir, hubFileUrl } from '../encoders/image-encoder/model-files.ts';
import { DEFAULT_IMAGE_MODEL, DEVICES, MODEL_REGISTRY } from '../encoders/image-encoder/model-registry.ts';
import { MODEL_PATH_CANDIDATES } from '../encoders/image-encoder/open-encoder.ts';
import { workspaceEncoder } from '../encoders/image-encoder/workspace-encoder.ts';
import { centralityModel, loadCentrality } from '../evaluation/centrality.ts';
import { DatasetStore } from '../store/dataset-store.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { workspaceRelative } from './dataset-views.ts';
import { PathNotAllowedError } from './path-roots.ts';

const ACCEPTED = EXPECTED_LAYOUT.split('\n')
  .slice(1)
  .map((l) => l.trim());

/**
 * Checks a data folder the way the scan will read it, without scanning. A refusal by the allowed
 * roots (browser mode) is an answer, not an error, so the field can say it next to itself.
 */
export function checkDataFolder(
  path: string,
  checkPath: (path: string, field: string) => string,
  roots: readonly string[],
): DatasetCheck {
  const base = { path, roots: [...roots], accepted: ACCEPTED, sources: [] };
  try {
    checkPath(path, 'data');
  } catch (e) {
    if (e instanceof PathNotAllowedError) {
      return {
        ...base,
        ok: false,
        problem: 'outside-roots',
        message: `${path} is outside the folders this server may read. Allowed: ${roots.join(', ') || 'none'}. Start "kfashion web" with --root <folder> to allow another.`,
      };
    }
    throw e;
  }
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    return { ...base, ok: false, problem: 'not-found', message: `No folder at ${path}.` };
  }
  try {
    const layout = resolveLayout(path);
    const sources = layout.sources.map((s) => ({
      labelDir: s.labelDir,
      imageDir: s.imageDir,
      split: s.splitFolder,
      styles: [...s.styleFolders.keys()].sort(),
    }));
    if (sources.length === 0 || sources.every((s) => s.styles.length === 0)) {
      return {
        ...base,
        ok: false,
        problem: 'not-a-dataset',
        message: `${path} holds no K-Fashion label folders.`,
      };
    }
    return { ...base, ok: true, problem: null, message: null, sources };
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return { ...base, ok: false, problem: 'not-a-dataset', message: first };
  }
}

/** The registry's models with where their files go, and what the workspace already holds. */
export function embedModels(ws: Workspace | null): EmbedModels {
  const modelsDir = defaultModelsDir();
  const models = Object.values(MODEL_REGISTRY).map((m) => {
    const files: EmbedModels['models'][number]['files'] = {};
    for (const [precision, onnx] of Object.entries(m.onnx)) {
      const list = [onnx!, m.preprocessor].map((f) => {
        const path = join(modelsDir, m.id, f.path);
        return { path, url: hubFileUrl(m.repo, f.path), present: existsSync(path) };
      });
      files[precision] = { present: list.every((f) => f.present), files: list };
    }
    return {
      id: m.id,
      description: m.description,
      repo: m.repo,
      precisions: Object.keys(m.onnx),
      files,
    };
  });
  let itemsWithImage = 0;
  let embedded: EmbedModels['embedded'] = [];
  let current: string | null = null;
  if (ws) {
    itemsWithImage = new DatasetStore(ws.db).countItemsWithImage();
    embedded = new EmbeddingStore(ws.db)
      .models()
      .map((m) => ({ model: m.model, count: m.count, source: m.source }));
    current = workspaceEncoder(ws)?.model ?? null;
  }
  return {
    models,
    defaultModel: DEFAULT_IMAGE_MODEL,
    devices: [...DEVICES],
    modelsDir,
    exportFiles: [...MODEL_PATH_CANDIDATES, 'preprocessor_config.json'],
    itemsWithImage,
    embedded,
    current,
  };
}

function categoryOf(a: GarmentAttributes): string | null {
  const c = a.category;
  return typeof c === 'string' ? c : Array.isArray(c) ? (c[0] ?? null) : null;
}

/**
 * The `limit` most and least central garments of the stored centrality (null when never computed),
 * their crops cut on demand.
 */
export async function centralItems(
  ws: Workspace,
  opts: { model?: string; limit: number },
): Promise<CentralItems | null> {
  let model: string;
  try {
    model = centralityModel(ws, opts.model);
  } catch {
    return null;
  }
  const stored = loadCentrality(ws, model);
  if (!stored) return null;
  const ranked = [...stored.items.entries()].sort((a, b) => a[1].rank - b[1].rank);
  const store = new DatasetStore(ws.db);
  const view = async ([id, c]: (typeof ranked)[number]): Promise<CentralItem> => {
    const it = store.getItem(id);
    let crop: string | null = null;
    if (it?.imagePath) {
      try {
        crop = workspaceRelative(ws, (await ensureCrop(ws, it)).path);
      } catch {
        crop = null;
      }
    }
    return {
      id,
      rank: c.rank,
      centrality: c.centrality,
      anchor: c.anchor,
      style: it?.styleFolder ?? '',
      category: it ? categoryOf(it.attributes) : null,
      crop,
    };
  };
  const n = Math.min(opts.limit, Math.floor(ranked.length / 2));
  return {
    model,
    runId: stored.runId,
    computedAt: stored.computedAt,
    current: stored.current,
    total: ranked.length,
    most: await Promise.all(ranked.slice(0, n).map(view)),
    least: await Promise.all(
      ranked
        .slice(ranked.length - n)
        .reverse()
        .map(view),
    ),
  };
}
