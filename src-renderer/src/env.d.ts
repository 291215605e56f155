import type { Transport } from '../../src-shared/api.ts';

declare global {
  interface Window {
    /**
     * Exposed by the preload (src-main/electron/preload.ts) inside the desktop app; absent when the
     * same UI is served to a plain browser, which talks HTTP instead.
     */
    readonly kfashion?: Transport;
  }
}
