/** Serves the contract over Electron IPC: one channel, validated and dispatched by src-shared/api.ts. */
import { ipcMain } from 'electron';
import { api, dispatch, type Handlers } from '../../src-shared/api.ts';
import { API_ERROR_CODES, apiError, errorEnvelope } from '../../src-shared/api-errors.ts';
import { INVOKE_CHANNEL } from './channels.ts';

export function registerIpc(handlers: Handlers, isAppUrl: (url: string) => boolean): () => void {
  ipcMain.handle(INVOKE_CHANNEL, (event, method: unknown, input: unknown) => {
    // Electron's security checklist: check who is asking. Navigation is already locked to the
    // app's own pages, but a frame that got there anyway (a bug, a future iframe) gets nothing.
    const url = event.senderFrame?.url;
    if (url === undefined || !isAppUrl(url)) {
      return errorEnvelope(
        apiError('ApiError', 'IPC refused: sender is not the app', API_ERROR_CODES.forbidden),
      );
    }
    // Resolves to an envelope even on failure; throwing here would mangle the message
    // (see [Note: Why an envelope] in src-shared/api-errors.ts).
    return dispatch(api, handlers, method, input);
  });
  return () => ipcMain.removeHandler(INVOKE_CHANNEL);
}
