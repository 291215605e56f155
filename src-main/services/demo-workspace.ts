/**
 * The demo workspace the desktop app opens on its first start: the synthetic demo dataset, scanned
 * into a workspace in the app's data folder, with the demo's stand-in image embeddings imported as
 * model `synthetic-demo`. Made once; later starts reuse it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_EMBEDDING_IDS, DEMO_EMBEDDINGS, DEMO_MANIFEST } from '../dataset/synthetic/generate-demo.ts';
import type { ImportReport } from '../encoders/import-embeddings.ts';
import type { JobControls } from '../jobs/run-job.ts';
import { createDemoDataset, Workbench } from './workbench.ts';

/** Model id of the demo's stand-in vectors: synthetic, never to be mistaken for FashionCLIP. */
export const DEMO_EMBEDDING_MODEL = 'synthetic-demo';

/** Imports the demo dataset's stand-in embeddings (written by the generator) into `wb`'s workspace. */
export function importDemoEmbeddings(wb: Workbench, dataDir: string): Promise<ImportReport> {
  return wb.importEmbeddings({
    npy: join(dataDir, DEMO_EMBEDDINGS),
    ids: join(dataDir, DEMO_EMBEDDING_IDS),
    model: DEMO_EMBEDDING_MODEL,
    source: 'synthetic',
  });
}

export interface DemoWorkspace {
  workspace: string;
  data: string;
  created: boolean;
}

export function demoWorkspacePaths(baseDir: string): { workspace: string; data: string } {
  return { workspace: join(baseDir, 'workspaces', 'demo'), data: join(baseDir, 'demo-data') };
}

export async function ensureDemoWorkspace(
  baseDir: string,
  controls: JobControls = {},
): Promise<DemoWorkspace> {
  const { workspace, data } = demoWorkspacePaths(baseDir);
  if (existsSync(join(workspace, 'workspace.db'))) {
    const wb = Workbench.open(workspace, { create: false });
    try {
      // Only a scan that finished counts: one cut short (the app quit mid-way) has no split or
      // vocabulary yet, and is scanned again below.
      const s = wb.summary();
      if (s.items > 0 && s.lastScan?.status === 'done') {
        // A demo workspace made before embeddings existed gets its stand-in vectors now.
        const has = wb.embeddingModels().some((m) => m.model === DEMO_EMBEDDING_MODEL && m.count > 0);
        if (!has && existsSync(join(data, DEMO_EMBEDDINGS))) await importDemoEmbeddings(wb, data);
        return { workspace, data, created: false };
      }
    } finally {
      wb.close();
    }
  }
  // A half-written demo (the app quit during the first start) is regenerated from scratch.
  if (!existsSync(join(data, DEMO_MANIFEST)) || !existsSync(join(data, '라벨링데이터'))) {
    await createDemoDataset({ outDir: data }, controls);
  }
  const wb = Workbench.open(workspace);
  try {
    await wb.scan({ data }, controls);
    await importDemoEmbeddings(wb, data);
  } finally {
    wb.close();
  }
  return { workspace, data, created: true };
}
