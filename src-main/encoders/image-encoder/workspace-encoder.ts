/**
 * The workspace's image encoder: the model whose vectors image → image features (recommendation,
 * search by image) compare, recorded in the workspace (meta `image_encoder`) by `kfashion embed` and
 * opened here, so a query image is always embedded by the same model as the vectors it is compared to.
 *
 * This file is light to import: ONNX Runtime is loaded only when an encoder is opened.
 */
import { basename, isAbsolute, relative, resolve } from 'node:path';
import type { ImageEncoderLabel } from '../../../src-shared/recommend.ts';
import { getMeta, setMeta } from '../../store/database.ts';
import { EmbeddingStore } from '../../store/embedding-store.ts';
import type { Workspace } from '../../store/workspace.ts';
import {
  DEMO_STANDIN_MODEL,
  DEMO_STANDIN_NOTE,
  demoStandinDir,
  ensureDemoStandinFiles,
} from './demo-standin.ts';
import type { ModelFilesOptions } from './model-files.ts';
import { type Device, MODEL_REGISTRY, PRECISIONS, type Precision } from './model-registry.ts';
import type { ImageEncoder } from './onnx-image-encoder.ts';
import type { ImageModelOrigin, ImageModelSpec } from './open-encoder.ts';

export const IMAGE_ENCODER_META = 'image_encoder';

/** What the workspace records (meta `image_encoder`). */
export interface WorkspaceEncoderSetting {
  kind: ImageEncoderLabel['kind'];
  /** Id the vectors are stored under (embedding_models.model). */
  model: string;
  /** kind registry: the registry id and precision the id was made from. */
  registryId?: string;
  precision?: Precision;
  /**
   * kind path: the ONNX export's folder or file. Stored relative to the workspace when inside it (so a
   * moved workspace keeps working), absolute otherwise.
   */
  modelPath?: string;
  setAt: string;
}

export class WorkspaceEncoderError extends Error {
  override name = 'WorkspaceEncoderError';
}

export function labelOf(s: Pick<WorkspaceEncoderSetting, 'kind' | 'model'>): ImageEncoderLabel {
  const synthetic = s.kind === 'demo-standin';
  const what =
    s.kind === 'demo-standin'
      ? 'SYNTHETIC stand-in image encoder, not FashionCLIP'
      : s.kind === 'registry'
        ? 'registry model'
        : 'ONNX export';
  return { model: s.model, kind: s.kind, synthetic, label: `${s.model} (${what})` };
}

/** Records the encoder `spec` (as `kfashion embed` ran it, with the id its vectors got) as the workspace's. */
export function setWorkspaceEncoder(
  ws: Workspace,
  spec: ImageModelSpec,
  storedModel: string,
): WorkspaceEncoderSetting {
  const setAt = new Date().toISOString();
  let setting: WorkspaceEncoderSetting;
  if (
    storedModel === DEMO_STANDIN_MODEL &&
    spec.modelPath &&
    resolve(spec.modelPath) === demoStandinDir(ws.root)
  ) {
    setting = { kind: 'demo-standin', model: DEMO_STANDIN_MODEL, setAt };
  } else if (spec.modelPath) {
    const abs = resolve(spec.modelPath);
    const rel = relative(ws.root, abs);
    const inside = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    setting = { kind: 'path', model: storedModel, modelPath: inside ? rel : abs, setAt };
  } else {
    const registryId = spec.model ?? 'fashion-clip';
    setting = {
      kind: 'registry',
      model: storedModel,
      registryId,
      precision: spec.precision ?? 'fp32',
      setAt,
    };
  }
  setMeta(ws.db, IMAGE_ENCODER_META, setting);
  return setting;
}

/**
 * The workspace's encoder setting. Without a recorded one, a workspace whose stored vectors carry a
 * registry id (e.g. FashionCLIP vectors imported from Python as `fashion-clip`) uses that registry
 * model, since it makes vectors in the same space. Null when neither applies.
 */
export function workspaceEncoder(ws: Workspace): (WorkspaceEncoderSetting & { inferred: boolean }) | null {
  const s = getMeta<WorkspaceEncoderSetting>(ws.db, IMAGE_ENCODER_META);
  if (s) return { ...s, inferred: false };
  for (const m of new EmbeddingStore(ws.db).models()) {
    if (m.count === 0) continue;
    const match = /^(.+?)(?:-(fp16|int8))?$/.exec(m.model);
    const id = match?.[1];
    if (id && Object.hasOwn(MODEL_REGISTRY, id)) {
      const precision = (match?.[2] as Precision | undefined) ?? 'fp32';
      if (!PRECISIONS.includes(precision)) continue;
      return {
        kind: 'registry',
        model: m.model,
        registryId: id,
        precision,
        setAt: m.updatedAt,
        inferred: true,
      };
    }
  }
  return null;
}

