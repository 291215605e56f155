/**
 * A frozen CLIP image tower run by ONNX Runtime. One session per encoder, created once with an
 * explicit thread count and execution provider, checked against what `kfashion embed` needs (an image
 * input [B, 3, H, W], an embedding output [B, dim]) and warmed up on zeros, so a wrong file fails at
 * load time with a message naming it, never halfway through a workspace.
 *
 * The session runs on a worker thread of its own by default (onnx-session-host.ts says why), so `embed`
 * is truly asynchronous: embed-images.ts prepares the next batch while this one computes.
 */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import {
  createSessionHost,
  type RawTensor,
  type SessionHost,
  type SessionThread,
} from '../onnx-session-host.ts';
import type { Device } from './model-registry.ts';
import type { PreprocessConfig } from './preprocess.ts';
import { outputSize } from './preprocess.ts';

export { DEVICES, type Device } from './model-registry.ts';

export class ImageEncoderError extends Error {
  override name = 'ImageEncoderError';
}

export interface LoadImageEncoderOptions {
  /** Id the vectors are stored under. */
  modelId: string;
  onnxPath: string;
  preprocess: PreprocessConfig;
  /** Image input name (default pixel_values). */
  input?: string;
  /** Embedding output name (default image_embeds). */
  output?: string;
  /** Expected embedding size (default 512). */
  dim?: number;
  device?: Device;
  /** Intra-op threads (default: the machine's available parallelism). */
  threads?: number;
  /** Run the session on its own worker thread (default) or on the calling thread. */
  thread?: SessionThread;
}

