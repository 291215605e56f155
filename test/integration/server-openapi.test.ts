/**
 * /openapi.json against the zod schemas it is generated from, on a real server on 127.0.0.1: the
 * document is OpenAPI 3.1 whose every schema compiles as JSON Schema 2020-12 and every `$ref`
 * resolves; every route is in it; and each route's schemas have exactly the fields of the contract's
 * zod schema, read from zod's own structure (not from z.toJSONSchema, which the server uses): a field
 * added to a contract schema that did not reach the REST schema, or a REST schema written by hand
 * that drifted, fails here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildServer } from '../../src-main/server/app.ts';
import { healthSchema, responseSchema } from '../../src-main/server/rest-schemas.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { api } from '../../src-shared/api.ts';

type Json = { [key: string]: unknown };
interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema: Json }[];
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Json> };
}

let base: string;
let wb: Workbench;
let app: FastifyInstance;
let doc: Doc;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'kf-openapi-'));
  wb = Workbench.open(join(base, 'ws'), { create: true });
  app = await buildServer({ workbench: wb });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const r = await fetch(`${url}/openapi.json`);
  expect(r.status).toBe(200);
  doc = (await r.json()) as Doc;
});

afterAll(async () => {
  await app?.close();
  await wb?.closeAsync();
  rmSync(base, { recursive: true, force: true });
});

/** Each REST route and the zod schema its 200 (and 201) answer must have the fields of. */
const ROUTES: Record<string, { ok: z.ZodType | null; created?: boolean; errors?: false }> = {
  // The server is up: it has no error answer of its own.
  'GET /api/health': { ok: healthSchema, errors: false },
  'GET /api/encoder': { ok: api['recommend.encoder'].output },
  'GET /api/kpi': { ok: api['kpi.summary'].output },
  'GET /api/dashboard': { ok: api['dashboard.get'].output },
  'GET /api/catalog': { ok: api['catalog.list'].output },
  'POST /api/catalog': { ok: api['catalog.add'].output, created: true },
  'GET /api/catalog/{id}': { ok: api['catalog.get'].output },
  'DELETE /api/catalog/{id}': { ok: api['catalog.remove'].output },
  'POST /api/recommend/top10_to_new': { ok: api['recommend.top10ToNew'].output },
  'POST /api/recommend/customer_input': { ok: api['recommend.customerInput'].output },
  // A file's bytes: no JSON answer to describe.
  'GET /api/files/{*}': { ok: null },
};

function operations(d: Doc): [string, Operation][] {
  return Object.entries(d.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([verb, op]) => [`${verb.toUpperCase()} ${path}`, op] as [string, Operation]),
  );
}

const jsonBody = (op: Operation, status: string) =>
  op.responses[status]?.content?.['application/json']?.schema;

/**
 * The fields of a zod schema as paths (`products[].style`, `encoder?.model`; `?` marks a field that
 * may be absent), read from zod's own structure.
 */
function zodFields(s: z.ZodType, at = '', out = new Set<string>()): Set<string> {
  if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
    return zodFields(s.unwrap() as z.ZodType, at, out);
  }
  if (s instanceof z.ZodObject) {
    for (const [key, field] of Object.entries(s.shape as Record<string, z.ZodType>)) {
      // What JSON may leave out: an optional field, or one that holds anything (undefined included).
      const optional = field instanceof z.ZodOptional || field instanceof z.ZodUnknown;
      const path = `${at}${at ? '.' : ''}${key}${optional ? '?' : ''}`;
      out.add(path);
      zodFields(field, path, out);
    }
  } else if (s instanceof z.ZodArray) {
    zodFields(s.element as z.ZodType, `${at}[]`, out);
  } else if (s instanceof z.ZodRecord) {
    zodFields(s.valueType as z.ZodType, `${at}{}`, out);
  } else if (s instanceof z.ZodUnion) {
    for (const option of s.options as z.ZodType[]) zodFields(option, at, out);
  }
  return out;
}

