/**
 * Writing a file so that no reader ever sees half of it: the bytes go to a temporary name in the same
 * folder, then a rename puts them in place (atomic on one file system). A crash or kill -9 before the
 * rename leaves the previous file untouched; what it can leave behind is the temporary file, whose
 * name says what it is (`.<name>.<pid>.tmp`: hidden, and never a name a reader opens), and
 * `removeStaleTempFiles` clears those of processes that are gone.
 *
 * [Note: disk full] A write that fails for lack of space (ENOSPC, or EDQUOT for a quota) removes its
 * temporary file, keeps the previous good file, and throws a DiskSpaceError naming the path that
 * failed, how many bytes it needed and how many were free, so the user knows what to clear.
 */
import { readdirSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class DiskSpaceError extends Error {
  override name = 'DiskSpaceError';
  constructor(
    readonly path: string,
    readonly neededBytes: number,
    readonly freeBytes: number | null,
    readonly code: string,
  ) {
    super(
      `Could not write ${path}: the disk is full (${code}). It needed ${formatBytes(neededBytes)}; ${
        freeBytes === null ? 'the free space could not be read' : `${formatBytes(freeBytes)} free there`
      }. The previous file (if any) is unchanged; free some space and run the command again.`,
    );
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]} (${n.toLocaleString('en-US')} bytes)`;
}

const TEMP_SUFFIX = /^\.(.+)\.(\d+)\.tmp$/;

/** The temporary name `writeFileAtomic` uses for `path` in this process. */
export function tempPathFor(path: string, pid = process.pid): string {
  return join(dirname(path), `.${basename(path)}.${pid}.tmp`);
}

export function isTempName(name: string): boolean {
  return TEMP_SUFFIX.test(name);
}

/** Bytes free for this user on `dir`'s file system, or null when it cannot be read. */
export function freeSpace(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * For writers that stream (a zip): the DiskSpaceError for `e` when it is a full disk, naming `path`
 * and `neededBytes` (the writer's best estimate), else null.
 */
export function diskFullError(e: unknown, path: string, neededBytes: number): DiskSpaceError | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code && FULL_CODES.has(code)
    ? new DiskSpaceError(path, neededBytes, freeSpace(dirname(path)), code)
    : null;
}

/** Folders this process has already cleared of a killed writer's temporary files. */
const swept = new Set<string>();

/**
 * Writes `data` to `path` through a temporary file and a rename (see the note at the top). The first
 * write into a folder in this process also removes temporary files that killed writers left there,
 * so a rerun after a crash cleans up after it (one directory listing per folder and process).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  if (!swept.has(dir)) {
    swept.add(dir);
    removeStaleTempFiles(dir);
  }
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code && FULL_CODES.has(code)) {
      const needed = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      throw new DiskSpaceError(path, needed, freeSpace(dirname(path)), code);
    }
    throw e;
  }
}

/**
 * Writes several files that belong together (a checkpoint's weights and the JSON holding their
 * checksum): every temporary file first, then the renames one after another, so a crash can only
 * fall between two renames (microseconds, not the time it takes to write a file). The temporary
 * files a crash leaves there are what `pendingTempFiles` finds, so a reader can complete the set.
 */
export function writeFilesAtomic(files: readonly (readonly [string, string | Uint8Array])[]): void {
  const temps: string[] = [];
  try {
    for (const [path, data] of files) {
      const dir = dirname(path);
      if (!swept.has(dir)) {
        swept.add(dir);
        removeStaleTempFiles(dir);
      }
      const tmp = tempPathFor(path);
      temps.push(tmp);
      try {
        writeFileSync(tmp, data);
      } catch (e) {
        // Free the space this set took before reporting what is free.
        for (const t of temps) rmSync(t, { force: true });
        const code = (e as NodeJS.ErrnoException).code;
        if (code && FULL_CODES.has(code)) {
          const needed = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
          throw new DiskSpaceError(path, needed, freeSpace(dirname(path)), code);
        }
        throw e;
      }
    }
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  files.forEach(([path], i) => {
    renameSync(temps[i]!, path);
  });
}

/** Temporary files of `path` left by writers that are gone (newest last). */
export function pendingTempFiles(path: string): string[] {
  const dir = dirname(path);
  const name = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: TEMP_SUFFIX.exec(n) }))
    .filter(({ m }) => m !== null && m[1] === name && !processAlive(Number(m[2])))
    .map(({ n }) => join(dir, n));
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files a killed writer left in `dir` (not those of running processes).
 * Returns how many were removed. A missing folder is not an error.
 */
export function removeStaleTempFiles(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = TEMP_SUFFIX.exec(name);
    if (!m || processAlive(Number(m[2]))) continue;
    rmSync(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/** A JSON file (pretty-printed, with a final newline) written whole or not at all. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
