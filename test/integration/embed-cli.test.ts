import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoWorkspacePaths, ensureDemoWorkspace } from '../../src-main/services/demo-workspace.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';

// One demo dataset for the whole file, in the app-data layout so ensureDemoWorkspace can reuse it.
const base = tempDir('kf-embed-cli ');
const { data: out } = demoWorkspacePaths(base);
const ws = join(base, 'ws 작업');
let demo: { garments: number; embeddings: { path: string; idsPath: string } };

beforeAll(() => {
  const r = kfashion(['demo', '--out', out, '--workspace', ws, '--json'], { timeoutMs: 120_000 });
  expect(r.code, r.stderr).toBe(0);
  const parsed = JSON.parse(r.stdout);
  demo = parsed.demo;
  expect(parsed.embeddings).toMatchObject({
    model: 'synthetic-demo',
    source: 'synthetic',
    synthetic: true,
    stored: demo.garments,
    unknownIds: { count: 0 },
  });
}, 120_000);
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('kfashion embed on the demo dataset', () => {
  it('demo --workspace imports the stand-in embeddings as synthetic-demo, and info shows them', () => {
    const info = JSON.parse(kfashion(['info', '--workspace', ws, '--json']).stdout);
    expect(info.embeddings).toEqual([
      { model: 'synthetic-demo', dim: 512, source: 'synthetic', count: demo.garments },
    ]);
    const human = kfashion(['info', '--workspace', ws]).stdout;
    expect(human).toContain(
      `synthetic-demo: ${demo.garments} vectors, 512-d, SYNTHETIC stand-ins, not FashionCLIP`,
    );
  });

  it("--import stores a researcher's .npy + ids end to end and reports it", () => {
    // A researcher's export: the same vectors, copied out of the demo folder.
    const exported = join(base, 'from python');
    mkdirSync(exported);
    copyFileSync(demo.embeddings.path, join(exported, 'emb.npy'));
    copyFileSync(demo.embeddings.idsPath, join(exported, 'emb_ids.json'));
    const args = [
      'embed',
      '--workspace',
      ws,
      '--import',
      join(exported, 'emb.npy'),
      '--ids',
      join(exported, 'emb_ids.json'),
    ];
    const r = kfashion([...args, '--model', 'from-python', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      model: 'from-python',
      source: 'import',
      synthetic: false,
      stored: demo.garments,
      notes: [],
    });
    const human = kfashion([...args, '--model', 'from-python']);
    expect(human.stdout).toContain(
      `Imported ${demo.garments} of ${demo.garments} 512-d vectors as model "from-python" (import)`,
    );
    // The demo's own file stays labelled synthetic however it is imported.
    const demoFile = kfashion([
      'embed',
      '--workspace',
      ws,
      '--import',
      demo.embeddings.path,
      '--ids',
      demo.embeddings.idsPath,
    ]);
    expect(demoFile.code, demoFile.stderr).toBe(0);
    expect(demoFile.stdout.split('\n')[0]).toContain('SYNTHETIC DATA');
    expect(demoFile.stdout).toContain('as model "synthetic-demo" (SYNTHETIC stand-ins)');
    expect(demoFile.stdout).toContain('DEMO_MANIFEST.json is beside');
  });

  it('computes embeddings with an ONNX model from --model-path, then finds them all cached', () => {
    const model = join(base, 'tiny clip');
    writeTinyClip(model);
    const args = [
      'embed',
      '--workspace',
      ws,
      '--model-path',
      model,
      '--model',
      'tiny',
      '--batch',
      '8',
      '--threads',
      '1',
    ];
    const r = kfashion([...args, '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({
      model: 'tiny',
      device: 'cpu',
      threads: 1,
      batch: 8,
      embedded: demo.garments,
      failed: [],
      inputCache: { notKept: 0 },
    });
    // 20 GB, or half the disk's free space where that is less.
    expect(s.inputCache.limitBytes).toBeLessThanOrEqual(20e9);
    // Every crop kept at the model's input size: a 48-byte header and 224 × 224 × 3 bytes each.
    expect(s.inputCache.usedBytes).toBe(demo.garments * (48 + 224 * 224 * 3));
    const again = kfashion(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`Embedded 0 garment crops with tiny (cpu, 1 threads, batch 8)`);
    expect(again.stdout).toContain(`${demo.garments} already up to date`);
    expect(again.stdout).toMatch(
      /input cache \(crops at the model's input size.*\): \d+\.\d GB of its \d+\.\d GB limit/,
    );
  }, 120_000);

  it('exits 2 on bad flags and says what was expected', () => {
    const cases: [string[], string][] = [
      [['--batch', '0'], '--batch expects a whole number from 1 to 1024, got "0"'],
      [['--input-cache-gb', '-1'], '--input-cache-gb expects a whole number from 0 to 100000, got "-1"'],
      [['--device', 'tpu'], '--device expects one of cpu, cuda, dml, got "tpu"'],
      [['--precision', 'int4'], '--precision expects one of fp32, fp16, int8, got "int4"'],
      [
        ['--model', 'clip-huge'],
        '--model expects one of fashion-clip, marqo-fashionclip (or --model-path DIR',
      ],
      [['--import', 'x.npy'], '--import FILE.npy and --ids FILE.json go together'],
      [
        ['--import', 'x.npy', '--ids', 'x.json', '--device', 'cpu'],
        '--device apply to computing embeddings, not to --import',
      ],
      [['--model-path', 'x', '--precision', 'int8'], '--precision picks a registry model file'],
    ];
    for (const [flags, msg] of cases) {
      const r = kfashion(['embed', '--workspace', ws, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
    }
    const help = kfashion(['embed', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kfashion embed');
    expect(help.stdout).toContain('kfashion embed --workspace ws/demo --import emb.npy --ids emb_ids.json');
  }, 60_000);

  it('offline without the model files: exit 1 naming the file to put where and its URL', () => {
    const models = join(base, 'no models');
    const saved = { dir: process.env.KFASHION_MODELS_DIR, off: process.env.KFASHION_OFFLINE };
    process.env.KFASHION_MODELS_DIR = models;
    process.env.KFASHION_OFFLINE = '1';
    try {
      const r = kfashion(['embed', '--workspace', ws]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(join(models, 'fashion-clip', 'onnx', 'model.onnx'));
      expect(r.stderr).toContain(
        'https://huggingface.co/patrickjohncyh/fashion-clip/resolve/main/onnx/model.onnx',
      );
    } finally {
      if (saved.dir === undefined) delete process.env.KFASHION_MODELS_DIR;
      else process.env.KFASHION_MODELS_DIR = saved.dir;
      if (saved.off === undefined) delete process.env.KFASHION_OFFLINE;
      else process.env.KFASHION_OFFLINE = saved.off;
    }
  });

  it("the app's demo workspace gets the stand-in embeddings too", async () => {
    const made = await ensureDemoWorkspace(base);
    const wb = Workbench.open(made.workspace, { create: false });
    try {
      // synthetic-demo for training; demo-standin (SYNTHETIC stand-in image encoder) for image → image.
      expect(wb.embeddingModels()).toMatchObject([
        { model: 'demo-standin', source: 'onnx', count: demo.garments, detail: { synthetic: true } },
        { model: 'synthetic-demo', source: 'synthetic', count: demo.garments },
      ]);
    } finally {
      wb.close();
    }
  });
});
