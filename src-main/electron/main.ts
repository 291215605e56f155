/**
 * The desktop app's entry point: lifecycle and the one window.
 *
 * Only files in src-main/electron/ import 'electron'; everything the window shows comes from the
 * core through the contract (src-shared/api.ts), served by ipc.ts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import icon from '../../resources/icon.png?asset';
import { ensureDemoWorkspace } from '../services/demo-workspace.ts';
import { type AppState, createHandlers } from './handlers.ts';
import { registerIpc } from './ipc.ts';
import { appUrlMatcher, hardenWebContents, installContentSecurityPolicy } from './security.ts';

const TITLE = 'K-Fashion Workbench';

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
const state: AppState = { workspace: null, synthetic: false };

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

  app
    .whenReady()
    .then(() => {
      installContentSecurityPolicy(session.defaultSession);
      registerIpc(createHandlers(state), isAppUrl);
      mainWindow = createWindow();
      // The first start writes the synthetic demo dataset and scans it (a few seconds); the window
      // is already up and asks app.info until the workspace is open.
      ensureDemoWorkspace(app.getPath('userData'))
        .then((demo) => {
          state.workspace = demo.workspace;
          state.synthetic = true;
        })
        .catch((error: unknown) => console.error('[kfashion] could not prepare the demo workspace:', error));
      app.on('activate', () => {
        if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
      });
    })
    .catch((error: unknown) => {
      console.error('[kfashion] failed to start:', error);
      app.exit(1);
    });
}
