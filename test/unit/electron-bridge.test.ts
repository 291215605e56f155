/**
 * The Electron side without Electron (its binary cannot be installed here): 'electron' is replaced by
 * a stand-in that records what the preload exposes and what the media protocol registers, so the
 * allow-lists and the containment rules are checked on the real modules.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EventListener, Transport } from '../../src-shared/api.ts';

const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoked: [] as unknown[][],
  ipcListeners: new Map<string, (...args: unknown[]) => void>(),
  privileged: [] as unknown[],
  handlers: new Map<string, (request: Request) => Response | Promise<Response>>(),
}));

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => fake.exposed.set(key, api) },
  ipcRenderer: {
    invoke: async (...args: unknown[]) => {
      fake.invoked.push(args);
      return { ok: true, result: 'from main' };
    },
    on: (channel: string, fn: (...args: unknown[]) => void) => fake.ipcListeners.set(channel, fn),
    off: (channel: string) => fake.ipcListeners.delete(channel),
  },
  protocol: {
    registerSchemesAsPrivileged: (schemes: unknown[]) => fake.privileged.push(...schemes),
    handle: (scheme: string, fn: (request: Request) => Response) => fake.handlers.set(scheme, fn),
  },
}));

describe('preload bridge', () => {
  it('forwards contract methods only, and contract events only', async () => {
    await import('../../src-main/electron/preload.ts');
    const bridge = fake.exposed.get('kfashion') as Required<Transport>;
    expect(Object.keys(bridge).sort()).toEqual(['invoke', 'subscribe']);

    await expect(bridge.invoke('app.info', {})).resolves.toEqual({ ok: true, result: 'from main' });
    expect(fake.invoked).toEqual([['kfashion:invoke', 'app.info', {}]]);
    await expect(bridge.invoke('constructor', {})).resolves.toMatchObject({
      ok: false,
      error: { code: 'unknown_method' },
    });
    expect(fake.invoked).toHaveLength(1);

    const got: [string, unknown][] = [];
    const off = bridge.subscribe(((event, payload) => got.push([event, payload])) as EventListener);
    const deliver = fake.ipcListeners.get('kfashion:event')!;
    deliver({}, 'job.progress', { step: 1 });
    deliver({}, 'secret.channel', { step: 2 });
    deliver({}, 42, {});
    expect(got).toEqual([['job.progress', { step: 1 }]]);
    off();
    expect(fake.ipcListeners.has('kfashion:event')).toBe(false);
  });
});

describe('kfashion-media protocol', () => {
  let base: string;
  let ws: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'kf-proto-'));
    ws = join(base, 'ws');
    mkdirSync(join(ws, 'results'), { recursive: true });
    writeFileSync(join(ws, 'results', 'chart 1.png'), 'PNG');
    writeFileSync(join(ws, 'results', 'report.html'), '<script>alert(1)</script>');
    writeFileSync(join(base, 'secret.png'), 'SECRET');
    symlinkSync(join(base, 'secret.png'), join(ws, 'results', 'out.png'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('serves workspace files and refuses the rest, like the HTTP route', async () => {
    const { registerMediaScheme, handleMediaProtocol } = await import(
      '../../src-main/electron/media-protocol.ts'
    );
    registerMediaScheme();
    expect(fake.privileged).toEqual([expect.objectContaining({ scheme: 'kfashion-media' })]);
    let open: string | null = ws;
    handleMediaProtocol(() => open);
    const handler = fake.handlers.get('kfashion-media')!;
    const get = async (url: string) => {
      const res = await handler(new Request(url));
      return { status: res.status, body: await res.text(), headers: res.headers };
    };
    const ok = await get('kfashion-media://workspace/results/chart%201.png');
    expect(ok).toMatchObject({ status: 200, body: 'PNG' });
    expect(ok.headers.get('content-type')).toBe('image/png');
    const html = await get('kfashion-media://workspace/results/report.html');
    expect(html.headers.get('content-security-policy')).toBe('sandbox');
    for (const url of [
      'kfashion-media://workspace/results/out.png',
      'kfashion-media://workspace/%2e%2e/secret.png',
      'kfashion-media://workspace/results%2f..%2f..%2fsecret.png',
      'kfashion-media://other/results/chart%201.png',
    ]) {
      const r = await get(url);
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.body, url).not.toContain('SECRET');
    }
    open = null;
    expect((await get('kfashion-media://workspace/results/chart%201.png')).status).toBe(409);
  });
});
