/** Request limits of the HTTP server, in one place (the routes and buildServer share them). */

/** Default upload limit per file (and for a JSON body): 10 MB, far above any product photo. */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** Most images one top10_to_new request may upload. */
export const MAX_UPLOAD_FILES = 32;

/** Room in an RPC body besides its one image: field names, a name, ids, a query (64 KB). */
export const RPC_BODY_MARGIN_BYTES = 64 * 1024;

/**
 * Largest RPC body browser mode accepts: one image at the upload limit, base64-encoded (4 bytes per
 * 3), plus a margin. Sized to the work (the UI sends one picture per call), so a caller cannot make
 * the server hold hundreds of megabytes per request.
 */
export function rpcBodyLimit(uploadLimitBytes: number = DEFAULT_UPLOAD_LIMIT_BYTES): number {
  return Math.ceil(uploadLimitBytes / 3) * 4 + RPC_BODY_MARGIN_BYTES;
}
