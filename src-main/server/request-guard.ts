/**
 * The one request guard of both HTTP servers: `kfashion serve` (the REST recommendation API) and
 * `kfashion web` (browser mode). buildServer (app.ts) installs it on the root instance, so it runs
 * before every route of either server, REST, RPC, WebSocket and media alike.
 *
 * [Note: Who may call the local server]
 * A server on 127.0.0.1 is still reachable from every web page the user visits. So:
 * - Host allow-list (DNS rebinding): the Host header must name a loopback address, a name given with
 *   --allow-host, or, when the server was bound to a network address on purpose, an IP address or
 *   this machine's own name. A rebinding page's requests carry its own name (evil.example) as Host.
 * - Origin: a request with an Origin header must come from this server's own origin or from an
 *   origin named with --allow-origin (a shop's front end), which also gets CORS answers (preflight
 *   included). Any other origin is refused, `null` (sandboxed and file:// pages) included.
 * - Cross-site writes without an Origin: a form, multipart or text/plain POST is a "simple" request a
 *   foreign page may send without a preflight; browsers mark every cross-site request with
 *   `Sec-Fetch-Site`, so a state-changing request marked cross-site or same-site (another port of
 *   localhost) without an allowed Origin is refused. A request with neither header comes from a
 *   program (curl, a shop's backend), not a page, and passes. (The same rule as Go's
 *   net/http CrossOriginProtection.)
 * - Token ([Note: Token]): required whenever the server binds anything but loopback.
 *
 * Refusals are JSON in a shape both faces read: `{ok: false, error: {name, message, code, status}}`
 * is an RPC error envelope and a REST error body at once.
 *
 * CORS is answered here by hand, not with @fastify/cors: who may call is decided in one place (this
 * guard, which must refuse before a route runs), and answering an exact allow-list is three headers.
 *
 * [Note: Token]
 * A server bound to a network address must know its caller: it takes a token (given with --token or
 * KFASHION_TOKEN, else made at start and printed once with a ready URL, as Jupyter does). A request
 * carries it as `Authorization: Bearer <token>`; in browser mode the first page load carries it as
 * `?token=`, which is swapped for an HttpOnly, SameSite=Strict cookie and a redirect to the same URL
 * without it (the page's own requests, the WebSocket and media then carry the cookie). `serve
 * --public-read` leaves reads open (GET, HEAD and the recommendation POSTs); writes (catalog add and
 * remove) always need the token. Tokens are compared in
 * constant time (timingSafeEqual on SHA-256 digests, which have equal lengths whatever was sent) and
 * never logged: the request log's URL has the token query replaced (app.ts).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname as machineName } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface RequestGuardOptions {
  /** The address the server binds (decides whether it is exposed; see isLoopbackBind). */
  bindHost?: string;
  /** Host header names accepted besides the loopback ones (--allow-host). */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) allowed to call across origins, with CORS answers (--allow-origin). */
  allowedOrigins?: readonly string[];
  /** The token every request must carry; null or absent: none (a loopback server). */
  token?: string | null;
  /** GET and HEAD without the token (`serve --public-read`); writes still need it. */
  publicRead?: boolean;
  /**
   * With publicRead: POST routes under these prefixes that only read (recommendations, which answer
   * from the catalog and write nothing but the KPI log) are open too.
   */
  publicReadPosts?: readonly string[];
  /** Browser mode: accept `?token=` on a page load and keep it in a cookie. */
  tokenCookie?: boolean;
}

export const TOKEN_ENV = 'KFASHION_TOKEN';
export const TOKEN_COOKIE = 'kfashion_token';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether binding `host` keeps the server on this machine (127.0.0.1, ::1, localhost). */
export function isLoopbackBind(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.trim().toLowerCase());
}

/** A fresh token: 24 random bytes, base64url (32 characters). */
export function makeToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The token a server must require: the given one (flag, else environment), else a fresh one when the
 * bind leaves loopback, else none. `generated` says whether it was made here (then it is printed).
 */
export function resolveToken(
  bindHost: string,
  given: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { token: string | null; generated: boolean } {
  const explicit = given ?? (env[TOKEN_ENV] || undefined);
  if (explicit !== undefined) {
    if (explicit.length < 16) {
      throw new RangeError(
        `the token (--token or ${TOKEN_ENV}) must be at least 16 characters, got ${explicit.length}`,
      );
    }
    return { token: explicit, generated: false };
  }
  return isLoopbackBind(bindHost)
    ? { token: null, generated: false }
    : { token: makeToken(), generated: true };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: digests have equal lengths whatever the caller sent. */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The cookie's value: derived from the token, so a leaked cookie does not reveal the token itself. */
function cookieValue(token: string): string {
  return createHmac('sha256', token).update('kfashion-web-cookie').digest('base64url');
}

/** `scheme://host[:port]` of a URL, lower-cased; null when it is not one. */
export function normaliseOrigin(origin: string): string | null {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin.toLowerCase();
  } catch {
    return null;
  }
}

/** The one JSON refusal both faces read (an RPC envelope and a REST error body at once). */
export function refusalBody(status: number, code: string, message: string) {
  const name = status === 401 ? 'UnauthorizedError' : 'ForbiddenError';
  return { ok: false, error: { name, message, code, status } };
}

function refuse(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer realm="kfashion"');
  if (request.raw.headers.upgrade !== undefined) {
    // A refused WebSocket upgrade: its socket left the HTTP server's keep-alive handling, so nothing
    // would ever close it (and the server could not shut down while the client waits). End it once
    // the refusal is written.
    reply.header('Connection', 'close');
    reply.raw.once('finish', () => request.raw.socket?.end());
  }
  return reply
    .status(status)
    .type('application/json')
    .send(refusalBody(status, code, message));
}

/** A header's single value (a repeated header counts as absent-or-wrong, never as a list). */
function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/** The value of one cookie of a Cookie header; hand-parsed: one name, no attributes, no decoding. */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The request URL without its `token` query parameter (for the redirect and for logs). */
export function withoutTokenQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  if (!params.has('token')) return url;
  params.delete('token');
  const rest = params.toString();
  return `${url.slice(0, q)}${rest ? `?${rest}` : ''}`;
}

