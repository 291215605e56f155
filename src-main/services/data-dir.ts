/**
 * The per-user data folder (where the demo workspace lives). The same folder Electron's
 * `app.getPath('userData')` gives the desktop app — `<appData>/K-Fashion Workbench` — so `kfashion
 * web` and the desktop app share one demo workspace instead of building two.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** package.json's productName: Electron names the userData folder after it. */
export const PRODUCT_NAME = 'K-Fashion Workbench';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.KFASHION_DATA_DIR) return resolve(env.KFASHION_DATA_DIR);
  const home = homedir();
  // Electron's appData: %APPDATA% on Windows, ~/Library/Application Support on macOS,
  // $XDG_CONFIG_HOME or ~/.config elsewhere.
  const appData =
    platform === 'win32'
      ? (env.APPDATA ?? join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(home, 'Library', 'Application Support')
        : (env.XDG_CONFIG_HOME ?? join(home, '.config'));
  return join(appData, PRODUCT_NAME);
}
