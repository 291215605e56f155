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
import { type EmbedSummary, embedImages } from '../encoders/embed-images.ts';
import type { ModelFilesOptions } from '../encoders/image-encoder/model-files.ts';
import type { ImageModelSpec } from '../encoders/image-encoder/open-encoder.ts';
import {
  type ImportEmbeddingsOptions,
  type ImportReport,
  importEmbeddings,
} from '../encoders/import-embeddings.ts';
import { type JobControls, runJob } from '../jobs/run-job.ts';
import { WorkerPool } from '../jobs/worker-pool.ts';
import { getMeta, schemaVersion } from '../store/database.ts';
import type { ItemFilter } from '../store/dataset-store.ts';
import { type EmbeddingModelInfo, EmbeddingStore } from '../store/embedding-store.ts';
import { Workspace } from '../store/workspace.ts';
import { loadCheckpoint } from '../training/checkpoints.ts';
import type { SanityCheckOptions, SanityCheckResult } from '../training/sanity-check.ts';
import { resolveTrainConfig, type TrainConfig } from '../training/train-config.ts';
import { defaultEncoderFactory, type EncoderFactory, type TrainResult, train } from '../training/trainer.ts';

export interface EmbedRequest extends ImageModelSpec {
  /** Images per inference batch (default 16). */
  batch?: number;
  filter?: ItemFilter;
  /** Where model folders live and whether missing files may be downloaded (model-files.ts). */
  files?: Omit<ModelFilesOptions, 'onProgress' | 'signal'>;
}

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

  /**
   * Embeds every garment crop with a frozen image encoder (a registry model, downloaded on first use
   * where there is internet, or any CLIP vision export via `modelPath`). Cached per (model, crop).
   */
  embed(req: EmbedRequest, controls: JobControls = {}): Promise<EmbedSummary> {
    return runJob('embed', controls, async (work) => {
      // Loaded on use: ONNX Runtime and tfjs take most of a second to import, which every other
      // command (and `--help`) should not pay.
      const { openImageEncoder } = await import('../encoders/image-encoder/open-encoder.ts');
      const { encoder, origin } = await openImageEncoder(req, {
        ...req.files,
        signal: work.signal,
        onProgress: work.onProgress
          ? (file, received, total) =>
              work.onProgress?.(`download ${file.split(/[\\/]/).at(-1)}`, received, total, {
                MB: Math.round(received / 1e5) / 10,
              })
          : undefined,
      });
      try {
        return await embedImages(this.workspace, encoder, origin, {
          batch: req.batch,
          filter: req.filter,
          ...work,
        });
      } finally {
        await encoder.close();
      }
    });
  }

  /** Imports precomputed embeddings (.npy [N, 512] + ids JSON); see import-embeddings.ts. */
  importEmbeddings(
    opts: Omit<ImportEmbeddingsOptions, 'signal' | 'onProgress'>,
    controls: JobControls = {},
  ): Promise<ImportReport> {
    return runJob('import', controls, (work) => importEmbeddings(this.workspace, { ...opts, ...work }));
  }

  embeddingModels(): EmbeddingModelInfo[] {
    return new EmbeddingStore(this.workspace.db).models();
  }

  /**
   * Trains the JSON encoder. Settings: defaults → stage preset → quick → explicit overrides; with
   * `resume`, the saved run's settings replace the defaults and any override that changes more than
   * the epoch count or the backend is refused (it would be a different run).
   */
  train(opts: TrainRequest, controls: JobControls = {}): Promise<TrainResult> {
    return runJob('train', controls, async (work) => {
      const base = opts.resume
        ? loadCheckpoint(this.workspace.paths.checkpoints, 'last').info.config
        : undefined;
      const config = resolveTrainConfig({
        stage: opts.stage,
        quick: opts.quick,
        overrides: opts.overrides,
        base,
      });
      return await train(this.workspace, config, {
        ...work,
        resume: opts.resume,
        createEncoder: opts.createEncoder ?? defaultEncoderFactory,
      });
    });
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
      embeddings: this.embeddingModels().map(({ model, dim, source, count }) => ({
        model,
        dim,
        source,
        count,
      })),
    };
  }
}

export interface TrainRequest {
  stage?: 1 | 2;
  quick?: boolean;
  resume?: boolean;
  overrides?: Partial<TrainConfig>;
  /** The encoder to train; the tfjs JSON encoder when absent (tests pass a small JS model). */
  createEncoder?: EncoderFactory;
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

/**
 * The JSON encoder's sanity check (`kfashion sanity`): on a workspace's items and embeddings when a
 * workspace folder is given, else on synthetic inputs. Writes temp_logs/sanity_check_results.json.
 */
export async function sanityCheck(opts: SanityCheckOptions): Promise<SanityCheckResult> {
  const { runSanityCheck } = await import('../training/sanity-check.ts');
  return runSanityCheck(opts);
}
