/**
 * PyTorch parity of the layered JSON encoder: a tiny deep residual LayerNorm GELU variant is trained
 * here, saved as safetensors, loaded by the PyTorch module of pytorch-module.ts with strict=True, and
 * both compute the same eval-mode vectors within 1e-5. Also a BatchNorm variant (running statistics).
 * Skipped with the reason printed where no python3 can import torch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/pytorch-reference.ts';
import { Rng } from '../../src-main/dataset/rng.ts';
import { makeJsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-config.ts';
import type { JsonEncoderConfig } from '../../src-main/encoders/json-encoder/json-encoder-types.ts';
import { LayeredJsonEncoder } from '../../src-main/encoders/json-encoder/layered-encoder.ts';
import { PYTORCH_MODULE_SOURCE } from '../../src-main/encoders/json-encoder/pytorch-module.ts';
import { encodeSafetensors } from '../../src-main/training/safetensors.ts';
import { tinyInputs } from '../helpers/encoder-inputs.ts';

const python = findTorchPython();
if (!python) console.log('pytorch-parity: skipped — no python3 can `import torch` here');
const dir = mkdtempSync(join(tmpdir(), 'kf-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RUNNER = `
import json, sys
sys.path.insert(0, sys.argv[1])
from encoder_module import JsonEncoder, load_safetensors
import torch
spec = json.load(open(sys.argv[2]))
model = JsonEncoder(spec["config"])
model.load_state_dict(load_safetensors(sys.argv[3]), strict=True)
model.eval()
batch = {f: torch.tensor(v["indices"], dtype=torch.long).reshape(spec["batch"], v["slots"]) for f, v in spec["fields"].items()}
with torch.no_grad():
    print(json.dumps(model(batch).reshape(-1).tolist()))
`;

const VOCAB = { category: 6, style: 7, silhouette: 5, material: 8, detail: 6 };

function parity(name: string, config: JsonEncoderConfig): void {
  const model = new LayeredJsonEncoder(config, { seed: 11 });
  const train = tinyInputs(config, 12, 1);
  const images = new Rng(2).unitRows(12, 512);
  const opt = { lr: 3e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 };
  for (let i = 0; i < 15; i++) model.trainStep(train, images, 0.1, opt);
  const params = model.getState().params;
  const weights = join(dir, `${name}.safetensors`);
  writeFileSync(weights, encodeSafetensors(Object.entries(params)));
  const inputs = tinyInputs(config, 9, 5);
  const spec = join(dir, `${name}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      config,
      batch: inputs.batchSize,
      fields: Object.fromEntries(
        Object.entries(inputs.fields).map(([f, v]) => [f, { indices: [...v.indices], slots: v.slots }]),
      ),
    }),
  );
  writeFileSync(join(dir, 'encoder_module.py'), PYTORCH_MODULE_SOURCE);
  writeFileSync(join(dir, 'runner.py'), RUNNER);
  const run = spawnSync(python!, [join(dir, 'runner.py'), dir, spec, weights], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  const theirs = JSON.parse(run.stdout) as number[];
  const ours = model.encode(inputs);
  expect(theirs.length).toBe(ours.length);
  const worst = Math.max(...theirs.map((v, i) => Math.abs(v - ours[i]!)));
  expect(worst).toBeLessThan(1e-5);
}

describe.skipIf(!python)('PyTorch parity (strict=True load, same outputs)', () => {
  it('deep residual LayerNorm GELU variant', () => {
    parity('residual', {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 24, dropout: 0.2 }),
      depth: 4,
      residual: true,
      norm: 'layer',
      activation: 'gelu',
    });
  });
  it('BatchNorm SiLU variant (running statistics and num_batches_tracked load too)', () => {
    parity('batchnorm', {
      ...makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 24 }),
      depth: 2,
      norm: 'batch',
      activation: 'silu',
    });
  });
  it('the default shape (the earlier model’s names)', () => {
    parity('default', makeJsonEncoderConfig(VOCAB, { embedDim: 8, hiddenDim: 24 }));
  });
});
