import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIP_MEAN, CLIP_STD } from '../../src-main/encoders/image-encoder/model-registry.ts';
import {
  executionProviders,
  floatToHalf,
  loadImageEncoder,
  normaliseRows,
} from '../../src-main/encoders/image-encoder/onnx-image-encoder.ts';
import { openImageEncoder, resolveModelPath } from '../../src-main/encoders/image-encoder/open-encoder.ts';
import {
  defaultPreprocessConfig,
  preprocessImage,
} from '../../src-main/encoders/image-encoder/preprocess.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { onnxModel, tinyClipReference, writeTinyClip } from '../helpers/tiny-clip-onnx.ts';

const dir = tempDir('kf-encoder-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FLOATS = 3 * 224 * 224;
const px0 = () => new Float32Array(FLOATS);

/** A batch of solid images already "preprocessed": channel c of image i holds values[i][c]. */
function solidBatch(values: [number, number, number][]): Float32Array {
  const out = new Float32Array(values.length * FLOATS);
  values.forEach((v, i) => {
    for (let c = 0; c < 3; c++) out.fill(v[c]!, i * FLOATS + c * 224 * 224, i * FLOATS + (c + 1) * 224 * 224);
  });
  return out;
}

describe('ONNX image encoder on a tiny CLIP-shaped model', () => {
  it('embeds a batch into unit-length 512-d rows equal to the reference computation', async () => {
    writeTinyClip(join(dir, 'vision'));
    const { encoder } = await openImageEncoder({ modelPath: join(dir, 'vision'), threads: 1 });
    try {
      expect(encoder).toMatchObject({
        modelId: 'vision',
        dim: 512,
        device: 'cpu',
        threads: 1,
        dummyInputs: [],
      });
      const colours: [number, number, number][] = [
        [1, -1, 0.5],
        [-0.2, 0.3, 2],
        [1, -1, 0.5],
      ];
      const out = await encoder.embed(solidBatch(colours));
      expect(out.length).toBe(3 * 512);
      for (let i = 0; i < 3; i++) {
        const row = out.subarray(i * 512, (i + 1) * 512);
        expect(Math.hypot(...row)).toBeCloseTo(1, 5);
        const ref = tinyClipReference(colours[i]!);
        for (let j = 0; j < 512; j += 37) expect(row[j]).toBeCloseTo(ref[j]!, 5);
      }
      expect(out[0]).not.toBeCloseTo(out[512]!, 3);
      // One array per image gives the same result as one contiguous batch.
      const parts = await encoder.embed([solidBatch([colours[0]!]), solidBatch([colours[1]!])]);
      expect(Array.from(parts)).toEqual(Array.from(out.subarray(0, 1024)));
      await expect(encoder.embed(new Float32Array(100))).rejects.toThrow(
        'not a whole number of 224×224 RGB images',
      );
    } finally {
      await encoder.close();
    }
  });

  it('runs on its own worker thread by default, with the same results as on the calling thread', async () => {
    const path = writeTinyClip(join(dir, 'threads'));
    const preprocess = defaultPreprocessConfig();
    const worker = await loadImageEncoder({ modelId: 'w', onnxPath: path, preprocess, threads: 1 });
    const main = await loadImageEncoder({
      modelId: 'm',
      onnxPath: path,
      preprocess,
      threads: 1,
      thread: 'main',
    });
    try {
      expect([worker.thread, main.thread]).toEqual(['worker', 'main']);
      const px = solidBatch([
        [0.3, 0.2, -0.9],
        [2, 1, 0],
      ]);
      // Concurrent calls on the worker are answered in order, each with its own result.
      const [a, b, c] = await Promise.all([
        worker.embed(px),
        worker.embed(px.subarray(0, FLOATS)),
        main.embed(px),
      ]);
      expect(Array.from(a)).toEqual(Array.from(c));
      expect(Array.from(b)).toEqual(Array.from(c.subarray(0, 512)));
      expect(px[0]).toBe(Math.fround(0.3)); // the caller's input is left intact (not transferred)
    } finally {
      await worker.close();
      await main.close();
    }
    await expect(worker.embed(px0())).rejects.toThrow('the encoder was closed');
  });

  it('gives the same bits as an ONNX Runtime session with its default (spinning) thread pool', async () => {
    const path = writeTinyClip(join(dir, 'spin'));
    const encoder = await loadImageEncoder({
      modelId: 's',
      onnxPath: path,
      preprocess: defaultPreprocessConfig(),
      threads: 2,
    });
    const ort = await import('onnxruntime-node');
    const bare = await ort.InferenceSession.create(path, { intraOpNumThreads: 2, interOpNumThreads: 1 });
    try {
      const px = new Float32Array(3 * FLOATS).map((_, i) => Math.sin(i * 0.37) * 2);
      const ours = await encoder.embed(px);
      const out = await bare.run({ pixel_values: new ort.Tensor('float32', px, [3, 3, 224, 224]) });
      const ref = new Float32Array(out['image_embeds']!.data as Float32Array);
      normaliseRows(ref, 512);
      expect(Buffer.from(ours.buffer, ours.byteOffset, ours.byteLength)).toEqual(Buffer.from(ref.buffer));
    } finally {
      await encoder.close();
      await bare.release();
    }
  });

  it('feeds dummy text to a both-towers export (fashion-clip layout) and reads image_embeds', async () => {
    const models = join(dir, 'models');
    writeTinyClip(join(models, 'fashion-clip'), 'fashion-clip');
    const { encoder, origin } = await openImageEncoder(
      { model: 'fashion-clip', threads: 1 },
      { modelsDir: models, download: false },
    );
    try {
      expect(encoder.dummyInputs.sort()).toEqual(['attention_mask', 'input_ids']);
      expect(origin).toMatchObject({
        model: 'fashion-clip',
        repo: 'patrickjohncyh/fashion-clip',
        precision: 'fp32',
      });
      expect(origin.onnxPath).toBe(join(models, 'fashion-clip', 'onnx', 'model.onnx'));
      // Real pixels through the real preprocessing: a solid colour image.
      const png = await sharp({
        create: { width: 64, height: 90, channels: 3, background: { r: 30, g: 160, b: 90 } },
      })
        .png()
        .toBuffer();
      const px = await preprocessImage(png, encoder.preprocess);
      const out = await encoder.embed(px);
      const means = [30, 160, 90].map((v, c) => (v / 255 - CLIP_MEAN[c]!) / CLIP_STD[c]!) as [
        number,
        number,
        number,
      ];
      const ref = tinyClipReference(means);
      for (let j = 0; j < 512; j += 51) expect(out[j]).toBeCloseTo(ref[j]!, 4);
    } finally {
      await encoder.close();
    }
  });

  it('converts to and from float16 for a half-precision export', async () => {
    writeTinyClip(join(dir, 'fp16'), 'fp16');
    const { encoder } = await openImageEncoder({ modelPath: join(dir, 'fp16'), threads: 1 });
    try {
      const colours: [number, number, number][] = [
        [1.5, -0.75, 0.25],
        [-1.2, 0.6, 1.9],
      ];
      const out = await encoder.embed(solidBatch(colours));
      for (let i = 0; i < 2; i++) {
        const row = out.subarray(i * 512, (i + 1) * 512);
        expect(Math.hypot(...row)).toBeCloseTo(1, 5);
        const ref = tinyClipReference(colours[i]!);
        // float16 keeps ~3 significant digits of each output value.
        for (let j = 0; j < 512; j += 17) expect(Math.abs(row[j]! - ref[j]!)).toBeLessThan(2e-4);
      }
    } finally {
      await encoder.close();
    }
  });

  it('rounds float32 to float16 to nearest, ties to even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(Number.NaN) & 0x7e00).toBe(0x7e00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToHalf(0.1)).toBe(0x2e66); // numpy: np.float16(0.1).view(np.uint16) == 0x2e66
  });

  it('rejects a model with the wrong output size, naming the file and what it found', async () => {
    const bad = writeTinyClip(join(dir, 'bad'), 'bad-dim');
    const err = await openImageEncoder({ modelPath: join(dir, 'bad'), threads: 1 }).catch(
      (e: Error) => e.message,
    );
    expect(err).toContain(`${bad}: output image_embeds is 256-d, not 512-d`);
    expect(err).toContain('outputs image_embeds float32 [batch_size, 256]');
  });

  it('rejects a model without the CLIP input or output names, or with a wrong image size', async () => {
    const cfg = defaultPreprocessConfig();
    const graph = (input: string, output: string, size = 224) =>
      onnxModel({
        inputs: [{ name: input, type: 'float', dims: ['b', 3, size, size] }],
        outputs: [{ name: output, type: 'float', dims: ['b', 3, 1, 1] }],
        nodes: [{ op: 'GlobalAveragePool', inputs: [input], outputs: [output] }],
        initializers: [],
      });
    const f1 = join(dir, 'wrong-input.onnx');
    writeFileSync(f1, graph('images', 'image_embeds'));
    await expect(
      loadImageEncoder({ modelId: 'x', onnxPath: f1, preprocess: cfg, threads: 1 }),
    ).rejects.toThrow(
      `${f1}: no input named pixel_values. Expected a CLIP vision ONNX export: input pixel_values float32 [B, 3, 224, 224]`,
    );
    const f2 = join(dir, 'wrong-output.onnx');
    writeFileSync(f2, graph('pixel_values', 'last_hidden_state'));
    await expect(
      loadImageEncoder({ modelId: 'x', onnxPath: f2, preprocess: cfg, threads: 1 }),
    ).rejects.toThrow(/no output named image_embeds.*outputs last_hidden_state float32/);
    const f3 = join(dir, 'wrong-size.onnx');
    writeFileSync(f3, graph('pixel_values', 'image_embeds', 336));
    await expect(
      loadImageEncoder({ modelId: 'x', onnxPath: f3, preprocess: cfg, threads: 1 }),
    ).rejects.toThrow('input pixel_values is 336×336 but the preprocessor config crops to 224×224');
    const f4 = join(dir, 'garbage.onnx');
    writeFileSync(f4, 'not a model');
    await expect(loadImageEncoder({ modelId: 'x', onnxPath: f4, preprocess: cfg })).rejects.toThrow(
      `${f4}: ONNX Runtime cannot load this file as a model`,
    );
  });

  it('explains a --model-path folder that lacks the model or its preprocessor config', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => resolveModelPath(empty)).toThrow(
      `--model-path ${empty}: no ONNX model found (looked for vision_model.onnx, model.onnx`,
    );
    expect(() => resolveModelPath(join(dir, 'nope'))).toThrow('no such folder');
    const noCfg = join(dir, 'no-config');
    mkdirSync(noCfg, { recursive: true });
    writeFileSync(join(noCfg, 'model.onnx'), '');
    expect(() => resolveModelPath(noCfg)).toThrow(`${join(noCfg, 'preprocessor_config.json')} is missing`);
  });

  it('maps devices to execution providers and says which device works on this platform', () => {
    expect(executionProviders('cpu')).toEqual(['cpu']);
    expect(() => executionProviders('dml', 'linux')).toThrow(
      '--device dml (DirectML) is available on Windows only; on this platform (linux) use cpu or cuda.',
    );
    expect(() => executionProviders('cuda', 'win32')).toThrow(
      '--device cuda is available on Linux only; on this platform (win32) use cpu or dml (DirectML).',
    );
    expect(() => executionProviders('cuda', 'darwin')).toThrow('on this platform (darwin) use cpu.');
  });

  it.runIf(process.platform === 'linux')(
    'explains a CUDA provider that cannot start (installed with ONNXRUNTIME_NODE_INSTALL_CUDA=skip here)',
    async () => {
      const path = writeTinyClip(join(dir, 'cuda'));
      const got = await loadImageEncoder({
        modelId: 'x',
        onnxPath: path,
        preprocess: defaultPreprocessConfig(),
        device: 'cuda',
      })
        .then(async (e) => {
          await e.close();
          return 'loaded'; // a machine with CUDA: nothing to explain
        })
        .catch((e: Error) => e.message);
      if (got !== 'loaded') {
        expect(got).toContain(`${path}: the cuda execution provider could not start`);
        expect(got).toContain('or use --device cpu.');
      }
    },
  );
});
