/**
 * Opens a workspace's SQLite file: WAL journal (readers never block the writer, and a crash loses at
 * most the open transaction), foreign keys on, and the schema migrated to the newest version this
 * build knows.
 *
 * [Note: No sqlite-vec] The sqlite-vec extension used to be loaded on every open and packaged, but no
 * table ever used it. Measured before removing it (100k × 512 unit vectors, k = 10, 20 queries, one
 * shared 2-core machine, so rough): vec0's brute-force KNN answered in 40 ms p50, the exact
 * VectorIndex (evaluation's, blocked scoring on ONNX Runtime) in 5.5 ms, with the same top 10 for
 * every query. An exact scan inside SQLite cannot beat the index the product already holds in memory,
 * and approximate search has its own option (usearch), so the extension went.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';
import { statements } from './statements.ts';

export type Db = Database.Database;

export class WorkspaceVersionError extends Error {
  override name = 'WorkspaceVersionError';
}

export function openDatabase(file: string, options: { readonly?: boolean } = {}): Db {
  const db = new Database(file, {
    readonly: options.readonly ?? false,
    fileMustExist: options.readonly ?? false,
    // Under Electron in development, the addon built for Electron's ABI (see scripts/electron-native.js,
    // [Note: Two builds of better-sqlite3]); everywhere else the default build.
    nativeBinding: process.versions.electron ? process.env.KFASHION_SQLITE_BINDING : undefined,
  });
  if (!options.readonly) db.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only an OS crash may lose the last commit.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) migrate(db);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db): void {
  const current = schemaVersion(db);
  const newest = MIGRATIONS.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new WorkspaceVersionError(
      `${db.name}: schema version ${current} was written by a newer K-Fashion Workbench (this one knows up to ${newest}). Update the app to open this workspace.`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

export function getMeta<T>(db: Db, key: string): T | undefined {
  const value = statements(db)
    .query<string>('meta.get', 'SELECT value FROM meta WHERE key = ?', 'pluck')
    .get(key);
  return value === undefined ? undefined : (JSON.parse(value) as T);
}

export function setMeta(db: Db, key: string, value: unknown): void {
  statements(db)
    .query(
      'meta.set',
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    )
    .run(key, JSON.stringify(value));
}
