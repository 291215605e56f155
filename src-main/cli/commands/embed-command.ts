/**
 * `kfashion embed`: compute the frozen image embeddings of a workspace's garment crops with an ONNX
 * CLIP model, or import precomputed ones (`--import FILE.npy --ids FILE.json`).
 */
import type { Command } from 'commander';
import { DEFAULT_EMBED_BATCH, DEFAULT_INPUT_CACHE_GB } from '../../../src-shared/explore.ts';
import { DEMO_STANDIN_MODEL } from '../../encoders/image-encoder/demo-standin.ts';
import {
  DEFAULT_IMAGE_MODEL,
  DEVICES,
  type Device,
  MODEL_REGISTRY,
  PRECISIONS,
  type Precision,
} from '../../encoders/image-encoder/model-registry.ts';
import { UsageError } from '../errors.ts';
import { formatEmbedSummary, formatImportReport } from '../format-reports.ts';
import { integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';

interface EmbedFlags {
  workspace: string;
  model?: string;
  modelPath?: string;
  precision?: Precision;
  batch?: number;
  device?: Device;
  threads?: number;
  import?: string;
  ids?: string;
  json?: boolean;
  views?: number;
  viewSeed?: number;
  inputCacheGb?: number;
}

const EXAMPLES = `
Examples:
  kfashion embed --workspace ws/demo                               # FashionCLIP, CPU, batch 16
  kfashion embed --workspace ws/demo --model marqo-fashionclip --precision int8
  kfashion embed --workspace ws/demo --device cuda --batch 64      # Linux + NVIDIA GPU
  kfashion embed --workspace C:/kf-ws --device dml                 # Windows, DirectML (e.g. GTX 1660)
  kfashion embed --workspace ws/demo --model-path ~/exports/my-clip --model my-clip
  kfashion embed --workspace ws/demo --import emb.npy --ids emb_ids.json   # vectors computed in Python
  kfashion embed --workspace ws/demo --views 4                      # + 4 augmented views per crop

Models load from models/<id>/ in the project (KFASHION_MODELS_DIR overrides) and are downloaded from
the model hub on first use where there is internet (KFASHION_MODEL_HUB sets a mirror); offline, the
error says which file to put where. A second run only embeds new or changed crops; Ctrl-C keeps the
batches already stored.`;

function checkFlags(o: EmbedFlags): void {
  if (o.import !== undefined || o.ids !== undefined) {
    if (o.import === undefined || o.ids === undefined) {
      throw new UsageError('--import FILE.npy and --ids FILE.json go together: give both.');
    }
    const computing = (
      ['modelPath', 'precision', 'batch', 'device', 'threads', 'views', 'viewSeed', 'inputCacheGb'] as const
    ).filter((k) => o[k] !== undefined);
    if (computing.length > 0) {
      const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UsageError(
        `${computing.map(flag).join(', ')} apply to computing embeddings, not to --import (which stores precomputed vectors under --model ID).`,
      );
    }
    return;
  }
  if (o.modelPath !== undefined && o.precision !== undefined) {
    throw new UsageError(
      '--precision picks a registry model file; with --model-path the folder holds one model.',
    );
  }
  if (
    o.modelPath === undefined &&
    o.model !== undefined &&
    o.model !== DEMO_STANDIN_MODEL &&
    !Object.hasOwn(MODEL_REGISTRY, o.model)
  ) {
    throw new UsageError(
      `--model expects one of ${Object.keys(MODEL_REGISTRY).join(', ')} (or --model-path DIR for your own export; or ${DEMO_STANDIN_MODEL}, the SYNTHETIC stand-in), got "${o.model}".`,
    );
  }
}

export function registerEmbedCommand(program: Command): void {
  program
    .command('embed')
    .description(
      'Compute the frozen image embeddings (FashionCLIP via ONNX Runtime) of every garment crop in a workspace, or import precomputed ones.',
    )
    .requiredOption('--workspace <dir>', 'an existing (scanned) workspace folder')
    .option(
      '--model <id>',
      `image model: ${Object.keys(MODEL_REGISTRY).join(', ')} (default ${DEFAULT_IMAGE_MODEL}), or ${DEMO_STANDIN_MODEL} (a SYNTHETIC stand-in generated here, not FashionCLIP); with --model-path or --import, the id to store the vectors under. The model that embeds becomes the workspace image encoder (recommendation, search by image)`,
    )
    .option(
      '--model-path <dir>',
      'folder of any CLIP vision ONNX export (pixel_values → image_embeds [B,512]) with its preprocessor_config.json',
    )
    .option(
      '--precision <p>',
      'model file precision: fp32 (default), or fp16 / int8 where published (marqo-fashionclip); stored as <id>-fp16 / <id>-int8',
      oneOf('--precision', PRECISIONS),
    )
    .option(
      '--batch <n>',
      `images per inference batch (default ${DEFAULT_EMBED_BATCH})`,
      integer('--batch', 1, 1024),
    )
    .option(
      '--device <d>',
      'cpu (default), cuda (Linux, NVIDIA) or dml (Windows, DirectML)',
      oneOf('--device', DEVICES),
    )
    .option(
      '--threads <n>',
      'ONNX Runtime intra-op threads (default: all cores)',
      integer('--threads', 1, 256),
    )
    .option(
      '--import <file>',
      'import precomputed embeddings from an .npy [N, 512] file instead of computing them',
    )
    .option(
      '--ids <file>',
      'with --import: JSON list of the N item ids ("<style>/<label stem>/<part>"), in row order',
    )
    .option(
      '--views <n>',
      'also embed N augmented views of every crop (rotation ±15°, flip p 0.5, brightness/contrast/saturation ±0.2, resized crop of 80-100 % of the area), cached per view; training picks one per garment per epoch with --image-views',
      integer('--views', 1, 64),
    )
    .option(
      '--view-seed <n>',
      'seed of the augmented views (default 0)',
      integer('--view-seed', 0, 2 ** 31 - 1),
    )
    .option(
      '--input-cache-gb <n>',
      `size limit of the input cache (each crop kept at the model's input size, ≈ 150 KB, so a re-embedding skips its decode) in GB; 0 turns it off (default ${DEFAULT_INPUT_CACHE_GB}, and at most half the free disk space)`,
      integer('--input-cache-gb', 0, 100_000),
    )
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', EXAMPLES)
    .action(async (o: EmbedFlags) => {
      checkFlags(o);
      await withWorkbench(o.workspace, false, async (wb) => {
        if (o.import !== undefined && o.ids !== undefined) {
          const r = await withJobControls(Boolean(o.json), (controls) =>
            wb.importEmbeddings({ npy: o.import!, ids: o.ids!, model: o.model }, controls),
          );
          if (o.json) printJson(r);
          else console.log(formatImportReport(r));
          return;
        }
        await withJobControls(Boolean(o.json), async (controls) => {
          const s = await wb.embed(
            {
              model: o.model,
              modelPath: o.modelPath,
              precision: o.precision,
              batch: o.batch,
              device: o.device,
              threads: o.threads,
              views: o.views,
              viewSeed: o.viewSeed,
              inputCacheGb: o.inputCacheGb,
            },
            controls,
          );
          if (o.json) printJson(s);
          else console.log(formatEmbedSummary(s));
          if (s.failed.length > 0) process.exitCode = 1;
        });
      });
    });
}
