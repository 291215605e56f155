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

/** What the main process knows about the open workspace (set once the demo workspace is ready). */
export interface AppState {
  workspace: string | null;
  synthetic: boolean;
}

export function createHandlers(state: AppState): Handlers {
  return {
    'app.info': async () => ({
      // Electron reads these from package.json (productName, else name; version).
      name: app.getName(),
      version: app.getVersion(),
      platform: process.platform,
      workspace: state.workspace,
      synthetic: state.synthetic,
    }),
  };
}
