/** The contract over Electron IPC, through the bridge the preload put on `window.kfashion`. */
import type { Transport } from '../../../src-shared/api.ts';

export function createIpcTransport(bridge: Transport | undefined = window.kfashion): Transport {
  return {
    invoke(method, input) {
      // Checked per call rather than up front, so the UI still mounts and can show this message
      // when the page is opened outside the desktop app.
      if (!bridge) {
        return Promise.reject(
          new Error('window.kfashion is missing: this page is not running inside the desktop app'),
        );
      }
      return bridge.invoke(method, input);
    },
  };
}
