/**
 * A stand-in for the 'electron' module, so the BUILT main-process bundle (out/main/index.js) can run
 * under plain Node: Electron's binary cannot be downloaded on the build machine. Loaded in place of
 * 'electron' by register.mjs; driven by test/helpers/fake-electron-app.ts over the child process's
 * IPC channel.
 *
 * It implements only what src-main/electron/*.ts uses, and keeps Electron's ordering rules that a
 * wrong main.ts would break (privileged schemes only before 'ready'; sessions, windows and protocol
 * handlers only after; one ipcMain handler per channel), so the bundle cannot pass here while doing
 * something the real Electron would refuse. What it cannot show — the real Chromium sandbox, the CSP
 * as Chromium enforces it, the preload running in a renderer — is listed in the test's header.
 *
 * Plain JavaScript (not TypeScript) because it runs under Node 20 without a transpiler.
 */
import { EventEmitter } from 'node:events';

const state = {
  ready: false,
  privilegedSchemes: [],
  /** Ordering mistakes the real Electron would throw on; reported instead of crashing silently. */
  violations: [],
  ipcHandlers: new Map(),
  ipcListeners: [],
  protocolHandlers: new Map(),
  headersListener: null,
  permissionHandler: null,
  dialogCalls: [],
  quitSteps: [],
  /** Every contract event any window was sent, kept after the windows close (for the quit report). */
  sentEvents: [],
};

function violation(message) {
  state.violations.push(message);
  throw new Error(`[fake electron] ${message}`);
}

function makeEvent(extra = {}) {
  const event = {
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
    ...extra,
  };
  return event;
}

const send = (message) => {
  if (process.connected) process.send(message);
};

// ---------------------------------------------------------------------------------------------- app

let finished = false;
/** Electron ends the process after 'quit'; here the event loop must drain by itself (see below). */
function finish(code) {
  if (finished) return;
  finished = true;
  state.quitSteps.push(`exit ${code}`);
  process.exitCode = code;
  // The open IPC channel is what keeps this process alive while the app runs (as Electron's own
  // loop does); closing it, after the last message went out, leaves only what the app left open.
  if (process.connected) {
    const report = { type: 'quit', code, steps: state.quitSteps, sentEvents: state.sentEvents };
    process.send(report, () => process.disconnect());
  }
  // Electron would end the process now whatever Node still holds; ending only when nothing is left
  // (no worker thread, no timer, no socket) is the stricter check that quitting really cleaned up.
  // The timer does not keep the process alive; it fires only if something else does.
  setTimeout(() => {
    const handles = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(
      `[fake electron] still alive 5 s after quit; open resources: ${handles.join(', ')}\n`,
    );
    process.exit(70);
  }, 5000).unref();
}

class App extends EventEmitter {
  // Packaged unless told otherwise: a development start points better-sqlite3 at an Electron-ABI
  // build that does not exist here (main.ts; only used under a real Electron, see database.ts).
  isPackaged = process.env.FAKE_ELECTRON_PACKAGED !== '0';
  #readyPromise = null;
  #paths = { userData: requiredEnv('FAKE_ELECTRON_USER_DATA') };

  whenReady() {
    this.#readyPromise ??= new Promise((resolve) => {
      // Electron is ready after the main script's first turn, never synchronously.
      setImmediate(() => {
        state.ready = true;
        this.emit('ready', makeEvent(), {});
        resolve();
        // After the app's own whenReady().then(...) has run (it is queued before this turn ends).
        setImmediate(() => send({ type: 'ready' }));
      });
    });
    return this.#readyPromise;
  }
  isReady() {
    return state.ready;
  }
  getPath(name) {
    const path = this.#paths[name];
    if (!path) throw new Error(`[fake electron] app.getPath('${name}') is not faked`);
    return path;
  }
  getAppPath() {
    return requiredEnv('FAKE_ELECTRON_APP_PATH');
  }
  getName() {
    return 'K-Fashion Workbench';
  }
  getVersion() {
    return process.env.FAKE_ELECTRON_APP_VERSION ?? '0.0.0-fake';
  }
  requestSingleInstanceLock() {
    return process.env.FAKE_ELECTRON_SECOND_INSTANCE !== '1';
  }
  /** Electron's order: before-quit (preventable), windows close, will-quit (preventable), quit. */
  quit() {
    if (finished) return;
    const beforeQuit = makeEvent();
    this.emit('before-quit', beforeQuit);
    state.quitSteps.push(beforeQuit.defaultPrevented ? 'before-quit prevented' : 'before-quit');
    if (beforeQuit.defaultPrevented) return;
    for (const w of [...windows]) w.destroy();
    const willQuit = makeEvent();
    this.emit('will-quit', willQuit);
    state.quitSteps.push(willQuit.defaultPrevented ? 'will-quit prevented' : 'will-quit');
    if (willQuit.defaultPrevented) return;
    this.emit('quit', makeEvent(), 0);
    finish(0);
  }
  exit(code = 0) {
    state.quitSteps.push(`app.exit(${code})`);
    send({ type: 'quit', code, steps: state.quitSteps });
    process.exit(code);
  }
}

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`[fake electron] ${name} must be set`);
  return value;
}

