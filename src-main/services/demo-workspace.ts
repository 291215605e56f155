/**
 * The demo workspace the desktop app opens on its first start: the synthetic demo dataset, scanned
 * into a workspace in the app's data folder. Made once; later starts reuse it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_MANIFEST } from '../dataset/synthetic/generate-demo.ts';
import type { JobControls } from '../jobs/run-job.ts';
import { createDemoDataset, Workbench } from './workbench.ts';

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
      if (wb.summary().items > 0) return { workspace, data, created: false };
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
  } finally {
    wb.close();
  }
  return { workspace, data, created: true };
}
