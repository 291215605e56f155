/**
 * The renderer's only door to the main process: `window.kfashion.invoke(method, input)`.
 *
 * Runs sandboxed, so it is bundled to one CommonJS file (see electron.vite.config.ts) and may
 * require only 'electron'. It exposes a function, never `ipcRenderer` itself, and forwards only the
 * contract's methods: a compromised page cannot reach channels or methods the contract does not
 * declare. Input validation happens in the main process, which does not trust this side.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { allowedMethods, api, type Transport } from '../../src-shared/api.ts';
import { API_ERROR_CODES, apiError, errorEnvelope } from '../../src-shared/api-errors.ts';
import { INVOKE_CHANNEL } from './channels.ts';

const allowed = allowedMethods(api);

const bridge: Transport = {
  invoke(method, input) {
    if (typeof method !== 'string' || !allowed.has(method)) {
      return Promise.resolve(
        errorEnvelope(
          apiError('ApiError', `Unknown method: ${String(method)}`, API_ERROR_CODES.unknownMethod),
        ),
      );
    }
    return ipcRenderer.invoke(INVOKE_CHANNEL, method, input);
  },
};

contextBridge.exposeInMainWorld('kfashion', bridge);
