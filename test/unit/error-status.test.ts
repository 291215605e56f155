/**
 * The one error → status map: every error the core throws gets the same status from the REST error
 * handler (toHttpError, which sees the Error) and from the contract transport (which sees only the
 * envelope), and errors rebuilt from a worker thread (name, message, code) keep it too.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointEncoderError } from '../../src-main/evaluation/checkpoint-encoder.ts';
import { CatalogInputError, UnknownIdError } from '../../src-main/recommend/catalog.ts';
import { ImageInputError } from '../../src-main/recommend/image-input.ts';
import { RecommendError } from '../../src-main/recommend/recommender.ts';
import { statusOfEnvelope } from '../../src-main/server/contract-plugin.ts';
import { errorStatus } from '../../src-main/server/error-status.ts';
import { toHttpError } from '../../src-main/server/http-errors.ts';
import { JobConflictError, NoWorkspaceError } from '../../src-main/services/api-session.ts';
import { MediaPathError } from '../../src-main/services/media-path.ts';
import { PathNotAllowedError } from '../../src-main/services/path-roots.ts';
import { NpyError } from '../../src-main/store/npy.ts';
import { RunError } from '../../src-main/training/runs.ts';
import { API_ERROR_CODES, apiError, errorEnvelope } from '../../src-shared/api-errors.ts';

/** What the workspace lock throws (built by name: that is all the map reads). */
function workspaceBusy(): Error {
  const e = new Error('The workspace is busy: a train job (pid 123) holds workspace.lock');
  e.name = 'WorkspaceBusyError';
  return Object.assign(e, { code: 'workspace_busy' });
}

/** An error as a job's worker thread sends it back: a plain Error with the name and code. */
function fromWorker(e: Error): Error {
  const copy = new Error(e.message);
  copy.name = e.name;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? Object.assign(copy, { code }) : copy;
}

const TABLE: [string, () => Error, number][] = [
  ['not an image', () => new ImageInputError('image: not an image', 415, 'not_an_image', 'image'), 415],
  ['damaged image', () => new ImageInputError('image: truncated', 400, 'damaged_image', 'image'), 400],
  ['too many pixels', () => new ImageInputError('image: too many pixels', 413, 'too_large', 'image'), 413],
  ['unknown id', () => new UnknownIdError('no catalog product "x"', 'id'), 404],
  ['bad catalog field', () => new CatalogInputError('name is required', 'name'), 400],
  ['workspace not ready', () => new RecommendError('no image encoder yet'), 409],
  ['no trained encoder yet', () => new CheckpointEncoderError('No trained JSON encoder: train first'), 409],
  ['busy workspace (the lock)', workspaceBusy, 409],
  ['second writer job', () => new JobConflictError('a scan job is running'), 409],
  ['no workspace', () => new NoWorkspaceError('No workspace is open'), 409],
  ['unknown run', () => new RunError('run "x": no such run', 'unknown_id'), 404],
  ['no current run yet', () => new RunError('run current: no current run yet', 'not_ready'), 409],
  ['bad runs request', () => new RunError('runs compare needs at least two runs'), 400],
  ['not a .npy file', () => new NpyError('x: not a NumPy .npy file'), 400],
  ['path outside the roots', () => new PathNotAllowedError('path: /etc is outside'), 403],
  ['media path outside', () => new MediaPathError('leads outside the workspace', 403), 403],
  ['media path missing', () => new MediaPathError('No such file', 404), 404],
  ['invalid input', () => apiError('ValidationError', 'k: too small', API_ERROR_CODES.invalidInput), 400],
  ['unknown method', () => apiError('ApiError', 'Unknown method: x', API_ERROR_CODES.unknownMethod), 404],
  ['anything else', () => new Error('disk on fire'), 500],
  [
    'a Node error with its own code',
    () => Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }),
    500,
  ],
];

describe('one error → status map for REST and RPC', () => {
  it.each(TABLE)('%s: the same status on both transports', (_what, make, status) => {
    const e = make();
    const rest = toHttpError(e);
    const rpc = statusOfEnvelope(errorEnvelope(e));
    const worker = statusOfEnvelope(errorEnvelope(fromWorker(e)));
    expect({ rest: rest.status, rpc, worker }).toEqual({ rest: status, rpc: status, worker: status });
    expect(rest.body.error.status).toBe(status);
  });

  it('keeps the REST codes the API documents', () => {
    expect(errorStatus({ name: 'ImageInputError', code: 'not_an_image' })).toEqual({
      status: 415,
      code: 'not_an_image',
    });
    expect(toHttpError(new UnknownIdError('no product', 'id')).body.error).toMatchObject({
      code: 'unknown_id',
      field: 'id',
    });
    expect(errorStatus(workspaceBusy()).code).toBe('workspace_busy');
    // Names and codes are looked up as own keys only.
    expect(errorStatus({ name: 'constructor', code: '__proto__' }).status).toBe(500);
  });
});
