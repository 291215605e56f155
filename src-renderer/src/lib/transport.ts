/**
 * How the UI reaches the core: the one place that knows whether this page runs inside the desktop
 * app (Electron IPC through the preload's `window.kfashion`) or in a browser (`kfashion web`: HTTP for
 * calls, a WebSocket for events). Everything else sees a contract Client and a `mediaUrl` function.
 *
 * Usage (main.ts):
 *   const { transport, mediaUrl } = pickTransport();
 *   const client = createClient(transport);
 *   client.on('job.progress', (p) => …);
 *   <img src={mediaUrl('crops/레트로/1234__상의.jpg')}>
 *
 * Media paths are workspace-relative (forward slashes), as the contract returns them. The server
 * (and Electron's media protocol) refuses anything outside the open workspace.
 */
import type { EventListener, Transport } from '../../../src-shared/api.ts';
import type { Envelope } from '../../../src-shared/api-errors.ts';

/** Electron's media scheme (src-main/electron/media-protocol.ts registers it; keep the two equal). */
export const MEDIA_SCHEME = 'kfashion-media';
/** Browser mode's media route (src-main/server/contract-plugin.ts MEDIA_PREFIX). */
export const MEDIA_PREFIX = '/media/';

export interface PickedTransport {
  kind: 'ipc' | 'http';
  transport: Transport;
  /**
   * URL of a workspace file (crop, chart, report, bundle) for <img src> or a download link. Takes a
   * workspace-relative path, or an `/api/files/…` URL from a catalog/recommendation result, or a
   * data: URL (returned as is); see mediaUrlFor.
   */
  mediaUrl: (workspacePath: string) => string;
}

/** What pickTransport reads of the page (typed structurally so tests can pass a stand-in). */
export interface HostWindow {
  readonly kfashion?: Transport;
  readonly location: { readonly origin: string };
}

export function pickTransport(win: HostWindow = globalThis as unknown as HostWindow): PickedTransport {
  if (win.kfashion) {
    return { kind: 'ipc', transport: win.kfashion, mediaUrl: (ref) => mediaUrlFor(ipcMediaUrl, ref) };
  }
  const origin = win.location.origin;
  return {
    kind: 'http',
    transport: createHttpTransport(origin),
    mediaUrl: (ref) => mediaUrlFor((p) => httpMediaUrl(origin, p), ref),
  };
}

function encodePath(workspacePath: string): string {
  return (
    workspacePath
      // Results written on Windows name files with backslashes (path.relative); URLs want slashes.
      .replaceAll('\\', '/')
      .replace(/^\/+/, '')
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/')
  );
}

export function ipcMediaUrl(workspacePath: string): string {
  return `${MEDIA_SCHEME}://workspace/${encodePath(workspacePath)}`;
}

export function httpMediaUrl(origin: string, workspacePath: string): string {
  return `${origin}${MEDIA_PREFIX}${encodePath(workspacePath)}`;
}

/** The REST server's file route (src-shared/recommend.ts workspaceFileUrl); see mediaUrlFor. */
const FILE_ROUTE = '/api/files/';

/**
 * A URL to show for an image reference from a result: a workspace-relative path, or one of the REST
 * server's `/api/files/<path>` URLs (catalog and recommendation results carry those), which do not
 * exist in the desktop app. Both become a media URL made by `toUrl`; data: URLs pass through.
 */
export function mediaUrlFor(toUrl: (workspacePath: string) => string, ref: string): string {
  if (ref.startsWith('data:')) return ref;
  if (ref.startsWith(FILE_ROUTE)) {
    const rel = ref
      .slice(FILE_ROUTE.length)
      .split('?')[0]!
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
    return toUrl(rel);
  }
  return toUrl(ref);
}

/** Module-level convenience: the media URL for the transport this page picked. */
export function mediaUrl(workspacePath: string): string {
  return pickTransport().mediaUrl(workspacePath);
}

// ---------------------------------------------------------------------------------------------
// HTTP + WebSocket (browser mode)

function networkEnvelope(message: string): Envelope {
  return { ok: false, error: { name: 'NetworkError', message } };
}

/**
 * `WebSocketImpl`: the browser's WebSocket by default (looked up when events are first subscribed,
 * so calls work where there is none); tests under Node pass the `ws` package's, which has its API.
 */
export function createHttpTransport(origin: string, WebSocketImpl?: typeof WebSocket): Transport {
  const listeners = new Set<EventListener>();
  let socket: WebSocket | null = null;
  let retryMs = 500;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;

  const connect = () => {
    const url = `${origin.replace(/^http/, 'ws')}/api/events`;
    const Impl = WebSocketImpl ?? globalThis.WebSocket;
    const ws = new Impl(url);
    socket = ws;
    ws.onopen = () => {
      retryMs = 500;
    };
    ws.onmessage = (message) => {
      let frame: { event?: unknown; payload?: unknown };
      try {
        frame = JSON.parse(String(message.data)) as typeof frame;
      } catch {
        return;
      }
      if (typeof frame.event !== 'string') return;
      for (const listener of listeners) listener(frame.event, frame.payload);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      // The server restarted or the laptop slept: come back, more slowly each time (up to 10 s).
      if (listeners.size > 0) {
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      }
    };
  };

  return {
    async invoke(method, input) {
      let response: Response;
      try {
        response = await fetch(`${origin}/api/rpc/${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
      } catch (e) {
        return networkEnvelope(
          `Cannot reach the workbench server at ${origin} (${e instanceof Error ? e.message : String(e)}). Is "kfashion web" still running?`,
        );
      }
      const text = await response.text();
      try {
        // Whatever the status, the body is the envelope; the client checks its shape.
        return JSON.parse(text) as Envelope;
      } catch {
        return networkEnvelope(
          `The server answered ${method} with HTTP ${response.status} and no JSON: ${text.slice(0, 200)}`,
        );
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!socket) {
        clearTimeout(retryTimer);
        connect();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearTimeout(retryTimer);
          const ws = socket;
          socket = null;
          ws?.close();
        }
      };
    },
  };
}
