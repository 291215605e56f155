/**
 * Tiny ONNX models with FashionCLIP's image signature, generated here and never downloaded (no model
 * weights can be fetched on the build machine, and tests must run the real loading code on a real
 * ONNX Runtime session).
 *
 * The protobuf bytes are written by hand: ONNX's schema is stable and only a handful of messages are
 * needed (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto), which is a
 * page of code against pulling `onnx`/`protobufjs` into the project for tests alone. Field numbers are
 * those of onnx/onnx.proto; repeated scalars are written unpacked, which proto2 parsers all accept.
 *
 * The vision model: pixel_values [batch, 3, 224, 224] → GlobalAveragePool → Flatten → MatMul by a
 * fixed [3, dim] matrix → Add a fixed bias → image_embeds [batch, dim]. Different colours therefore
 * give different embeddings, and `tinyClipReference` computes the expected output in plain JS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// ---- a minimal protobuf writer -------------------------------------------------------------------

const utf8 = new TextEncoder();

function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const intField = (field: number, v: number | bigint) => [...tag(field, 0), ...varint(v)];
const bytesField = (field: number, data: Uint8Array) => concat([tag(field, 2), varint(data.length), data]);
const strField = (field: number, s: string) => bytesField(field, utf8.encode(s));
const msgField = (field: number, parts: readonly (Uint8Array | number[])[]) =>
  bytesField(field, concat(parts));
function floatField(field: number, v: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...tag(field, 5), ...b];
}

// ---- ONNX messages -------------------------------------------------------------------------------

const ELEM = { float: 1, int64: 7, float16: 10 } as const;
type Elem = keyof typeof ELEM;

export interface TensorSpec {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}
export interface ValueSpec {
  name: string;
  type: Elem;
  /** A number is a fixed size, a string a symbolic (dynamic) dimension. */
  dims: (number | string)[];
}
export type AttrValue = number | number[] | string | { float: number };
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}
export interface GraphSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  opset?: number;
}

function tensorProto(t: TensorSpec): Uint8Array {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return concat([
    ...t.dims.map((d) => intField(1, d)), // dims
    intField(2, t.data instanceof Float32Array ? ELEM.float : ELEM.int64), // data_type
    strField(8, t.name), // name
    bytesField(9, raw), // raw_data (little-endian, which is the host order here)
  ]);
}

function valueInfo(v: ValueSpec): Uint8Array {
  const dims = v.dims.map((d) => msgField(1, [typeof d === 'number' ? intField(1, d) : strField(2, d)]));
  const shape = msgField(2, dims); // TypeProto.Tensor.shape
  const tensorType = msgField(1, [intField(1, ELEM[v.type]), shape]); // TypeProto.tensor_type
  return concat([strField(1, v.name), msgField(2, [tensorType])]);
}

function attribute(name: string, v: AttrValue): Uint8Array {
  // AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
  if (typeof v === 'number') return concat([strField(1, name), intField(3, v), intField(20, 2)]);
  if (typeof v === 'string') return concat([strField(1, name), strField(4, v), intField(20, 3)]);
  if (Array.isArray(v)) return concat([strField(1, name), ...v.map((x) => intField(8, x)), intField(20, 7)]);
  return concat([strField(1, name), floatField(2, v.float), intField(20, 1)]);
}

function nodeProto(n: NodeSpec, k: number): Uint8Array {
  return concat([
    ...n.inputs.map((s) => strField(1, s)),
    ...n.outputs.map((s) => strField(2, s)),
    strField(3, `${n.op.toLowerCase()}_${k}`),
    strField(4, n.op),
    ...Object.entries(n.attrs ?? {}).map(([a, v]) => msgField(5, [attribute(a, v)])),
  ]);
}

/** Serialises a graph as an ONNX ModelProto (ir_version 8, default domain at `opset`, 13 unless given). */
export function onnxModel(g: GraphSpec): Uint8Array {
  const graph = concat([
    ...g.nodes.map((n, k) => msgField(1, [nodeProto(n, k)])),
    strField(2, 'tiny_clip'),
    ...g.initializers.map((t) => msgField(5, [tensorProto(t)])),
    ...g.inputs.map((v) => msgField(11, [valueInfo(v)])),
    ...g.outputs.map((v) => msgField(12, [valueInfo(v)])),
  ]);
  return concat([
    intField(1, 8), // ir_version
    strField(2, 'kfashion-workbench tests'), // producer_name
    msgField(7, [graph]),
    msgField(8, [strField(1, ''), intField(2, g.opset ?? 13)]), // opset_import
  ]);
}

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
