/** GET /api/health, /api/encoder, /api/kpi, /api/dashboard. */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { api } from '../../../src-shared/api.ts';
import type { RecommendHandlers } from '../../services/api-handlers.ts';
import { errorResponses, healthSchema, responseSchema } from '../rest-schemas.ts';

export async function registerInfoRoutes(app: FastifyInstance, handlers: RecommendHandlers): Promise<void> {
  app.get(
    '/api/health',
    {
      schema: {
        summary: 'The server is up; which workspace it serves',
        tags: ['info'],
        response: { 200: responseSchema(healthSchema) },
      },
    },
    async (): Promise<z.output<typeof healthSchema>> => {
      const s = app.workbench.imageEncoder();
      return { ok: true, workspace: app.workbench.workspace.root, synthetic: s?.synthetic ?? false };
    },
  );

  app.get(
    '/api/encoder',
    {
      schema: {
        summary: "The workspace's image encoder (the model query images are embedded with)",
        tags: ['info'],
        response: { 200: responseSchema(api['recommend.encoder'].output), ...errorResponses },
      },
    },
    async () => handlers['recommend.encoder']({}),
  );

  app.get(
    '/api/kpi',
    {
      schema: {
        summary:
          'Recommendation KPIs: calls, latency p50/p95/p99, mean top-1 similarity, last evaluation, embedding health',
        tags: ['kpi'],
        response: { 200: responseSchema(api['kpi.summary'].output), ...errorResponses },
      },
    },
    async () => handlers['kpi.summary']({}),
  );

  app.get(
    '/api/dashboard',
    {
      schema: {
        summary: 'Dashboard data: { kpi, loss_curve, top_k_images, hyperparams, augmented_samples }',
        tags: ['kpi'],
        response: { 200: responseSchema(api['dashboard.get'].output), ...errorResponses },
      },
    },
    async () => handlers['dashboard.get']({}),
  );
}
