/**
 * The image-encoder models `kfashion embed` knows by id. Both are 512-d CLIP image towers; the
 * workspace stores their vectors under the id, so two models never mix in one table.
 *
 * File sizes and checksums are listed only where they are known for certain: an unknown one stays
 * undefined, and the download then checks what the hub reports for the file (its size, and the
 * sha256 it gives as the ETag of a Git LFS file). A wrong number here would reject a good file.
 */

/** Where ONNX Runtime runs the model. Declared here, not beside the session code, so the CLI can
 * validate `--device` without loading onnxruntime-node. */
export type Device = 'cpu' | 'cuda' | 'dml';
export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'dml'];

export type Precision = 'fp32' | 'fp16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8'];

/** One file of a model, relative to `models/<id>/` locally and to the repository on the hub. */
export interface ModelFile {
  path: string;
  size?: number;
  sha256?: string;
}

/** Image preprocessing as CLIP's image processor does it (see preprocess.ts). */
export interface PreprocessDefaults {
  shortestEdge: number;
  cropSize: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** OpenAI CLIP's normalisation, which FashionCLIP and Marqo-FashionCLIP both keep. */
export const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
export const CLIP_PREPROCESS: PreprocessDefaults = {
  shortestEdge: 224,
  cropSize: 224,
  mean: CLIP_MEAN,
  std: CLIP_STD,
};

export interface RegistryModel {
  id: string;
  /** Model-hub repository the files come from. */
  repo: string;
  description: string;
  dim: 512;
  /** The ONNX file per precision this model is published in. */
  onnx: Partial<Record<Precision, ModelFile>>;
  preprocessor: ModelFile;
  /** Name of the image input, [B, 3, H, W] float32. */
  input: string;
  /** Name of the image-embedding output, [B, dim] float32. */
  output: string;
  /**
   * True when the ONNX file holds both CLIP towers (an Optimum export of CLIPModel): the text inputs
   * must then be fed too, with a dummy token sequence, although only the image output is read.
   */
  bothTowers: boolean;
  preprocess: PreprocessDefaults;
}

export const MODEL_REGISTRY: Readonly<Record<string, RegistryModel>> = {
  'fashion-clip': {
    id: 'fashion-clip',
    repo: 'patrickjohncyh/fashion-clip',
    description:
      'FashionCLIP (CLIP ViT-B/32 fine-tuned on fashion products), the model the earlier pipeline used',
    dim: 512,
    onnx: { fp32: { path: 'onnx/model.onnx' } },
    preprocessor: { path: 'preprocessor_config.json' },
    input: 'pixel_values',
    output: 'image_embeds',
    bothTowers: true,
    preprocess: CLIP_PREPROCESS,
  },
  'marqo-fashionclip': {
    id: 'marqo-fashionclip',
    repo: 'Marqo/marqo-fashionCLIP',
    description: 'Marqo-FashionCLIP (ViT-B/16), vision tower in the transformers.js layout',
    dim: 512,
    onnx: {
      fp32: { path: 'onnx/vision_model.onnx' },
      fp16: { path: 'onnx/vision_model_fp16.onnx' },
      int8: { path: 'onnx/vision_model_quantized.onnx' },
    },
    preprocessor: { path: 'preprocessor_config.json' },
    input: 'pixel_values',
    output: 'image_embeds',
    bothTowers: false,
    preprocess: CLIP_PREPROCESS,
  },
};

export const DEFAULT_IMAGE_MODEL = 'fashion-clip';

export class ModelRegistryError extends Error {
  override name = 'ModelRegistryError';
}

export function registryModel(id: string): RegistryModel {
  const m = Object.hasOwn(MODEL_REGISTRY, id) ? MODEL_REGISTRY[id] : undefined;
  if (!m) {
    throw new ModelRegistryError(
      `Unknown image model "${id}" (expected one of: ${Object.keys(MODEL_REGISTRY).join(', ')}; or give --model-path DIR with any CLIP vision ONNX export).`,
    );
  }
  return m;
}

/** The ONNX file of `model` at `precision`; says which precisions exist when this one does not. */
export function onnxFileFor(model: RegistryModel, precision: Precision): ModelFile {
  const f = model.onnx[precision];
  if (!f) {
    throw new ModelRegistryError(
      `${model.id} is published in ${Object.keys(model.onnx).join(', ')} only, not ${precision}.`,
    );
  }
  return f;
}
