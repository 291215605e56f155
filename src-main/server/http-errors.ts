/**
 * Errors the HTTP server answers with, and the mapping from everything else (Fastify's own errors,
 * multipart limits, errors of the core) to a status and the JSON body `{ error: { message, ... } }`.
 *
 * Statuses: 400 bad JSON or fields, 401 no or wrong token, 403 a path that resolves outside the
 * workspace or a refused caller, 404 unknown id or route, 409 the workspace is not ready for the
 * request (e.g. no image encoder set) or busy, 413 too large, 415 not an image / unsupported content
 * type, 500 anything unexpected (message kept, stack logged). Errors of the core get their status from
 * the one map shared with the contract transport (error-status.ts).
 */
import type { FastifyError } from 'fastify';
import { z } from 'zod';
import { errorStatus } from './error-status.ts';

/** The one error body of the REST routes; its JSON Schema (every route's 4xx/5xx) is generated from this. */
export const httpErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    /** Stable machine-readable code, e.g. `unknown_id`, `not_an_image`, `too_large`. */
    code: z.string(),
    status: z.number().int(),
    /** The request field the error is about, when there is one (`k`, `ids[2]`, `image`). */
    field: z.string().optional(),
  }),
});
export type HttpErrorBody = z.infer<typeof httpErrorBodySchema>;

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, field?: string) =>
  new HttpError(400, 'bad_request', message, field);
export const notFound = (message: string, field?: string) => new HttpError(404, 'unknown_id', message, field);
export const tooLarge = (message: string, field?: string) => new HttpError(413, 'too_large', message, field);
export const notAnImage = (message: string, field?: string) =>
  new HttpError(415, 'not_an_image', message, field);

/** Turns anything thrown in a route into a status and the error body. */
export function toHttpError(e: unknown): { status: number; body: HttpErrorBody } {
  const body = (status: number, code: string, message: string, field?: string) => ({
    status,
    body: { error: { message, code, status, ...(field ? { field } : {}) } },
  });
  if (e instanceof HttpError) return body(e.status, e.code, e.message, e.field);
  const err = e as Partial<FastifyError> & { name?: string; message?: string; field?: string };
  const message = err.message ?? String(e);
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return body(400, 'bad_json', `The request body is not valid JSON: ${message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return body(413, 'too_large', `The request is too large: ${message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return body(
        415,
        'unsupported_media_type',
        `${message}. Send application/json, or multipart/form-data for image uploads.`,
      );
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_PROTO_VIOLATION':
      return body(400, 'bad_multipart', `The multipart body cannot be read: ${message}`);
  }
  if (err.validation) {
    // The message and field come from formatSchemaError (app.ts), which names the field.
    return body(400, 'bad_request', message, err.field);
  }
  // Core errors: the map the contract transport uses too, so REST and RPC answer alike.
  const mapped = errorStatus(err);
  if (
    mapped.status === 500 &&
    typeof err.statusCode === 'number' &&
    err.statusCode >= 400 &&
    err.statusCode < 500
  ) {
    // Fastify's and its plugins' own client errors not listed above carry their status (the core's
    // errors are all in the map, which is what the contract transport sees).
    return body(err.statusCode, 'bad_request', message);
  }
  return body(mapped.status, mapped.code, message, mapped.status < 500 ? err.field : undefined);
}
