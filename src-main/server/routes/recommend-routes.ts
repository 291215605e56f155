/** POST /api/recommend/top10_to_new and /api/recommend/customer_input (JSON, or multipart uploads). */
import type { FastifyInstance } from 'fastify';
import { MAX_K } from '../../recommend/recommender.ts';
import { badRequest } from '../http-errors.ts';
import { MAX_UPLOAD_FILES } from '../limits.ts';
import { intField, readMultipart } from '../multipart.ts';
import {
  customerBodySchema,
  customerMultipartSchema,
  customerResultSchema,
  errorResponses,
  top10BodySchema,
  top10MultipartSchema,
  top10ResultSchema,
} from '../schemas.ts';

export async function registerRecommendRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/api/recommend/top10_to_new',
    {
      schema: {
        summary: 'Best-sellers → the k most similar new products each, plus trend data',
        description:
          'Inputs: best-seller images (multipart field "images", one or more files), or JSON {"ids": [...]} with catalog product or dataset item ids, or {"use_centrality_proxy": true} to take the anchor set (the 10 % most central garments) when there is no sales data. A catalog product is never matched to itself.',
        tags: ['recommend'],
        body: {
          content: {
            'application/json': { schema: top10BodySchema },
            'multipart/form-data': { schema: top10MultipartSchema },
          },
        },
        response: { 200: top10ResultSchema, ...errorResponses },
      },
    },
    async (request) => {
      const wb = app.workbench;
      if (request.isMultipart()) {
        const { files, fields } = await readMultipart(request, {
          files: { images: MAX_UPLOAD_FILES },
          fields: ['k'],
        });
        const uploads = files.get('images') ?? [];
        if (uploads.length === 0)
          throw badRequest(
            'multipart request without files: upload best-seller images in field "images"',
            'images',
          );
        return wb.recommendTop10ToNew({ uploads, k: intField(fields, 'k', 1, MAX_K) });
      }
      const body = (request.body ?? {}) as { ids?: string[]; use_centrality_proxy?: boolean; k?: number };
      return wb.recommendTop10ToNew({
        ids: body.ids,
        useCentralityProxy: body.use_centrality_proxy,
        k: body.k,
      });
    },
  );

  app.post(
    '/api/recommend/customer_input',
    {
      schema: {
        summary: "A customer's photo or a clicked product → the k most similar new products",
        description:
          'Upload one image (multipart field "image", optional field "k"), or send JSON {"product_id": "...", "k": 10} with a catalog product or dataset item id. k defaults to 10.',
        tags: ['recommend'],
        body: {
          content: {
            'application/json': { schema: customerBodySchema },
            'multipart/form-data': { schema: customerMultipartSchema },
          },
        },
        response: { 200: customerResultSchema, ...errorResponses },
      },
    },
    async (request) => {
      const wb = app.workbench;
      if (request.isMultipart()) {
        const { files, fields } = await readMultipart(request, { files: { image: 1 }, fields: ['k'] });
        const upload = files.get('image')?.[0];
        if (!upload)
          throw badRequest('multipart request without a file: upload the photo in field "image"', 'image');
        return wb.recommendCustomerInput({ upload, k: intField(fields, 'k', 1, MAX_K) });
      }
      const body = request.body as { product_id: string; k?: number };
      return wb.recommendCustomerInput({ productId: body.product_id, k: body.k });
    },
  );
}
