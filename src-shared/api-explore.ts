/**
 * Contract methods of the data path and the exploring views (part of the one contract in api.ts,
 * declared here to keep that file readable): checking a data folder before a scan, the Embed panel's
 * model list, image → JSON search (tagging), the most/least central garments, and the embedding map.
 */
import { z } from 'zod';
import { defineMethod } from './api-core.ts';
import { imageUploadSchema, jobHandleSchema, typed } from './api-schemas.ts';
import type { CentralItems, DatasetCheck, EmbeddingMap, EmbedModels } from './explore.ts';
import type { ImageTagRun } from './search.ts';

const count = z.number().int().min(0);

export const datasetCheckSchema = typed<DatasetCheck>()({
  path: z.string(),
  ok: z.boolean(),
  problem: z.enum(['outside-roots', 'not-found', 'not-a-dataset']).nullable(),
  message: z.string().nullable(),
  roots: z.array(z.string()),
  accepted: z.array(z.string()),
  sources: z.array(z.looseObject({ labelDir: z.string(), styles: z.array(z.string()) })),
});

export const embedModelsSchema = typed<EmbedModels>()({
  models: z.array(z.looseObject({ id: z.string(), precisions: z.array(z.string()) })),
  defaultModel: z.string(),
  devices: z.array(z.string()),
  modelsDir: z.string(),
  exportFiles: z.array(z.string()),
  itemsWithImage: count,
  embedded: z.array(z.looseObject({ model: z.string(), count })),
  current: z.string().nullable(),
});

export const imageTagRunSchema = typed<ImageTagRun>()({
  kind: z.literal('image-tagging'),
  synthetic: z.boolean(),
  k: count,
  checkpoint: z.looseObject({ run_id: z.string(), epoch: count }),
  vocabulary: z.array(z.looseObject({ rank: count, score: z.number() })),
  training: z.array(z.looseObject({ rank: count, score: z.number() })),
});

export const centralItemsSchema = typed<CentralItems>()({
  model: z.string(),
  runId: z.string(),
  current: z.boolean(),
  total: count,
  most: z.array(z.looseObject({ id: z.string(), rank: count, centrality: z.number() })),
  least: z.array(z.looseObject({ id: z.string(), rank: count, centrality: z.number() })),
});

export const embeddingMapSchema = typed<EmbeddingMap>()({
  kind: z.literal('embedding-map'),
  method: z.enum(['pca', 'umap']),
  model: z.string(),
  items: z.array(z.looseObject({ id: z.string(), style: z.string() })),
  image: z.array(z.looseObject({ id: z.string(), x: z.number(), y: z.number() })),
  json: z.array(z.looseObject({ id: z.string(), x: z.number(), y: z.number() })),
  total: count,
});

export const exploreMethods = [
  defineMethod({
    name: 'dataset.check',
    summary:
      'Checks a data folder before scanning: whether this server may read it, whether it holds a K-Fashion layout (and which), with the accepted layouts.',
    input: z.strictObject({ path: z.string().trim().min(1, { error: 'must not be empty' }).max(4096) }),
    output: datasetCheckSchema,
  }),
  defineMethod({
    name: 'embed.models',
    summary:
      "The image-encoder models embed offers, where each file goes in the models folder (and whether it is there), and the workspace's embedding counts.",
    input: z.strictObject({}),
    output: embedModelsSchema,
  }),
  defineMethod({
    name: 'search.tag',
    summary:
      'image → JSON (tagging): the attribute combinations nearest to a picture, composed from the vocabulary and carried by training items, with cosine scores.',
    input: z.strictObject({
      image: imageUploadSchema,
      k: z.number().int().min(1).max(50).optional(),
    }),
    output: imageTagRunSchema,
  }),
  defineMethod({
    name: 'centrality.items',
    summary: 'The most and least central garments of the stored centrality (null before one is computed).',
    input: z.strictObject({ limit: z.number().int().min(1).max(60).default(12) }),
    output: centralItemsSchema.nullable(),
  }),
  defineMethod({
    name: 'map.start',
    summary:
      'Job: the embedding map (2-D PCA or UMAP of the validation set’s image and JSON-encoder vectors), cached per checkpoint; result EmbeddingMap.',
    input: z.strictObject({
      method: z.enum(['pca', 'umap']).default('pca'),
      refresh: z.boolean().optional(),
    }),
    output: jobHandleSchema,
  }),
  defineMethod({
    name: 'map.get',
    summary: 'The cached embedding map for the current checkpoint and embeddings, or null.',
    input: z.strictObject({ method: z.enum(['pca', 'umap']).default('pca') }),
    output: embeddingMapSchema.nullable(),
  }),
] as const;
