/**
 * KPIs (GET /api/kpi) and the dashboard's data (GET /api/dashboard): recommendation call figures
 * from the log, the last evaluation's accuracy, the embedding health of the vectors recommendation
 * uses, the training loss curve and settings, the most recommended products, and real examples of
 * the current run's augmentation (what its first training step used).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import sharp from 'sharp';
import type { DashboardData, EmbeddingHealthEntry, KpiSummary } from '../../src-shared/recommend.ts';
import { workspaceFileUrl } from '../../src-shared/recommend.ts';
import { EmbeddingStore } from '../store/embedding-store.ts';
import {
  AUGMENTATION_SAMPLES_FILE,
  type AugmentationSamplesFile,
  readAugmentationSamples,
} from '../training/augmentation-samples.ts';
import { embeddingHealth, lastEvaluation, logFigures, mostMatched } from './kpi.ts';
import type { RecommendService } from './recommender.ts';

export class Dashboard {
  private healthCache: { key: string; value: EmbeddingHealthEntry[] } | null = null;
  private samplesCache: {
    key: string;
    value: { samples: DashboardData['augmented_samples']; augmentation: DashboardData['augmentation'] };
  } | null = null;

  constructor(private readonly svc: RecommendService) {}

  private health(model: string | null): EmbeddingHealthEntry[] {
    if (!model) return [];
    const embeddings = new EmbeddingStore(this.svc.ws.db);
    const datasetKey = embeddings.versionKey(model);
    const key = `${model}|${this.svc.catalog.version()}|${datasetKey ?? '-'}`;
    if (this.healthCache?.key === key) return this.healthCache.value;
    const out: EmbeddingHealthEntry[] = [];
    const cat = this.svc.catalog.vectors(model);
    if (cat.ids.length > 0)
      out.push({ set: 'catalog', model, health: embeddingHealth(cat.vectors, cat.dim) });
    if (datasetKey) {
      const all = embeddings.allVectors(model);
      if (all) out.push({ set: 'dataset', model, health: embeddingHealth(all.vectors, all.dim) });
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
    const synthetic = encoder?.synthetic || this.svc.catalog.store.anySynthetic();
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
    const top_k_images: DashboardData['top_k_images'] = [];
    for (const t of top) {
      const p = this.svc.catalog.store.nameAndImage(t.productId);
      if (p)
        top_k_images.push({
          productId: t.productId,
          name: p.name,
          count: t.count,
          imageUrl: workspaceFileUrl(p.image_path),
        });
    }
    const currentRun = typeof best?.['runId'] === 'string' ? best['runId'] : null;
    const { samples: augmented_samples, augmentation } = await this.samples(currentRun);
    const notes: string[] = [];
    if (kpi.note) notes.push(kpi.note);
    if (results?.['note']) notes.push(String(results['note']));
    return {
      kpi,
      loss_curve,
      top_k_images,
      hyperparams,
      augmented_samples,
      augmentation,
      ...(notes.length ? { note: notes.join(' ') } : {}),
    };
  }

  /**
   * The current run's augmentation as training used it: the examples the trainer recorded at its
   * first step (training/augmentation-samples.ts), each with the picture the garment's vector came
   * from (its crop or the augmented view) and its attribute JSON before and after. A run without
   * augmentation shows none: nothing here is drawn for display only.
   */
  private async samples(runId: string | null): Promise<{
    samples: DashboardData['augmented_samples'];
    augmentation: DashboardData['augmentation'];
  }> {
    const none = { samples: [], augmentation: null };
    if (!runId) return none;
    const ws = this.svc.ws;
    const candidates = [
      join(ws.root, 'runs', runId, 'results', AUGMENTATION_SAMPLES_FILE),
      join(ws.paths.results, AUGMENTATION_SAMPLES_FILE),
    ];
    let file: AugmentationSamplesFile | null = null;
    let source = '';
    for (const c of candidates) {
      const f = readAugmentationSamples(c);
      if (f && f.runId === runId) {
        file = f;
        source = c
          .slice(ws.root.length + 1)
          .split(sep)
          .join('/');
        break;
      }
    }
    if (!file) return none;
    const key = `${runId}|${file.createdAt}`;
    if (this.samplesCache?.key === key) return this.samplesCache.value;
    const samples: DashboardData['augmented_samples'] = [];
    for (const smp of file.samples) {
      let dataUrl = '';
      if (smp.imagePath) {
        const abs = resolve(ws.root, smp.imagePath);
        // Paths come from the workspace's own files; still, nothing outside the workspace is read.
        if (abs.startsWith(ws.root + sep) && existsSync(abs)) {
          try {
            const jpeg = await sharp(abs, { failOn: 'error' })
              .resize(192, 192, { fit: 'inside', withoutEnlargement: true })
              .jpeg({ quality: 80 })
              .toBuffer();
            dataUrl = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
          } catch {
            // A picture replaced or damaged since: the attribute change is still worth showing.
          }
        }
      }
      const parts = [smp.view > 0 ? smp.viewDescription : 'original crop', ...smp.changes];
      samples.push({
        itemId: smp.itemId,
        augmentation: parts.join(' · '),
        dataUrl,
        view: smp.view,
        before: smp.before,
        after: smp.after,
        changes: smp.changes,
        epoch: smp.epoch,
        step: smp.step,
      });
    }
    const value = {
      samples,
      augmentation: { runId, settings: file.settings, recipe: file.recipe, source },
    };
    this.samplesCache = { key, value };
    return value;
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
