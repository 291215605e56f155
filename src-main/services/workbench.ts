/**
 * The Workbench: one object per open workspace with one method per use case. The CLI, the HTTP
 * server and the Electron IPC handlers all call these methods, so each feature is written once.
 */

import type { ScanReport, SplitSummary, WorkspaceSummary } from '../../src-shared/dataset.ts';
import { FIELD_NAMES } from '../../src-shared/fields.ts';
import { type CropSummary, ensureCrops } from '../dataset/crops.ts';
import { type ScanOptions, scanDataset } from '../dataset/scan.ts';
import { applySplit } from '../dataset/split.ts';
import {
  type DemoOptions,
  type DemoSummary,
  generateDemoDataset,
} from '../dataset/synthetic/generate-demo.ts';
import { type JobControls, runJob } from '../jobs/run-job.ts';
import { WorkerPool } from '../jobs/worker-pool.ts';
import { getMeta, schemaVersion } from '../store/database.ts';
import type { ItemFilter } from '../store/dataset-store.ts';
import { Workspace } from '../store/workspace.ts';

export class Workbench {
  private constructor(readonly workspace: Workspace) {}

  /** Opens (and with `create`, makes) the workspace at `dir`. */
  static open(dir: string, options: { create?: boolean } = {}): Workbench {
    return new Workbench(Workspace.open(dir, options));
  }

  close(): void {
    this.workspace.close();
  }

  scan(
    opts: Omit<ScanOptions, 'signal' | 'onProgress' | 'readLabels' | 'inFlight'>,
    controls: JobControls = {},
  ): Promise<ScanReport> {
    return runJob('scan', controls, async (work) => {
      // Parsing runs on worker threads while this thread writes SQLite (see WorkerPool).
      const pool = WorkerPool.create();
      try {
        return await scanDataset(this.workspace, {
          ...opts,
          ...work,
          readLabels: pool ? (paths) => pool.run('read-labels', paths) : undefined,
          inFlight: pool ? pool.size * 2 : 1,
        });
      } finally {
        await pool?.close();
      }
    });
  }

  split(opts: { file?: string; seed?: number }): SplitSummary {
    return applySplit(this.workspace.db, opts);
  }

  crops(
    opts: { filter?: ItemFilter; concurrency?: number },
    controls: JobControls = {},
  ): Promise<CropSummary> {
    return runJob('crop', controls, (work) => ensureCrops(this.workspace, { ...opts, ...work }));
  }

  summary(): WorkspaceSummary {
    const db = this.workspace.db;
    const perStyle: WorkspaceSummary['perStyle'] = {};
    const rows = db
      .prepare(`
        SELECT im.style_folder AS style, COUNT(DISTINCT im.key) AS images, COUNT(it.id) AS items,
               SUM(CASE WHEN it.id IS NOT NULL AND im.split = 'train' THEN 1 ELSE 0 END) AS train,
               SUM(CASE WHEN it.id IS NOT NULL AND im.split = 'val' THEN 1 ELSE 0 END) AS val
        FROM images im LEFT JOIN items it ON it.image_key = im.key
        GROUP BY im.style_folder ORDER BY im.style_folder`)
      .all() as { style: string; images: number; items: number; train: number; val: number }[];
    let images = 0;
    let items = 0;
    for (const r of rows) {
      perStyle[r.style] = { images: r.images, items: r.items, trainItems: r.train, valItems: r.val };
      images += r.images;
      items += r.items;
    }
    const vocabRows = db.prepare('SELECT field, COUNT(*) AS n FROM vocab GROUP BY field').all() as {
      field: string;
      n: number;
    }[];
    const vocabularySizes = Object.fromEntries(
      FIELD_NAMES.map((f) => [f, vocabRows.find((r) => r.field === f)?.n ?? 0]),
    );
    const lastScan = db
      .prepare(
        'SELECT id, status, started_at AS startedAt, finished_at AS finishedAt FROM scans ORDER BY id DESC LIMIT 1',
      )
      .get() as WorkspaceSummary['lastScan'] | undefined;
    const dataRoots = (
      db.prepare('SELECT path, synthetic FROM data_roots ORDER BY id').all() as {
        path: string;
        synthetic: number;
      }[]
    ).map((r) => ({ path: r.path, synthetic: r.synthetic === 1 }));
    return {
      workspace: this.workspace.root,
      synthetic: getMeta<boolean>(db, 'synthetic') ?? false,
      schemaVersion: schemaVersion(db),
      dataRoots,
      images,
      items,
      perStyle,
      split: getMeta<WorkspaceSummary['split']>(db, 'split') ?? null,
      vocabularySizes,
      crops: db.prepare('SELECT COUNT(*) FROM crops').pluck().get() as number,
      lastScan: lastScan ?? null,
    };
  }
}

/** Writes the synthetic demo dataset (labels, images, stand-in embeddings) to `opts.outDir`. */
export function createDemoDataset(
  opts: Omit<DemoOptions, 'signal' | 'onProgress'>,
  controls: JobControls = {},
): Promise<DemoSummary> {
  return runJob('demo', controls, (work) =>
    generateDemoDataset({
      ...opts,
      signal: work.signal,
      onProgress: work.onProgress ? (done, total) => work.onProgress?.('render', done, total) : undefined,
    }),
  );
}
