/**
 * One writer per workspace, across processes: `workspace.lock` names the job that writes (scan,
 * embed, train, sweep, catalog import…), its process, host and start time. A second writer is
 * refused at once with WorkspaceBusyError; readers (eval of a finished run, search, serve) never
 * look at the lock.
 *
 * [Note: Workspace lock]
 * The lock is created atomically with its whole content: the JSON is written to a private temporary
 * file, which is then hard-linked to `workspace.lock`. link() fails with EEXIST when the lock exists,
 * so exactly one process wins, and nobody ever reads a half-written lock (O_EXCL + write would leave
 * an empty file visible for a moment). Where the file system has no hard links, O_EXCL is the fallback.
 *
 * A lock whose process is gone (same host, `kill(pid, 0)` says ESRCH) is stale and may be taken
 * over. Two processes may find the same stale lock at once; removing it is therefore done under a
 * second, short-lived guard file (`workspace.lock.takeover`, created the same way), and only if the
 * lock still holds the very token that was judged stale. The winner's new lock has another token,
 * so a late contender can never remove it: at most one process holds the lock. A guard left by a
 * process killed inside that millisecond window is itself removed once its process is gone.
 *
 * A lock from another host cannot be checked (its pid means nothing here): it is always respected,
 * and the message says so. A reused pid (the dead writer's number given to a new process) makes a
 * stale lock look alive; the message names the pid so the user can check and delete the file.
 *
 * proper-lockfile (the usual npm choice) judges staleness by the age of an mtime it refreshes every
 * few seconds, which needs a timer in every writer and cannot tell the user which process holds the
 * lock; the pid + host check here answers "who writes, since when" directly.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

export const LOCK_FILE = 'workspace.lock';
/** How long an unreadable lock file counts as a writer still writing it. */
const UNREADABLE_GRACE_MS = 5000;
/** The pid given to a lock that is still being written (see readHolder). */
const STARTING = -1;

export interface LockHolder {
  job: string;
  pid: number;
  hostname: string;
  since: string;
  /** The worker thread that took it (0 = the main thread): a crashed job thread's lock can be freed. */
  thread?: number;
  /** Unique per acquisition: release and takeover only ever remove the lock they judged. */
  token: string;
}

export class WorkspaceBusyError extends Error {
  override name = 'WorkspaceBusyError' as const;
  readonly code = 'workspace_busy' as const;
  constructor(
    readonly workspace: string,
    readonly holder: LockHolder,
    wanted: string,
  ) {
    const here = holder.hostname === hostname();
    super(
      `Workspace ${workspace} is busy: ${holder.job} (process ${holder.pid > 0 ? holder.pid : 'not yet known'}${here ? '' : ` on host ${holder.hostname}`}) has been writing to it since ${holder.since}, so ${wanted} cannot start. Wait for it to finish or stop it; reading (eval, search, serve) still works.${here ? '' : ` The lock comes from another machine and cannot be checked from here; if that process is gone, delete ${join(workspace, LOCK_FILE)}.`}`,
    );
  }
}

/** Whether the process that wrote a lock or a run may still be running (unknowable on another host). */
export function processAlive(pid: number | null | undefined, host: string | null | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  if (host && host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const thisHost = (): string => hostname();

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' && typeof h.token === 'string' ? h : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable or not our JSON. A moment old, it may be a writer between create and write (the
    // O_EXCL fallback): respected. Older, it is a lock of an unknown, dead writer.
    let young = false;
    try {
      young = Date.now() - statSync(path).mtimeMs < UNREADABLE_GRACE_MS;
    } catch {}
    return {
      job: 'a writer that is starting',
      pid: young ? STARTING : 0,
      hostname: hostname(),
      since: 'just now',
      token: 'unreadable',
    };
  }
}

/** Creates `path` holding `content`, atomically; false when it already exists. */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    // No hard links here (some network or FAT file systems): O_EXCL create, then write.
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return true;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

