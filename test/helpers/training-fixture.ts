/**
 * A workspace ready for training: the small synthetic demo (labels only, no JPEGs), scanned, with its
 * stand-in embeddings imported as model `synthetic-demo` (what `kfashion demo --workspace` does once
 * the embed import lands). Made once per test file and copied per test, since a scan takes a moment.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanDataset } from '../../src-main/dataset/scan.ts';
import { generateDemoDataset } from '../../src-main/dataset/synthetic/generate-demo.ts';
import { EmbeddingStore } from '../../src-main/store/embedding-store.ts';
import { readNpy } from '../../src-main/store/npy.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
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
