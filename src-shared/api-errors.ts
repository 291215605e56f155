/**
 * How results and errors cross a process boundary (Electron IPC today, HTTP in browser mode).
 *
 * [Note: Why an envelope]
 * Neither transport carries an Error faithfully: `ipcMain.handle` rejects the caller with
 * "Error invoking remote method 'kfashion:invoke': Error: <message>" and drops every own property,
 * and JSON drops everything an Error has. So the serving side never throws across the boundary: it
 * answers `{ ok: false, error: { name, message, code? } }`, and the calling side rebuilds an Error
 * whose message is exactly the one thrown, so the UI can show it as is.
 */
import { z } from 'zod';

export const wireErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
});

export type WireError = z.infer<typeof wireErrorSchema>;

export type Envelope<T = unknown> = { ok: true; result: T } | { ok: false; error: WireError };

export const envelopeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: wireErrorSchema }),
]);

/** Codes the contract layer itself produces; handlers may use any other string (e.g. Node's 'ENOENT'). */
export const API_ERROR_CODES = {
  unknownMethod: 'unknown_method',
  invalidInput: 'invalid_input',
  invalidOutput: 'invalid_output',
  badEnvelope: 'bad_envelope',
  forbidden: 'forbidden',
} as const;

/** The Error the calling side sees; `name` is the thrower's, so callers can still branch on it. */
export class ApiError extends Error {
  readonly code: string | undefined;

  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name;
    this.code = wire.code;
  }
}

export function apiError(name: string, message: string, code?: string): ApiError {
  return new ApiError(code === undefined ? { name, message } : { name, message, code });
}

/** Anything can be thrown in JavaScript; this turns it into something that survives serialisation. */
export function toWireError(thrown: unknown): WireError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    // Stacks stay on the serving side: they name local paths and mean nothing to the caller.
    return typeof code === 'string'
      ? { name: thrown.name, message: thrown.message, code }
      : { name: thrown.name, message: thrown.message };
  }
  return { name: 'Error', message: typeof thrown === 'string' ? thrown : safeString(thrown) };
}

export function fromWireError(wire: WireError): ApiError {
  return new ApiError(wire);
}

export function okEnvelope<T>(result: T): Envelope<T> {
  return { ok: true, result };
}

export function errorEnvelope(thrown: unknown): Envelope<never> {
  return { ok: false, error: toWireError(thrown) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
