/**
 * Result files and run records of the evaluation suite: every file carries an ISO-8601 timestamp and
 * the run id in its body and a UTC stamp in its name (results/<kind>_<stamp>.json), and every run gets
 * a row in the workspace's `evaluations` table so the UI can list them.
 */
import type { Workspace } from '../store/workspace.ts';

// Result-file naming and the one atomic JSON writer live in store/ (below training's sweep, which
// writes results too); re-exported for the evaluation modules that import them from here.
export { writeJsonAtomic } from '../store/atomic-file.ts';
export { fileStamp, SYNTHETIC_EVAL_NOTE, uniqueResultPath } from '../store/result-files.ts';

export interface EvaluationRecord {
  runId: string;
  kind: 'evaluation' | 'centrality' | 'temperature-study';
  createdAt: string;
  /** The training run whose checkpoint was evaluated, if any. */
  checkpoint: string | null;
  /** That checkpoint's epoch. */
  checkpointEpoch?: number | null;
  protocol: string | null;
  synthetic: boolean;
  /** Relative to the workspace. */
  file: string;
  summary: Record<string, unknown>;
}

export function recordEvaluation(ws: Workspace, r: EvaluationRecord): void {
  ws.db
    .prepare(
      `INSERT OR REPLACE INTO evaluations (run_id, kind, created_at, checkpoint, checkpoint_epoch, protocol, synthetic, file, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      r.runId,
      r.kind,
      r.createdAt,
      r.checkpoint,
      r.checkpointEpoch ?? null,
      r.protocol,
      r.synthetic ? 1 : 0,
      r.file,
      JSON.stringify(r.summary),
    );
}

/** The workspace's evaluation runs, newest first (optionally of one kind). */
export function listEvaluations(ws: Workspace, kind?: EvaluationRecord['kind']): EvaluationRecord[] {
  const rows = ws.db
    .prepare(
      `SELECT run_id AS runId, kind, created_at AS createdAt, checkpoint, checkpoint_epoch AS checkpointEpoch,
              protocol, synthetic, file, summary
       FROM evaluations ${kind ? 'WHERE kind = ?' : ''} ORDER BY created_at DESC, run_id DESC`,
    )
    .all(...(kind ? [kind] : [])) as (Omit<EvaluationRecord, 'synthetic' | 'summary'> & {
    synthetic: number;
    summary: string;
  })[];
  return rows.map((r) => ({ ...r, synthetic: r.synthetic === 1, summary: JSON.parse(r.summary) }));
}
