/**
 * The desktop app's main process as built (out/main/index.js, electron-vite), run under Node in a
 * child process with a stand-in 'electron' (test/helpers/fake-electron/): Electron's binary cannot be
 * downloaded on this machine, so this is the closest the main process gets to running here. The
 * stand-in records what main.ts asks of Electron and calls back what main.ts registered (the IPC
 * handler, the media protocol, the session's header and permission hooks, webContents events) the
 * way Electron would; everything behind them (session, handlers, job host, SQLite, the job worker
 * thread) is the real code.
 *
 * NOT covered (needs a real Electron): Chromium enforcing the sandbox, context isolation and the CSP;
 * the preload running in a renderer (its logic has a unit test, test/unit/electron-bridge.test.ts);
 * the window actually painting; better-sqlite3's Electron-ABI build (the bundle loads Node's here);
 * packaging (asar, unpacked native modules); the real folder dialog; macOS/Windows lifecycle details.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exitWithin,
  type FakeElectronApp,
  type SentEvent,
  startFakeElectronApp,
  waitFor,
} from '../helpers/fake-electron-app.ts';
import { mainBundleStaleReason } from '../helpers/main-build.ts';
import { RENDERER_INDEX, ROOT } from '../helpers/renderer-build.ts';

const PRELOAD = join(ROOT, 'out', 'preload', 'index.cjs');
const JOB_WORKER = join(ROOT, 'out', 'main', 'job-worker.js');
const APP_URL = pathToFileURL(RENDERER_INDEX).href;
const VERSION = '0.1.0-test';

/** The CSP the built page declares in its <meta>; the header main.ts installs must be the same. */
function metaCsp(): string {
  const m = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(
    readFileSync(RENDERER_INDEX, 'utf8'),
  );
  if (!m) throw new Error(`${RENDERER_INDEX} has no Content-Security-Policy <meta>`);
  return m[1]!;
}

/** The first file under `dir` (depth first, sorted). */
function firstFile(dir: string): string {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isFile()) return path;
    if (entry.isDirectory()) {
      try {
        return firstFile(path);
      } catch {
        // empty folder: try the next
      }
    }
  }
  throw new Error(`no file under ${dir}`);
}

const contractEvents = (sent: SentEvent[]) =>
  sent.filter((s) => s.channel === 'kfashion:event').map((s) => ({ event: s.args[0], payload: s.args[1] }));

