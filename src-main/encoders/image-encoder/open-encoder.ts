/**
 * Turns what a user asked for (`--model ID [--precision P]`, or `--model-path DIR`) into a loaded
 * image encoder: finds or downloads the files, reads the preprocessor config, creates the session.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ensureRegistryModelFiles, type ModelFilesOptions } from './model-files.ts';
import { DEFAULT_IMAGE_MODEL, type Precision, registryModel } from './model-registry.ts';
import { type Device, type ImageEncoder, ImageEncoderError, loadImageEncoder } from './onnx-image-encoder.ts';
import { readPreprocessorConfig } from './preprocess.ts';

export interface ImageModelSpec {
  /** Registry id (default fashion-clip); with `modelPath`, the id the vectors are stored under. */
  model?: string;
  /** Folder of any CLIP vision ONNX export with its preprocessor_config.json. */
  modelPath?: string;
  precision?: Precision;
  device?: Device;
  threads?: number;
}

/** Where an encoder's files came from, recorded with the vectors (embedding_models.detail). */
export interface ImageModelOrigin {
  model: string;
  onnxPath: string;
  preprocessorPath: string;
  repo: string | null;
  precision: Precision | null;
  downloaded: string[];
  /** Set for a stand-in encoder (the demo's `demo-standin`): its vectors are not FashionCLIP's. */
  synthetic?: boolean;
  /** Said wherever the vectors show (stored in embedding_models.detail, printed by embed). */
  note?: string;
}

/** ONNX file names tried inside a --model-path folder, in this order. */
export const MODEL_PATH_CANDIDATES = [
  'vision_model.onnx',
  'model.onnx',
  'onnx/vision_model.onnx',
  'onnx/model.onnx',
] as const;

export function resolveModelPath(dir: string): { onnxPath: string; preprocessorPath: string } {
  const root = resolve(dir);
  if (existsSync(root) && statSync(root).isFile() && root.endsWith('.onnx')) {
    // An .onnx file given directly: its preprocessor config sits beside it (or one folder up).
    const beside = join(root, '..', 'preprocessor_config.json');
    const above = join(root, '..', '..', 'preprocessor_config.json');
    const pre = existsSync(beside) ? beside : existsSync(above) ? above : beside;
    if (!existsSync(pre)) {
      throw new ImageEncoderError(
        `--model-path ${root}: no preprocessor_config.json beside it (looked for ${beside}); export it with the model (processor.save_pretrained(dir)).`,
      );
    }
    return { onnxPath: root, preprocessorPath: pre };
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ImageEncoderError(
      `--model-path ${root}: no such folder (expected a folder holding a CLIP vision ONNX export)`,
    );
  }
  const onnx = MODEL_PATH_CANDIDATES.map((c) => join(root, c)).find((p) => existsSync(p));
  if (!onnx) {
    throw new ImageEncoderError(
      `--model-path ${root}: no ONNX model found (looked for ${MODEL_PATH_CANDIDATES.join(', ')})`,
    );
  }
  const pre = join(root, 'preprocessor_config.json');
  if (!existsSync(pre)) {
    throw new ImageEncoderError(
      `--model-path ${root}: ${pre} is missing; it tells how to resize and normalise images (save it with processor.save_pretrained(dir) in Python).`,
    );
  }
  return { onnxPath: onnx, preprocessorPath: pre };
}

export async function openImageEncoder(
  spec: ImageModelSpec,
  files: ModelFilesOptions = {},
): Promise<{ encoder: ImageEncoder; origin: ImageModelOrigin }> {
  if (spec.modelPath) {
    const { onnxPath, preprocessorPath } = resolveModelPath(spec.modelPath);
    const model = spec.model ?? basename(resolve(spec.modelPath)).replace(/\.onnx$/, '');
    const encoder = await loadImageEncoder({
      modelId: model,
      onnxPath,
      preprocess: readPreprocessorConfig(preprocessorPath),
      device: spec.device,
      threads: spec.threads,
    });
    return {
      encoder,
      origin: { model, onnxPath, preprocessorPath, repo: null, precision: null, downloaded: [] },
    };
  }
  const entry = registryModel(spec.model ?? DEFAULT_IMAGE_MODEL);
  const precision = spec.precision ?? 'fp32';
  const f = await ensureRegistryModelFiles(entry, precision, files);
  // fp16/int8 vectors differ slightly from fp32 ones: they get their own id, so caches never mix.
  const model = precision === 'fp32' ? entry.id : `${entry.id}-${precision}`;
  const encoder = await loadImageEncoder({
    modelId: model,
    onnxPath: f.onnxPath,
    preprocess: readPreprocessorConfig(f.preprocessorPath),
    input: entry.input,
    output: entry.output,
    dim: entry.dim,
    device: spec.device,
    threads: spec.threads,
  });
  return {
    encoder,
    origin: {
      model,
      onnxPath: f.onnxPath,
      preprocessorPath: f.preprocessorPath,
      repo: entry.repo,
      precision,
      downloaded: f.downloaded,
    },
  };
}
