/**
 * The evaluations table: one row per evaluation-suite run (an evaluation, a centrality pass, a
 * temperature study) naming its report file, the training run and checkpoint epoch it evaluated, and
 * a summary of its figures. The report files themselves are evaluation/results.ts's business.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export type EvaluationKind = 'evaluation' | 'centrality' | 'temperature-study';

export interface EvaluationRow {
  runId: string;
  kind: EvaluationKind;
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

export class EvaluationsStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Adds a row, or replaces the one with the same run id. */
  put(r: EvaluationRow): void {
    this.s
      .query(
        'evaluations.put',
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

  /** Rows newest first (optionally of one kind). */
  list(kind?: EvaluationKind): EvaluationRow[] {
    const rows = this.s
      .query<Omit<EvaluationRow, 'synthetic' | 'summary'> & { synthetic: number; summary: string }>(
        kind ? 'evaluations.listOfKind' : 'evaluations.list',
        `SELECT run_id AS runId, kind, created_at AS createdAt, checkpoint, checkpoint_epoch AS checkpointEpoch,
                protocol, synthetic, file, summary
         FROM evaluations ${kind ? 'WHERE kind = ?' : ''} ORDER BY created_at DESC, run_id DESC`,
      )
      .all(...(kind ? [kind] : []));
    return rows.map((r) => ({ ...r, synthetic: r.synthetic === 1, summary: JSON.parse(r.summary) }));
  }
}
