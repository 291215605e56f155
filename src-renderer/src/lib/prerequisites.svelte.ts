/**
 * Where the open workspace stands on the research loop (scanned? embedded? trained?), so every tab
 * can say what the next step is when its prerequisite is missing, with a button that goes there.
 * Reloaded whenever the workspace changes (app.revision).
 */
import { createContext } from 'svelte';
import type { AppState } from './app.svelte.ts';

export type Step = 'workspace' | 'scan' | 'embed' | 'train';

export class Prerequisites {
  items = $state<number | null>(null);
  embedded = $state<number | null>(null);
  trained = $state<boolean | null>(null);
  /** The last reading failed (the views then show nothing rather than a wrong hint). */
  failed = $state(false);

  constructor(private readonly app: AppState) {}

  async reload(): Promise<void> {
    if (!this.app.workspaceOpen) {
      this.items = null;
      this.embedded = null;
      this.trained = null;
      return;
    }
    try {
      const [summary, status] = await Promise.all([
        this.app.client.call('workspace.summary', {}),
        this.app.client.call('train.status', {}),
      ]);
      this.items = summary.items;
      this.embedded = Math.max(0, ...summary.embeddings.map((e) => e.count));
      this.trained = status.results !== null;
      this.failed = false;
    } catch {
      this.failed = true;
    }
  }

  /** The first missing step before `need` can be done, or null when everything it needs is there. */
  missing(need: Step): Step | null {
    if (!this.app.workspaceOpen) return 'workspace';
    if (this.failed || this.items === null) return null;
    const order: Step[] = ['scan', 'embed', 'train'];
    const done: Record<Step, boolean> = {
      workspace: true,
      scan: this.items > 0,
      embed: (this.embedded ?? 0) > 0,
      train: this.trained === true,
    };
    for (const s of order) {
      if (s === need) return null;
      if (!done[s]) return s;
    }
    return null;
  }
}

export const [getPrerequisites, setPrerequisites] = createContext<Prerequisites>();

/** Where each step is done: the tab and the element to scroll to. */
export const STEP_PLACE: Record<Step, { tab: string; anchor: string; label: string }> = {
  workspace: { tab: 'dataset', anchor: 'workspace-panel', label: 'Open a workspace' },
  scan: { tab: 'dataset', anchor: 'scan-panel', label: 'Scan a data folder' },
  embed: { tab: 'dataset', anchor: 'embed-panel', label: 'Embed the garment pictures' },
  train: { tab: 'train', anchor: 'train-panel', label: 'Train the JSON encoder' },
};