function unlinkIf(path: string, token: string): void {
  const h = readHolder(path);
  if (h && h.token === token) {
    try {
      unlinkSync(path);
    } catch {}
  }
}

/** Removes a stale lock under the takeover guard, only if it still holds `stale`'s token. */
function breakStale(lockPath: string, stale: LockHolder): void {
  const guardPath = `${lockPath}.takeover`;
  const token = randomBytes(8).toString('hex');
  const guard: LockHolder = {
    job: 'takeover',
    pid: process.pid,
    hostname: hostname(),
    since: new Date().toISOString(),
    token,
  };
  if (!createExclusive(guardPath, JSON.stringify(guard))) {
    const other = readHolder(guardPath);
    // A guard whose process died inside its (tiny) window: remove it; the caller's loop retries.
    if (other && !processAlive(other.pid, other.hostname)) unlinkIf(guardPath, other.token);
    return;
  }
  try {
    unlinkIf(lockPath, stale.token);
  } finally {
    unlinkIf(guardPath, token);
  }
}

export interface WriterLock {
  readonly holder: LockHolder;
  readonly path: string;
  release(): void;
}

/** Takes the workspace's writer lock for `job`, or throws WorkspaceBusyError naming the holder. */
export function acquireWriterLock(root: string, job: string): WriterLock {
  const path = join(root, LOCK_FILE);
  const holder: LockHolder = {
    job,
    pid: process.pid,
    hostname: hostname(),
    since: new Date().toISOString(),
    thread: threadId,
    token: randomBytes(8).toString('hex'),
  };
  const content = `${JSON.stringify(holder, null, 2)}\n`;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (createExclusive(path, content)) {
      let released = false;
      return {
        holder,
        path,
        release: () => {
          if (released) return;
          released = true;
          unlinkIf(path, holder.token);
        },
      };
    }
    const current = readHolder(path);
    if (current === null) continue; // released in between: try again
    if (current.pid === STARTING || processAlive(current.pid, current.hostname)) {
      throw new WorkspaceBusyError(root, current, job);
    }
    breakStale(path, current);
  }
  const last = readHolder(path);
  throw new WorkspaceBusyError(
    root,
    last ?? { job: 'another writer', pid: 0, hostname: hostname(), since: 'just now', token: '' },
    job,
  );
}

/**
 * Frees the lock a job thread of this process held when that thread died without releasing it (a
 * crash or an out-of-memory end skips `finally`). Only a lock of this process and that thread.
 */
export function releaseLockOfThread(root: string, thread: number): boolean {
  return releaseLockWhere(root, (h) => h.pid === process.pid && h.thread === thread);
}

/**
 * Frees the lock a job's child process held when that process died without releasing it (kill -9,
 * an out-of-memory end): only a lock naming that pid on this host, and only once the process is gone.
 * Without this the lock would still be judged stale by the next writer (its pid is dead); freeing
 * it here makes a status display say "free" at once.
 */
export function releaseLockOfProcess(root: string, pid: number): boolean {
  return releaseLockWhere(root, (h) => h.pid === pid && !processAlive(pid, h.hostname));
}

/** Removes the lock if a holder on this host names it and `held` says it is the dead one's. */
function releaseLockWhere(root: string, held: (h: LockHolder) => boolean): boolean {
  const path = join(root, LOCK_FILE);
  const h = readHolder(path);
  if (!h || h.hostname !== hostname() || !held(h)) return false;
  unlinkIf(path, h.token);
  return true;
}

/** Who holds the lock now (null when free or stale); for status displays. */
export function lockHolder(root: string): LockHolder | null {
  const h = readHolder(join(root, LOCK_FILE));
  return h && processAlive(h.pid, h.hostname) ? h : null;
}

/** Runs `fn` holding the workspace's writer lock; released however `fn` ends. */
export async function withWriterLock<T>(
  ws: { root: string },
  job: string,
  fn: () => Promise<T> | T,
): Promise<T> {
  const lock = acquireWriterLock(ws.root, job);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