/** The hostname part of a Host header value (`[::1]:5199` → `[::1]`, `a.b:80` → `a.b`), lower-cased. */
function hostName(host: string): string {
  const h = host.toLowerCase();
  return h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
}

/** Installs the guard on `app` (the root instance: every route of the server). */
export function installRequestGuard(app: FastifyInstance, opts: RequestGuardOptions = {}): void {
  const exposed = opts.bindHost !== undefined && !isLoopbackBind(opts.bindHost);
  const hosts = new Set([...LOOPBACK_HOSTS, ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase())]);
  if (exposed) {
    // Bound to a network address on purpose: the machine's own name and the bound address are
    // this server; an IP literal cannot be a rebinding (that needs a name the attacker resolves).
    hosts.add(machineName().toLowerCase());
    hosts.add(opts.bindHost!.toLowerCase());
  }
  const origins = new Set<string>();
  for (const o of opts.allowedOrigins ?? []) {
    const n = normaliseOrigin(o);
    if (!n) throw new RangeError(`--allow-origin ${o}: expected an origin like https://shop.example`);
    origins.add(n);
  }
  const token = opts.token ?? null;
  const cookie = token && opts.tokenCookie ? cookieValue(token) : null;

  const hostAllowed = (host: string) => {
    const name = hostName(host);
    if (hosts.has(name)) return true;
    return exposed && isIP(name.replace(/^\[|\]$/g, '')) !== 0;
  };

  const authorised = (request: FastifyRequest): boolean => {
    if (!token) return true;
    const auth = one(request.headers.authorization);
    const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (m && tokensEqual(m[1]!, token)) return true;
    if (cookie) {
      const c = readCookie(one(request.headers.cookie), TOKEN_COOKIE);
      if (c !== undefined && tokensEqual(c, cookie)) return true;
    }
    return false;
  };

  app.addHook('onRequest', async (request, reply) => {
    const host = one(request.headers.host) ?? '';
    if (!hostAllowed(host)) {
      return refuse(
        request,
        reply,
        403,
        'forbidden',
        `Host "${host.slice(0, 200)}" is not this server (DNS rebinding guard); name it with --allow-host to accept it`,
      );
    }

    const origin = one(request.headers.origin);
    const method = request.method.toUpperCase();
    let crossAllowed: string | null = null;
    if (origin !== undefined) {
      const n = normaliseOrigin(origin);
      const own = n !== null && new URL(n).host === host.toLowerCase();
      if (n !== null && !own && origins.has(n)) crossAllowed = n;
      else if (!own) {
        return refuse(
          request,
          reply,
          403,
          'forbidden',
          `Cross-origin request from ${origin.slice(0, 200)} refused; allow a front end by name with --allow-origin`,
        );
      }
    } else if (!SAFE_METHODS.has(method)) {
      const site = one(request.headers['sec-fetch-site']);
      if (site !== undefined && site !== 'same-origin' && site !== 'none') {
        return refuse(
          request,
          reply,
          403,
          'forbidden',
          `A ${site} ${method} without an allowed Origin is refused`,
        );
      }
    }

    if (crossAllowed) {
      reply.header('Access-Control-Allow-Origin', crossAllowed).header('Vary', 'Origin');
      if (method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        // A preflight carries no credentials: it is answered before the token check.
        return reply
          .status(204)
          .header('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, PATCH, DELETE')
          .header('Access-Control-Allow-Headers', 'Authorization, Content-Type')
          .header('Access-Control-Max-Age', '600')
          .send();
      }
    }

    if (!token) return;
    if (opts.publicRead) {
      if (method === 'GET' || method === 'HEAD') return;
      const path = request.url.split('?')[0]!;
      if (method === 'POST' && opts.publicReadPosts?.some((p) => path.startsWith(p))) return;
    }
    if (authorised(request)) return;
    if (cookie && method === 'GET') {
      // The first page load of browser mode: `?token=` becomes the cookie, and the URL loses it.
      const q = (request.query as Record<string, unknown> | undefined)?.['token'];
      if (typeof q === 'string' && tokensEqual(q, token)) {
        return reply
          .header(
            'Set-Cookie',
            `${TOKEN_COOKIE}=${cookie}; HttpOnly; SameSite=Strict; Path=/${request.protocol === 'https' ? '; Secure' : ''}`,
          )
          .redirect(withoutTokenQuery(request.url), 302);
      }
      if (/\btext\/html\b/.test(one(request.headers.accept) ?? '')) {
        // A person opening the page without the token: say what to do, in a page.
        return reply
          .status(401)
          .header('WWW-Authenticate', 'Bearer realm="kfashion"')
          .type('text/html; charset=utf-8')
          .send(
            '<!doctype html><meta charset="utf-8"><title>K-Fashion Workbench: token needed</title><p>This workbench needs its token. Open the URL <code>kfashion web</code> printed when it started (it ends in <code>?token=…</code>); the browser keeps it in a cookie afterwards.</p>',
          );
      }
    }
    return refuse(
      request,
      reply,
      401,
      'unauthorized',
      opts.tokenCookie
        ? 'This server needs its token: open the URL it printed at start (with ?token=...), or send Authorization: Bearer <token>'
        : 'This server needs its token: send Authorization: Bearer <token> (the token printed at start, or given with --token / KFASHION_TOKEN)',
    );
  });
}
