/**
 * An API fuzzer: hostile requests to a running server on 127.0.0.1, over every contract method
 * (POST /api/rpc/<method>, browser mode) and every REST route the server describes in /openapi.json.
 *
 * Inputs are made from the schemas themselves: each contract method's zod input schema (as JSON
 * Schema, `z.toJSONSchema`) and each route's OpenAPI body, path and query schemas give a plausible
 * request, which one mutation then breaks: a wrong type, a missing or an extra field, a huge string,
 * a path-traversal path, an unknown id, an out-of-range or non-integer number, a non-image or corrupt
 * image (truncated JPEG, JPEG header on garbage, a PNG that declares 60,000 × 60,000 pixels), a body
 * that is not JSON or not an object, a wrong content type, and a body over the limit (both sent and
 * merely announced in Content-Length). Also unknown routes and methods, and `/api/files/` and
 * `/media/` paths that try to leave the workspace.
 *
 * [Note: What the fuzzer may change]
 * The server under test is a real workspace, so a request that is VALID for a method that starts a
 * job (scan, embed, train, demo…) or opens another workspace would make the run slow and change what
 * later requests see. Those methods therefore get only mutations that cannot pass validation (wrong
 * types, extra fields, missing fields, non-object bodies) or paths outside every allowed root. Read
 * methods and the REST routes get every mutation, valid requests included.
 *
 * A finding is a 5xx answer, a connection that closed without an answer (the server crashed or hung
 * up), an answer that is not the JSON error shape on a 4xx, or an answer that quotes a server file
 * (the fuzzer plants none, so it looks for /etc/passwd's first line).
 */
import { Agent, request as httpRequest } from 'node:http';
import { z } from 'zod';
import { api } from '../../src-shared/api.ts';

// ---- seeded randomness -----------------------------------------------------------------------

export function fuzzRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ---- the requests ----------------------------------------------------------------------------

export interface FuzzRequest {
  /** What is fuzzed: `rpc <method>` or `<VERB> <route>`. */
  target: string;
  /** Which mutation made it. */
  mutation: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Images and non-images the uploads carry. */
export interface FuzzImages {
  /** A small valid JPEG (for the requests that are meant to be valid). */
  jpeg: Buffer;
}

export interface FuzzTarget {
  /** 'web' has the contract transport (/api/rpc); 'serve' only the REST routes. */
  mode: 'web' | 'serve';
  /** The server's /openapi.json. */
  openapi: OpenApiDoc;
  /** Largest image the server accepts (sizes the oversized bodies). */
  uploadLimitBytes: number;
  images: FuzzImages;
}

export interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
}
interface OpenApiOperation {
  parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
  additionalProperties?: unknown;
}

/** Methods whose valid input starts a job or changes which workspace is open (see [Note: What the fuzzer may change]). */
const GUARDED_METHODS = new Set([
  'workspace.open',
  'workspace.pick',
  'dataset.pick',
  'demo.open',
  'demo.generate',
  'dataset.scan',
  'dataset.split',
  'dataset.crops',
  'embed.start',
  'embed.import',
  'train.start',
  'train.stop',
  'eval.run',
  'eval.centrality',
  'eval.sweep',
  'report.write',
  'catalog.import',
  'catalog.embed',
  'catalog.add',
  'export.bundle',
]);

export function rpcMethods(): {
  name: string;
  schema: JsonSchema;
  guarded: boolean;
  accepts: (v: unknown) => boolean;
}[] {
  return Object.values(api).map((m) => ({
    name: m.name,
    accepts: (v: unknown) => m.input.safeParse(v).success,
    schema: z.toJSONSchema(m.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema,
    guarded: GUARDED_METHODS.has(m.name),
  }));
}

const TRAVERSALS = [
  '../../../../../../etc/passwd',
  '/etc/passwd',
  '/proc/self/environ',
  '..\\..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '....//....//etc/passwd',
  'runs/../../../../etc/passwd',
  '/',
  '~/.ssh/id_rsa',
  'C:\\Windows\\System32',
  'a\u0000b',
];
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '💥'.repeat(50),
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '%s%s%n',
  '\uFFFF\uD800',
];
const WRONG_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  'x',
  '',
  [],
  [1, 'a'],
  {},
  { a: 1 },
];
const PATHY = /path|dir|data|file|npy|ids|folder|checkpoint|root/i;

