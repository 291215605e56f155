/**
 * The tasks a worker thread can run, by name. Inputs and outputs are structured-clonable plain data.
 * Kept apart from worker-main.ts so the main side can type its requests without loading worker code.
 */
import { type LabelFileResult, readLabelFile } from '../dataset/label-file.ts';
import { countVocabulary, type VocabularyCounts } from '../dataset/vocabulary.ts';
import { openDatabase } from '../store/database.ts';

export const WORKER_TASKS = {
  'read-labels': (paths: string[]): LabelFileResult[] => paths.map(readLabelFile),
  /** The vocabulary's counts over a workspace database, read through a read-only connection. */
  'count-vocabulary': (databaseFile: string): VocabularyCounts => {
    const db = openDatabase(databaseFile, { readonly: true });
    try {
      return countVocabulary(db);
    } finally {
      db.close();
    }
  },
} satisfies Record<string, (payload: never) => unknown>;

export type WorkerTaskName = keyof typeof WORKER_TASKS;
export type WorkerTaskInput<K extends WorkerTaskName> = Parameters<(typeof WORKER_TASKS)[K]>[0];
export type WorkerTaskOutput<K extends WorkerTaskName> = ReturnType<(typeof WORKER_TASKS)[K]>;
