/**
 * What every view shares: the contract client, the job list, how to turn a workspace-relative path
 * into an image URL, and the open workspace (which views reload from when it changes).
 */
import { createContext } from 'svelte';
import type { ApiClient, AppInfo } from '../../../src-shared/api.ts';
import { errorMessage } from './format.ts';
import { Jobs } from './jobs.svelte.ts';
import { formatHash, parseHash } from './url-hash.ts';

/**
 * The URL hash as state (see url-hash.ts): views read their main selections from it when they open
 * and write them back as they change. Replaced, not pushed, so selections do not fill the history;
 * a tab change is pushed, so the browser's Back goes to the previous tab.
 */
export class UrlState {
  params = $state<Record<string, string>>({});

  constructor() {
    if (typeof window === 'undefined') return;
    this.params = parseHash(window.location.hash);
    // Back/Forward (and a hand-edited hash) change the view too.
    const reread = () => {
      this.params = parseHash(window.location.hash);
    };
    window.addEventListener('popstate', reread);
    window.addEventListener('hashchange', reread);
  }

  get(key: string): string | undefined {
    return this.params[key];
  }

  set(key: string, value: string, options: { push?: boolean } = {}): void {
    if (this.params[key] === value) return;
    this.params = { ...this.params, [key]: value };
    if (typeof window === 'undefined') return;
    const url = `${window.location.pathname}${window.location.search}${formatHash(this.params)}`;
    if (options.push) window.history.pushState(null, '', url);
    else window.history.replaceState(null, '', url);
  }
}

/** What an image tile shows in the detail panel (dataset sample, search hit, recommendation, product). */
export interface TileDetail {
  /** Item id (레트로/1234/상의) or catalog product id. */
  id: string;
  kind: 'item' | 'product';
  /** Workspace-relative image path (crop or product image), or null when there is none. */
  image: string | null;
  name?: string;
  score?: number | null;
  rank?: number | null;
  style?: string | null;
  category?: string | null;
  part?: string | null;
  split?: string | null;
  attributes?: Record<string, string | string[]>;
  /** Where the tile was clicked, e.g. "search result", "catalog". */
  source: string;
}

/** A search another tab asks the Search tab to run (a detail panel's "find similar"). */
export type SearchRequest =
  | { kind: 'attributes'; query: Record<string, string | string[]>; from: string }
  | { kind: 'image'; image: string; from: string };

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
  readonly url = new UrlState();
  /** The tile whose detail panel is open, or null. */
  detail = $state<TileDetail | null>(null);
  /** Set by a detail panel, taken (and cleared) by the Search tab. */
  searchRequest = $state<SearchRequest | null>(null);

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

  /** The open tab (in the URL, so a reload keeps it). */
  get tab(): string {
    return this.url.get('tab') ?? 'dataset';
  }

  openTab(id: string): void {
    this.url.set('tab', id, { push: true });
  }

  /** Hands a search to the Search tab and opens it. */
  requestSearch(request: SearchRequest): void {
    this.searchRequest = request;
    this.detail = null;
    this.openTab('search');
  }

  /** Takes the answer of workspace.open / workspace.pick; the workspace.changed event reloads views. */
  setInfo(info: AppInfo): void {
    this.info = info;
  }
}

export const [getApp, setApp] = createContext<AppState>();