function huge(r: Rand): string {
  const n = pick(r, [1_000, 10_000, 100_000, 300_000]);
  return pick(r, ['a', 'é', '/', '0'])!.repeat(n);
}

/** A plausible value for a JSON Schema (valid where the fuzzer can tell). */
function sample(s: JsonSchema | undefined, r: Rand, name: string, images: FuzzImages, depth = 0): unknown {
  if (!s || depth > 6) return 'x';
  if (s.const !== undefined) return s.const;
  if (s.enum) return pick(r, s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts)
    return sample(
      pick(
        r,
        alts.filter((a) => a.type !== 'null'),
      ) ?? alts[0],
      r,
      name,
      images,
      depth + 1,
    );
  if (s.allOf?.[0]) return sample(s.allOf[0], r, name, images, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string':
      if (s.pattern?.includes('A-Za-z0-9+/')) return images.jpeg.toString('base64');
      if (s.format === 'binary') return 'x';
      if (PATHY.test(name)) return pick(r, TRAVERSALS.slice(0, 3));
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
      return s.minimum ?? (s.maximum !== undefined ? Math.min(1, s.maximum) : 1);
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return r() < 0.5;
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () =>
        sample(s.items, r, name, images, depth + 1),
      );
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) {
        if (s.required?.includes(k) || r() < 0.4) out[k] = sample(v, r, k, images, depth + 1);
      }
      return out;
    }
    default:
      return 'x';
  }
}

/** Paths to every leaf of a value (so a mutation can land anywhere, nested ones included). */
function leaves(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.length ? v.flatMap((x, i) => leaves(x, [...at, i])) : [at];
  if (v && typeof v === 'object') {
    const ks = Object.keys(v);
    return ks.length ? ks.flatMap((k) => leaves((v as Record<string, unknown>)[k], [...at, k])) : [at];
  }
  return [at];
}

