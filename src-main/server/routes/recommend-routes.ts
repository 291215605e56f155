/** POST /api/recommend/top10_to_new and /api/recommend/customer_input (JSON, or multipart uploads). */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { api } from '../../../src-shared/api.ts';
import { MAX_K } from '../../recommend/recommender.ts';
import type { RecommendHandlers } from '../../services/api-handlers.ts';
import { badRequest } from '../http-errors.ts';
import { MAX_UPLOAD_FILES } from '../limits.ts';
import { choiceField, intField, readMultipart } from '../multipart.ts';
import {
  customerBody,
  customerMultipart,
  errorResponses,
  requestSchema,
  responseSchema,
  top10Body,
  top10Multipart,
} from '../rest-schemas.ts';

const INDEX_KINDS = ['exact', 'ann'] as const;

type Output<M extends keyof typeof api> = z.output<(typeof api)[M]['output']>;

/**
 * A JSON body goes to the contract's handler; uploaded files go to the Workbench method that handler
 * wraps, as the bytes multipart already read (the handler takes base64 images, and names their
 * fields `images.0` where the REST API has always said `images[0]`).
 */
export async function registerRecommendRoutes(
  app: FastifyInstance,
  handlers: RecommendHandlers,
): Promise<void> {
  app.post<{ Body: z.output<typeof top10Body> | null }>(
    '/api/recommend/top10_to_new',
    {
      schema: {
        summary: 'Best-sellers → the k most similar new products each, plus trend data',
        description:
          'Inputs: best-seller images (multipart field "images", one or more files), or JSON {"ids": [...]} with catalog product or dataset item ids, or {"use_centrality_proxy": true} to take the anchor set (the 10 % most central garments) when there is no sales data. A catalog product is never matched to itself.',
        tags: ['recommend'],
        body: {
          content: {
            'application/json': { schema: requestSchema(top10Body) },
            'multipart/form-data': { schema: top10Multipart },
          },
        },
        response: { 200: responseSchema(api['recommend.top10ToNew'].output), ...errorResponses },
      },
    },
    async (request): Promise<Output<'recommend.top10ToNew'>> => {
      if (request.isMultipart()) {
        const { files, fields } = await readMultipart(request, {
          files: { images: MAX_UPLOAD_FILES },
          fields: ['k', 'index'],
        });
        const uploads = files.get('images') ?? [];
        if (uploads.length === 0)
          throw badRequest(
            'multipart request without files: upload best-seller images in field "images"',
            'images',
          );
        return app.workbench.recommendTop10ToNew({
          uploads,
          k: intField(fields, 'k', 1, MAX_K),
          index: choiceField(fields, 'index', INDEX_KINDS),
        });
      }
      const body: Partial<z.output<typeof top10Body>> = request.body ?? {};
      return handlers['recommend.top10ToNew']({
        ids: body.ids,
        useCentralityProxy: body.use_centrality_proxy,
        k: body.k,
        index: body.index,
      });
    },
  );

  app.post<{ Body: z.output<typeof customerBody> }>(
    '/api/recommend/customer_input',
    {
      schema: {
        summary: "A customer's photo or a clicked product → the k most similar new products",
        description:
          'Upload one image (multipart field "image", optional field "k"), or send JSON {"product_id": "...", "k": 10} with a catalog product or dataset item id. k defaults to 10.',
        tags: ['recommend'],
        body: {
          content: {
            'application/json': { schema: requestSchema(customerBody) },
            'multipart/form-data': { schema: customerMultipart },
          },
        },
        response: { 200: responseSchema(api['recommend.customerInput'].output), ...errorResponses },
      },
    },
    async (request): Promise<Output<'recommend.customerInput'>> => {
      if (request.isMultipart()) {
        const { files, fields } = await readMultipart(request, {
          files: { image: 1 },
          fields: ['k', 'index'],
        });
        const upload = files.get('image')?.[0];
        if (!upload)
          throw badRequest('multipart request without a file: upload the photo in field "image"', 'image');
        return app.workbench.recommendCustomerInput({
          upload,
          k: intField(fields, 'k', 1, MAX_K),
          index: choiceField(fields, 'index', INDEX_KINDS),
        });
      }
      return handlers['recommend.customerInput']({
        productId: request.body.product_id,
        k: request.body.k,
        index: request.body.index,
      });
    },
  );
}
