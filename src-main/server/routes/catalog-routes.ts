/** The catalog of new products: GET /api/catalog, GET/DELETE /api/catalog/:id, POST /api/catalog (multipart). */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { api } from '../../../src-shared/api.ts';
import { CatalogInputError } from '../../recommend/catalog.ts';
import type { RecommendHandlers } from '../../services/api-handlers.ts';
import { badRequest } from '../http-errors.ts';
import { readMultipart } from '../multipart.ts';
import {
  catalogAddMultipart,
  catalogIdParams,
  catalogPageQuery,
  errorResponses,
  requestSchema,
  responseSchema,
} from '../rest-schemas.ts';

export async function registerCatalogRoutes(
  app: FastifyInstance,
  handlers: RecommendHandlers,
): Promise<void> {
  app.get<{ Querystring: z.output<typeof catalogPageQuery> }>(
    '/api/catalog',
    {
      schema: {
        summary: 'List the catalog of new products',
        tags: ['catalog'],
        querystring: requestSchema(catalogPageQuery),
        response: { 200: responseSchema(api['catalog.list'].output), ...errorResponses },
      },
    },
    async (request) => {
      // The query's digits are checked by its schema; the REST API has always allowed any page size.
      const { limit, offset } = request.query;
      return handlers['catalog.list']({
        limit: limit === undefined ? undefined : Number(limit),
        offset: offset === undefined ? undefined : Number(offset),
      });
    },
  );

  app.get<{ Params: z.output<typeof catalogIdParams> }>(
    '/api/catalog/:id',
    {
      schema: {
        summary: 'One catalog product',
        tags: ['catalog'],
        params: requestSchema(catalogIdParams),
        response: { 200: responseSchema(api['catalog.get'].output), ...errorResponses },
      },
    },
    async (request) => handlers['catalog.get']({ id: request.params.id }),
  );

  const added = responseSchema(api['catalog.add'].output);
  app.post(
    '/api/catalog',
    {
      schema: {
        summary: 'Add (or replace) a catalog product from an uploaded image',
        description:
          'multipart/form-data: the image in field "image" (JPEG, PNG, WebP, GIF or TIFF; checked by content), "name" (required), optional "id" (letters, digits, . _ -; default derived from the image hash), "style", "category", "attributes" (a JSON object as text). The image is stored in the workspace under its sha256 and embedded with the workspace image encoder. 201 when created, 200 when an existing id was replaced.',
        tags: ['catalog'],
        consumes: ['multipart/form-data'],
        body: { content: { 'multipart/form-data': { schema: catalogAddMultipart } } },
        response: { 200: added, 201: added, ...errorResponses },
      },
    },
    async (request, reply): Promise<z.output<(typeof api)['catalog.add']['output']>> => {
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
      // The uploaded bytes go to the Workbench method the contract's catalog.add wraps (it takes the
      // image as base64 and fewer fields); the form's own fields (id, attributes) are checked there.
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

  app.delete<{ Params: z.output<typeof catalogIdParams> }>(
    '/api/catalog/:id',
    {
      schema: {
        summary: 'Remove a catalog product (its vectors, and its image when no other product uses it)',
        tags: ['catalog'],
        params: requestSchema(catalogIdParams),
        response: { 200: responseSchema(api['catalog.remove'].output), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      // An unknown id is 404 here (catalog.remove alone would answer that nothing was removed).
      await handlers['catalog.get']({ id });
      return handlers['catalog.remove']({ ids: [id] });
    },
  );
}
