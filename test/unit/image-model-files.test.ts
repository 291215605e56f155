import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  downloadFile,
  ensureFiles,
  ensureRegistryModelFiles,
  hubFileUrl,
} from '../../src-main/encoders/image-encoder/model-files.ts';
import {
  MODEL_REGISTRY,
  onnxFileFor,
  registryModel,
} from '../../src-main/encoders/image-encoder/model-registry.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { tinyClipVisionModel } from '../helpers/tiny-clip-onnx.ts';

describe('model registry', () => {
  it('knows both 512-d models, their files and CLIP preprocessing', () => {
    const fc = registryModel('fashion-clip');
    expect(fc).toMatchObject({ repo: 'patrickjohncyh/fashion-clip', dim: 512, bothTowers: true });
    expect(onnxFileFor(fc, 'fp32').path).toBe('onnx/model.onnx');
    const marqo = registryModel('marqo-fashionclip');
    expect(marqo.repo).toBe('Marqo/marqo-fashionCLIP');
    expect(onnxFileFor(marqo, 'int8').path).toBe('onnx/vision_model_quantized.onnx');
    expect(onnxFileFor(marqo, 'fp16').path).toBe('onnx/vision_model_fp16.onnx');
    for (const m of Object.values(MODEL_REGISTRY)) {
      expect(m.preprocess).toMatchObject({ shortestEdge: 224, cropSize: 224 });
      expect([m.input, m.output]).toEqual(['pixel_values', 'image_embeds']);
    }
  });

  it('says which ids and precisions exist', () => {
    expect(() => registryModel('clip-huge')).toThrow(
      'Unknown image model "clip-huge" (expected one of: fashion-clip, marqo-fashionclip',
    );
    expect(() => registryModel('toString')).toThrow('Unknown image model');
    expect(() => onnxFileFor(registryModel('fashion-clip'), 'int8')).toThrow(
      'fashion-clip is published in fp32 only, not int8',
    );
  });
});

