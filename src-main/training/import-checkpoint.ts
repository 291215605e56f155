/**
 * `kfashion import-checkpoint FILE.pt --workspace WS [--config map.json]`: an earlier PyTorch
 * state_dict (torch.save) becomes a checkpoint of this workspace, so the honest evaluation protocols
 * can score it (`kfashion eval --checkpoint <folder>`). The .pt is read without executing pickles
 * (encoders/json-encoder/torch-checkpoint.ts), its shape read off its tensors and loaded strictly
 * (pt-import.ts); its embedding rows are taken to follow this workspace's vocabulary order, which is
 * checked by size per field (a mismatch is an error naming the field).
 */
import { mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { importStateDict, readImportMap } from '../encoders/json-encoder/pt-import.ts';
import { readTorchCheckpoint } from '../encoders/json-encoder/torch-checkpoint.ts';
import { Workspace } from '../store/workspace.ts';
import { type CheckpointInfo, saveCheckpoint, vocabularyValues } from './checkpoints.ts';
import { DEFAULT_TRAIN_CONFIG } from './train-config.ts';
import { loadTrainingData } from './training-data.ts';

export class ImportCheckpointError extends Error {
  override name = 'ImportCheckpointError';
}

export interface ImportCheckpointResult {
  /** The folder holding best_model.safetensors / best_model.json. */
  dir: string;
  info: CheckpointInfo;
}

export function importCheckpoint(
  workspace: string,
  ptPath: string,
  opts: { config?: string; model?: string } = {},
): ImportCheckpointResult {
  const map = opts.config ? readImportMap(opts.config) : {};
  const { config, params } = importStateDict(readTorchCheckpoint(ptPath), map);
  const ws = Workspace.open(workspace, { create: false });
  try {
    const data = loadTrainingData(ws, { fields: config.fields, model: opts.model });
    const vocabulary = vocabularyValues(data.vocabulary);
    for (const f of config.fields) {
      const rows = vocabulary[f]?.length ?? 0;
      if (rows !== config.vocabSizes[f])
        throw new ImportCheckpointError(
          `${ptPath}: field_embeddings.${f}.weight has ${config.vocabSizes[f]} rows, but this workspace's "${f}" vocabulary has ${rows} (with <pad> and <unk>); the .pt was trained on another vocabulary`,
        );
    }
    const stem = basename(ptPath, extname(ptPath)).replace(/[^\w.-]+/g, '_');
    const dir = join(ws.root, 'imported', stem);
    mkdirSync(dir, { recursive: true });
    const timestamp = new Date().toISOString();
    const info = saveCheckpoint(
      dir,
      'best',
      { params, optimizer: { step: 0, moments: {} }, rngState: 0 },
      {
        runId: `import-${stem}`,
        timestamp,
        epoch: 0,
        step: 0,
        config: {
          ...DEFAULT_TRAIN_CONFIG,
          fields: config.fields,
          embedDim: config.embedDim,
          hiddenDim: config.hiddenDim,
          dropout: config.dropout,
          depth: config.depth,
          residual: config.residual,
          norm: config.norm,
          activation: config.activation,
          engine: 'layered',
          model: data.embedding.model,
        },
        encoder: { ...config, engine: 'layered' },
        fields: config.fields,
        vocabulary,
        backend: `imported from ${basename(ptPath)}`,
        metrics: null,
        imageEmbedding: {
          model: data.embedding.model,
          source: data.embedding.source,
          synthetic: data.embedding.synthetic,
        },
      },
    );
    return { dir, info };
  } finally {
    ws.close();
  }
}