export function workspaceEncoderLabel(ws: Workspace): ImageEncoderLabel | null {
  const s = workspaceEncoder(ws);
  return s ? labelOf(s) : null;
}

/** The spec `openImageEncoder` takes for the workspace's encoder (writing the demo stand-in's files if missing). */
export function workspaceEncoderSpec(ws: Workspace, s: WorkspaceEncoderSetting): ImageModelSpec {
  switch (s.kind) {
    case 'demo-standin':
      // Deterministic bytes: a deleted or damaged file is simply written again.
      return { model: DEMO_STANDIN_MODEL, modelPath: ensureDemoStandinFiles(demoStandinDir(ws.root)).dir };
    case 'path': {
      if (!s.modelPath)
        throw new WorkspaceEncoderError(`${IMAGE_ENCODER_META}: kind "path" without modelPath`);
      return { model: s.model, modelPath: resolve(ws.root, s.modelPath) };
    }
    case 'registry':
      return { model: s.registryId ?? s.model, precision: s.precision };
  }
}

export interface OpenedWorkspaceEncoder {
  encoder: ImageEncoder;
  origin: ImageModelOrigin;
  setting: WorkspaceEncoderSetting & { inferred: boolean };
  label: ImageEncoderLabel;
}

/**
 * [Note: one encoder session per process] Image search and recommendation both embed query images
 * with the workspace encoder and keep it open between requests; each opening its own would hold two
 * ONNX Runtime sessions (two copies of the weights, two threads competing for the cores) of the same
 * model. Openings of the same workspace, model and settings therefore share one session: each caller
 * still closes its `encoder`, and the session is released when the last one has.
 */
const shared = new Map<string, { users: number; opened: Promise<OpenedWorkspaceEncoder> }>();

/**
 * Opens the workspace's image encoder (shared: [Note: one encoder session per process]). The caller
 * closes `encoder`. Errors name what to run when the workspace has none.
 */
export async function openWorkspaceImageEncoder(
  ws: Workspace,
  opts: { device?: Device; threads?: number; files?: ModelFilesOptions } = {},
): Promise<OpenedWorkspaceEncoder> {
  const setting = workspaceEncoder(ws);
  // A download with its own progress callback is not shared (its caller watches that download).
  if (!setting || opts.files) return openUnshared(ws, opts);
  const key = JSON.stringify([
    ws.root,
    setting.model,
    setting.setAt,
    opts.device ?? null,
    opts.threads ?? null,
  ]);
  let entry = shared.get(key);
  if (!entry) {
    const opened = openUnshared(ws, opts);
    const created = { users: 0, opened };
    entry = created;
    shared.set(key, created);
    opened.catch(() => {
      if (shared.get(key) === created) shared.delete(key);
    });
  }
  const mine = entry;
  mine.users++;
  let opened: OpenedWorkspaceEncoder;
  try {
    opened = await mine.opened;
  } catch (e) {
    mine.users--;
    throw e;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (--mine.users > 0) return;
    if (shared.get(key) === mine) shared.delete(key);
    await opened.encoder.close();
  };
  return { ...opened, encoder: Object.assign(Object.create(opened.encoder) as ImageEncoder, { close }) };
}

async function openUnshared(
  ws: Workspace,
  opts: { device?: Device; threads?: number; files?: ModelFilesOptions },
): Promise<OpenedWorkspaceEncoder> {
  const setting = workspaceEncoder(ws);
  if (!setting) {
    throw new WorkspaceEncoderError(
      `The workspace ${ws.root} has no image encoder yet, so query images cannot be embedded. Run "kfashion embed --workspace ${ws.root}" (FashionCLIP; or --model-path DIR for your own CLIP export), or "kfashion embed --workspace ${ws.root} --model ${DEMO_STANDIN_MODEL}" for the SYNTHETIC stand-in encoder.`,
    );
  }
  const spec = { ...workspaceEncoderSpec(ws, setting), device: opts.device, threads: opts.threads };
  const { openImageEncoder } = await import('./open-encoder.ts');
  const { encoder, origin } = await openImageEncoder(spec, opts.files ?? {});
  if (encoder.modelId !== setting.model) {
    await encoder.close();
    throw new WorkspaceEncoderError(
      `The workspace image encoder is recorded as "${setting.model}" but opening it gave "${encoder.modelId}" (${basename(origin.onnxPath)}); run "kfashion embed" again to record it.`,
    );
  }
  const label = labelOf(setting);
  return {
    encoder,
    origin: label.synthetic ? { ...origin, synthetic: true, note: DEMO_STANDIN_NOTE } : origin,
    setting,
    label,
  };
}
