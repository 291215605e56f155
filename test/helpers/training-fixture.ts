/**
 * A workspace ready for training: the small synthetic demo (labels only, no JPEGs), scanned, with its
 * stand-in embeddings imported as model `synthetic-demo` (what `kfashion demo --workspace` does once
 * the embed import lands). Made once per test file and copied per test, since a scan takes a moment.
 */
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { generateDemoDataset } from '../../src-main/dataset/synthetic/generate-demo.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { readNpy } from '../../src-main/store/npy.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { readSafetensors } from '../../src-main/training/safetensors.ts';
import type { TrainConfig } from '../../src-main/training/train-config.ts';
import { defaultEncoderFactory, type TrainResult, train } from '../../src-main/training/trainer.ts';
import { tempDir } from './kfashion-fixture.ts';

export async function importDemoEmbeddings(
  ws: Workspace,
  demoDir: string,
  model = 'synthetic-demo',
): Promise<void> {
  const npy = await readNpy(join(demoDir, 'image_embeddings.npy'));
  const ids = JSON.parse(readFileSync(join(demoDir, 'image_embedding_ids.json'), 'utf8')) as string[];
  const store = new EmbeddingStore(ws.db);
  store.defineModel(model, npy.shape[1]!, 'synthetic', { file: 'image_embeddings.npy' });
  store.put(model, ids, npy.data);
}

/** Builds the demo workspace in a temp folder; returns its path (copy it per test with `copyWorkspace`). */
export async function buildDemoTrainingWorkspace(
  opts: { seed?: number; scale?: 'small' | 'seed' } = {},
): Promise<{
  root: string;
  workspace: string;
  data: string;
}> {
  const root = tempDir('kf-train-');
  const data = join(root, 'demo');
  const workspace = join(root, 'ws');
  await generateDemoDataset({
    outDir: data,
    seed: opts.seed ?? 7,
    scale: opts.scale ?? 'small',
    images: false,
  });
  const ws = Workspace.open(workspace);
  try {
    await scanDataset(ws, { data });
    await importDemoEmbeddings(ws, data);
  } finally {
    ws.close();
  }
  return { root, workspace, data };
}

export function copyWorkspace(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

/** Runs `fn` on the workspace at `dir`, closing it afterwards. */
export async function withWs<T>(dir: string, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const ws = Workspace.open(dir, { create: false });
  try {
    return await fn(ws);
  } finally {
    ws.close();
  }
}

/** The checkpoints folder of the workspace's newest run (runs/<id>/checkpoints). */
export function newestRunCheckpoints(dir: string): string {
  const runs = readdirSync(join(dir, 'runs'))
    .map(
      (id) =>
        JSON.parse(readFileSync(join(dir, 'runs', id, 'run.json'), 'utf8')) as { seq: number; runId: string },
    )
    .sort((a, b) => a.seq - b.seq);
  return join(dir, 'runs', runs.at(-1)!.runId, 'checkpoints');
}

/** The newest run's last.safetensors as plain arrays by tensor name (to compare runs exactly). */
export function lastParams(dir: string): Record<string, number[]> {
  const file = join(newestRunCheckpoints(dir), 'last.safetensors');
  return Object.fromEntries([...readSafetensors(file).tensors].map(([k, t]) => [k, Array.from(t.data)]));
}

/**
 * Trains `config` on the workspace `straight` without a break, and on `interrupted` with a cancel at
 * step 2 of epoch 2 and then a resume: a test of exact resumption compares the two runs' last
 * parameters (`lastParams`). Returns the straight run's result.
 */
export async function trainStraightAndResumed(
  straight: string,
  interrupted: string,
  config: TrainConfig,
): Promise<TrainResult> {
  const a = await withWs(straight, (ws) => train(ws, config, { createEncoder: defaultEncoderFactory }));
  const abort = new AbortController();
  await withWs(interrupted, (ws) =>
    train(ws, config, {
      createEncoder: defaultEncoderFactory,
      signal: abort.signal,
      onProgress: (phase, step) => {
        if (phase === 'epoch 2/2' && step === 2) abort.abort();
      },
    }),
  ).catch(() => undefined);
  await withWs(interrupted, (ws) =>
    train(ws, config, { createEncoder: defaultEncoderFactory, resume: true }),
  );
  return a;
}
