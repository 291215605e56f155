/**
 * File-system errors in the words of a scan report: what went wrong, then the system's code, never
 * Node's bare `EACCES: permission denied, opendir` without saying what it means for the user.
 */

const MEANING: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'a symbolic link loop',
  ENOENT: 'not found: a dangling symbolic link, or removed during the scan',
  ENOTDIR: 'not a folder',
  EISDIR: 'a folder, not a file',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on this system',
  EIO: 'an input/output error (a failing disk or a lost network share)',
  ENAMETOOLONG: 'the path is too long',
  EBUSY: 'busy (locked by another program)',
};

export function fsErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "permission denied (EACCES)"; the message itself for errors that carry no known code. */
export function describeFsError(e: unknown): string {
  const code = fsErrorCode(e);
  if (code !== undefined) return `${MEANING[code] ?? 'cannot be read'} (${code})`;
  return e instanceof Error ? e.message : String(e);
}
