/**
 * Reads a multipart/form-data request into files (as bytes) and text fields, checking the field names
 * against what the route accepts. Size limits come from @fastify/multipart (per file: the server's
 * upload limit; a larger file fails with 413 while it streams in, before it is all in memory).
 */
import type { FastifyRequest } from 'fastify';
import type { UploadedImage } from '../recommend/recommender.ts';
import { badRequest, HttpError } from './http-errors.ts';

export interface MultipartBody {
  files: Map<string, UploadedImage[]>;
  fields: Map<string, string>;
}

export async function readMultipart(
  request: FastifyRequest,
  allowed: { files: Readonly<Record<string, number>>; fields: readonly string[] },
): Promise<MultipartBody> {
  try {
    return await readParts(request, allowed);
  } catch (e) {
    throw malformedMultipart(e) ?? e;
  }
}

/**
 * The multipart parser (busboy) reports a body cut short or a broken part header as a plain Error,
 * with no code or status: without this it would answer 500. Those are the client's bytes, so 400.
 */
function malformedMultipart(e: unknown): HttpError | null {
  if (!(e instanceof Error) || e instanceof HttpError) return null;
  const err = e as Error & { code?: unknown; statusCode?: unknown };
  if (err.code !== undefined || err.statusCode !== undefined) return null;
  if (!/unexpected end|terminated early|malformed|boundary|part header/i.test(err.message)) return null;
  return new HttpError(400, 'bad_multipart', `The multipart body cannot be read: ${err.message}`);
}

async function readParts(
  request: FastifyRequest,
  allowed: { files: Readonly<Record<string, number>>; fields: readonly string[] },
): Promise<MultipartBody> {
  const files = new Map<string, UploadedImage[]>();
  const fields = new Map<string, string>();
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const max = allowed.files[part.fieldname];
      if (max === undefined) {
        // Drain it, so the request can finish and the error reach the client.
        part.file.resume();
        throw badRequest(
          `unknown file field "${part.fieldname}"; this endpoint takes ${Object.keys(allowed.files)
            .map((f) => `"${f}"`)
            .join(' or ')}`,
          part.fieldname,
        );
      }
      const bytes = await part.toBuffer();
      const list = files.get(part.fieldname) ?? [];
      if (list.length >= max) {
        throw badRequest(
          `field "${part.fieldname}" takes at most ${max} file${max === 1 ? '' : 's'}`,
          part.fieldname,
        );
      }
      list.push({
        bytes,
        field: list.length === 0 && max === 1 ? part.fieldname : `${part.fieldname}[${list.length}]`,
        filename: part.filename || undefined,
      });
      files.set(part.fieldname, list);
    } else {
      if (!allowed.fields.includes(part.fieldname)) {
        throw badRequest(
          `unknown field "${part.fieldname}"; this endpoint takes ${[...Object.keys(allowed.files), ...allowed.fields].map((f) => `"${f}"`).join(', ')}`,
          part.fieldname,
        );
      }
      if (fields.has(part.fieldname))
        throw badRequest(`field "${part.fieldname}" is given twice`, part.fieldname);
      fields.set(part.fieldname, String(part.value));
    }
  }
  return { files, fields };
}

/** A multipart text field as a whole number in [min, max]; undefined when absent. */
export function intField(
  fields: Map<string, string>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = fields.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw badRequest(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      name,
    );
  }
  return Number(raw);
}

/** An optional text field that must be one of `allowed` (400 naming the field otherwise). */
export function choiceField<T extends string>(
  fields: Map<string, string>,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const raw = fields.get(name);
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!(allowed as readonly string[]).includes(value)) {
    throw badRequest(
      `${name} must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${JSON.stringify(raw)}`,
      name,
    );
  }
  return value as T;
}
