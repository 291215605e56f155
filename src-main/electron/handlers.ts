/**
 * The desktop app's side of the contract: the shared session and handler table
 * (src-main/services/api-session.ts, api-handlers.ts) with the one thing only Electron has, a
 * folder dialog. Everything else is the same code browser mode serves over HTTP.
 */
import { app, BrowserWindow, dialog } from 'electron';
import { createHandlers } from '../services/api-handlers.ts';
import { ApiSession } from '../services/api-session.ts';

export { createHandlers };

export function createElectronSession(): ApiSession {
  return new ApiSession({
    mode: 'desktop',
    // Electron reads these from package.json (productName, else name; version).
    appName: app.getName(),
    version: app.getVersion(),
    dataDir: app.getPath('userData'),
    pickFolder: async (purpose) => {
      const options: Electron.OpenDialogOptions =
        purpose === 'dataset'
          ? {
              title: 'Choose a K-Fashion data folder (라벨링데이터 / 원천데이터)',
              buttonLabel: 'Use this folder',
              properties: ['openDirectory'],
            }
          : {
              title: 'Open a workspace, or a K-Fashion data folder to scan (e.g. C:/sample)',
              buttonLabel: 'Open',
              properties: ['openDirectory', 'createDirectory'],
            };
      const window = BrowserWindow.getFocusedWindow();
      const result = window
        ? await dialog.showOpenDialog(window, options)
        : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
  });
}
