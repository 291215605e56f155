/**
 * A workspace is one folder per experiment (layout in ARCHITECTURE.md): the SQLite database plus
 * folders for crops, checkpoints and results. Opening creates what is missing, so a new path just works.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Db, openDatabase } from './database.ts';
import { repairScanIndexes } from './scan-indexes.ts';

export interface WorkspacePaths {
  root: string;
  database: string;
  crops: string;
  checkpoints: string;
  results: string;
  similaritySearch: string;
  tempLogs: string;
}

export function workspacePaths(dir: string): WorkspacePaths {
  const root = resolve(dir);
  return {
    root,
    database: join(root, 'workspace.db'),
    crops: join(root, 'crops'),
    checkpoints: join(root, 'checkpoints'),
    results: join(root, 'results'),
    similaritySearch: join(root, 'results', 'similarity_search'),
    tempLogs: join(root, 'temp_logs'),
  };
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
}

export class Workspace {
  private constructor(
    readonly paths: WorkspacePaths,
    readonly db: Db,
  ) {}

  get root(): string {
    return this.paths.root;
  }

  /** Opens `dir` as a workspace, creating the folder and an empty database when they do not exist. */
  static open(dir: string, options: { create?: boolean } = {}): Workspace {
    const paths = workspacePaths(dir);
    if (existsSync(paths.root) && !statSync(paths.root).isDirectory()) {
      throw new WorkspaceError(
        `Workspace path ${paths.root} is a file; expected a folder (it is created if missing).`,
      );
    }
    if (!existsSync(paths.database) && options.create === false) {
      throw new WorkspaceError(
        `No workspace at ${paths.root}: ${paths.database} does not exist. Create one with "kfashion scan --data DIR --workspace ${dir}" or "kfashion demo".`,
      );
    }
    for (const d of [paths.root, paths.crops, paths.checkpoints, paths.results, paths.tempLogs]) {
      mkdirSync(d, { recursive: true });
    }
    const db = openDatabase(paths.database);
    // A scan killed while its indexes were down left them missing (Note: Scan indexes).
    repairScanIndexes(db, paths.root);
    return new Workspace(paths, db);
  }

  /**
   * A workspace whose files are at `dir` but whose database is `db`, already open: a trial worker's
   * private in-memory copy (store/workspace-snapshot.ts). Creates no folder and migrates nothing.
   */
  static withDatabase(dir: string, db: Db): Workspace {
    return new Workspace(workspacePaths(dir), db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
