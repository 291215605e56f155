/**
 * The demo workspace the desktop app opens on its first start: the synthetic demo dataset, scanned
 * into a workspace in the app's data folder, with the demo's stand-in image embeddings imported as
 * model `synthetic-demo` (what training uses). For image → image features (recommendation, search by
 * image) every crop is also embedded with the SYNTHETIC stand-in image encoder `demo-standin`, which
 * becomes the workspace image encoder, and a demo catalog of SYNTHETIC "new products" is imported.
 * Made once; later starts reuse it (and add what an older demo workspace lacks).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEMO_CATALOG_MANIFEST,
  DEMO_CATALOG_SEED,
  generateDemoCatalog,
} from '../dataset/synthetic/demo-catalog.ts';
import { DEMO_EMBEDDING_IDS, DEMO_EMBEDDINGS, DEMO_MANIFEST } from '../dataset/synthetic/generate-demo.ts';
import { DEMO_STANDIN_MODEL } from '../encoders/image-encoder/demo-standin.ts';
import type { ImportReport } from '../encoders/import-embeddings.ts';
import { progressTracker } from '../jobs/progress-tracker.ts';
import type { JobControls } from '../jobs/run-job.ts';
import { getMeta, setMeta } from '../store/database.ts';
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

export function demoWorkspacePaths(baseDir: string): { workspace: string; data: string; catalog: string } {
  return {
    workspace: join(baseDir, 'workspaces', 'demo'),
    data: join(baseDir, 'demo-data'),
    catalog: join(baseDir, 'demo-catalog'),
  };
}

/** Meta key recording that the demo catalog was imported (so products a user removed stay removed). */
export const DEMO_CATALOG_META = 'demo_catalog';

/**
 * The demo's image → image parts: the stand-in encoder's vectors of every crop (making it the
 * workspace image encoder) unless the workspace already has an encoder, and the demo catalog unless
 * it was imported before.
 */
export async function ensureDemoRecommendation(
  wb: Workbench,
  catalogDir: string,
  controls: JobControls = {},
): Promise<void> {
  if (!wb.imageEncoder()) await wb.embed({ model: DEMO_STANDIN_MODEL, batch: 32 }, controls);
  if (getMeta(wb.workspace.db, DEMO_CATALOG_META) === undefined) {
    if (!existsSync(join(catalogDir, DEMO_CATALOG_MANIFEST))) {
      const progress = controls.onProgress ? progressTracker('demo-catalog', controls.onProgress) : undefined;
      await generateDemoCatalog(catalogDir, {
        signal: controls.signal,
        onProgress: progress ? (done, total) => progress('render catalog', done, total) : undefined,
      });
    }
    const r = await wb.catalogImport(catalogDir, { synthetic: true }, controls);
    setMeta(wb.workspace.db, DEMO_CATALOG_META, {
      seed: DEMO_CATALOG_SEED,
      products: r.added.length + r.updated.length + r.unchanged.length,
      importedAt: r.timestamp,
      synthetic: true,
    });
  }
}

export async function ensureDemoWorkspace(
  baseDir: string,
  controls: JobControls = {},
): Promise<DemoWorkspace> {
  const { workspace, data, catalog } = demoWorkspacePaths(baseDir);
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
        await ensureDemoRecommendation(wb, catalog, controls);
        return { workspace, data, created: false };
      }
    } finally {
      await wb.closeAsync();
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
    await ensureDemoRecommendation(wb, catalog, controls);
  } finally {
    await wb.closeAsync();
  }
  return { workspace, data, created: true };
}
