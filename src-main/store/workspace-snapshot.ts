/**
 * A read-only copy of a workspace's database for trial workers on other processes or machines.
 *
 * [Note: Workers never write the SQLite file]
 * A queue study's trials train in `kfashion worker` processes that may sit on other machines and see
 * the workspace through a shared folder, where SQLite's locking cannot be trusted. So a worker never
 * opens workspace.db at all. The `tune` process (the workspace's one writer) copies the database once
 * per process into studies/<study>/snapshot-<stamp>.db (`VACUUM INTO` a temporary name, then rename,
 * so a half-written copy is never visible); a worker reads that file's bytes and opens them as a
 * private in-memory database. The trainer then runs exactly as in a local trial — it reads the items,
 * vocabulary and image vectors from the copy and writes its run row into the copy, where nobody else
 * sees it — while the run folder (checkpoints, results, run.json) goes to the shared workspace as
 * usual. The worker sends the rows it wrote (the run, its per-epoch metrics) back through the queue,
 * and the `tune` process records them in the real database. While a study runs, the `tune` process
 * holds the writer lock, so the data the copy holds cannot change under the workers.
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tempPathFor } from './atomic-file.ts';
import type { Db } from './database.ts';
import { Workspace } from './workspace.ts';

/** Writes a consistent copy of the workspace database to `file` (atomically). */
export function writeWorkspaceSnapshot(db: Db, file: string): void {
  const tmp = tempPathFor(file);
  rmSync(tmp, { force: true });
  try {
    // VACUUM INTO writes a compact, self-contained copy in rollback-journal mode (no -wal file), which
    // is what an in-memory deserialisation needs.
    db.prepare('VACUUM INTO ?').run(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The workspace at `root` with its database replaced by a private in-memory copy of `snapshotFile`. */
export function openWorkspaceSnapshot(root: string, snapshotFile: string): Workspace {
  const bytes = readFileSync(snapshotFile);
  const db: Db = new Database(bytes);
  db.pragma('foreign_keys = ON');
  return Workspace.withDatabase(root, db);
}