/** The same paths, read from a JSON Schema. */
function jsonFields(s: Json | undefined, at = '', out = new Set<string>()): Set<string> {
  if (!s) return out;
  for (const alt of (s['anyOf'] ?? s['oneOf'] ?? []) as Json[]) jsonFields(alt, at, out);
  const props = s['properties'] as Record<string, Json> | undefined;
  const required = new Set((s['required'] ?? []) as string[]);
  for (const [key, field] of Object.entries(props ?? {})) {
    const path = `${at}${at ? '.' : ''}${key}${required.has(key) ? '' : '?'}`;
    out.add(path);
    jsonFields(field, path, out);
  }
  if (s['items']) jsonFields(s['items'] as Json, `${at}[]`, out);
  const extra = s['additionalProperties'];
  if (extra && typeof extra === 'object' && Object.keys(extra).length)
    jsonFields(extra as Json, `${at}{}`, out);
  return out;
}

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document whose schemas all compile (JSON Schema 2020-12) and whose $refs resolve', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    // strictTypes off, as in the server: a multipart form's schema has no `type` (its body reaches
    // validation as null; rest-schemas.ts multipartSchema).
    const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    ajv.addFormat('binary', true);
    // OpenAPI's annotations beside JSON Schema's own.
    ajv.addKeyword('example');
    const schemas: [string, Json][] = [];
    for (const [name, op] of operations(doc)) {
      expect(Object.keys(op.responses).length, name).toBeGreaterThan(0);
      for (const p of op.parameters ?? []) {
        expect(['path', 'query', 'header', 'cookie'], `${name} parameter ${p.name}`).toContain(p.in);
        if (p.in === 'path') expect(p.required, `${name} path parameter ${p.name}`).toBe(true);
        schemas.push([`${name} parameter ${p.name}`, p.schema]);
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        schemas.push([`${name} body ${type}`, media.schema]);
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          schemas.push([`${name} ${status} ${type}`, media.schema]);
        }
      }
    }
    for (const [key, s] of Object.entries(doc.components?.schemas ?? {})) schemas.push([key, s]);
    expect(schemas.length).toBeGreaterThan(40);
    for (const [where, s] of schemas) {
      expect(s, where).toBeTypeOf('object');
      expect(() => ajv.compile(s), where).not.toThrow();
    }
    // Every reference points into the document.
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^#\//);
      let at: unknown = doc;
      for (const seg of ref.slice(2).split('/')) {
        at = (at as Json | undefined)?.[seg.replaceAll('~1', '/').replaceAll('~0', '~')];
      }
      expect(at, `${ref} resolves`).toBeTypeOf('object');
    }
  });

  it('describes every route the server has, and nothing else', () => {
    expect(
      operations(doc)
        .map(([name]) => name)
        .sort(),
    ).toEqual(Object.keys(ROUTES).sort());
    for (const name of Object.keys(ROUTES)) {
      const [method, path] = name.split(' ') as [string, string];
      const url = path.replace('{*}', '*').replace(/\{(\w+)\}/g, ':$1');
      expect(app.hasRoute({ method, url }), name).toBe(true);
    }
  });

  it.each(Object.keys(ROUTES))('%s answers with exactly the fields of its zod schema', (name) => {
    const route = ROUTES[name]!;
    const op = operations(doc).find(([n]) => n === name)![1];
    // Every route that can fail documents the one error body.
    for (const status of route.errors === false ? [] : ['400', '404', '409', '413', '415', '500']) {
      expect([...jsonFields(jsonBody(op, status))].sort(), `${name} ${status}`).toEqual([
        'error',
        'error.code',
        'error.field?',
        'error.message',
        'error.status',
      ]);
    }
    if (!route.ok) return;
    const expected = [...zodFields(route.ok)].sort();
    expect(expected.length, name).toBeGreaterThan(0);
    expect([...jsonFields(jsonBody(op, '200'))].sort(), `${name} 200`).toEqual(expected);
    if (route.created) expect([...jsonFields(jsonBody(op, '201'))].sort(), `${name} 201`).toEqual(expected);
  });

  it("takes the JSON bodies' fields with the contract's own limits", () => {
    const body = (path: string) =>
      operations(doc).find(([n]) => n === `POST ${path}`)![1].requestBody!.content['application/json']!
        .schema as Json;
    const prop = (s: Json, key: string) => {
      const { description: _d, default: _default, ...rest } = (s['properties'] as Record<string, Json>)[key]!;
      return rest;
    };
    const contract = (method: keyof typeof api, key: string) => {
      const input = api[method].input as unknown as z.ZodObject;
      const { $schema: _s, ...rest } = z.toJSONSchema((input.shape[key] as z.ZodOptional).unwrap(), {
        io: 'input',
      }) as Json;
      return rest;
    };
    const top10 = body('/api/recommend/top10_to_new');
    expect(top10['additionalProperties']).toBe(false);
    expect(prop(top10, 'ids')).toEqual(contract('recommend.top10ToNew', 'ids'));
    expect(prop(top10, 'use_centrality_proxy')).toEqual(
      contract('recommend.top10ToNew', 'useCentralityProxy'),
    );
    expect(prop(top10, 'k')).toEqual(contract('recommend.top10ToNew', 'k'));
    const customer = body('/api/recommend/customer_input');
    expect(customer['required']).toEqual(['product_id']);
    expect(prop(customer, 'product_id')).toEqual(contract('recommend.customerInput', 'productId'));
    expect(prop(customer, 'k')).toEqual(contract('recommend.customerInput', 'k'));
    // The REST default of k is documented.
    expect((top10['properties'] as Record<string, Json>)['k']!['default']).toBe(10);
  });

  it('a field added to a contract schema reaches the REST schema with no other edit', () => {
    const extended = (api['kpi.summary'].output as z.ZodObject).extend({
      newFigure: z.number(),
      maybe: z.string().optional(),
    });
    const fields = jsonFields(responseSchema(extended));
    expect(fields).toContain('newFigure');
    expect(fields).toContain('maybe?');
    expect([...fields].sort()).toEqual([...zodFields(extended)].sort());
  });
});
