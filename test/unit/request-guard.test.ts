/** The guard's decisions (token needed or not, constant-time compare, URLs in logs) and the path roots. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isLoopbackBind,
  normaliseOrigin,
  resolveToken,
  TOKEN_ENV,
  tokensEqual,
  withoutTokenQuery,
} from '../../src-main/server/request-guard.ts';
import { PathNotAllowedError, PathRoots } from '../../src-main/services/path-roots.ts';
import { quoteShort } from '../../src-shared/short-text.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kf-guard-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('when a server needs a token', () => {
  it.each([
    ['127.0.0.1', false],
    ['localhost', false],
    ['::1', false],
    ['[::1]', false],
    ['0.0.0.0', true],
    ['::', true],
    ['192.168.1.20', true],
    ['gpu-box', true],
    ['127.0.0.2', true],
  ])('binding %s needs a token: %s', (host, needs) => {
    expect(isLoopbackBind(host)).toBe(!needs);
    const r = resolveToken(host, undefined, {});
    expect(r.token !== null).toBe(needs);
    expect(r.generated).toBe(needs);
  });

  it('takes --token first, then the environment; a made token is long and random', () => {
    const a = resolveToken('0.0.0.0', undefined, {});
    const b = resolveToken('0.0.0.0', undefined, {});
    expect(a.token).toMatch(/^[\w-]{32}$/);
    expect(a.token).not.toBe(b.token);
    const fromEnv = resolveToken('0.0.0.0', undefined, { [TOKEN_ENV]: 'env-token-0123456789' });
    expect(fromEnv).toEqual({ token: 'env-token-0123456789', generated: false });
    const fromFlag = resolveToken('0.0.0.0', 'flag-token-0123456789', {
      [TOKEN_ENV]: 'env-token-0123456789',
    });
    expect(fromFlag.token).toBe('flag-token-0123456789');
    // A token given on loopback is required too (the user asked for it).
    expect(resolveToken('127.0.0.1', 'flag-token-0123456789', {}).token).toBe('flag-token-0123456789');
    expect(() => resolveToken('0.0.0.0', 'short', {})).toThrow(/at least 16 characters, got 5/);
  });

  it('compares tokens of any length without throwing', () => {
    expect(tokensEqual('same-token-0123456789', 'same-token-0123456789')).toBe(true);
    expect(tokensEqual('same-token-0123456789', 'same-token-012345678')).toBe(false);
    expect(tokensEqual('', 'same-token-0123456789')).toBe(false);
    expect(tokensEqual('x'.repeat(100_000), 'same-token-0123456789')).toBe(false);
  });

  it('removes the token from a URL (redirects and request logs)', () => {
    expect(withoutTokenQuery('/?token=abc')).toBe('/');
    expect(withoutTokenQuery('/x?a=1&token=abc&b=2')).toBe('/x?a=1&b=2');
    expect(withoutTokenQuery('/x?a=1')).toBe('/x?a=1');
    expect(withoutTokenQuery('/x')).toBe('/x');
  });

  it('reads origins strictly', () => {
    expect(normaliseOrigin('https://Shop.example/')).toBe('https://shop.example');
    expect(normaliseOrigin('http://127.0.0.1:80')).toBe('http://127.0.0.1');
    expect(normaliseOrigin('null')).toBeNull();
    expect(normaliseOrigin('file:///tmp/x.html')).toBeNull();
  });
});

describe('path roots', () => {
  const root = join(tmp, 'root');
  const outside = join(tmp, 'outside');
  mkdirSync(join(root, 'ws'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  symlinkSync(outside, join(root, 'link-out'));
  symlinkSync(join(root, 'ws'), join(outside, 'link-in'));

  it('allows a root, what lies inside it and what would be made inside it', () => {
    const roots = new PathRoots([root]);
    expect(roots.allows(root)).toBe(true);
    expect(roots.allows(join(root, 'ws'))).toBe(true);
    expect(roots.allows(join(root, 'new', 'deeper', 'ws'))).toBe(true);
    // A link from outside into a root leads inside: allowed.
    expect(roots.allows(join(outside, 'link-in'))).toBe(true);
  });

  it('refuses what lies outside, by name, by `..` or through a link', () => {
    const roots = new PathRoots([root]);
    expect(roots.allows(outside)).toBe(false);
    expect(roots.allows(`${root}-sibling`)).toBe(false);
    expect(roots.allows(join(root, '..', 'outside'))).toBe(false);
    expect(roots.allows(join(root, 'link-out'))).toBe(false);
    expect(roots.allows(join(root, 'link-out', 'new-ws'))).toBe(false);
    expect(roots.allows('/etc/passwd')).toBe(false);
    expect(() => roots.check('/etc/passwd', 'npy')).toThrow(PathNotAllowedError);
    expect(() => roots.check('/etc/passwd', 'npy')).toThrow(
      `npy: /etc/passwd is outside the folders this server may use (${root})`,
    );
  });

  it('adds roots (the workspaces opened in the session)', () => {
    const roots = new PathRoots([root]);
    roots.add(outside);
    roots.add(outside);
    expect(roots.list()).toEqual([root, outside]);
    expect(roots.allows(join(outside, 'x'))).toBe(true);
  });
});

describe('short quotes of user input', () => {
  it('cuts to 200 characters and says the full length', () => {
    expect(quoteShort('abc')).toBe('"abc"');
    const long = 'a'.repeat(20_000_000);
    const q = quoteShort(long);
    expect(q).toBe(`"${'a'.repeat(200)}…" (20000000 characters)`);
  });
});