export const app = new App();

// ------------------------------------------------------------------------------ windows, webContents

let nextId = 1;
const windows = [];

class WebContents extends EventEmitter {
  id = nextId++;
  sent = [];
  windowOpenHandler = null;
  #destroyed = false;
  send(channel, ...args) {
    if (this.#destroyed) throw new Error('[fake electron] send on a destroyed webContents');
    // Electron serialises IPC messages with the structured clone algorithm and throws on what it
    // cannot clone (functions, class instances with such members); this answers the same way.
    structuredClone(args);
    this.sent.push({ channel, args });
    state.sentEvents.push({ channel, args });
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
  isDestroyed() {
    return this.#destroyed;
  }
  destroy() {
    this.#destroyed = true;
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(options = {}) {
    super();
    if (!state.ready) violation('new BrowserWindow() before the app is ready');
    this.id = nextId++;
    this.options = options;
    this.loaded = null;
    this.hardenedAtLoad = null;
    this.shown = false;
    this.focused = false;
    this.minimized = false;
    this.destroyed = false;
    this.webContents = new WebContents();
    windows.push(this);
    // As in Electron: every WebContents is announced before anything is loaded into it.
    app.emit('web-contents-created', makeEvent(), this.webContents);
  }
  static getAllWindows() {
    return [...windows];
  }
  static getFocusedWindow() {
    return windows.find((w) => w.focused) ?? null;
  }
  loadFile(path) {
    this.loaded = { file: path };
    this.hardenedAtLoad = this.#hardened();
    return Promise.resolve();
  }
  loadURL(url) {
    this.loaded = { url };
    this.hardenedAtLoad = this.#hardened();
    return Promise.resolve();
  }
  /** Whether navigation and new windows were already locked when the page started loading. */
  #hardened() {
    const wc = this.webContents;
    return wc.windowOpenHandler !== null && wc.listenerCount('will-navigate') > 0;
  }
  show() {
    this.shown = true;
    this.focused = true;
  }
  focus() {
    this.focused = true;
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  minimize() {
    this.minimized = true;
    this.focused = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroy();
    windows.splice(windows.indexOf(this), 1);
    this.emit('closed');
  }
  /** The user closing the window: 'close' (preventable), 'closed', and 'window-all-closed' if last. */
  close() {
    const event = makeEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroy();
    if (windows.length === 0) app.emit('window-all-closed');
  }
}

// ------------------------------------------------------------------------------------ ipc, protocol

export const ipcMain = {
  handle(channel, handler) {
    if (state.ipcHandlers.has(channel)) violation(`a second ipcMain handler for '${channel}'`);
    state.ipcHandlers.set(channel, handler);
  },
  removeHandler(channel) {
    state.ipcHandlers.delete(channel);
  },
  on(channel, listener) {
    state.ipcListeners.push(channel);
    void listener;
  },
};

export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    if (state.ready) violation('protocol.registerSchemesAsPrivileged() after the app is ready');
    state.privilegedSchemes.push(...schemes);
  },
  handle(scheme, handler) {
    if (!state.ready) violation(`protocol.handle('${scheme}') before the app is ready`);
    state.protocolHandlers.set(scheme, handler);
  },
};

const defaultSession = {
  webRequest: {
    onHeadersReceived(listener) {
      state.headersListener = listener;
    },
  },
  setPermissionRequestHandler(handler) {
    state.permissionHandler = handler;
  },
};

export const session = {
  get defaultSession() {
    if (!state.ready) violation('session.defaultSession before the app is ready');
    return defaultSession;
  },
};

export const dialog = {
  async showOpenDialog(windowOrOptions, maybeOptions) {
    const options = maybeOptions ?? windowOrOptions;
    state.dialogCalls.push({ withWindow: maybeOptions !== undefined, options });
    return { canceled: true, filePaths: [] };
  },
};

export const shell = {
  async openExternal(url) {
    violation(`shell.openExternal(${url}) was called; the app opens nothing outside`);
  },
};

// Renderer-side modules: the main bundle must not use them (the preload has its own unit test).
export const contextBridge = new Proxy(
  {},
  { get: () => violation('contextBridge used in the main process') },
);
export const ipcRenderer = new Proxy({}, { get: () => violation('ipcRenderer used in the main process') });

export default { app, BrowserWindow, ipcMain, protocol, session, dialog, shell, contextBridge, ipcRenderer };

// -------------------------------------------------------------------------------- the test's remote

/** Operations the test asks for over the IPC channel; each answers with plain, cloneable data. */
const ops = {
  state() {
    return {
      ready: state.ready,
      privilegedSchemes: state.privilegedSchemes,
      violations: state.violations,
      ipcHandlers: [...state.ipcHandlers.keys()],
      ipcListeners: state.ipcListeners,
      protocolHandlers: [...state.protocolHandlers.keys()],
      cspInstalled: state.headersListener !== null,
      permissionHandlerInstalled: state.permissionHandler !== null,
      appListeners: app.eventNames().map(String),
      dialogCalls: state.dialogCalls,
      jobWorkers: globalThis.__fakeElectronWorkers ?? [],
      sqliteBindingEnv: process.env.KFASHION_SQLITE_BINDING ?? null,
      windows: windows.map((w) => ({
        id: w.id,
        options: w.options,
        loaded: w.loaded,
        hardenedAtLoad: w.hardenedAtLoad,
        shown: w.shown,
        focused: w.focused,
        minimized: w.minimized,
        windowOpenHandler: w.webContents.windowOpenHandler !== null,
        webContentsListeners: w.webContents.eventNames().map(String),
        sent: w.webContents.sent,
      })),
    };
  },
  /** Runs the session's onHeadersReceived listener on a response and returns what it answers. */
  headers({ responseHeaders }) {
    return new Promise((resolve) => state.headersListener({ url: 'http://x/', responseHeaders }, resolve));
  },
  permission({ permission }) {
    return new Promise((resolve) => state.permissionHandler(windows[0]?.webContents, permission, resolve));
  },
  windowOpen({ url }) {
    return windows[0].webContents.windowOpenHandler({ url, disposition: 'new-window' });
  },
  /** Emits a navigation event on the window's webContents; answers whether it was prevented. */
  navigate({ event, url }) {
    const e = makeEvent({ url });
    windows[0].webContents.emit(event, e, url);
    return { prevented: e.defaultPrevented };
  },
  /** Calls the recorded ipcMain handler as Electron would, with a sender frame at `senderUrl`. */
  async invoke({ channel, senderUrl, args }) {
    const handler = state.ipcHandlers.get(channel);
    if (!handler) throw new Error(`no ipcMain handler for '${channel}'`);
    const sender = windows[0]?.webContents;
    const event = { sender, senderFrame: senderUrl === null ? null : { url: senderUrl }, processId: 1 };
    // Structured clone, as Electron's IPC does with what a handler returns (see WebContents.send).
    return structuredClone(await handler(event, ...args));
  },
  /** Fetches a URL through the recorded protocol handler; the body comes back base64-encoded. */
  async fetch({ url }) {
    const scheme = new URL(url).protocol.replace(/:$/, '');
    const handler = state.protocolHandlers.get(scheme);
    if (!handler) throw new Error(`no protocol handler for '${scheme}'`);
    const response = await handler(new Request(url));
    const body = Buffer.from(await response.arrayBuffer());
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: body.toString('base64'),
    };
  },
  windowEvent({ name }) {
    windows[0].emit(name);
  },
  minimize() {
    windows[0].minimize();
  },
  secondInstance() {
    app.emit('second-instance', makeEvent(), [], process.cwd(), {});
  },
  // These two may end the app: answered first, done on the next turn, so the reply gets out.
  closeWindow() {
    setImmediate(() => windows[0].close());
  },
  quit() {
    setImmediate(() => app.quit());
  },
};

process.on('message', async (message) => {
  if (!message || typeof message !== 'object' || typeof message.op !== 'string') return;
  const { id, op, args } = message;
  try {
    if (!(op in ops)) throw new Error(`unknown op '${op}'`);
    const value = await ops[op](args ?? {});
    send({ type: 'reply', id, ok: true, value });
  } catch (e) {
    send({ type: 'reply', id, ok: false, error: e instanceof Error ? e.stack : String(e) });
  }
});
send({ type: 'loaded' });
