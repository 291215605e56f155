/**
 * JSON Schemas of the REST routes: requests are validated with them (strict types, no unknown keys),
 * responses serialised with them, and /openapi.json is generated from them. They mirror the result
 * types in src-shared/recommend.ts.
 */
import { ERROR_BODY_SCHEMA } from './http-errors.ts';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const nullable = (t: string) => ({ type: [t, 'null'] }) as const;
const numMap = { type: 'object', additionalProperties: num } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

export const errorResponses = {
  400: ERROR_BODY_SCHEMA,
  404: ERROR_BODY_SCHEMA,
  409: ERROR_BODY_SCHEMA,
  413: ERROR_BODY_SCHEMA,
  415: ERROR_BODY_SCHEMA,
  500: ERROR_BODY_SCHEMA,
} as const;

export const encoderLabelSchema = {
  type: 'object',
  required: ['model', 'kind', 'synthetic', 'label'],
  properties: {
    model: str,
    kind: { type: 'string', enum: ['registry', 'path', 'demo-standin'] },
    synthetic: bool,
    label: str,
  },
} as const;
const nullableEncoder = { anyOf: [encoderLabelSchema, { type: 'null' }] } as const;

export const productSchema = {
  type: 'object',
  required: [
    'id',
    'name',
    'style',
    'category',
    'image',
    'imageUrl',
    'imageSha256',
    'width',
    'height',
    'attributes',
    'synthetic',
    'createdAt',
    'embeddings',
  ],
  properties: {
    id: str,
    name: str,
    style: nullable('string'),
    category: nullable('string'),
    image: str,
    imageUrl: str,
    imageSha256: str,
    width: int,
    height: int,
    attributes: { anyOf: [anyObject, { type: 'null' }] },
    synthetic: bool,
    createdAt: str,
    embeddings: { type: 'array', items: str },
  },
} as const;

export const catalogListSchema = {
  type: 'object',
  required: ['total', 'products', 'missingVectors', 'encoder'],
  properties: {
    total: int,
    products: { type: 'array', items: productSchema },
    missingVectors: int,
    encoder: nullableEncoder,
    note: str,
  },
} as const;

const matchSchema = {
  type: 'object',
  required: ['productId', 'name', 'style', 'category', 'score', 'imageUrl'],
  properties: {
    productId: str,
    name: str,
    style: nullable('string'),
    category: nullable('string'),
    score: num,
    imageUrl: str,
  },
} as const;

const inputRefSchema = {
  type: 'object',
  required: ['kind', 'id'],
  properties: {
    kind: { type: 'string', enum: ['upload', 'catalog', 'item', 'anchor'] },
    id: str,
    filename: str,
    centrality: num,
  },
} as const;

const metaProps = {
  runId: str,
  timestamp: str,
  encoder: encoderLabelSchema,
  k: int,
  catalogSize: int,
  latencyMs: num,
  /** Only when an approximate index served the answer (`serve --index ann`). */
  index: {
    type: 'object',
    properties: { kind: str, engine: str, recallAt10: { type: 'number', nullable: true } },
  },
  note: str,
} as const;
const metaRequired = ['runId', 'timestamp', 'encoder', 'k', 'catalogSize', 'latencyMs'] as const;

export const top10ResultSchema = {
  type: 'object',
  required: [...metaRequired, 'inputs', 'trend', 'inputSource'],
  properties: {
    ...metaProps,
    inputSource: str,
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['input', 'matches'],
        properties: { input: inputRefSchema, matches: { type: 'array', items: matchSchema } },
      },
    },
    trend: {
      type: 'object',
      required: [
        'styleDistribution',
        'categoryDistribution',
        'meanSimilarity',
        'maxSimilarity',
        'mostMatched',
        'matches',
      ],
      properties: {
        styleDistribution: numMap,
        categoryDistribution: numMap,
        meanSimilarity: num,
        maxSimilarity: num,
        matches: int,
        mostMatched: {
          type: 'array',
          items: {
            type: 'object',
            required: ['productId', 'name', 'count', 'bestScore', 'imageUrl'],
            properties: { productId: str, name: str, count: int, bestScore: num, imageUrl: str },
          },
        },
      },
    },
  },
} as const;

export const customerResultSchema = {
  type: 'object',
  required: [...metaRequired, 'input', 'matches'],
  properties: { ...metaProps, input: inputRefSchema, matches: { type: 'array', items: matchSchema } },
} as const;

const nnum = nullable('number');
const healthSchema = {
  type: 'object',
  required: ['set', 'model', 'health'],
  properties: {
    set: { type: 'string', enum: ['catalog', 'dataset'] },
    model: str,
    health: {
      type: 'object',
      properties: {
        vectors: int,
        dim: int,
        norm: {
          type: 'object',
          properties: {
            min: num,
            max: num,
            mean: num,
            max_deviation: num,
            tolerance: num,
            ok: bool,
            off: int,
          },
        },
        per_dimension_variance: {
          type: 'object',
          properties: { mean: num, min: num, max: num, near_zero: int },
        },
        mean_pairwise_cosine: num,
      },
    },
  },
} as const;

