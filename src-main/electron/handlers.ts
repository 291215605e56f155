/**
 * The table that serves the contract in the desktop app. Typed by the contract, so adding a method
 * to src-shared/api.ts fails to compile until it is served here.
 *
 * For now the answers are local placeholders; a later issue builds the table from src-main/services
 * (the same Workbench object the CLI and the HTTP server call), leaving this file a thin adapter.
 */
import { app } from 'electron';
import type { Handlers } from '../../src-shared/api.ts';

export type { Handlers };

export function createHandlers(): Handlers {
  return {
    'app.info': async () => ({
      // Electron reads these from package.json (productName, else name; version).
      name: app.getName(),
      version: app.getVersion(),
      platform: process.platform,
      workspace: null,
      synthetic: false,
    }),
  };
}
