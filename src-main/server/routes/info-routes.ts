/** GET /api/health, /api/encoder, /api/kpi, /api/dashboard. */
import type { FastifyInstance } from 'fastify';
import { dashboardSchema, encoderLabelSchema, errorResponses, kpiSchema } from '../schemas.ts';

export async function registerInfoRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/api/health',
    {
      schema: {
        summary: 'The server is up; which workspace it serves',
        tags: ['info'],
        response: {
          200: {
            type: 'object',
            required: ['ok', 'workspace', 'synthetic'],
            properties: {
              ok: { type: 'boolean' },
              workspace: { type: 'string' },
              synthetic: { type: 'boolean' },
            },
          },
        },
      },
    },
    async () => {
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
        response: { 200: { anyOf: [encoderLabelSchema, { type: 'null' }] }, ...errorResponses },
      },
    },
    async () => app.workbench.imageEncoder(),
  );

  app.get(
    '/api/kpi',
    {
      schema: {
        summary:
          'Recommendation KPIs: calls, latency p50/p95/p99, mean top-1 similarity, last evaluation, embedding health',
        tags: ['kpi'],
        response: { 200: kpiSchema, ...errorResponses },
      },
    },
    async () => app.workbench.kpi(),
  );

  app.get(
    '/api/dashboard',
    {
      schema: {
        summary: 'Dashboard data: { kpi, loss_curve, top_k_images, hyperparams, augmented_samples }',
        tags: ['kpi'],
        response: { 200: dashboardSchema, ...errorResponses },
      },
    },
    async () => app.workbench.dashboard(),
  );
}
