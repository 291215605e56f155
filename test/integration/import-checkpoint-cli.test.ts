/**
 * `kfashion import-checkpoint` through the built CLI: a .pt whose tables do not fit the workspace is
 * refused naming the field; where torch exists, a checkpoint trained here, re-saved by PyTorch as a
 * nested torch.save dict, comes back in and is evaluated by `kfashion eval --checkpoint`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../bench/pytorch-reference.ts';
import { PYTORCH_MODULE_SOURCE } from '../../src-main/encoders/json-encoder/pytorch-module.ts';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));
const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'tiny-encoder.pt');
const python = findTorchPython();

describe('kfashion import-checkpoint', () => {
  it('refuses a .pt trained on another vocabulary, naming the field', () => {
    const r = kfashion(['import-checkpoint', FIXTURE, '--workspace', fixture.workspace]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /field_embeddings\.category\.weight has 4 rows, but this workspace's "category" vocabulary has \d+/,
    );
  });

  it.skipIf(!python)(
    'a PyTorch-saved state_dict of a trained model imports and evaluates',
    () => {
      const t = kfashion(
        [
          'train',
          '--workspace',
          fixture.workspace,
          '--quick',
          '--hidden-dim',
          '32',
          '--depth',
          '2',
          '--residual',
          '--activation',
          'gelu',
        ],
        {
          timeoutMs: 180_000,
        },
      );
      expect(t.code, t.stderr).toBe(0);
      const ckpt = join(fixture.workspace, 'checkpoints');
      const pt = join(fixture.root, 'earlier.pt');
      const script = `${PYTORCH_MODULE_SOURCE}
import sys
info = json.load(open(sys.argv[1] + "/best_model.json"))
m = JsonEncoder(info["encoder"])
m.load_state_dict(load_safetensors(sys.argv[1] + "/best_model.safetensors"), strict=True)
torch.save({"model_state_dict": m.state_dict(), "epoch": 7}, sys.argv[2])
`;
      const run = spawnSync(python!, ['-c', script, ckpt, pt], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const imp = kfashion(['import-checkpoint', pt, '--workspace', fixture.workspace, '--json']);
      expect(imp.code, imp.stderr).toBe(0);
      const j = JSON.parse(imp.stdout);
      expect(j.encoder).toMatchObject({ depth: 2, residual: true, hiddenDim: 32 });
      expect(existsSync(join(j.dir, 'best_model.safetensors'))).toBe(true);
      // The activation is not in a state_dict: without a mapping file it is the default (relu); the
      // evaluation still runs, and a map says gelu.
      const ev = kfashion(['eval', '--workspace', fixture.workspace, '--checkpoint', j.dir, '--json'], {
        timeoutMs: 180_000,
      });
      expect(ev.code, ev.stderr).toBe(0);
      const report = JSON.parse(ev.stdout);
      expect(report.kind).toBe('evaluation');
      expect(report.checkpoint.run_id).toBe('import-earlier');
    },
    400_000,
  );
});
