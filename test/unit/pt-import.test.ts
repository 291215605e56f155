/**
 * Reading torch.save files without executing pickles: the checked-in fixture (made once by
 * scripts/make-pt-fixture.py), a state_dict PyTorch writes during the test when torch exists (its
 * outputs must match ours within 1e-5), and bad files whose errors name the tensor or the opcode.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/pytorch-reference.ts';
import { importStateDict, inferConfig } from '../../src-main/encoders/json-encoder/pt-import.ts';
import { PYTORCH_MODULE_SOURCE } from '../../src-main/encoders/json-encoder/pytorch-module.ts';
import {
  parseTorchCheckpoint,
  readTorchCheckpoint,
} from '../../src-main/encoders/json-encoder/torch-checkpoint.ts';
import { tinyInputs } from '../helpers/encoder-inputs.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-encoder.pt');
const dir = mkdtempSync(join(tmpdir(), 'kf-pt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A zip with a hand-written pickle as data.pkl, like torch.save's layout. */
function ptWith(pickle: number[] | Uint8Array): Uint8Array {
  return zipSync(
    { 'x/data.pkl': Uint8Array.from(pickle), 'x/version': new TextEncoder().encode('3\n') },
    { level: 0 },
  );
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('.pt import', () => {
  it('reads the checked-in fixture: nested checkpoint dict, strided and float64 tensors', () => {
    const t = readTorchCheckpoint(FIXTURE);
    expect(Object.keys(t)).toEqual([
      'field_embeddings.category.weight',
      'field_embeddings.style.weight',
      'mlp.0.weight',
      'mlp.0.bias',
      'mlp.3.weight',
      'mlp.3.bias',
    ]);
    expect(t['mlp.0.weight']!.shape).toEqual([8, 6]);
    // mlp.0.weight is tensor 2: 3000 + arange(48) in C order, whatever the storage layout.
    expect([...t['mlp.0.weight']!.data.subarray(0, 3)]).toEqual([3000, 3001, 3002]);
    expect(t['mlp.0.weight']!.data[47]).toBe(3047);
    expect([...t['mlp.0.bias']!.data.subarray(0, 2)]).toEqual([4000, 4001]);
    const config = inferConfig(t);
    expect(config).toMatchObject({
      fields: ['category', 'style'],
      embedDim: 3,
      hiddenDim: 8,
      depth: 1,
      norm: 'none',
    });
    const { model } = importStateDict(t);
    expect(model.encode(tinyInputs(config, 2, 1)).length).toBe(1024);
  });

  it('an explicit mapping renames tensors; a mapping to a missing tensor is named', () => {
    const t = readTorchCheckpoint(FIXTURE);
    const renamed = Object.fromEntries(
      Object.entries(t).map(([k, v]) => [k.replace('mlp.', 'head.layers.'), v]),
    );
    const map = {
      tensors: {
        'mlp.0.weight': 'head.layers.0.weight',
        'mlp.0.bias': 'head.layers.0.bias',
        'mlp.3.weight': 'head.layers.3.weight',
        'mlp.3.bias': 'head.layers.3.bias',
      },
    };
    // Unmapped leftovers are unexpected tensors for a strict load.
    expect(importStateDict(renamed, map).config.hiddenDim).toBe(8);
    expect(() => importStateDict(renamed, { tensors: { 'mlp.0.weight': 'nope' } })).toThrow(
      /no tensor 'nope'/,
    );
  });

  it('bad files: not a zip, legacy format, a pickle naming os.system, an unknown opcode, a short storage', async () => {
    expect(() => parseTorchCheckpoint(new TextEncoder().encode('hello'), 'x.pt')).toThrow(
      /x.pt: not a torch.save file/,
    );
    expect(() => parseTorchCheckpoint(Uint8Array.from([0x80, 2, 0x8a, 0x0a]), 'old.pt')).toThrow(/legacy/);
    // PROTO 2, GLOBAL 'os system', BINUNICODE 'echo', TUPLE1, REDUCE, STOP
    const evil = [0x80, 2, ...ascii('cos\nsystem\n'), 0x58, 4, 0, 0, 0, ...ascii('echo'), 0x85, 0x52, 0x2e];
    expect(() => parseTorchCheckpoint(ptWith(evil), 'evil.pt')).toThrow(
      /global 'os.system'.*nothing is executed/,
    );
    expect(() => parseTorchCheckpoint(ptWith([0x80, 2, 0xff, 0x2e]), 'op.pt')).toThrow(/opcode 0xff/);
    const bytes = readFileSync(FIXTURE);
    const files = (await import('fflate')).unzipSync(new Uint8Array(bytes));
    files['tiny-encoder/data/4'] = files['tiny-encoder/data/4']!.subarray(0, 16);
    expect(() => parseTorchCheckpoint(zipSync(files, { level: 0 }), 'short.pt')).toThrow(
      /tensor 'mlp.3.weight': storage data\/4 is too short/,
    );
  });
});

const python = findTorchPython();
if (!python)
  console.log('pt-import: the PyTorch-written state_dict test is skipped — no python3 can `import torch`');

describe.skipIf(!python)('.pt written by PyTorch in this test', () => {
  it('a deep residual LayerNorm GELU state_dict imports, loads strictly and gives PyTorch’s outputs', () => {
    const config = {
      fields: ['category', 'style', 'silhouette', 'material', 'detail'],
      fieldKinds: {
        category: 'single',
        style: 'multi',
        silhouette: 'single',
        material: 'multi',
        detail: 'multi',
      },
      vocabSizes: { category: 6, style: 7, silhouette: 5, material: 8, detail: 6 },
      embedDim: 8,
      hiddenDim: 16,
      outputDim: 512,
      dropout: 0.1,
      depth: 3,
      residual: true,
      norm: 'layer',
      activation: 'gelu',
    } as const;
    const inputs = tinyInputs({ ...config, fields: [...config.fields] }, 6, 3);
    writeFileSync(join(dir, 'encoder_module.py'), PYTORCH_MODULE_SOURCE);
    writeFileSync(
      join(dir, 'spec.json'),
      JSON.stringify({
        config,
        fields: Object.fromEntries(
          Object.entries(inputs.fields).map(([f, v]) => [f, { indices: [...v.indices], slots: v.slots }]),
        ),
      }),
    );
    const script = `
import json, sys
sys.path.insert(0, sys.argv[1])
import torch
from encoder_module import JsonEncoder
torch.manual_seed(0)
spec = json.load(open(sys.argv[1] + "/spec.json"))
m = JsonEncoder(spec["config"])
with torch.no_grad():
    for p in m.parameters():
        p.add_(0.1 * torch.randn_like(p))
m.eval()
torch.save(m.state_dict(), sys.argv[1] + "/sd.pt")
batch = {f: torch.tensor(v["indices"]).reshape(-1, v["slots"]) for f, v in spec["fields"].items()}
with torch.no_grad():
    print(json.dumps(m(batch).reshape(-1).tolist()))
`;
    const run = spawnSync(python!, ['-c', script, dir], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const theirs = JSON.parse(run.stdout) as number[];
    const { config: got, model } = importStateDict(readTorchCheckpoint(join(dir, 'sd.pt')), {
      encoder: { activation: 'gelu' },
    });
    expect(got).toMatchObject({ depth: 3, residual: true, norm: 'layer', hiddenDim: 16, embedDim: 8 });
    const ours = model.encode(inputs);
    expect(Math.max(...theirs.map((v, i) => Math.abs(v - ours[i]!)))).toBeLessThan(1e-5);
  });
});