describe.sequential('desktop main process (built bundle, stand-in electron)', () => {
  let base: string;
  let userData: string;
  let app: FakeElectronApp;
  const started: FakeElectronApp[] = [];
  const start = async (dir: string, env?: Record<string, string>, noWaitForReady = false) => {
    const a = await startFakeElectronApp({ userData: dir, appUrl: APP_URL, env, noWaitForReady });
    started.push(a);
    return a;
  };

  beforeAll(async () => {
    const stale = mainBundleStaleReason();
    if (stale) throw new Error(`out/main is stale (${stale}): run \`npx electron-vite build\``);
    base = mkdtempSync(join(tmpdir(), 'kf-electron-'));
    userData = join(base, 'userData');
    app = await start(userData);
  });

  afterAll(() => {
    for (const a of started) a.kill();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('creates one sandboxed, context-isolated window on the built renderer and preload', async () => {
    const state = await app.state();
    expect(state.violations).toEqual([]);
    expect(state.windows).toHaveLength(1);
    const [window] = state.windows;
    expect(window!.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      preload: PRELOAD,
    });
    expect(window!.options.webPreferences).not.toHaveProperty('webSecurity', false);
    expect(existsSync(PRELOAD)).toBe(true);
    expect(window!.loaded).toEqual({ file: RENDERER_INDEX });
    expect(existsSync(RENDERER_INDEX)).toBe(true);
    if (process.platform === 'linux') expect(existsSync(window!.options.icon!)).toBe(true);

    // Hidden until painted, then shown.
    expect(window!.shown).toBe(false);
    await app.request('windowEvent', { name: 'ready-to-show' });
    expect((await app.state()).windows[0]!.shown).toBe(true);

    // A second launch focuses and restores the existing window.
    await app.request('minimize');
    await app.request('secondInstance');
    expect((await app.state()).windows[0]).toMatchObject({ minimized: false, focused: true });
  });

  it('installs the CSP and a deny-all permission handler, and locks navigation and new windows', async () => {
    const state = await app.state();
    expect(state.privilegedSchemes.map((s) => s.scheme)).toEqual(['kfashion-media']);
    expect(state.cspInstalled).toBe(true);
    const answer = await app.request<{ responseHeaders: Record<string, string[]> }>('headers', {
      responseHeaders: { 'X-Upstream': ['kept'] },
    });
    expect(answer.responseHeaders['Content-Security-Policy']).toEqual([metaCsp()]);
    expect(answer.responseHeaders['Content-Security-Policy']![0]).toContain("script-src 'self'");
    expect(answer.responseHeaders['X-Upstream']).toEqual(['kept']);

    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal']) {
      expect(await app.request('permission', { permission }), permission).toBe(false);
    }

    // Registered through 'web-contents-created', i.e. before anything was loaded into the window.
    expect(state.appListeners).toContain('web-contents-created');
    expect(state.windows[0]!.hardenedAtLoad).toBe(true);
    expect(await app.request('windowOpen', { url: 'https://example.com/' })).toEqual({ action: 'deny' });
    const nav = (event: string, url: string) =>
      app.request<{ prevented: boolean }>('navigate', { event, url }).then((r) => r.prevented);
    expect(await nav('will-navigate', 'https://evil.example/')).toBe(true);
    expect(await nav('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(await nav('will-navigate', `${APP_URL}#/train`)).toBe(false);
    expect(await nav('will-redirect', 'http://127.0.0.1:9/')).toBe(true);
    expect(await nav('will-attach-webview', APP_URL)).toBe(true);
  });

  it('answers the contract over IPC in envelopes, and refuses bad calls and foreign senders', async () => {
    expect((await app.state()).ipcHandlers).toEqual(['kfashion:invoke']);
    const info = await app.invoke('app.info', {});
    expect(info).toMatchObject({
      ok: true,
      result: { name: 'K-Fashion Workbench', version: VERSION, mode: 'desktop', canPickFolder: true },
    });

    expect(await app.invoke('no.such.method', {})).toMatchObject({
      ok: false,
      error: { code: 'unknown_method' },
    });
    expect(await app.invoke('constructor', {})).toMatchObject({
      ok: false,
      error: { code: 'unknown_method' },
    });
    const bad = await app.invoke('workspace.open', { path: 42 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(!bad.ok && bad.error.message).toMatch(/path/);
    expect(await app.invoke('app.info', { unexpected: true })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });

    for (const sender of ['https://evil.example/', 'file:///tmp/other/index.html', null]) {
      expect(await app.invoke('app.info', {}, sender), String(sender)).toMatchObject({
        ok: false,
        error: { code: 'forbidden' },
      });
    }

    // The folder dialog is Electron's: asked with the focused window as parent; cancelled → nothing
    // opened. (A second launch focuses the window, whatever the tests before did.)
    await app.request('secondInstance');
    const picked = await app.invoke('workspace.pick', {});
    expect(picked).toMatchObject({ ok: true, result: { path: null, openedAs: null } });
    const { dialogCalls } = await app.state();
    expect(dialogCalls).toHaveLength(1);
    expect(dialogCalls[0]).toMatchObject({
      withWindow: true,
      options: { properties: ['openDirectory', 'createDirectory'] },
    });
  });

  it('makes the SYNTHETIC demo workspace on first start, on the job worker thread', async () => {
    const workspace = join(userData, 'workspaces', 'demo');
    const info = await waitFor('app.info to report the demo workspace', 60_000, async () => {
      const r = await app.invoke('app.info', {});
      if (!r.ok) throw new Error(`app.info failed: ${r.error.message}`);
      const result = r.result as { workspace: string | null; preparing: string | null };
      if (result.workspace === null && result.preparing?.includes('could not')) {
        throw new Error(`the demo failed: ${result.preparing}\n${app.stderr()}`);
      }
      return result.workspace === null ? undefined : result;
    });
    expect(info).toMatchObject({ workspace, synthetic: true, preparing: null });

    const summary = await app.invoke('workspace.summary', {});
    expect(summary.ok).toBe(true);
    const s = (summary as { result: { items: number; images: number; synthetic: boolean } }).result;
    expect(s.items).toBeGreaterThan(0);
    expect(s.images).toBeGreaterThan(0);
    expect(s.synthetic).toBe(true);

    const state = await app.state();
    // Off the main thread, in the bundled job worker (not inline).
    expect(state.jobWorkers).toContain(JOB_WORKER);
    // The window heard about it through the contract's events.
    const events = contractEvents(state.windows[0]!.sent);
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'job.started', payload: expect.objectContaining({ kind: 'demo' }) }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'job.done', payload: expect.objectContaining({ kind: 'demo' }) }),
    );
    expect(events).toContainEqual({
      event: 'workspace.changed',
      payload: { workspace, synthetic: true, reason: 'demo' },
    });
    expect(JSON.parse(readFileSync(join(userData, 'last-workspace.json'), 'utf8'))).toEqual({ workspace });
  }, 90_000);

  it('serves workspace files over kfashion-media and refuses paths outside the workspace', async () => {
    const workspace = join(userData, 'workspaces', 'demo');
    const crop = firstFile(join(workspace, 'crops'));
    const rel = relative(workspace, crop).split(sep).map(encodeURIComponent).join('/');
    const ok = await app.fetch(`kfashion-media://workspace/${rel}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^image\//);
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(ok.body.equals(readFileSync(crop))).toBe(true);
    // Pictures are readable by the window's fetch() (the detail panel's "find similar" sends a crop).
    expect(ok.headers['access-control-allow-origin']).toBe('*');
    expect((await app.state()).privilegedSchemes[0]?.privileges).toMatchObject({
      corsEnabled: true,
      supportFetchAPI: true,
    });

    const secret = readFileSync(join(userData, 'last-workspace.json'), 'utf8');
    for (const url of [
      'kfashion-media://workspace/%2e%2e/%2e%2e/last-workspace.json',
      'kfashion-media://workspace/..%2f..%2flast-workspace.json',
      `kfashion-media://workspace/${encodeURIComponent(join(userData, 'last-workspace.json'))}`,
      'kfashion-media://elsewhere/crops/x.jpg',
    ]) {
      const r = await app.fetch(url);
      expect(r.status, url).toBeGreaterThanOrEqual(400);
      expect(r.body.toString(), url).not.toContain(secret);
    }
  });

  it('quits cleanly when its window closes, after releasing what it opened: exit code 0', async () => {
    // Nothing so far asked the stand-in for what the real Electron refuses (ordering rules).
    expect((await app.state()).violations).toEqual([]);
    // A recommendation from a photo opens the image encoder's ONNX session on a worker thread of its
    // own; quitting must release it (before the fix, quitting without a running job skipped closing).
    const crop = readFileSync(firstFile(join(userData, 'workspaces', 'demo', 'crops')));
    const rec = await app.invoke('recommend.customerInput', {
      image: { name: 'photo.jpg', dataBase64: crop.toString('base64') },
      k: 3,
    });
    expect(rec).toMatchObject({ ok: true, result: { k: 3, encoder: { synthetic: true } } });

    await app.request('closeWindow');
    const report = await app.quit;
    // The first request waits while the session closes (jobs, ONNX sessions, database); then main.ts
    // quits again.
    expect(report.steps).toEqual(['before-quit prevented', 'before-quit', 'will-quit', 'exit 0']);
    // The stand-in waits for Node's event loop to drain: nothing (a worker, a timer) was left running.
    expect(await exitWithin(app, 10_000)).toEqual({ code: 0, signal: null });
    expect(app.stderr()).not.toMatch(/\[kfashion\]|Error/);
  });

  it('reopens the remembered workspace on the next start, without a job', async () => {
    const next = await start(userData);
    const info = await next.invoke('app.info', {});
    expect(info).toMatchObject({
      ok: true,
      result: { workspace: join(userData, 'workspaces', 'demo'), synthetic: true, preparing: null },
    });
    expect((await next.state()).jobWorkers).toEqual([]);
    await next.request('quit');
    expect((await next.quit).steps).toEqual(['before-quit prevented', 'before-quit', 'will-quit', 'exit 0']);
    expect(await exitWithin(next, 10_000)).toEqual({ code: 0, signal: null });
  });

  it('in development: loads the dev server, trusts only its origin, points SQLite at the Electron build', async () => {
    const devUrl = 'http://localhost:5173/';
    const dev = await start(userData, { FAKE_ELECTRON_PACKAGED: '0', ELECTRON_RENDERER_URL: devUrl });
    const state = await dev.state();
    expect(state.windows[0]!.loaded).toEqual({ url: devUrl });
    // The copy scripts/electron-native.js writes; under Node, database.ts ignores it (no Electron).
    expect(
      state.sqliteBindingEnv?.startsWith(join(ROOT, 'node_modules', '.kfashion-electron', 'better_sqlite3-')),
    ).toBe(true);
    expect(state.sqliteBindingEnv).toMatch(/\.node$/);
    expect(await dev.invoke('app.info', {}, `${devUrl}#/search`)).toMatchObject({ ok: true });
    expect(await dev.invoke('app.info', {}, APP_URL)).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await dev.invoke('app.info', {}, 'http://localhost:5174/')).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const nav = (url: string) =>
      dev
        .request<{ prevented: boolean }>('navigate', { event: 'will-navigate', url })
        .then((r) => r.prevented);
    expect(await nav(`${devUrl}index.html`)).toBe(false);
    expect(await nav('http://localhost:8080/')).toBe(true);
    await dev.request('quit');
    expect((await dev.quit).code).toBe(0);
    expect(await exitWithin(dev, 10_000)).toEqual({ code: 0, signal: null });
  });

  it('quitting while the first-start demo runs stops the job first, then exits 0', async () => {
    const fresh = await start(join(base, 'userData-2'));
    await waitFor('the demo job to report progress', 20_000, async () => {
      const { windows } = await fresh.state();
      return contractEvents(windows[0]!.sent).some((e) => e.event === 'job.progress') ? true : undefined;
    });
    await fresh.request('quit');
    const report = await fresh.quit;
    // The first request is held back until the job has stopped; main.ts then quits again (at once:
    // far below its 15 s bound).
    expect(report.steps).toEqual(['before-quit prevented', 'before-quit', 'will-quit', 'exit 0']);
    const failed = contractEvents(report.sentEvents).find((e) => e.event === 'job.failed');
    expect(failed?.payload).toMatchObject({ kind: 'demo', cancelled: true });
    expect(await exitWithin(fresh, 10_000)).toEqual({ code: 0, signal: null });
  });

  it('a second instance quits at once, before making a window or touching the data folder', async () => {
    const dir = join(base, 'userData-3');
    const second = await start(dir, { FAKE_ELECTRON_SECOND_INSTANCE: '1' }, true);
    expect((await second.quit).steps).toEqual(['before-quit', 'will-quit', 'exit 0']);
    expect(await exitWithin(second, 10_000)).toEqual({ code: 0, signal: null });
    expect(existsSync(dir)).toBe(false);
  });
});
