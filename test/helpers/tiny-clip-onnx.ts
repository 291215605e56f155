/**
 * Tiny ONNX models with FashionCLIP's image signature, generated here and never downloaded (no model
 * weights can be fetched on the build machine, and tests must run the real loading code on a real
 * ONNX Runtime session).
 *
 * The protobuf bytes come from the product's own minimal writer (src-main/encoders/onnx-model-writer.ts).
 *
 * The vision model: pixel_values [batch, 3, 224, 224] → GlobalAveragePool → Flatten → MatMul by a
 * fixed [3, dim] matrix → Add a fixed bias → image_embeds [batch, dim]. Different colours therefore
 * give different embeddings, and `tinyClipReference` computes the expected output in plain JS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  ELEM,
  type NodeSpec,
  onnxModel,
  type TensorSpec,
  type ValueSpec,
} from '../../src-main/encoders/onnx-model-writer.ts';

export { onnxModel };

// ---- the tiny CLIP models ------------------------------------------------------------------------

/** A fixed pseudo-random matrix (mulberry32), so every run builds byte-identical models. */
function fixedFloats(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export function tinyClipWeights(dim = 512): { w: Float32Array; b: Float32Array } {
  return { w: fixedFloats(3 * dim, 11), b: fixedFloats(dim, 12, 0.1) };
}

/** The vision tower: [B,3,224,224] → per-channel mean → × W [3,dim] + b → image_embeds [B,dim]. */
function visionPart(dim: number): { nodes: NodeSpec[]; initializers: TensorSpec[] } {
  const { w, b } = tinyClipWeights(dim);
  return {
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixel_values'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['channel_means'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['channel_means', 'visual_projection'], outputs: ['projected'] },
      { op: 'Add', inputs: ['projected', 'visual_bias'], outputs: ['image_embeds'] },
    ],
    initializers: [
      { name: 'visual_projection', dims: [3, dim], data: w },
      { name: 'visual_bias', dims: [dim], data: b },
    ],
  };
}

const PIXELS: ValueSpec = { name: 'pixel_values', type: 'float', dims: ['batch_size', 3, 224, 224] };

/** A CLIP vision export (transformers.js `vision_model.onnx` layout). `dim` ≠ 512 makes a bad one. */
export function tinyClipVisionModel(dim = 512): Uint8Array {
  const v = visionPart(dim);
  return onnxModel({
    inputs: [PIXELS],
    outputs: [{ name: 'image_embeds', type: 'float', dims: ['batch_size', dim] }],
    ...v,
  });
}

/**
 * FashionCLIP's layout: one `model.onnx` holding both towers, with inputs input_ids, pixel_values and
 * attention_mask, and outputs logits_per_image, text_embeds and image_embeds. The text "tower" is the
 * masked mean of the token ids times a [1,512] vector, and logits_per_image uses both towers, so the
 * text inputs really must be fed.
 */
export function tinyFashionClipModel(): Uint8Array {
  const v = visionPart(512);
  return onnxModel({
    inputs: [
      { name: 'input_ids', type: 'int64', dims: ['text_batch_size', 'sequence_length'] },
      PIXELS,
      { name: 'attention_mask', type: 'int64', dims: ['text_batch_size', 'sequence_length'] },
    ],
    outputs: [
      { name: 'logits_per_image', type: 'float', dims: ['batch_size', 'text_batch_size'] },
      { name: 'text_embeds', type: 'float', dims: ['text_batch_size', 512] },
      { name: 'image_embeds', type: 'float', dims: ['batch_size', 512] },
    ],
    nodes: [
      ...v.nodes,
      { op: 'Cast', inputs: ['input_ids'], outputs: ['ids_f'], attrs: { to: 1 } },
      { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_f'], attrs: { to: 1 } },
      { op: 'Mul', inputs: ['ids_f', 'mask_f'], outputs: ['masked'] },
      { op: 'ReduceMean', inputs: ['masked'], outputs: ['token_mean'], attrs: { axes: [1], keepdims: 1 } },
      { op: 'MatMul', inputs: ['token_mean', 'text_projection'], outputs: ['text_embeds'] },
      { op: 'Transpose', inputs: ['text_embeds'], outputs: ['text_t'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['image_embeds', 'text_t'], outputs: ['logits_per_image'] },
    ],
    initializers: [
      ...v.initializers,
      { name: 'text_projection', dims: [1, 512], data: fixedFloats(512, 13, 1e-5) },
    ],
  });
}

/** transformers' CLIPImageProcessor config as `save_pretrained` writes it. */
export const CLIP_PREPROCESSOR_CONFIG = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { shortest_edge: 224 },
};

/**
 * A half-precision export (like transformers.js `vision_model_fp16.onnx` without kept float32 I/O):
 * pixel_values and image_embeds are float16; inside, Casts wrap the float32 vision part.
 */
export function tinyClipVisionModelFp16(): Uint8Array {
  const v = visionPart(512);
  const nodes = v.nodes.map((n) => ({
    ...n,
    inputs: n.inputs.map((i) => (i === 'pixel_values' ? 'pixels_f32' : i)),
    outputs: n.outputs.map((o) => (o === 'image_embeds' ? 'embeds_f32' : o)),
  }));
  return onnxModel({
    inputs: [{ ...PIXELS, type: 'float16' }],
    outputs: [{ name: 'image_embeds', type: 'float16', dims: ['batch_size', 512] }],
    nodes: [
      { op: 'Cast', inputs: ['pixel_values'], outputs: ['pixels_f32'], attrs: { to: ELEM.float } },
      ...nodes,
      { op: 'Cast', inputs: ['embeds_f32'], outputs: ['image_embeds'], attrs: { to: ELEM.float16 } },
    ],
    initializers: v.initializers,
  });
}

export type TinyVariant = 'vision' | 'fashion-clip' | 'bad-dim' | 'fp16';

/**
 * Writes a tiny model and its preprocessor_config.json into `dir`, at `file` (relative; default
 * `vision_model.onnx`, or `onnx/model.onnx` for the fashion-clip layout). Returns the model's path.
 */
export function writeTinyClip(dir: string, variant: TinyVariant = 'vision', file?: string): string {
  const bytes =
    variant === 'fashion-clip'
      ? tinyFashionClipModel()
      : variant === 'bad-dim'
        ? tinyClipVisionModel(256)
        : variant === 'fp16'
          ? tinyClipVisionModelFp16()
          : tinyClipVisionModel();
  const path = join(dir, file ?? (variant === 'fashion-clip' ? 'onnx/model.onnx' : 'vision_model.onnx'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    `${JSON.stringify(CLIP_PREPROCESSOR_CONFIG, null, 2)}\n`,
  );
  return path;
}

/** The tiny model's output for per-channel means of the preprocessed image, L2-normalised. */
export function tinyClipReference(channelMeans: readonly [number, number, number], dim = 512): Float32Array {
  const { w, b } = tinyClipWeights(dim);
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    out[j] =
      channelMeans[0] * w[j]! + channelMeans[1] * w[dim + j]! + channelMeans[2] * w[2 * dim + j]! + b[j]!;
  }
  const n = Math.hypot(...out);
  for (let j = 0; j < dim; j++) out[j]! /= n;
  return out;
}
