/**
 * The demo's SYNTHETIC stand-in image encoder, `demo-standin`.
 *
 * Why it exists: the demo dataset's vectors (`synthetic-demo`) are made from the garments' attributes,
 * not from pixels, so an uploaded photo cannot be put into that space. Image → image features
 * (recommendation, search by image) need a model that turns any picture into a vector, and no real
 * model can be downloaded for the demo. This is such a model, generated at run time: an ONNX graph with
 * CLIP's vision signature (pixel_values [B,3,224,224] → image_embeds [B,512]) that the real embed
 * pipeline and ONNX Runtime run like any CLIP export.
 *
 * What it computes: the preprocessed image averaged over an 8×8 grid per channel (the colour layout,
 * 192 numbers), times a fixed seeded Gaussian projection to 512-d (a random projection keeps cosine
 * similarities of the 192-d layouts approximately, Johnson–Lindenstrauss). Similar colours in similar
 * places give similar vectors; it knows nothing of garments. It is NOT FashionCLIP, and every output
 * that shows its vectors says so.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../dataset/rng.ts';
import { writeFileAtomic } from '../../store/atomic-file.ts';
import { onnxModel } from '../onnx-model-writer.ts';
import { CLIP_MEAN, CLIP_STD } from './model-registry.ts';

export const DEMO_STANDIN_MODEL = 'demo-standin';
export const DEMO_STANDIN_NOTE =
  'SYNTHETIC stand-in image encoder (demo-standin): an 8×8 colour-layout average times a fixed random projection, generated for the demo. Not FashionCLIP; similarities it gives say nothing about real fashion images.';

const GRID = 8;
const INPUT = 224;
const DIM = 512;
const POOL = INPUT / GRID; // 28
const FEATURES = 3 * GRID * GRID; // 192
const SEED = 20_240_611;

/** The fixed projection [192, 512], N(0, 1/192): same bytes on every machine and run. */
export function demoStandinProjection(): Float32Array {
  const rng = Rng.derive('demo-standin-projection', SEED);
  const w = new Float32Array(FEATURES * DIM);
  const scale = 1 / Math.sqrt(FEATURES);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * scale;
  return w;
}

/** The ONNX model bytes (opset 13). */
export function demoStandinModel(): Uint8Array {
  return onnxModel({
    name: 'demo_standin_synthetic_image_encoder',
    inputs: [{ name: 'pixel_values', type: 'float', dims: ['batch_size', 3, INPUT, INPUT] }],
    outputs: [{ name: 'image_embeds', type: 'float', dims: ['batch_size', DIM] }],
    nodes: [
      {
        op: 'AveragePool',
        inputs: ['pixel_values'],
        outputs: ['grid'],
        attrs: { kernel_shape: [POOL, POOL], strides: [POOL, POOL] },
      },
      { op: 'Flatten', inputs: ['grid'], outputs: ['layout'], attrs: { axis: 1 } },
      { op: 'MatMul', inputs: ['layout', 'projection'], outputs: ['image_embeds'] },
    ],
    initializers: [{ name: 'projection', dims: [FEATURES, DIM], data: demoStandinProjection() }],
  });
}

/** transformers' CLIPImageProcessor config (the model takes CLIP-preprocessed pixels). */
export const DEMO_STANDIN_PREPROCESSOR = {
  crop_size: { height: INPUT, width: INPUT },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: CLIP_MEAN,
  image_processor_type: 'CLIPImageProcessor',
  image_std: CLIP_STD,
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: INPUT },
};

export interface DemoStandinFiles {
  dir: string;
  onnxPath: string;
  preprocessorPath: string;
  sha256: string;
  /** True when this call wrote (or rewrote) the files. */
  written: boolean;
}

const README = `SYNTHETIC STAND-IN IMAGE ENCODER - NOT FASHIONCLIP

K-Fashion Workbench generated this folder for its demo workspace. vision_model.onnx has CLIP's
vision signature (pixel_values [B,3,224,224] -> image_embeds [B,512]) so the real embedding pipeline
runs it, but it only averages the colours of an 8x8 grid and multiplies them by a fixed random matrix.
It is deterministic (the same bytes on every machine) and is rewritten if deleted or changed.

Similarities computed with it say nothing about real fashion images. Do not report them as results.
`;

/**
 * Writes the stand-in encoder (vision_model.onnx, preprocessor_config.json, README) into `dir`
 * unless identical files are already there. Writes go through a temporary file, so a crash never
 * leaves half a model for the next start to load.
 */
export function ensureDemoStandinFiles(dir: string): DemoStandinFiles {
  const bytes = demoStandinModel();
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const onnxPath = join(dir, 'vision_model.onnx');
  const preprocessorPath = join(dir, 'preprocessor_config.json');
  const pre = `${JSON.stringify(DEMO_STANDIN_PREPROCESSOR, null, 2)}\n`;
  const same = (path: string, want: Uint8Array | string) => {
    if (!existsSync(path)) return false;
    const have = readFileSync(path);
    return typeof want === 'string' ? have.toString('utf8') === want : Buffer.from(want).equals(have);
  };
  let written = false;
  mkdirSync(dir, { recursive: true });
  const put = (path: string, data: Uint8Array | string) => {
    if (same(path, data)) return;
    writeFileAtomic(path, data);
    written = true;
  };
  put(onnxPath, bytes);
  put(preprocessorPath, pre);
  put(join(dir, 'README_SYNTHETIC.txt'), README);
  return { dir, onnxPath, preprocessorPath, sha256, written };
}

/** Where a workspace keeps its generated stand-in encoder. */
export function demoStandinDir(workspaceRoot: string): string {
  return join(workspaceRoot, 'models', DEMO_STANDIN_MODEL);
}
