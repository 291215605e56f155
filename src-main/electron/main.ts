/**
 * The desktop app's entry point: lifecycle and the one window.
 *
 * Only files in src-main/electron/ import 'electron'; everything the window shows comes from the
 * core through the contract (src-shared/api.ts), served by ipc.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import icon from '../../resources/icon.png?asset';
import type { ApiSession } from '../services/api-session.ts';
import { EVENT_CHANNEL } from './channels.ts';
import { createElectronSession, createHandlers } from './handlers.ts';
import { registerIpc } from './ipc.ts';
import { handleMediaProtocol, registerMediaScheme } from './media-protocol.ts';
import { appUrlMatcher, hardenWebContents, installContentSecurityPolicy } from './security.ts';

const TITLE = 'K-Fashion Workbench';
/** How long quitting waits for jobs to store their work and stop (see 'before-quit'). */
const QUIT_TIMEOUT_MS = 15_000;

// Paths are relative to the bundle in out/main/; the preload is CommonJS because sandboxed
// preloads cannot be ES modules (see electron.vite.config.ts).
const PRELOAD = fileURLToPath(new URL('../preload/index.cjs', import.meta.url));
const RENDERER_INDEX = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const DEV_SERVER_URL = process.env['ELECTRON_RENDERER_URL'];

const isAppUrl = appUrlMatcher(DEV_SERVER_URL, RENDERER_INDEX);

// In development better-sqlite3 needs its Electron-ABI build (scripts/electron-native.js writes it;
// [Note: Two builds of better-sqlite3]). Set before any workspace opens; worker threads inherit it.
if (!app.isPackaged) {
  const { electron } = process.versions;
  process.env.KFASHION_SQLITE_BINDING ??= join(
    app.getAppPath(),
    'node_modules',
    '.kfashion-electron',
    `better_sqlite3-${electron}-${process.platform}-${process.arch}.node`,
  );
}

let mainWindow: BrowserWindow | null = null;
let apiSession: ApiSession | null = null;

// Privileged schemes must be declared before the app is ready.
registerMediaScheme();

/** Where the last opened workspace is remembered, so the next start reopens it. */
const lastWorkspaceFile = () => join(app.getPath('userData'), 'last-workspace.json');

function rememberedWorkspace(): string | null {
  try {
    const { workspace } = JSON.parse(readFileSync(lastWorkspaceFile(), 'utf8')) as { workspace?: unknown };
    return typeof workspace === 'string' && existsSync(join(workspace, 'workspace.db')) ? workspace : null;
  } catch {
    return null;
  }
}

/**
 * Opens the last workspace, or on the first start makes the SYNTHETIC demo workspace (a few seconds:
 * write the demo dataset, scan it, import its stand-in embeddings) as a job on a worker thread; the
 * window is already up, shows the job's progress, and asks app.info until a workspace is open.
 */
function openInitialWorkspace(s: ApiSession): void {
  const last = rememberedWorkspace();
  if (last) {
    try {
      s.openWorkspace(last, { reason: 'opened' });
      return;
    } catch (error) {
      console.error('[kfashion] could not reopen the last workspace, opening the demo:', error);
    }
  }
  s.setPreparing('preparing the SYNTHETIC demo workspace (first start)…');
  s.startJob(
    'demo',
    { action: 'open', baseDir: app.getPath('userData') },
    {
      workspace: null,
      onDone: (result) => s.openWorkspace((result as { workspace: string }).workspace, { reason: 'demo' }),
      onFailed: (error) => {
        console.error('[kfashion] could not prepare the demo workspace:', error);
        s.setPreparing(`the demo workspace could not be prepared: ${error.message}`);
      },
    },
  );
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    title: TITLE,
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    // Windows and macOS take the icon from the executable; Linux needs it per window.
    ...(process.platform === 'linux' ? { icon } : {}),
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  // Shown once painted, so the user never sees an empty white frame.
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    mainWindow = null;
  });
  const loaded = DEV_SERVER_URL ? window.loadURL(DEV_SERVER_URL) : window.loadFile(RENDERER_INDEX);
  loaded.catch((error: unknown) => console.error('[kfashion] failed to load the window:', error));
  return window;
}

// One instance per user: two would fight over the same workspace database.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });

  // Before any window exists, so no WebContents (including ones a future feature adds) escapes it.
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, isAppUrl));

  app.on('window-all-closed', () => {
    // macOS convention: the app stays in the dock until quit explicitly.
    if (process.platform !== 'darwin') app.quit();
  });

  // Quitting: ask every job to stop and store what it finished (a training run saves its last
  // finished epoch), release the ONNX sessions (their worker threads) and close the workspace
  // database, then quit — what browser mode does on Ctrl-C. Always, not only mid-job: a session
  // opened by a search or a recommendation would otherwise still be running when the process ends.
  // Bounded, because on Linux and Windows the window is gone by now and a job that never stops
  // would leave a process with no window to quit from. A second quit request quits at once.
  let closing = false;
  app.on('before-quit', (event) => {
    const s = apiSession;
    if (!s || closing) return;
    event.preventDefault();
    closing = true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((done) => {
      timer = setTimeout(() => {
        console.error(`[kfashion] jobs did not stop within ${QUIT_TIMEOUT_MS / 1000} s; quitting anyway`);
        done();
      }, QUIT_TIMEOUT_MS);
    });
    void Promise.race([s.close(), timeout])
      .catch((error: unknown) => console.error('[kfashion] closing the session failed:', error))
      .finally(() => {
        clearTimeout(timer);
        app.quit();
      });
  });

  app
    .whenReady()
    .then(() => {
      installContentSecurityPolicy(session.defaultSession);
      const s = createElectronSession();
      apiSession = s;
      registerIpc(createHandlers(s), isAppUrl);
      handleMediaProtocol(() => s.workspace);
      // Contract events go to every window of the app (there is one; a second would get them too).
      s.onEvent((event, payload) => {
        for (const w of BrowserWindow.getAllWindows()) {
          if (!w.webContents.isDestroyed()) w.webContents.send(EVENT_CHANNEL, event, payload);
        }
        if (event === 'workspace.changed' && s.workspace) {
          try {
            writeFileSync(lastWorkspaceFile(), JSON.stringify({ workspace: s.workspace }));
          } catch {
            // Remembering is a convenience; a read-only profile folder just means the demo next time.
          }
        }
      });
      mainWindow = createWindow();
      openInitialWorkspace(s);
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
      });
    })
    .catch((error: unknown) => {
      console.error('[kfashion] failed to start:', error);
      app.exit(1);
    });
}