function setAt(root: unknown, at: (string | number)[], value: unknown): unknown {
  if (at.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o = copy;
  for (const k of at.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[at[at.length - 1]!] = value;
  return copy;
}

function deleteAt(root: unknown, at: (string | number)[]): unknown {
  if (at.length === 0) return root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let o = copy;
  for (const k of at.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  if (Array.isArray(o)) o.splice(at[at.length - 1] as number, 1);
  else delete o[at[at.length - 1]!];
  return copy;
}

/** Not-an-image and damaged-image bytes. */
function badImage(r: Rand, images: FuzzImages): { kind: string; bytes: Buffer } {
  const j = images.jpeg;
  return pick(r, [
    { kind: 'text', bytes: Buffer.from('this is not an image\n'.repeat(20)) },
    { kind: 'html', bytes: Buffer.from('<html><body>hello</body></html>') },
    { kind: 'truncated-jpeg', bytes: j.subarray(0, Math.max(4, Math.floor(j.length / 3))) },
    { kind: 'jpeg-header-garbage', bytes: Buffer.concat([j.subarray(0, 20), Buffer.alloc(400, 0x5a)]) },
    { kind: 'png-bomb-header', bytes: pngHeader(60_000, 60_000) },
    { kind: 'zero-bytes', bytes: Buffer.alloc(64) },
    { kind: 'elf', bytes: Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(200, 1)]) },
    { kind: 'gif-fragment', bytes: Buffer.from('GIF89a\u0001\u0000\u0001\u0000', 'latin1') },
  ]);
}

/** A PNG signature and an IHDR that declares w × h pixels, with no data behind it. */
function pngHeader(w: number, h: number): Buffer {
  const b = Buffer.alloc(8 + 25);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

/** Every byte of the UTF-8 form percent-encoded (encodeURIComponent throws on lone surrogates). */
const pct = (s: string) =>
  Array.from(Buffer.from(s, 'utf8'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('');

const JSON_HEADERS = { 'content-type': 'application/json' };

/** One mutation of a plausible JSON input. `guarded` limits it to mutations that cannot pass. */
function mutateJson(
  valid: unknown,
  schema: JsonSchema,
  r: Rand,
  t: FuzzTarget,
  guarded: boolean,
): { mutation: string; body: Buffer; headers: Record<string, string> } {
  const json = (mutation: string, v: unknown) => ({
    mutation,
    body: Buffer.from(JSON.stringify(v)),
    headers: JSON_HEADERS,
  });
  const paths = leaves(valid);
  const at = pick(r, paths);
  const stringLeaves = paths.filter((p) => typeof getAt(valid, p) === 'string');
  const pathLeaves = stringLeaves.filter((p) => PATHY.test(String(p[p.length - 1] ?? '')));
  const imageLeaves = stringLeaves.filter((p) => p.includes('dataBase64'));
  const always = [
    () => json('wrong-type', setAt(valid, at, pick(r, WRONG_VALUES))),
    () =>
      json('extra-field', {
        ...(asObject(valid) ?? {}),
        [pick(r, ['__proto__x', 'extra', 'constructor', 'prototype'])]: 1,
      }),
    () => json('not-an-object', pick(r, [[], 42, 'text', null, [valid]])),
    () => ({
      mutation: 'not-json',
      body: Buffer.from(pick(r, ['{', '{"a":', 'nul', '\u0000', '{"a":1}}', "{'a':1}"])),
      headers: JSON_HEADERS,
    }),
    () => ({
      mutation: 'wrong-content-type',
      body: Buffer.from(JSON.stringify(valid)),
      headers: {
        'content-type': pick(r, ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']),
      },
    }),
    () => ({
      mutation: 'deep-nesting',
      body: Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`),
      headers: JSON_HEADERS,
    }),
  ];
  const required = (schema.required ?? []).filter((k) => asObject(valid) && k in (valid as object));
  if (required.length) always.push(() => json('missing-field', deleteAt(valid, [pick(r, required)])));
  const open: (() => { mutation: string; body: Buffer; headers: Record<string, string> })[] = [
    () => json('valid', valid),
    () => json('huge-string', setAt(valid, pick(r, stringLeaves.length ? stringLeaves : paths), huge(r))),
    () =>
      json(
        'odd-string',
        setAt(valid, pick(r, stringLeaves.length ? stringLeaves : paths), pick(r, ODD_STRINGS)),
      ),
    () => json('unknown-id', setAt(valid, at, `no-such-id-${Math.floor(r() * 1e9)}`)),
    () => json('number-edge', setAt(valid, at, pick(r, [-1, 0, 1e9, 2 ** 31, -(2 ** 31), 0.5, 1e-300]))),
  ];
  if (imageLeaves.length) {
    open.push(() => {
      const b = badImage(r, t.images);
      return json(`image-${b.kind}`, setAt(valid, pick(r, imageLeaves), b.bytes.toString('base64')));
    });
  }
  const traversal = () =>
    json(
      'path-traversal',
      setAt(valid, pick(r, pathLeaves.length ? pathLeaves : paths), pick(r, TRAVERSALS)),
    );
  const choices = guarded ? always : [...always, ...open, ...open];
  // Path fields get traversals even on guarded methods: the path roots must refuse them first.
  if (pathLeaves.length || !guarded) choices.push(traversal, traversal);
  return pick(r, choices)();
}

function getAt(v: unknown, at: (string | number)[]): unknown {
  let o = v as Record<string | number, unknown> | undefined;
  for (const k of at) o = o?.[k] as Record<string | number, unknown> | undefined;
  return o;
}
const asObject = (v: unknown) =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** A multipart body (hand-built so that odd names, types and bytes go through unchanged). */
function multipart(parts: { name: string; filename?: string; type?: string; data: Buffer | string }[]): {
  body: Buffer;
  headers: Record<string, string>;
} {
  const boundary = `----kfashionfuzz${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disp}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`,
      ),
      Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return {
    body: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

function restRequest(
  route: string,
  verb: string,
  op: OpenApiOperation,
  r: Rand,
  t: FuzzTarget,
): Omit<FuzzRequest, 'target'> {
  // Path parameters: an unknown id, a traversal, a huge or odd value.
  const pathValue = () =>
    pick(r, [
      `no-such-id-${Math.floor(r() * 1e6)}`,
      pct(pick(r, TRAVERSALS)),
      pick(r, TRAVERSALS).replaceAll('\u0000', '%00'),
      'a'.repeat(pick(r, [300, 5000])),
      pct(pick(r, ODD_STRINGS)) || '%20',
    ]);
  let path = route.replace(/\{[^}]+\}/g, () => pathValue());
  if (route.includes('*')) path = route.replace('*', pathValue());
  const query = (op.parameters ?? []).filter((p) => p.in === 'query');
  if (query.length && r() < 0.7) {
    const qs = query
      .map((p) => `${pct(p.name)}=${pct(String(pick(r, [...WRONG_VALUES, 'x'.repeat(3000), -5, 1e12, 10])))}`)
      .join('&');
    path += `?${qs}`;
  }
  const content = op.requestBody?.content ?? {};
  const types = Object.keys(content);
  if (!types.length) {
    // Bodies where none is expected, now and then.
    if (verb !== 'get' && r() < 0.2)
      return {
        mutation: 'unexpected-body',
        method: verb.toUpperCase(),
        path,
        headers: JSON_HEADERS,
        body: Buffer.from('{"a":1}'),
      };
    return { mutation: 'params', method: verb.toUpperCase(), path, headers: {} };
  }
  const type = pick(r, types);
  const schema = content[type]?.schema ?? {};
  if (type.startsWith('multipart/')) {
    const fields = Object.entries(schema.properties ?? {});
    const fileFields = fields
      .filter(([, s]) => s.format === 'binary' || s.items?.format === 'binary' || s.type === 'array')
      .map(([k]) => k);
    const fileField = fileFields[0] ?? 'image';
    const bad = badImage(r, t.images);
    const variant = pick(r, [
      'bad-image',
      'bad-image',
      'valid-image',
      'no-file',
      'wrong-field',
      'odd-filename',
      'text-fields',
      'broken-multipart',
    ]);
    const textParts = fields
      .filter(([k]) => !fileFields.includes(k))
      .map(([k, s]) => ({
        name: k,
        data: String(r() < 0.5 ? sample(s, r, k, t.images) : pick(r, [...WRONG_VALUES, huge(r)])),
      }));
    let m: { body: Buffer; headers: Record<string, string> };
    switch (variant) {
      case 'valid-image':
        m = multipart([
          { name: fileField, filename: 'ok.jpg', type: 'image/jpeg', data: t.images.jpeg },
          ...textParts,
        ]);
        break;
      case 'no-file':
        m = multipart(textParts.length ? textParts : [{ name: 'k', data: '10' }]);
        break;
      case 'wrong-field':
        m = multipart([{ name: 'nope', filename: 'x.jpg', type: 'image/jpeg', data: t.images.jpeg }]);
        break;
      case 'odd-filename':
        m = multipart([
          {
            name: fileField,
            filename: pick(r, TRAVERSALS).replaceAll('"', ''),
            type: 'image/jpeg',
            data: bad.bytes,
          },
        ]);
        break;
      case 'text-fields':
        m = multipart([
          { name: fileField, filename: 'a.jpg', type: 'image/jpeg', data: t.images.jpeg },
          {
            name: pick(r, ['k', 'name', 'style', 'category', 'id']),
            data: pick(r, ['-1', 'abc', '1e400', huge(r), '']),
          },
        ]);
        break;
      case 'broken-multipart': {
        const ok = multipart([
          { name: fileField, filename: 'a.jpg', type: 'image/jpeg', data: t.images.jpeg },
        ]);
        m = { body: ok.body.subarray(0, Math.floor(ok.body.length / 2)), headers: ok.headers };
        break;
      }
      default:
        m = multipart([
          {
            name: fileField,
            filename: `f.${pick(r, ['jpg', 'png', 'txt', ''])}`,
            type: pick(r, ['image/jpeg', 'image/png', 'text/plain', 'application/octet-stream']),
            data: bad.bytes,
          },
          ...textParts,
        ]);
    }
    return {
      mutation: `multipart-${variant}${variant === 'bad-image' ? `-${bad.kind}` : ''}`,
      method: verb.toUpperCase(),
      path,
      ...m,
    };
  }
  const valid = sample(schema, r, '', t.images);
  const m = mutateJson(valid, schema, r, t, false);
  return { ...m, method: verb.toUpperCase(), path };
}

/**
 * An endless, seeded stream of hostile requests for one server. Every contract method (web mode)
 * and every REST route is visited in turn, so even a short run covers each of them.
 */
export function* apiFuzzRequests(t: FuzzTarget, seed: number): Generator<FuzzRequest> {
  const r = fuzzRng(seed);
  const methods = t.mode === 'web' ? rpcMethods() : [];
  const routes: { route: string; verb: string; op: OpenApiOperation }[] = [];
  for (const [route, ops] of Object.entries(t.openapi.paths)) {
    for (const [verb, op] of Object.entries(ops)) {
      if (['get', 'post', 'put', 'delete', 'patch'].includes(verb)) routes.push({ route, verb, op });
    }
  }
  const specials =
    t.mode === 'web'
      ? ['oversized', 'announced-oversized', 'unknown-route', 'media', 'foreign-host']
      : ['oversized', 'announced-oversized', 'unknown-route', 'foreign-host'];
  for (let i = 0; ; i++) {
    const slot = i % (methods.length + routes.length + specials.length);
    if (slot < methods.length) {
      const m = methods[slot]!;
      const valid = sample(m.schema, r, '', t.images);
      let mut = mutateJson(valid, m.schema, r, t, m.guarded);
      // A guarded method must not get a request its own schema accepts (a wrong-type value may
      // happen to be right, e.g. {} for an input with no required field): such a body is replaced
      // by one that is not an object, unless it is a path the roots must refuse.
      if (m.guarded && mut.mutation !== 'path-traversal' && isAccepted(m.accepts, mut.body)) {
        mut = { mutation: 'not-an-object', body: Buffer.from('[]'), headers: JSON_HEADERS };
      }
      yield { target: `rpc ${m.name}`, method: 'POST', path: `/api/rpc/${m.name}`, ...mut };
    } else if (slot < methods.length + routes.length) {
      const { route, verb, op } = routes[slot - methods.length]!;
      yield { target: `${verb.toUpperCase()} ${route}`, ...restRequest(route, verb, op, r, t) };
    } else {
      const special = specials[slot - methods.length - routes.length]!;
      yield specialRequest(
        special,
        r,
        t,
        methods.map((m) => m.name),
      );
    }
  }
}

function isAccepted(accepts: (v: unknown) => boolean, body: Buffer): boolean {
  try {
    // The transport reads a `null` body as no input, i.e. {}.
    return accepts(JSON.parse(body.toString('utf8')) ?? {});
  } catch {
    return false;
  }
}

function specialRequest(kind: string, r: Rand, t: FuzzTarget, methods: string[]): FuzzRequest {
  const post =
    t.mode === 'web' && r() < 0.5
      ? `/api/rpc/${pick(r, methods)}`
      : pick(r, ['/api/catalog', '/api/recommend/customer_input', '/api/recommend/top10_to_new']);
  switch (kind) {
    case 'oversized': {
      // Just over what the server accepts: a base64 image over the upload limit, in JSON.
      const body = Buffer.from(
        JSON.stringify({
          image: { name: 'big.jpg', dataBase64: 'A'.repeat(Math.ceil(t.uploadLimitBytes * 1.4) + 1024) },
        }),
      );
      return {
        target: `oversized ${post}`,
        mutation: 'oversized-body',
        method: 'POST',
        path: post,
        headers: JSON_HEADERS,
        body,
      };
    }
    case 'announced-oversized':
      // A Content-Length far over the limit with a short body: refused on the header, not after reading.
      return {
        target: `oversized ${post}`,
        mutation: 'announced-oversized',
        method: 'POST',
        path: post,
        headers: { ...JSON_HEADERS, 'content-length': String(200 * 1024 * 1024) },
        body: Buffer.from('{"a":'),
      };
    case 'media':
      return {
        target: 'GET /media/*',
        mutation: 'path-traversal',
        method: 'GET',
        path: `/media/${pick(r, ['../../../../etc/passwd', '%2e%2e/%2e%2e/%2e%2e/etc/passwd', '..%2f..%2f..%2fetc%2fpasswd', 'workspace.db', 'no-such-file.png', '%00', 'crops/../../../etc/passwd'])}`,
        headers: {},
      };
    case 'foreign-host':
      return {
        target: `${post} (foreign Host/Origin)`,
        mutation: 'foreign-host',
        method: 'POST',
        path: post,
        headers: {
          ...JSON_HEADERS,
          ...(r() < 0.5 ? { host: 'evil.example' } : { origin: 'http://evil.example' }),
        },
        body: Buffer.from('{}'),
      };
    default:
      return {
        target: 'unknown route',
        mutation: 'unknown-route',
        method: pick(r, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
        path: pick(r, [
          '/api/nope',
          '/api/rpc/',
          '/api/rpc/no.such',
          `/api/rpc/${'x'.repeat(3000)}`,
          '/api/../../etc/passwd',
          '/%',
          '/api/catalog/%zz',
          '//etc/passwd',
        ]),
        headers: {},
      };
  }
}

// ---- sending and judging ---------------------------------------------------------------------

export interface FuzzAnswer {
  status: number;
  body: string;
}

/** Sends one request with exactly the given headers and body (node:http: fetch would fix up Content-Length and Host). */
export function send(base: URL, req: FuzzRequest, agent: Agent, timeoutMs = 60_000): Promise<FuzzAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: base.host, ...req.headers };
    if (req.body && headers['content-length'] === undefined)
      headers['content-length'] = String(req.body.length);
    const cr = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        headers,
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          // Keep the first 64 KB: enough to judge, and a server that echoes 20 MB costs nothing here.
          if (size < 65_536) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    cr.on('timeout', () => cr.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    cr.on('error', (e: NodeJS.ErrnoException) => {
      // The server may answer (413) and close before an announced body is sent: that answer counts.
      reject(e);
    });
    if (req.body) cr.end(req.headers['content-length'] ? req.body.subarray(0, 5) : req.body);
    else cr.end();
  });
}

export interface FuzzFinding {
  kind: '5xx' | 'no-answer' | 'not-json-error' | 'leaks-file';
  request: { target: string; mutation: string; method: string; path: string; bodyStart: string };
  status: number;
  answer: string;
}

export interface FuzzSummary {
  requests: number;
  byStatus: Record<string, number>;
  byTarget: Record<string, number>;
  /** Findings by kind (all of them; `findings` keeps the first few in full). */
  findingCounts: Record<string, number>;
  /** Requests sent again after their kept-alive socket was reset (see runApiFuzz). */
  retriedAfterReset: number;
  findings: FuzzFinding[];
  elapsedMs: number;
}

function judge(req: FuzzRequest, a: FuzzAnswer): FuzzFinding['kind'] | null {
  if (a.status >= 500) return '5xx';
  if (/root:x:0:0:/.test(a.body)) return 'leaks-file';
  // /media/ answers <img> requests: its refusals are short plain text, by design. 431 (headers or
  // URL too large) comes from Node's HTTP parser, before any route or hook, with an empty body.
  if (
    a.status >= 400 &&
    a.status !== 404 &&
    a.status !== 431 &&
    req.method !== 'HEAD' &&
    !req.path.startsWith('/media/')
  ) {
    // Every refusal is JSON with an error message (REST: {error: {message}}, RPC: the envelope).
    try {
      const j = JSON.parse(a.body) as { error?: { message?: unknown } };
      if (typeof j.error?.message !== 'string') return 'not-json-error';
    } catch {
      return 'not-json-error';
    }
  }
  return null;
}

/** Sends `count` requests from the stream, `concurrency` at a time, and reports what went wrong. */
export async function runApiFuzz(
  baseUrl: string,
  requests: Iterator<FuzzRequest>,
  count: number,
  opts: { concurrency?: number; onProgress?: (done: number) => void; maxFindings?: number } = {},
): Promise<FuzzSummary> {
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 4 });
  const summary: FuzzSummary = {
    requests: 0,
    byStatus: {},
    byTarget: {},
    retriedAfterReset: 0,
    findingCounts: {},
    findings: [],
    elapsedMs: 0,
  };
  const t0 = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      const req = requests.next().value as FuzzRequest;
      let status = 0;
      let kind: FuzzFinding['kind'] | null;
      let answer = '';
      try {
        let a: FuzzAnswer;
        try {
          a = await send(base, req, agent);
        } catch (e) {
          // A kept-alive socket the server closed (after refusing an oversized body) just as this
          // request was written to it: Node's documented keep-alive race, not the server failing.
          // Sent once more on a fresh connection; that answer is judged, and the retry counted.
          if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') throw e;
          summary.retriedAfterReset++;
          a = await send(base, req, new Agent({ keepAlive: false }));
        }
        status = a.status;
        answer = a.body;
        kind = judge(req, a);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // An oversized body the server refused on its Content-Length (413, then closing before the
        // rest was sent) is not a crash: the server still answers the next requests (the callers
        // probe its health after the run).
        kind =
          (req.mutation === 'announced-oversized' || req.mutation === 'oversized-body') &&
          (code === 'EPIPE' || code === 'ECONNRESET')
            ? null
            : 'no-answer';
        answer = String(e);
      }
      summary.requests++;
      summary.byStatus[status] = (summary.byStatus[status] ?? 0) + 1;
      summary.byTarget[req.target.split(' (')[0]!] = (summary.byTarget[req.target.split(' (')[0]!] ?? 0) + 1;
      if (kind) summary.findingCounts[kind] = (summary.findingCounts[kind] ?? 0) + 1;
      // Keep every 5xx in full (up to the cap), before any other kind.
      if (kind && (summary.findings.length < (opts.maxFindings ?? 200) || kind === '5xx')) {
        summary.findings.push({
          kind,
          status,
          answer: answer.slice(0, 400),
          request: {
            target: req.target,
            mutation: req.mutation,
            method: req.method,
            path: req.path.slice(0, 200),
            bodyStart: req.body ? req.body.subarray(0, 300).toString('latin1') : '',
          },
        });
      }
      opts.onProgress?.(summary.requests);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
  agent.destroy();
  summary.elapsedMs = performance.now() - t0;
  return summary;
}