export const kpiSchema = {
  type: 'object',
  required: [
    'timestamp',
    'count',
    'errors',
    'byEndpoint',
    'latencyMs',
    'meanTop1Similarity',
    'lastEvaluation',
    'embeddingHealth',
    'catalog',
    'encoder',
  ],
  properties: {
    timestamp: str,
    count: int,
    errors: int,
    byEndpoint: numMap,
    latencyMs: { type: 'object', properties: { p50: nnum, p95: nnum, p99: nnum, mean: nnum } },
    meanTop1Similarity: nnum,
    lastEvaluation: {
      anyOf: [
        {
          type: 'object',
          properties: {
            file: str,
            timestamp: nullable('string'),
            runId: nullable('string'),
            trainingRunId: nullable('string'),
            checkpointEpoch: { type: ['integer', 'null'] },
            stale: bool,
            currentRunId: nullable('string'),
            top1: nnum,
            top5: nnum,
            recall10: nnum,
            mrr: nnum,
            protocol: nullable('string'),
            synthetic: bool,
            note: str,
          },
        },
        { type: 'null' },
      ],
    },
    embeddingHealth: { type: 'array', items: healthSchema },
    catalog: { type: 'object', properties: { products: int, withVectors: int } },
    encoder: nullableEncoder,
    note: str,
  },
} as const;

export const dashboardSchema = {
  type: 'object',
  required: ['kpi', 'loss_curve', 'top_k_images', 'hyperparams', 'augmented_samples'],
  properties: {
    kpi: kpiSchema,
    loss_curve: {
      anyOf: [
        {
          type: 'object',
          properties: {
            runId: str,
            epochs: { type: 'array', items: num },
            trainLoss: { type: 'array', items: num },
            valLoss: { type: 'array', items: num },
            source: str,
          },
        },
        { type: 'null' },
      ],
    },
    top_k_images: {
      type: 'array',
      items: { type: 'object', properties: { productId: str, name: str, count: int, imageUrl: str } },
    },
    hyperparams: { anyOf: [anyObject, { type: 'null' }] },
    augmented_samples: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          itemId: str,
          augmentation: str,
          dataUrl: str,
          view: int,
          before: anyObject,
          after: anyObject,
          changes: { type: 'array', items: str },
          epoch: int,
          step: int,
        },
      },
    },
    augmentation: {
      anyOf: [
        {
          type: 'object',
          properties: {
            runId: str,
            settings: anyObject,
            recipe: { anyOf: [str, { type: 'null' }] },
            source: str,
          },
        },
        { type: 'null' },
      ],
    },
    note: str,
  },
} as const;

export const kParam = {
  type: 'integer',
  minimum: 1,
  maximum: 100,
  default: 10,
  description: 'matches per input (1-100, default 10)',
} as const;

export const top10BodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ids: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 400 },
      minItems: 1,
      maxItems: 200,
      description: 'catalog product ids or dataset item ids of the best-sellers',
    },
    use_centrality_proxy: {
      type: 'boolean',
      description: 'no sales data: use the anchor set (10 % most central garments)',
    },
    k: kParam,
  },
} as const;

export const top10MultipartSchema = {
  // No `type`: a multipart body reaches validation as null (it is read in the handler); this schema
  // only documents the fields for OpenAPI.
  description:
    'multipart/form-data: one or more files in field "images" (best-seller photos), optional field k',
  properties: {
    images: { type: 'array', items: { type: 'string', format: 'binary' } },
    k: kParam,
  },
} as const;

export const customerBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['product_id'],
  properties: {
    product_id: {
      type: 'string',
      minLength: 1,
      maxLength: 400,
      description: 'a catalog product id or a dataset item id',
    },
    k: kParam,
  },
} as const;

export const customerMultipartSchema = {
  // No `type`: a multipart body reaches validation as null (it is read in the handler); this schema
  // only documents the fields for OpenAPI.
  description: 'multipart/form-data: one file in field "image" (the customer photo), optional field k',
  properties: { image: { type: 'string', format: 'binary' }, k: kParam },
} as const;

export const catalogAddMultipartSchema = {
  // No `type`: a multipart body reaches validation as null (it is read in the handler); this schema
  // only documents the fields for OpenAPI.
  description:
    'multipart/form-data: the product image in field "image"; fields name (required), id, style, category, attributes (a JSON object as text)',
  properties: {
    image: { type: 'string', format: 'binary' },
    name: str,
    id: str,
    style: str,
    category: str,
    attributes: { type: 'string', description: 'JSON object of garment attributes' },
  },
} as const;
