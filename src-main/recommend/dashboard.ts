/**
 * KPIs (GET /api/kpi) and the dashboard's data (GET /api/dashboard): recommendation call figures
 * from the log, the last evaluation's accuracy, the embedding health of the vectors recommendation
 * uses, the training loss curve and settings, the most recommended products, and a few crops shown
 * through the training augmentations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { DashboardData, EmbeddingHealthEntry, KpiSummary } from '../../src-shared/recommend.ts';
import { workspaceFileUrl } from '../../src-shared/recommend.ts';
import { AUGMENTATIONS, augmentImage } from '../dataset/augment.ts';
import { embeddingHealth, lastEvaluation, logFigures, mostMatched } from './kpi.ts';
import type { RecommendService } from './recommender.ts';

const SAMPLE_CROPS = 2;

export class Dashboard {
  private healthCache: { key: string; value: EmbeddingHealthEntry[] } | null = null;
  private samplesCache: { key: string; value: DashboardData['augmented_samples'] } | null = null;

  constructor(private readonly svc: RecommendService) {}

  private health(model: string | null): EmbeddingHealthEntry[] {
    if (!model) return [];
    const db = this.svc.ws.db;
    const datasetKey = db
      .prepare(
        `SELECT m.updated_at || ':' || (SELECT COUNT(*) FROM image_embeddings e WHERE e.model = m.model) FROM embedding_models m WHERE m.model = ?`,
      )
      .pluck()
      .get(model) as string | undefined;
    const key = `${model}|${this.svc.catalog.version()}|${datasetKey ?? '-'}`;
    if (this.healthCache?.key === key) return this.healthCache.value;
    const out: EmbeddingHealthEntry[] = [];
    const cat = this.svc.catalog.vectors(model);
    if (cat.ids.length > 0)
      out.push({ set: 'catalog', model, health: embeddingHealth(cat.vectors, cat.dim) });
    if (datasetKey) {
      const rows = db
        .prepare('SELECT vector FROM image_embeddings WHERE model = ?')
        .pluck()
        .all(model) as Buffer[];
      if (rows.length > 0) {
        const dim = rows[0]!.byteLength / 4;
        const m = new Float32Array(rows.length * dim);
        for (const [i, b] of rows.entries()) new Uint8Array(m.buffer, i * dim * 4, dim * 4).set(b);
        out.push({ set: 'dataset', model, health: embeddingHealth(m, dim) });
      }
    }
    this.healthCache = { key, value: out };
    return out;
  }

  kpi(): KpiSummary {
    const ws = this.svc.ws;
    const encoder = this.svc.encoderLabel();
    const figures = logFigures(ws.db);
    const products = this.svc.catalog.count();
    const withVectors = encoder ? this.svc.catalog.countWithVectors(encoder.model) : 0;
    const synthetic =
      encoder?.synthetic ||
      (ws.db.prepare('SELECT 1 FROM catalog_products WHERE synthetic = 1 LIMIT 1').pluck().get() as
        | number
        | undefined) === 1;
    const evaluation = lastEvaluation(ws);
    return {
      timestamp: new Date().toISOString(),
      ...figures,
      lastEvaluation: evaluation,
      embeddingHealth: this.health(encoder?.model ?? null),
      catalog: { products, withVectors },
      encoder,
      ...(synthetic || evaluation?.synthetic
        ? {
            note: 'SYNTHETIC: this workspace uses generated demo data (stand-in image encoder and/or generated catalog products); its similarities and accuracies say nothing about real fashion images.',
          }
        : {}),
    };
  }

  async dashboard(): Promise<DashboardData> {
    const kpi = this.kpi();
    const ws = this.svc.ws;
    const results = readJson(join(ws.paths.results, 'training_results.json'));
    const best = readJson(join(ws.paths.checkpoints, 'best_model.json'));
    let loss_curve: DashboardData['loss_curve'] = null;
    const history = Array.isArray(results?.['history'])
      ? (results['history'] as Record<string, unknown>[])
      : null;
    if (history && history.length > 0) {
      loss_curve = {
        runId: String(results?.['runId'] ?? ''),
        epochs: history.map((h) => Number(h['epoch'])),
        trainLoss: history.map((h) => Number(h['trainLoss'])),
        valLoss: history.map((h) => Number(h['valLoss'])),
        source: 'results/training_results.json',
      };
    }
    let hyperparams: DashboardData['hyperparams'] = null;
    if (best && typeof best['config'] === 'object') {
      hyperparams = {
        source: 'checkpoints/best_model.json',
        runId: best['runId'] ?? null,
        epoch: best['epoch'] ?? null,
        backend: best['backend'] ?? null,
        imageEmbedding: best['imageEmbedding'] ?? null,
        ...(best['config'] as Record<string, unknown>),
      };
    } else if (results && typeof results['config'] === 'object') {
      hyperparams = {
        source: 'results/training_results.json',
        runId: results['runId'] ?? null,
        ...(results['config'] as Record<string, unknown>),
      };
    }
    const top = mostMatched(ws.db, 10);
    const info = ws.db.prepare('SELECT name, image_path FROM catalog_products WHERE id = ?');
    const top_k_images: DashboardData['top_k_images'] = [];
    for (const t of top) {
      const p = info.get(t.productId) as { name: string; image_path: string } | undefined;
      if (p)
        top_k_images.push({
          productId: t.productId,
          name: p.name,
          count: t.count,
          imageUrl: workspaceFileUrl(p.image_path),
        });
    }
    const augmented_samples = await this.samples();
    const notes: string[] = [];
    if (kpi.note) notes.push(kpi.note);
    if (results?.['note']) notes.push(String(results['note']));
    return {
      kpi,
      loss_curve,
      top_k_images,
      hyperparams,
      augmented_samples,
      ...(notes.length ? { note: notes.join(' ') } : {}),
    };
  }

  /** A few garment crops (else catalog images) as they are and through each augmentation. */
  private async samples(): Promise<DashboardData['augmented_samples']> {
    const db = this.svc.ws.db;
    // Spread over the dataset but stable: every n-th crop in id order.
    const total = db.prepare('SELECT COUNT(*) FROM crops').pluck().get() as number;
    let picks: { id: string; rel: string }[] = [];
    if (total > 0) {
      const step = Math.max(1, Math.floor(total / SAMPLE_CROPS));
      picks = (
        db.prepare('SELECT item_id AS id, path AS rel FROM crops ORDER BY item_id').all() as {
          id: string;
          rel: string;
        }[]
      )
        .filter((_, i) => i % step === 0)
        .slice(0, SAMPLE_CROPS);
    } else {
      picks = db
        .prepare('SELECT id, image_path AS rel FROM catalog_products ORDER BY id LIMIT ?')
        .all(SAMPLE_CROPS) as { id: string; rel: string }[];
    }
    const key = picks.map((p) => `${p.id}:${p.rel}`).join('|');
    if (this.samplesCache?.key === key) return this.samplesCache.value;
    const out: DashboardData['augmented_samples'] = [];
    for (const [i, p] of picks.entries()) {
      const abs = resolve(this.svc.ws.root, p.rel);
      // Paths come from the workspace's own tables; still, nothing outside the workspace is read.
      if (!abs.startsWith(this.svc.ws.root + sep) || !existsSync(abs)) continue;
      try {
        for (const kind of AUGMENTATIONS) {
          const a = await augmentImage(abs, kind, i + 1);
          out.push({
            itemId: p.id,
            augmentation: a.augmentation,
            dataUrl: `data:image/jpeg;base64,${a.jpeg.toString('base64')}`,
          });
        }
      } catch {
        // A crop replaced or damaged since it was cut: show the others.
      }
    }
    this.samplesCache = { key, value: out };
    return out;
  }
}

function readJson(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}
