/**
 * Result files and run records of the evaluation suite: every file carries an ISO-8601 timestamp and
 * the run id in its body and a UTC stamp in its name (results/<kind>_<stamp>.json), and every run gets
 * a row in the workspace's `evaluations` table so the UI can list them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type EvaluationRow, EvaluationsStore } from '../store/evaluations-store.ts';
import type { Workspace } from '../store/workspace.ts';

export const SYNTHETIC_EVAL_NOTE =
  'SYNTHETIC: the image embeddings are stand-ins generated from the attributes, not FashionCLIP; these figures say nothing about real images.';

/** 2025-11-24T04:36:15.123Z → 20251124T043615123Z: sortable, safe in file names on every OS. */
export function fileStamp(d: Date): string {
  return d.toISOString().replace(/[-:.]/g, '');
}

/** results/<base><ext>, or <base>-2<ext>, … when a run in the same millisecond took the name. */
export function uniqueResultPath(dir: string, base: string, ext: string): string {
  let p = join(dir, `${base}${ext}`);
  for (let i = 2; existsSync(p); i++) p = join(dir, `${base}-${i}${ext}`);
  return p;
}

// One atomic JSON writer for the whole product (store/atomic-file.ts); re-exported for the
// evaluation modules that import it from here.
export { writeJsonAtomic } from '../store/atomic-file.ts';

/** One evaluation-suite run's row (store/evaluations-store.ts). */
export type EvaluationRecord = EvaluationRow;

export function recordEvaluation(ws: Workspace, r: EvaluationRecord): void {
  new EvaluationsStore(ws.db).put(r);
}

/** The workspace's evaluation runs, newest first (optionally of one kind). */
export function listEvaluations(ws: Workspace, kind?: EvaluationRecord['kind']): EvaluationRecord[] {
  return new EvaluationsStore(ws.db).list(kind);
}
