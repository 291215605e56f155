/** Request limits of the HTTP server, in one place (the routes and buildServer share them). */

/** Default upload limit per file (and for a JSON body): 10 MB, far above any product photo. */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** Most images one top10_to_new request may upload. */
export const MAX_UPLOAD_FILES = 32;
