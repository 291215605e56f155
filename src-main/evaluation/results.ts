/**
 * Result files and run records of the evaluation suite: every file carries an ISO-8601 timestamp and
 * the run id in its body and a UTC stamp in its name (results/<kind>_<stamp>.json), and every run gets
 * a row in the workspace's `evaluations` table so the UI can list them.
 */
import { type EvaluationRow, EvaluationsStore } from '../store/evaluations-store.ts';
import type { Workspace } from '../store/workspace.ts';

// Result-file naming and the one atomic JSON writer live in store/ (below training's sweep, which
// writes results too); re-exported for the evaluation modules that import them from here.
export { writeJsonAtomic } from '../store/atomic-file.ts';
export { fileStamp, SYNTHETIC_EVAL_NOTE, uniqueResultPath } from '../store/result-files.ts';

/** One evaluation-suite run's row (store/evaluations-store.ts). */
export type EvaluationRecord = EvaluationRow;

export function recordEvaluation(ws: Workspace, r: EvaluationRecord): void {
  new EvaluationsStore(ws.db).put(r);
}

/** The workspace's evaluation runs, newest first (optionally of one kind). */
export function listEvaluations(ws: Workspace, kind?: EvaluationRecord['kind']): EvaluationRecord[] {
  return new EvaluationsStore(ws.db).list(kind);
}
