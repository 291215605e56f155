/**
 * `npm run bench -- quality [--seeds 7,11,23] [--scale seed|small] [--no-reference]`: the issue's
 * quality bar. On demo datasets generated with each seed (learnable signal, SYNTHETIC stand-in
 * vectors), trains the JSON encoder with `kfashion train`'s defaults and with the earlier pipeline's
 * settings (stage 2: lr 1e-4, 10 epochs, batch 64, T 0.07), then trains the same model in PyTorch with
 * those settings on the same split (bench/reference/train_quality_pytorch.py). Every figure is the
 * validation `gallery` protocol (EVALUATION.md) with the same tie rule, printed as JSON lines.
 *
 * The bar: defaults ≥ PyTorch-with-earlier-settings on Top-1, Top-5 and MRR.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_EMBEDDING_MODEL, importDemoEmbeddings } from '../src-main/services/demo-workspace.ts';
import { createDemoDataset, Workbench } from '../src-main/services/workbench.ts';
import { writeNpySync } from '../src-main/store/npy.ts';
import type { TrainResult } from '../src-main/training/trainer.ts';
import { type EncodedSplit, loadTrainingData } from '../src-main/training/training-data.ts';
import { DEFAULT_ENCODER_FIELDS } from '../src-shared/fields.ts';
import { emit } from './machine.ts';
import { runReference } from './pytorch-reference.ts';

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function figures(r: TrainResult) {
  const b = r.best;
  return {
    top1: b?.top1 ?? null,
    top5: b?.top5 ?? null,
    mrr: b?.mrr ?? null,
    bestEpoch: r.bestEpoch,
    epochsRun: r.epochsRun,
    stoppedEarly: r.stoppedEarly,
    wallSeconds: Math.round(r.wallMs / 100) / 10,
    backend: r.backend,
  };
}

/** The split as the Python reference reads it: per field the index lists, plus the image matrices. */
function exportSplit(ws: Workbench, dir: string): { train: number; val: number } {
  const data = loadTrainingData(ws.workspace, {
    fields: DEFAULT_ENCODER_FIELDS,
    model: DEMO_EMBEDDING_MODEL,
  });
  const lists = (s: EncodedSplit) =>
    Object.fromEntries(data.fields.map((f) => [f, s.indices[f]!.map((a) => Array.from(a))]));
  writeFileSync(
    join(dir, 'split.json'),
    JSON.stringify({
      fields: data.fields,
      vocabSizes: data.vocabSizes,
      train: lists(data.train),
      val: lists(data.val),
    }),
  );
  writeNpySync(join(dir, 'train_images.npy'), data.train.images, [data.train.ids.length, 512]);
  writeNpySync(join(dir, 'val_images.npy'), data.val.images, [data.val.ids.length, 512]);
  return { train: data.train.ids.length, val: data.val.ids.length };
}

export async function qualityBench(args: string[]): Promise<void> {
  const seeds = (option(args, '--seeds') ?? '7,11,23').split(',').map(Number);
  const scale = (option(args, '--scale') ?? 'seed') as 'seed' | 'small';
  const reference = !args.includes('--no-reference');
  const root = mkdtempSync(join(tmpdir(), 'kf-quality-'));
  try {
    for (const seed of seeds) {
      const dataDir = join(root, `data-${seed}`);
      const exportDir = join(root, `export-${seed}`);
      mkdirSync(exportDir, { recursive: true });
      await createDemoDataset({ outDir: dataDir, seed, scale });
      const wb = Workbench.open(join(root, `ws-${seed}`));
      try {
        await wb.scan({ data: dataDir });
        await importDemoEmbeddings(wb, dataDir);
        const sizes = exportSplit(wb, exportDir);
        const common = { bench: 'quality', seed, scale, synthetic: true, protocol: 'gallery', ...sizes };
        const defaults = await wb.train({});
        emit({ ...common, run: 'workbench defaults', config: defaults.config, ...figures(defaults) });
        const earlier = await wb.train({ stage: 2 });
        emit({ ...common, run: 'workbench stage 2 (earlier settings)', ...figures(earlier) });
        if (reference) {
          const ref = runReference('train_quality_pytorch.py', [exportDir]);
          if ('error' in ref) emit({ ...common, run: 'pytorch earlier settings', error: ref.error });
          else {
            const last = ref.lines.at(-1) as {
              final: Record<string, number>;
              best: Record<string, number>;
              seconds: number;
              torch: string;
            };
            emit({
              ...common,
              run: 'pytorch earlier settings (lr 1e-4, 10 epochs, batch 64, T 0.07)',
              final: last.final,
              best: last.best,
              seconds: Math.round(last.seconds * 10) / 10,
              torch: last.torch,
              defaultsVsPytorchFinal: {
                top1: (defaults.best?.top1 ?? 0) - last.final.top1!,
                top5: (defaults.best?.top5 ?? 0) - last.final.top5!,
                mrr: (defaults.best?.mrr ?? 0) - last.final.mrr!,
              },
              meetsBar:
                (defaults.best?.top1 ?? 0) >= last.final.top1! &&
                (defaults.best?.top5 ?? 0) >= last.final.top5! &&
                (defaults.best?.mrr ?? 0) >= last.final.mrr!,
            });
          }
        }
      } finally {
        wb.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
