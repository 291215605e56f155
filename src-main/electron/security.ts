/**
 * Locks the renderer down: what it may load (CSP), where it may go (navigation), what it may open
 * (new windows) and what it may ask for (permissions). The UI only ever shows our own pages; all
 * data reaches it through the contract, so anything else it tries is refused.
 */
import { pathToFileURL } from 'node:url';
import type { Session, WebContents } from 'electron';

/**
 * Sent as a header by the main process and repeated in src-renderer/index.html's <meta>: the header
 * covers the dev server (http), the <meta> covers the built file (file:// responses have no headers
 * to rewrite). Keep the two identical.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // kfashion-media: workspace images through the app's media protocol (media-protocol.ts).
  "img-src 'self' data: blob: kfashion-media:",
  // Svelte's transitions and animations work by writing inline style attributes and <style> keyframes
  // at run time; without 'unsafe-inline' they silently do nothing. Scripts stay 'self'-only, which
  // is what guards against injected code.
  "style-src 'self' 'unsafe-inline'",
  // 127.0.0.1: the local HTTP/WebSocket server of browser mode, on whatever port it was given.
  "connect-src 'self' ws://127.0.0.1:* http://127.0.0.1:* kfashion-media:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * Which URLs are the app's own pages: the dev server's origin when developing, otherwise the built
 * renderer's folder. file:// URLs all share the opaque origin "null", hence the path prefix check.
 */
export function appUrlMatcher(devServerUrl: string | undefined, rendererIndexFile: string) {
  if (devServerUrl) {
    const origin = new URL(devServerUrl).origin;
    return (url: string): boolean => safeOrigin(url) === origin;
  }
  const index = pathToFileURL(rendererIndexFile);
  const folder = new URL('.', index).href;
  return (url: string): boolean => {
    const parsed = safeUrl(url);
    return parsed !== null && parsed.protocol === 'file:' && parsed.href.startsWith(folder);
  };
}

export function installContentSecurityPolicy(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  // Camera, microphone, notifications, geolocation...: the app needs none of them, so no page can
  // get them. A later feature that needs one allows it here, by name.
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
}

/** Applied to every WebContents the app creates (see the 'web-contents-created' hook in main.ts). */
export function hardenWebContents(contents: WebContents, isAppUrl: (url: string) => boolean): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function safeUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function safeOrigin(url: string): string | null {
  return safeUrl(url)?.origin ?? null;
}
