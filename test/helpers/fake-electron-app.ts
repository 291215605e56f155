/**
 * Runs the BUILT desktop main process (out/main/index.js) under Node with the stand-in 'electron' of
 * test/helpers/fake-electron/, in a child process, and drives it over the child's IPC channel: the
 * stand-in calls the handlers main.ts registered (ipcMain, protocol, session, webContents events) as
 * Electron would, and reports what it recorded.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { Envelope } from '../../src-shared/api-errors.ts';
import { ROOT } from './renderer-build.ts';

export const MAIN_BUNDLE = join(ROOT, 'out', 'main', 'index.js');
const REGISTER = join(ROOT, 'test', 'helpers', 'fake-electron', 'register.mjs');

export interface SentEvent {
  channel: string;
  args: unknown[];
}

export interface FakeWindow {
  id: number;
  options: {
    icon?: string;
    show?: boolean;
    webPreferences?: Record<string, unknown>;
  } & Record<string, unknown>;
  loaded: { file?: string; url?: string } | null;
  /** Whether the window-open handler and navigation guards existed when loading began. */
  hardenedAtLoad: boolean | null;
  shown: boolean;
  focused: boolean;
  minimized: boolean;
  windowOpenHandler: boolean;
  webContentsListeners: string[];
  sent: SentEvent[];
}

export interface FakeState {
  ready: boolean;
  privilegedSchemes: { scheme: string; privileges: Record<string, boolean> }[];
  violations: string[];
  ipcHandlers: string[];
  ipcListeners: string[];
  protocolHandlers: string[];
  cspInstalled: boolean;
  permissionHandlerInstalled: boolean;
  appListeners: string[];
  dialogCalls: { withWindow: boolean; options: Record<string, unknown> }[];
  /** Scripts of the worker threads the app started (the job host's job-worker.js). */
  jobWorkers: string[];
  /** KFASHION_SQLITE_BINDING as the app's process sees it. */
  sqliteBindingEnv: string | null;
  windows: FakeWindow[];
}

export interface QuitReport {
  code: number;
  steps: string[];
  sentEvents: SentEvent[];
}

export interface FetchResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface FakeElectronApp {
  child: ChildProcess;
  request<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Calls the app's IPC invoke handler as a frame at `senderUrl` (null: no sender frame). */
  invoke(method: unknown, input?: unknown, senderUrl?: string | null): Promise<Envelope>;
  state(): Promise<FakeState>;
  fetch(url: string): Promise<FetchResult>;
  /** Resolves with the stand-in's report when the app quits (app.quit() went all the way). */
  quit: Promise<QuitReport>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  kill(): void;
}

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/**
 * Starts the app with `userData` as Electron's per-user folder; resolves once the app is ready and
 * its whenReady() callback has run (window, IPC, protocol). `appUrl` is the renderer page's URL,
 * the sender `invoke` uses by default.
 */
export async function startFakeElectronApp(opts: {
  userData: string;
  appUrl: string;
  env?: Record<string, string>;
  /** Resolve at once instead of waiting for 'ready' (for an instance that quits before it). */
  noWaitForReady?: boolean;
}): Promise<FakeElectronApp> {
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  // Set by main.ts itself (development) or not at all (packaged); the dev server's URL only by a test.
  delete inherited['KFASHION_SQLITE_BINDING'];
  delete inherited['ELECTRON_RENDERER_URL'];
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    FAKE_ELECTRON_USER_DATA: opts.userData,
    FAKE_ELECTRON_APP_PATH: ROOT,
    FAKE_ELECTRON_APP_VERSION: '0.1.0-test',
    ...opts.env,
  };
  const child = fork(MAIN_BUNDLE, [], {
    cwd: ROOT,
    env,
    execArgv: ['--import', REGISTER],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.resume();

  const pending = new Map<number, (r: Reply) => void>();
  let nextId = 0;
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  let onQuit: (q: QuitReport) => void = () => {};
  const quit = new Promise<QuitReport>((resolve) => {
    onQuit = resolve;
  });
  child.on('message', (m: { type?: string } & Record<string, unknown>) => {
    if (m.type === 'reply') {
      const r = m as unknown as Reply;
      pending.get(r.id)?.(r);
      pending.delete(r.id);
    } else if (m.type === 'ready') onReady();
    else if (m.type === 'quit') onQuit(m as unknown as QuitReport);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const [, reply] of pending) {
        reply({ type: 'reply', id: -1, ok: false, error: `the app exited (code ${code}, signal ${signal})` });
      }
      pending.clear();
      resolve({ code, signal });
    });
  });

  const request = <T>(op: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) {
        reject(new Error(`cannot ask "${op}": the app is not running\n${stderr}`));
        return;
      }
      const id = ++nextId;
      pending.set(id, (r) => (r.ok ? resolve(r.value as T) : reject(new Error(`${op}: ${r.error}`))));
      child.send({ id, op, args });
    });

  const app: FakeElectronApp = {
    child,
    request,
    invoke: (method, input = {}, senderUrl = opts.appUrl) =>
      request<Envelope>('invoke', { channel: 'kfashion:invoke', senderUrl, args: [method, input] }),
    state: () => request<FakeState>('state'),
    fetch: async (url) => {
      const r = await request<{ status: number; headers: Record<string, string>; body: string }>('fetch', {
        url,
      });
      return { ...r, body: Buffer.from(r.body, 'base64') };
    },
    quit,
    exited,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  if (!opts.noWaitForReady) {
    const early = exited.then(({ code, signal }) => {
      throw new Error(`the app exited before it was ready (code ${code}, signal ${signal}):\n${stderr}`);
    });
    await Promise.race([ready, early]);
  }
  return app;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves with the exit, or fails if the process is still running after `timeoutMs`. */
export async function exitWithin(
  app: FakeElectronApp,
  timeoutMs: number,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the app did not exit within ${timeoutMs} ms:\n${app.stderr()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([app.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
