/** Media paths: what resolves inside the workspace, what is refused and why; the renderer's URL side. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaPathError, resolveMediaPath } from '../../src-main/services/media-path.ts';
import { httpMediaUrl, ipcMediaUrl, mediaUrlFor } from '../../src-renderer/src/lib/transport.ts';

let base: string;
let ws: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'kf-media-'));
  ws = join(base, 'ws 워크');
  mkdirSync(join(ws, 'crops', '레트로'), { recursive: true });
  writeFileSync(join(ws, 'crops', '레트로', '1__상의.jpg'), 'JPEG');
  writeFileSync(join(ws, 'workspace.db'), 'DB');
  writeFileSync(join(base, 'outside.png'), 'OUT');
  symlinkSync(join(base, 'outside.png'), join(ws, 'crops', 'escape.png'));
  symlinkSync(join(ws, 'crops', '레트로', '1__상의.jpg'), join(ws, 'crops', 'inside-link.jpg'));
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

const status = (rel: string): number => {
  try {
    resolveMediaPath(ws, rel);
    return 200;
  } catch (e) {
    if (e instanceof MediaPathError) return e.status;
    throw e;
  }
};

describe('resolveMediaPath', () => {
  it('resolves a workspace file, encoded or not, with its type', () => {
    const a = resolveMediaPath(ws, 'crops/레트로/1__상의.jpg');
    const b = resolveMediaPath(ws, encodeURIComponent('crops/레트로/1__상의.jpg'));
    expect(a.path).toBe(b.path);
    expect(a).toMatchObject({ contentType: 'image/jpeg', bytes: 4 });
    // A link that stays inside the workspace is fine.
    expect(status('crops/inside-link.jpg')).toBe(200);
  });

  it.each([
    ['../outside.png', 403],
    ['crops/../../outside.png', 403],
    ['%2e%2e/outside.png', 403],
    ['%252e%252e%252foutside.png', 403],
    ['crops/./레트로/1__상의.jpg', 403],
    ['crops//레트로/1__상의.jpg', 403],
    ['/etc/passwd.png', 400],
    ['%2Fetc%2Fpasswd.png', 400],
    ['C:/Windows/x.png', 400],
    ['crops\\..\\..\\outside.png', 400],
    ['crops/x.png%00.jpg', 400],
    ['%E0%A4%A', 400],
    ['', 400],
    ['crops/escape.png', 403],
    ['workspace.db', 403],
    ['crops/missing.jpg', 404],
    ['crops/레트로', 403],
  ])('%s → %i', (rel, expected) => {
    expect(status(rel)).toBe(expected);
  });
});

describe('renderer media URLs', () => {
  it('encodes each segment and maps REST file URLs and Windows separators', () => {
    expect(ipcMediaUrl('crops/레트로/a b.jpg')).toBe(
      `kfashion-media://workspace/crops/${encodeURIComponent('레트로')}/a%20b.jpg`,
    );
    expect(httpMediaUrl('http://127.0.0.1:5199', 'results\\chart #1.png')).toBe(
      'http://127.0.0.1:5199/media/results/chart%20%231.png',
    );
    const toUrl = (p: string) => `M:${p}`;
    expect(mediaUrlFor(toUrl, '/api/files/catalog/%EC%8B%A0.jpg')).toBe('M:catalog/신.jpg');
    expect(mediaUrlFor(toUrl, 'data:image/png;base64,AA==')).toBe('data:image/png;base64,AA==');
    expect(mediaUrlFor(toUrl, 'crops/x.jpg')).toBe('M:crops/x.jpg');
  });
});
