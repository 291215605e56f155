/**
 * The JSON Schemas of the REST routes, generated from zod schemas: the contract's (src-shared/) for
 * every shape the contract already declares, and the few REST-only shapes (snake_case bodies, query
 * strings, multipart forms) declared here in zod too. Requests are validated with them (strict types,
 * no unknown keys), responses serialised with them, and /openapi.json is made from them, so a field
 * added to a contract schema reaches the route, its serialiser and the document with no second edit.
 *
 * [Note: JSON Schema from zod, once]
 * Fastify validates with ajv and serialises with fast-json-stringify, both driven by JSON Schema.
 * `z.toJSONSchema` (built into zod 4) turns each zod schema into one when the routes are registered;
 * ajv and fast-json-stringify then compile them as before. Not fastify-type-provider-zod: it validates
 * with zod at request time, which would change the wording of every 400 (formatSchemaError reads
 * ajv's errors, and clients and tests rely on it) and bypass the response serialiser's field list.
 */
import { z } from 'zod';
import { api } from '../../src-shared/api.ts';
import { httpErrorBodySchema } from './http-errors.ts';

export type JsonSchema = { [key: string]: unknown };

/** What a request may hold, as JSON Schema (zod's input side: defaults are filled, unknown keys refused). */
export function requestSchema(schema: z.ZodType): JsonSchema {
  return clean(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), 'input');
}

/**
 * What a response holds, as JSON Schema (zod's output side). fast-json-stringify writes exactly the
 * declared properties, so a field the schema does not declare never leaves the server.
 */
export function responseSchema(schema: z.ZodType): JsonSchema {
  return clean(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }), 'output');
}

/**
 * A multipart form's fields, for the OpenAPI document only. Without `type`, `required` or
 * `additionalProperties`: a multipart body reaches validation as null (the handler reads it from the
 * stream and checks every field itself, multipart.ts), so the schema must let null through.
 */
export function multipartSchema(schema: z.ZodObject, description: string): JsonSchema {
  const { type: _type, required: _required, additionalProperties: _extra, ...rest } = requestSchema(schema);
  return { description, ...rest };
}

function clean(generated: JsonSchema, io: 'input' | 'output'): JsonSchema {
  // The route schemas are compiled by Fastify's ajv (draft-07 by default) and embedded in an OpenAPI
  // document: a `$schema` naming another dialect would make ajv refuse the schema.
  const { $schema: _dialect, ...schema } = generated;
  walk(schema, withoutSafeIntegerBounds);
  if (io === 'output') walk(schema, optionalUnknowns);
  return schema;
}

/** zod bounds every `.int()` by ±(2^53 − 1); said of every integer, it only clutters the document. */
function withoutSafeIntegerBounds(s: JsonSchema): void {
  if (s['type'] !== 'integer') return;
  if (s['minimum'] === Number.MIN_SAFE_INTEGER) delete s['minimum'];
  if (s['maximum'] === Number.MAX_SAFE_INTEGER) delete s['maximum'];
}

/**
 * zod lists a property of unknown type (`z.unknown()`) as required on its output side, though the
 * value may be undefined and then is left out of the JSON; fast-json-stringify would refuse to write
 * such an object. Such a property is optional in JSON.
 */
function optionalUnknowns(s: JsonSchema): void {
  const props = s['properties'] as Record<string, JsonSchema> | undefined;
  const required = s['required'] as string[] | undefined;
  if (!props || !required) return;
  const kept = required.filter((k) => !isAnything(props[k]));
  if (kept.length === required.length) return;
  if (kept.length) s['required'] = kept;
  else delete s['required'];
}

function isAnything(s: JsonSchema | undefined): boolean {
  return s !== undefined && Object.keys(s).every((k) => k === 'description');
}

function walk(s: unknown, visit: (s: JsonSchema) => void): void {
  if (Array.isArray(s)) {
    for (const x of s) walk(x, visit);
    return;
  }
  if (typeof s !== 'object' || s === null) return;
  visit(s as JsonSchema);
  for (const v of Object.values(s)) walk(v, visit);
}

// ---------------------------------------------------------------------------------------------
// Shapes of the REST routes that the contract does not have (its inputs are camelCase JSON; the REST
// API keeps the snake_case bodies, query strings and multipart forms it has always had)

const top10Input = api['recommend.top10ToNew'].input.shape;
const customerInput = api['recommend.customerInput'].input.shape;

/** k as the REST bodies take it: the contract's limits, and 10 when absent. */
const restK = customerInput.k.unwrap().default(10).describe('matches per input (1-100, default 10)');

/** The catalog index of one request, as the contract takes it; absent: the server's (`serve --index`). */
const restIndex = customerInput.index.describe(
  'catalog index for this request: "exact" or "ann" (approximate HNSW; its recall@10 comes back in the answer\'s index); default: the server\'s `serve --index`, else exact',
);

export const healthSchema = z.object({ ok: z.boolean(), workspace: z.string(), synthetic: z.boolean() });

export const catalogPageQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^[0-9]{1,6}$/)
    .optional()
    .describe('products per page (default all)'),
  offset: z
    .string()
    .regex(/^[0-9]{1,9}$/)
    .optional()
    .describe('products to skip'),
});

export const catalogIdParams = z.object({ id: api['catalog.get'].input.shape.id });

export const filePathParams = z.object({ '*': z.string() });

export const top10Body = z.strictObject({
  ids: top10Input.ids.describe('catalog product ids or dataset item ids of the best-sellers'),
  use_centrality_proxy: top10Input.useCentralityProxy.describe(
    'no sales data: use the anchor set (10 % most central garments)',
  ),
  k: restK,
  index: restIndex,
});

export const customerBody = z.strictObject({
  product_id: customerInput.productId.unwrap().describe('a catalog product id or a dataset item id'),
  k: restK,
  index: restIndex,
});

const binary = z.string().meta({ format: 'binary' });

export const top10Multipart = multipartSchema(
  z.object({ images: z.array(binary), k: restK, index: restIndex }),
  'multipart/form-data: one or more files in field "images" (best-seller photos), optional fields k and index',
);

export const customerMultipart = multipartSchema(
  z.object({ image: binary, k: restK, index: restIndex }),
  'multipart/form-data: one file in field "image" (the customer photo), optional fields k and index',
);

export const catalogAddMultipart = multipartSchema(
  z.object({
    image: binary,
    name: z.string(),
    id: z.string(),
    style: z.string(),
    category: z.string(),
    attributes: z.string().describe('JSON object of garment attributes'),
  }),
  'multipart/form-data: the product image in field "image"; fields name (required), id, style, category, attributes (a JSON object as text)',
);

const errorBody = responseSchema(httpErrorBodySchema);

/** Every route's error answers: the one error body (http-errors.ts). */
export const errorResponses = {
  400: errorBody,
  404: errorBody,
  409: errorBody,
  413: errorBody,
  415: errorBody,
  500: errorBody,
} as const;
