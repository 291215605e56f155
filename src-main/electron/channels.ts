/**
 * IPC channel names, in a file of their own so the preload can import them without pulling the
 * main-process side (ipcMain, handlers) into its bundle.
 */
export const INVOKE_CHANNEL = 'kfashion:invoke';
/** Main → renderer: one contract event per message, `(event name, payload)`. */
export const EVENT_CHANNEL = 'kfashion:event';
