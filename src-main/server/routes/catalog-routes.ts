/** The catalog of new products: GET /api/catalog, GET/DELETE /api/catalog/:id, POST /api/catalog (multipart). */
import type { FastifyInstance } from 'fastify';
import type { CatalogList } from '../../../src-shared/recommend.ts';
import { quoteShort } from '../../../src-shared/short-text.ts';
import { CatalogInputError, UnknownIdError } from '../../recommend/catalog.ts';
import { badRequest } from '../http-errors.ts';
import { readMultipart } from '../multipart.ts';
import { catalogAddMultipartSchema, catalogListSchema, errorResponses, productSchema } from '../schemas.ts';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 400 } },
} as const;

const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,6}$', description: 'products per page (default all)' },
    offset: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'products to skip' },
  },
} as const;

export async function registerCatalogRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/catalog',
    {
      schema: {
        summary: 'List the catalog of new products',
        tags: ['catalog'],
        querystring: pageQuery,
        response: { 200: catalogListSchema, ...errorResponses },
      },
    },
    async (request): Promise<CatalogList> => {
      const q = request.query as { limit?: string; offset?: string };
      const wb = app.workbench;
      const catalog = wb.catalog();
      const encoder = wb.imageEncoder();
      const total = catalog.count();
      const missing = encoder ? total - catalog.countWithVectors(encoder.model) : total;
      const products = catalog.list({
        limit: q.limit === undefined ? undefined : Number(q.limit),
        offset: q.offset === undefined ? undefined : Number(q.offset),
      });
      const synthetic = encoder?.synthetic || products.some((p) => p.synthetic);
      return {
        total,
        products,
        missingVectors: missing,
        encoder,
        ...(synthetic
          ? {
              note: 'SYNTHETIC: products marked synthetic are generated demo pictures; vectors of the demo-standin encoder are not FashionCLIP embeddings.',
            }
          : {}),
      };
    },
  );

  app.get(
    '/api/catalog/:id',
    {
      schema: {
        summary: 'One catalog product',
        tags: ['catalog'],
        params: idParams,
        response: { 200: productSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const p = app.workbench.catalog().get(id);
      if (!p) throw new UnknownIdError(`no catalog product ${quoteShort(id)}`, 'id');
      return p;
    },
  );

  app.post(
    '/api/catalog',
    {
      schema: {
        summary: 'Add (or replace) a catalog product from an uploaded image',
        description:
          'multipart/form-data: the image in field "image" (JPEG, PNG, WebP, GIF or TIFF; checked by content), "name" (required), optional "id" (letters, digits, . _ -; default derived from the image hash), "style", "category", "attributes" (a JSON object as text). The image is stored in the workspace under its sha256 and embedded with the workspace image encoder. 201 when created, 200 when an existing id was replaced.',
        tags: ['catalog'],
        consumes: ['multipart/form-data'],
        body: { content: { 'multipart/form-data': { schema: catalogAddMultipartSchema } } },
        response: {
          200: {
            type: 'object',
            properties: { product: productSchema, created: { type: 'boolean' }, note: { type: 'string' } },
          },
          201: {
            type: 'object',
            properties: { product: productSchema, created: { type: 'boolean' }, note: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      if (!request.isMultipart()) {
        throw badRequest(
          'send the product as multipart/form-data with the image in field "image" and the fields name, id, style, category, attributes',
          'image',
        );
      }
      const { files, fields } = await readMultipart(request, {
        files: { image: 1 },
        fields: ['name', 'id', 'style', 'category', 'attributes'],
      });
      const upload = files.get('image')?.[0];
      if (!upload) throw badRequest('no image: upload the product picture in field "image"', 'image');
      let attributes: unknown;
      const rawAttributes = fields.get('attributes');
      if (rawAttributes !== undefined) {
        try {
          attributes = JSON.parse(rawAttributes);
        } catch (e) {
          throw new CatalogInputError(
            `attributes is not valid JSON (${e instanceof Error ? e.message : String(e)}); expected a JSON object`,
            'attributes',
          );
        }
      }
      const r = await app.workbench.catalogAdd(
        upload.bytes,
        {
          id: fields.get('id'),
          name: fields.get('name'),
          style: fields.get('style'),
          category: fields.get('category'),
          attributes: attributes as Record<string, unknown> | undefined,
          source: upload.filename ?? null,
        },
        { what: `image${upload.filename ? ` (${upload.filename})` : ''}`, imageField: 'image' },
      );
      void reply.status(r.created ? 201 : 200);
      return r;
    },
  );

  app.delete(
    '/api/catalog/:id',
    {
      schema: {
        summary: 'Remove a catalog product (its vectors, and its image when no other product uses it)',
        tags: ['catalog'],
        params: idParams,
        response: {
          200: { type: 'object', properties: { removed: { type: 'array', items: { type: 'string' } } } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const p = app.workbench.catalog().get(id);
      if (!p) throw new UnknownIdError(`no catalog product ${quoteShort(id)}`, 'id');
      return { removed: app.workbench.catalogRemove([id]) };
    },
  );
}
