/**
 * The tasks a worker thread can run, by name. Inputs and outputs are structured-clonable plain data.
 * Kept apart from worker-main.ts so the main side can type its requests without loading worker code.
 */
import { type LabelFileResult, readLabelFile } from '../dataset/label-file.ts';

export const WORKER_TASKS = {
  'read-labels': (paths: string[]): LabelFileResult[] => paths.map(readLabelFile),
} satisfies Record<string, (payload: never) => unknown>;

export type WorkerTaskName = keyof typeof WORKER_TASKS;
export type WorkerTaskInput<K extends WorkerTaskName> = Parameters<(typeof WORKER_TASKS)[K]>[0];
export type WorkerTaskOutput<K extends WorkerTaskName> = ReturnType<(typeof WORKER_TASKS)[K]>;
