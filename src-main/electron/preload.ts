/**
 * The renderer's only door to the main process: `window.kfashion.invoke(method, input)` and
 * `window.kfashion.subscribe(listener)` for the contract's events.
 *
 * Runs sandboxed, so it is bundled to one CommonJS file (see electron.vite.config.ts) and may
 * require only 'electron'. It exposes functions, never `ipcRenderer` itself, and forwards only the
 * contract's methods and events: a compromised page cannot reach channels, methods or events the
 * contract does not declare. Input validation happens in the main process, which does not trust this
 * side; event payloads are validated again by the client in the page.
 */
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import { allowedEvents, allowedMethods, api, apiEvents, type Transport } from '../../src-shared/api.ts';
import { API_ERROR_CODES, apiError, errorEnvelope } from '../../src-shared/api-errors.ts';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels.ts';

const methods = allowedMethods(api);
const events = allowedEvents(apiEvents);

const bridge: Required<Transport> = {
  invoke(method, input) {
    if (typeof method !== 'string' || !methods.has(method)) {
      return Promise.resolve(
        errorEnvelope(
          apiError('ApiError', `Unknown method: ${String(method)}`, API_ERROR_CODES.unknownMethod),
        ),
      );
    }
    return ipcRenderer.invoke(INVOKE_CHANNEL, method, input);
  },
  subscribe(listener) {
    if (typeof listener !== 'function') throw new TypeError('subscribe expects a function');
    const onEvent = (_e: IpcRendererEvent, event: unknown, payload: unknown) => {
      if (typeof event === 'string' && events.has(event)) listener(event, payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, onEvent);
    return () => {
      ipcRenderer.off(EVENT_CHANNEL, onEvent);
    };
  },
};

contextBridge.exposeInMainWorld('kfashion', bridge);
