/**
 * The ONE map from an error to an HTTP status, shared by the REST routes (http-errors.ts) and the
 * contract transport (contract-plugin.ts), so both answer the same status for the same error: a file
 * that is not an image is 415 whether it came as multipart or as base64 in an RPC body, an unknown id
 * 404, a busy workspace 409.
 *
 * [Note: Status from name and code]
 * The map reads only an error's `name` and `code`, never its class or a `statusCode` property: an RPC
 * error reaches the transport as an envelope ({name, message, code}; see [Note: Why an envelope]), and
 * an error thrown in a job's worker thread comes back rebuilt from the same three fields. Deciding on
 * what survives every crossing is what keeps REST, RPC and jobs in agreement.
 */

export interface ErrorStatus {
  status: number;
  /** Stable machine-readable code for the REST body (`error.code`). */
  code: string;
}

/** Codes that say the status by themselves (set by the thrower or by the contract layer). */
const BY_CODE: Readonly<Record<string, ErrorStatus>> = {
  // The contract layer (src-shared/api-errors.ts API_ERROR_CODES).
  invalid_input: { status: 400, code: 'invalid_input' },
  unknown_method: { status: 404, code: 'unknown_method' },
  forbidden: { status: 403, code: 'forbidden' },
  // The request guard and the path roots.
  unauthorized: { status: 401, code: 'unauthorized' },
  path_not_allowed: { status: 403, code: 'path_not_allowed' },
  // Core errors (ImageInputError, UnknownIdError, CatalogInputError, RecommendError, MediaPathError).
  bad_request: { status: 400, code: 'bad_request' },
  damaged_image: { status: 400, code: 'damaged_image' },
  bad_path: { status: 400, code: 'bad_path' },
  path_refused: { status: 403, code: 'path_refused' },
  unknown_id: { status: 404, code: 'unknown_id' },
  not_found: { status: 404, code: 'not_found' },
  not_ready: { status: 409, code: 'not_ready' },
  workspace_busy: { status: 409, code: 'workspace_busy' },
  too_large: { status: 413, code: 'too_large' },
  not_an_image: { status: 415, code: 'not_an_image' },
};

/** Error names that say the status when the code does not. */
const BY_NAME: Readonly<Record<string, ErrorStatus>> = {
  ValidationError: { status: 400, code: 'invalid_input' },
  CatalogInputError: { status: 400, code: 'bad_request' },
  ImportEmbeddingsError: { status: 400, code: 'bad_request' },
  NpyError: { status: 400, code: 'bad_request' },
  SearchQueryError: { status: 400, code: 'bad_request' },
  WorkspaceError: { status: 400, code: 'bad_request' },
  PathNotAllowedError: { status: 403, code: 'path_not_allowed' },
  UnknownIdError: { status: 404, code: 'unknown_id' },
  JobNotFoundError: { status: 404, code: 'unknown_id' },
  // A second writer on one workspace: the session's own refusal, and the workspace lock's.
  JobConflictError: { status: 409, code: 'conflict' },
  WorkspaceBusyError: { status: 409, code: 'workspace_busy' },
  NoWorkspaceError: { status: 409, code: 'no_workspace' },
  // The workspace cannot serve the request yet (no encoder, no vectors, no centrality).
  CentralityError: { status: 409, code: 'not_ready' },
  // No trained JSON encoder yet (search by attributes before training), or a checkpoint it cannot read.
  CheckpointEncoderError: { status: 409, code: 'not_ready' },
  WorkspaceEncoderError: { status: 409, code: 'not_ready' },
  EmbeddingStoreError: { status: 409, code: 'not_ready' },
  RecommendError: { status: 409, code: 'not_ready' },
  ModelFilesError: { status: 409, code: 'not_ready' },
  ModelRegistryError: { status: 409, code: 'not_ready' },
  ImageEncoderError: { status: 409, code: 'not_ready' },
  PreprocessConfigError: { status: 409, code: 'not_ready' },
  // A desktop-only method (the folder dialogs) called in browser mode: not here, like an unknown
  // method, rather than a 5xx that says the server failed.
  NotAvailableError: { status: 404, code: 'not_available' },
};

const INTERNAL: ErrorStatus = { status: 500, code: 'internal' };

/** The status (and REST code) for an error, from its name and code (see [Note: Status from name and code]). */
export function errorStatus(e: { name?: unknown; code?: unknown }): ErrorStatus {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && Object.hasOwn(BY_CODE, code)) return BY_CODE[code]!;
  const name = typeof e.name === 'string' ? e.name : undefined;
  if (name !== undefined && Object.hasOwn(BY_NAME, name)) return BY_NAME[name]!;
  return INTERNAL;
}