describe('model files offline', () => {
  it('names each missing file with its full path and the URL to fetch it from', async () => {
    const models = tempDir('kf-models-');
    try {
      const p = ensureRegistryModelFiles(registryModel('marqo-fashionclip'), 'int8', {
        modelsDir: models,
        download: false,
      });
      await expect(p).rejects.toThrow(/downloading is off/);
      const msg = await p.catch((e: Error) => e.message);
      expect(msg).toContain(join(models, 'marqo-fashionclip', 'onnx', 'vision_model_quantized.onnx'));
      expect(msg).toContain(
        'https://huggingface.co/Marqo/marqo-fashionCLIP/resolve/main/onnx/vision_model_quantized.onnx',
      );
      expect(msg).toContain(join(models, 'marqo-fashionclip', 'preprocessor_config.json'));
      expect(msg).toContain('KFASHION_MODELS_DIR');
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });

  it('reports the network failure when the hub cannot be reached', async () => {
    const models = tempDir('kf-models-');
    try {
      const err = await ensureFiles(join(models, 'm'), 'org/m', [{ path: 'onnx/model.onnx' }], {
        hub: 'http://127.0.0.1:9', // the discard port: nothing listens
      }).catch((e: Error) => e);
      expect(String(err)).toContain('could not be downloaded');
      expect(String(err)).toContain('download failed: onnx/model.onnx');
      expect(String(err)).toContain('http://127.0.0.1:9/org/m/resolve/main/onnx/model.onnx');
      expect(existsSync(join(models, 'm', 'onnx'))).toBe(false);
    } finally {
      rmSync(models, { recursive: true, force: true });
    }
  });
});

describe('model download from a local hub', () => {
  const model = tinyClipVisionModel();
  const sha = createHash('sha256').update(model).digest('hex');
  const config = Buffer.from('{"crop_size": 224}');
  let server: Server;
  let hub: string;
  const hits: string[] = [];
  beforeAll(async () => {
    // Mimics the Hugging Face hub: an LFS file answers with a redirect carrying X-Linked-Size and
    // X-Linked-Etag (its sha256), then the CDN serves the bytes; small files are served directly.
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const url = req.url ?? '';
      if (url === '/org/tiny/resolve/main/onnx/vision_model.onnx') {
        res.writeHead(302, {
          location: '/cdn/blob',
          'x-linked-size': String(model.length),
          'x-linked-etag': `"${sha}"`,
        });
        res.end();
      } else if (url === '/cdn/blob') {
        res.writeHead(200, { 'content-length': String(model.length) });
        res.end(model);
      } else if (url === '/org/tiny/resolve/main/preprocessor_config.json') {
        res.writeHead(200, {
          'content-length': String(config.length),
          etag: '"0123456789abcdef0123456789abcdef01234567"',
        });
        res.end(config);
      } else if (url === '/org/lying/resolve/main/model.onnx') {
        // Claims a sha256 the bytes do not have.
        res.writeHead(200, { 'x-linked-etag': `"${'0'.repeat(64)}"` });
        res.end(model);
      } else {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hub = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads through a .part file with progress, checks the hub size and sha256, then renames', async () => {
    const dir = tempDir('kf-models-');
    try {
      const progress: [string, number, number][] = [];
      const got = await ensureFiles(
        dir,
        'org/tiny',
        [{ path: 'onnx/vision_model.onnx' }, { path: 'preprocessor_config.json' }],
        {
          hub,
          onProgress: (f, r, t) => progress.push([f, r, t]),
        },
      );
      expect(got).toEqual([join(dir, 'onnx', 'vision_model.onnx'), join(dir, 'preprocessor_config.json')]);
      expect(readFileSync(join(dir, 'onnx', 'vision_model.onnx')).equals(Buffer.from(model))).toBe(true);
      expect(readdirSync(join(dir, 'onnx'))).toEqual(['vision_model.onnx']);
      const modelProgress = progress.filter(([f]) => f.endsWith('vision_model.onnx'));
      expect(modelProgress[0]).toEqual([join(dir, 'onnx', 'vision_model.onnx'), 0, model.length]);
      expect(modelProgress.at(-1)).toEqual([
        join(dir, 'onnx', 'vision_model.onnx'),
        model.length,
        model.length,
      ]);
      // Present files are not fetched again.
      hits.length = 0;
      expect(await ensureFiles(dir, 'org/tiny', [{ path: 'onnx/vision_model.onnx' }], { hub })).toEqual([]);
      expect(hits).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a size or checksum mismatch and leaves no file behind', async () => {
    const dir = tempDir('kf-models-');
    try {
      const dest = join(dir, 'onnx', 'vision_model.onnx');
      const url = hubFileUrl('org/tiny', 'onnx/vision_model.onnx', hub);
      await expect(downloadFile(url, dest, { size: model.length + 1 })).rejects.toThrow(
        `received ${model.length} bytes, expected ${model.length + 1}`,
      );
      expect(readdirSync(join(dir, 'onnx'))).toEqual([]);
      await expect(downloadFile(url, dest, { sha256: 'ab'.repeat(32) })).rejects.toThrow(
        `sha256 ${sha} does not match`,
      );
      await expect(downloadFile(`${hub}/org/lying/resolve/main/model.onnx`, dest, {})).rejects.toThrow(
        'does not match',
      );
      expect(readdirSync(join(dir, 'onnx'))).toEqual([]);
      await expect(downloadFile(`${hub}/nope`, dest, {})).rejects.toThrow('HTTP 404');
      // A wrong-size file already in place counts as missing, and the error says what is there.
      mkdirSync(join(dir, 'x'), { recursive: true });
      writeFileSync(join(dir, 'x', 'model.onnx'), 'short');
      const err = await ensureFiles(join(dir, 'x'), 'org/none', [{ path: 'model.onnx', size: 100 }], {
        hub,
      }).catch((e: Error) => e.message);
      expect(err).toContain('the file there is 5 bytes, expected 100');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