export interface ImageEncoder {
  readonly modelId: string;
  readonly onnxPath: string;
  readonly dim: number;
  readonly device: Device;
  readonly threads: number;
  /** Where the session runs: its own worker thread, or the calling thread. */
  readonly thread: SessionThread;
  readonly inputSize: { height: number; width: number };
  readonly preprocess: PreprocessConfig;
  /** Inputs fed with a dummy token sequence because the file also holds CLIP's text tower. */
  readonly dummyInputs: string[];
  /**
   * Embeds a batch: `pixels` is B images of CHW float32, either contiguous (B × 3 × H × W floats) or
   * one array per image. Returns B × dim floats, each row L2-normalised (here, whether or not the
   * model already normalises, so every stored vector is unit-length).
   */
  embed(pixels: Float32Array | readonly Float32Array[]): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Token ids of CLIP's start and end markers: the shortest valid text for a both-towers export. */
const DUMMY_TEXT = [49406n, 49407n];
/** Extra inputs of a both-towers CLIP export that may be fed a dummy text. */
const TEXT_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids']);

/** The execution providers for `device`, or an error saying which devices work on this platform. */
export function executionProviders(device: Device, platform: NodeJS.Platform = process.platform): string[] {
  const works = platform === 'win32' ? 'cpu or dml (DirectML)' : platform === 'linux' ? 'cpu or cuda' : 'cpu';
  if (device === 'cpu') return ['cpu'];
  if (device === 'cuda' && platform !== 'linux') {
    throw new ImageEncoderError(
      `--device cuda is available on Linux only; on this platform (${platform}) use ${works}.`,
    );
  }
  if (device === 'dml' && platform !== 'win32') {
    throw new ImageEncoderError(
      `--device dml (DirectML) is available on Windows only; on this platform (${platform}) use ${works}.`,
    );
  }
  const supported = ort.listSupportedBackends().map((b) => b.name);
  if (!supported.includes(device)) {
    throw new ImageEncoderError(
      `--device ${device}: this onnxruntime-node build has no ${device} execution provider (it has ${supported.join(', ')}); use ${works}.`,
    );
  }
  // CPU second: nodes the GPU provider does not implement fall back to it.
  return [device, 'cpu'];
}

function describeMeta(m: ort.InferenceSession.ValueMetadata): string {
  return m.isTensor ? `${m.name} ${m.type} [${m.shape.join(', ')}]` : `${m.name} (not a tensor)`;
}

export async function loadImageEncoder(opts: LoadImageEncoderOptions): Promise<ImageEncoder> {
  const inputName = opts.input ?? 'pixel_values';
  const outputName = opts.output ?? 'image_embeds';
  const dim = opts.dim ?? 512;
  const device = opts.device ?? 'cpu';
  const threads = opts.threads ?? availableParallelism();
  const file = opts.onnxPath;
  const size = outputSize(opts.preprocess);
  const providers = executionProviders(device);

  // ORT prints its own error lines (e.g. a missing CUDA library) to stderr before the error we raise
  // says the same in words; keep them for KFASHION_DEBUG only.
  if (!process.env.KFASHION_DEBUG) ort.env.logLevel = 'fatal';
  let session: SessionHost;
  try {
    session = await createSessionHost(
      file,
      {
        executionProviders: providers as ort.InferenceSession.ExecutionProviderConfig[],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: process.env.KFASHION_DEBUG ? 2 : 4,
        // [Note: image encoder without spinning] ORT's pool threads spin between operators and after a
        // run by default. Where they share the cores (other processes, this process's decodes and
        // writes between batches), a spinning thread takes the core a working one needs: bare ORT on the
        // ViT-B/32-shaped graph ran 1.6-2.0x faster without it at load average 6-9 on 2 cores (5
        // alternating 3 s rounds, batch 8), and used less CPU per image; quiet it was 0.989x (`npm run
        // bench -- embed --spin-check`). Scheduling only: the kernels and how they split the work are
        // the same, so the vectors are too (tested against a default session).
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      },
      opts.thread ?? 'worker',
    );
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (device !== 'cpu') {
      throw new ImageEncoderError(
        `${file}: the ${device} execution provider could not start (${msg}). ${device === 'cuda' ? 'It needs the CUDA 12 runtime and cuDNN 9, and onnxruntime-node installed without ONNXRUNTIME_NODE_INSTALL_CUDA=skip' : 'It needs Windows 10 1903+ and a DirectX 12 GPU'}; or use --device cpu.`,
      );
    }
    throw new ImageEncoderError(`${file}: ONNX Runtime cannot load this file as a model: ${msg}`);
  }

  const fail = (what: string): never => {
    void session.release();
    throw new ImageEncoderError(
      `${file}: ${what}. Expected a CLIP vision ONNX export: input ${inputName} float32 [B, 3, ${size.height}, ${size.width}], output ${outputName} float32 [B, ${dim}]. The model has inputs ${session.inputMetadata.map(describeMeta).join('; ')} and outputs ${session.outputMetadata.map(describeMeta).join('; ')}.`,
    );
  };
  const inMeta = session.inputMetadata.find((m) => m.name === inputName);
  const outMeta = session.outputMetadata.find((m) => m.name === outputName);
  if (!inMeta) fail(`no input named ${inputName}`);
  if (!outMeta) fail(`no output named ${outputName}`);
  if (inMeta?.isTensor) {
    const [, c, h, w] = inMeta.shape;
    if (inMeta.shape.length !== 4) fail(`input ${inputName} has ${inMeta.shape.length} dimensions, not 4`);
    if (typeof c === 'number' && c !== 3) fail(`input ${inputName} has ${c} channels, not 3`);
    if ((typeof h === 'number' && h !== size.height) || (typeof w === 'number' && w !== size.width)) {
      fail(
        `input ${inputName} is ${h}×${w} but the preprocessor config crops to ${size.height}×${size.width}`,
      );
    }
    if (inMeta.type !== 'float32' && inMeta.type !== 'float16') {
      fail(`input ${inputName} is ${inMeta.type}, not float32 or float16`);
    }
  }
  if (outMeta?.isTensor) {
    const last = outMeta.shape.at(-1);
    if (typeof last === 'number' && last !== dim) fail(`output ${outputName} is ${last}-d, not ${dim}-d`);
  }
  const others = session.inputNames.filter((n) => n !== inputName);
  const unknown = others.filter((n) => !TEXT_INPUTS.has(n));
  if (unknown.length > 0) fail(`it needs inputs this encoder cannot fill: ${unknown.join(', ')}`);
  const inputType = inMeta?.isTensor ? inMeta.type : 'float32';
  const dummyFeeds: Record<string, RawTensor> = {};
  for (const n of others) {
    const meta = session.inputMetadata.find((m) => m.name === n);
    const type = meta?.isTensor ? meta.type : 'int64';
    const values = n === 'input_ids' ? DUMMY_TEXT : n === 'position_ids' ? [0n, 1n] : [1n, 1n];
    dummyFeeds[n] =
      type === 'int32'
        ? { type: 'int32', data: Int32Array.from(values, Number), dims: [1, values.length] }
        : { type: 'int64', data: BigInt64Array.from(values), dims: [1, values.length] };
  }

  const floatsPerImage = 3 * size.height * size.width;
  let closed = false;
  const encoder: ImageEncoder = {
    modelId: opts.modelId,
    onnxPath: file,
    dim,
    device,
    threads,
    thread: session.thread,
    inputSize: size,
    preprocess: opts.preprocess,
    dummyInputs: others,
    async embed(pixels) {
      if (closed) throw new ImageEncoderError(`${file}: the encoder was closed`);
      const flat = Array.isArray(pixels)
        ? concat(pixels as readonly Float32Array[])
        : (pixels as Float32Array);
      const batch = flat.length / floatsPerImage;
      if (!Number.isInteger(batch) || batch === 0) {
        throw new ImageEncoderError(
          `embed: ${flat.length} floats is not a whole number of ${size.height}×${size.width} RGB images (${floatsPerImage} floats each)`,
        );
      }
      const shape = [batch, 3, size.height, size.width];
      const image: RawTensor =
        inputType === 'float16'
          ? { type: 'float16', data: toHalf(flat), dims: shape }
          : { type: 'float32', data: flat, dims: shape };
      let t: RawTensor;
      try {
        t = await session.run({ ...dummyFeeds, [inputName]: image }, outputName);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new ImageEncoderError(msg.startsWith(file) ? msg : `${file}: ${msg}`);
      }
      const data = t.type === 'float16' ? fromHalf(t.data as Uint16Array) : (t.data as Float32Array);
      if (data.length !== batch * dim) {
        throw new ImageEncoderError(
          `${file}: output ${outputName} has shape [${t.dims.join(', ')}] for a batch of ${batch}; expected [${batch}, ${dim}]`,
        );
      }
      // Owned by us already (the host copies ORT's output); a float16 one was converted into a new array.
      const out = data;
      normaliseRows(out, dim);
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
  // Warm-up on zeros: allocates ORT's buffers before timing starts and proves the output size.
  try {
    await encoder.embed(new Float32Array(floatsPerImage));
  } catch (e) {
    await encoder.close();
    const msg = e instanceof Error ? e.message : String(e);
    throw e instanceof ImageEncoderError
      ? e
      : new ImageEncoderError(`${file}: a test run on zeros failed: ${msg}`);
  }
  return encoder;
}

function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** L2-normalises each `dim`-long row in place (a zero row stays zero). */
export function normaliseRows(m: Float32Array, dim: number): void {
  for (let r = 0; r < m.length; r += dim) {
    let s = 0;
    for (let i = r; i < r + dim; i++) s += m[i]! * m[i]!;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let i = r; i < r + dim; i++) m[i]! *= inv;
  }
}

// float16 conversions for fp16 exports whose input/output stay half precision (Node 20 has no
// Float16Array; ORT takes and gives the raw 16-bit patterns).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]!);
  return out;
}
/** IEEE 754 binary16 bits of `v`, rounded to nearest, ties to even (as numpy's astype does). */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e32 = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (e32 === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = e32 - 127 + 15;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
function fromHalf(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] =
      e === 0
        ? s * 2 ** -14 * (f / 1024)
        : e === 31
          ? f
            ? Number.NaN
            : s * Infinity
          : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}
