/**
 * What every view shares: the contract client, the job list, how to turn a workspace-relative path
 * into an image URL, and the open workspace (which views reload from when it changes).
 */
import { createContext } from 'svelte';
import type { ApiClient, AppInfo } from '../../../src-shared/api.ts';
import { errorMessage } from './format.ts';
import { Jobs } from './jobs.svelte.ts';

export type MediaUrl = (workspacePath: string) => string;

export class AppState {
  info = $state<AppInfo | null>(null);
  /** Why app.info failed, shown in the footer (the window still works for what does not need it). */
  failure = $state<string | null>(null);
  /**
   * Bumped whenever the open workspace changes or is rescanned/retrained (`workspace.changed`);
   * views read it in their loading effects so they refetch.
   */
  revision = $state(0);
  readonly jobs: Jobs;

  constructor(
    readonly client: ApiClient,
    readonly media: MediaUrl,
  ) {
    this.jobs = new Jobs(client);
  }

  get workspaceOpen(): boolean {
    return Boolean(this.info?.workspace);
  }

  get synthetic(): boolean {
    return this.info?.synthetic ?? false;
  }

  /** Subscribes to events and keeps app.info fresh; returns the cleanup function. */
  start(): () => void {
    const offJobs = this.jobs.listen();
    const offWs = this.client.on('workspace.changed', () => {
      void this.refreshInfo().then((bumped) => {
        // A rescan or retrain keeps the path but changes what the views show.
        if (!bumped) this.revision++;
      });
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The first start may still be building the demo workspace: ask again until one is open.
    const ask = async () => {
      await this.refreshInfo();
      if (!this.info?.workspace && !this.failure) timer = setTimeout(ask, 1000);
    };
    void ask();
    return () => {
      clearTimeout(timer);
      offJobs();
      offWs();
    };
  }

  /** Asks app.info again; true when the open workspace changed (and views were told to reload). */
  async refreshInfo(): Promise<boolean> {
    try {
      const before = this.info?.workspace ?? null;
      this.info = await this.client.call('app.info', {});
      this.failure = null;
      if (this.info.workspace === before) return false;
      this.revision++;
      return true;
    } catch (thrown) {
      this.failure = errorMessage(thrown);
      return false;
    }
  }

  /** Takes the answer of workspace.open / workspace.pick; the workspace.changed event reloads views. */
  setInfo(info: AppInfo): void {
    this.info = info;
  }
}

export const [getApp, setApp] = createContext<AppState>();
