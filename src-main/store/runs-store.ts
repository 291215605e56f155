/**
 * The workspace's training runs: one row per run (status, parent, tags, note, folder, the process
 * that writes it) and its per-epoch metrics, plus which run is the workspace's current one. Every
 * statement is prepared once per connection (statements.ts); nothing else in the product writes these tables.
 *
 * The run's files (config, checkpoints, results, evaluations) live in runs/<id>/ (training/runs.ts);
 * this table is the index the CLI, the API and the report list and filter.
 */
import { type Db, getMeta, setMeta } from './database.ts';
import { type Query, type RowMode, statements } from './statements.ts';

export const RUN_STATUSES = ['running', 'done', 'stopped', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** What made a run: a training, one temperature of a sweep, a tuning trial, a baseline fit. */
export type RunKind = 'train' | 'sweep' | 'tune' | 'baseline';

/** The best epoch's figures, with how they were measured. */
export type RunHeadline = {
  epoch: number;
  valLoss: number;
  top1: number;
  top5: number;
  mrr: number;
  /** Recall@10, when the figures come from an evaluation that measured it. */
  recall10?: number;
  /** e.g. "gallery, N=800 (training validation)". */
  protocol: string;
};

export type RunRow = {
  id: string;
  seq: number;
  kind: RunKind;
  status: RunStatus;
  config: Record<string, unknown>;
  backend: string | null;
  startedAt: string;
  finishedAt: string | null;
  summary: Record<string, unknown> | null;
  parentId: string | null;
  replayOf: string | null;
  study: string | null;
  tags: string[];
  note: string;
  /** runs/<id>, relative to the workspace; null when the run has no files (made before runs had folders). */
  folder: string | null;
  pid: number | null;
  host: string | null;
  bestEpoch: number | null;
  epochsRun: number | null;
  headline: RunHeadline | null;
};

export interface NewRun {
  id: string;
  kind: RunKind;
  config: Record<string, unknown>;
  backend: string | null;
  startedAt: string;
  parentId?: string | null;
  replayOf?: string | null;
  study?: string | null;
  tags?: string[];
  folder: string;
  pid: number;
  host: string;
  status?: RunStatus;
}

/** Which run is current, since when, and whether a user chose it (promote) or it was the newest. */
export interface CurrentRunMark {
  runId: string;
  since: string;
  promoted: boolean;
}

const CURRENT_META = 'current_run';

interface RawRow {
  id: string;
  seq: number;
  kind: RunKind;
  status: RunStatus;
  config: string;
  backend: string | null;
  started_at: string;
  finished_at: string | null;
  summary: string | null;
  parent_id: string | null;
  replay_of: string | null;
  study: string | null;
  tags: string;
  note: string;
  folder: string | null;
  pid: number | null;
  host: string | null;
  best_epoch: number | null;
  epochs_run: number | null;
  headline: string | null;
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

function fromRaw(r: RawRow): RunRow {
  return {
    id: r.id,
    seq: r.seq,
    kind: r.kind,
    status: r.status,
    config: parse<Record<string, unknown>>(r.config) ?? {},
    backend: r.backend,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    summary: parse(r.summary),
    parentId: r.parent_id,
    replayOf: r.replay_of,
    study: r.study,
    tags: parse<string[]>(r.tags) ?? [],
    note: r.note,
    folder: r.folder,
    pid: r.pid,
    host: r.host,
    bestEpoch: r.best_epoch,
    epochsRun: r.epochs_run,
    headline: parse(r.headline),
  };
}

export class RunsStore {
  private readonly s: Record<
    | 'insert'
    | 'get'
    | 'all'
    | 'byPrefix'
    | 'bySeq'
    | 'nextSeq'
    | 'start'
    | 'finish'
    | 'progress'
    | 'status'
    | 'tags'
    | 'note'
    | 'folder'
    | 'remove'
    | 'removeEvaluations'
    | 'putMetric'
    | 'metrics',
    Query
  >;

  constructor(readonly db: Db) {
    const st = statements(db);
    const q = (name: string, sql: string, mode?: RowMode): Query => st.query(`runs.${name}`, sql, mode);
    this.s = {
      insert: q(
        'insert',
        `INSERT INTO runs (id, seq, kind, status, config, backend, started_at, parent_id, replay_of, study,
                           tags, folder, pid, host)
         VALUES (@id, @seq, @kind, @status, @config, @backend, @startedAt, @parentId, @replayOf, @study,
                 @tags, @folder, @pid, @host)`,
      ),
      get: q('get', 'SELECT * FROM runs WHERE id = ?'),
      all: q('all', 'SELECT * FROM runs ORDER BY seq'),
      byPrefix: q('byPrefix', "SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY seq"),
      bySeq: q('bySeq', 'SELECT * FROM runs WHERE seq = ?'),
      nextSeq: q('nextSeq', 'SELECT COALESCE(MAX(seq), 0) + 1 FROM runs', 'pluck'),
      start: q(
        'start',
        `UPDATE runs SET status = 'running', config = ?, backend = ?, finished_at = NULL, pid = ?, host = ?
         WHERE id = ?`,
      ),
      finish: q(
        'finish',
        `UPDATE runs SET status = ?, finished_at = ?, summary = ?, best_epoch = ?, epochs_run = ?, headline = ?
         WHERE id = ?`,
      ),
      progress: q('progress', 'UPDATE runs SET best_epoch = ?, epochs_run = ?, headline = ? WHERE id = ?'),
      status: q('status', 'UPDATE runs SET status = ? WHERE id = ?'),
      tags: q('tags', 'UPDATE runs SET tags = ? WHERE id = ?'),
      note: q('note', 'UPDATE runs SET note = ? WHERE id = ?'),
      folder: q('folder', 'UPDATE runs SET folder = ? WHERE id = ?'),
      remove: q('remove', 'DELETE FROM runs WHERE id = ?'),
      removeEvaluations: q('removeEvaluations', 'DELETE FROM evaluations WHERE checkpoint = ?'),
      putMetric: q(
        'putMetric',
        'INSERT OR REPLACE INTO run_metrics (run_id, epoch, step, name, value) VALUES (?, ?, ?, ?, ?)',
      ),
      metrics: q(
        'metrics',
        'SELECT epoch, step, name, value FROM run_metrics WHERE run_id = ? ORDER BY epoch',
      ),
    };
  }

  /** Adds a run with the next sequence number; returns that number. */
  insert(run: NewRun): number {
    return this.db.transaction(() => {
      const seq = this.s.nextSeq.get() as number;
      this.s.insert.run({
        id: run.id,
        seq,
        kind: run.kind,
        status: run.status ?? 'running',
        config: JSON.stringify(run.config),
        backend: run.backend,
        startedAt: run.startedAt,
        parentId: run.parentId ?? null,
        replayOf: run.replayOf ?? null,
        study: run.study ?? null,
        tags: JSON.stringify(run.tags ?? []),
        folder: run.folder,
        pid: run.pid,
        host: run.host,
      });
      return seq;
    })();
  }

  get(id: string): RunRow | null {
    const r = this.s.get.get(id) as RawRow | undefined;
    return r ? fromRaw(r) : null;
  }

  /** Every run, oldest first. */
  list(): RunRow[] {
    return (this.s.all.all() as RawRow[]).map(fromRaw);
  }

  bySeq(seq: number): RunRow | null {
    const r = this.s.bySeq.get(seq) as RawRow | undefined;
    return r ? fromRaw(r) : null;
  }

  /** Runs whose id starts with `prefix` (LIKE wildcards in it are taken literally). */
  byPrefix(prefix: string): RunRow[] {
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    return (this.s.byPrefix.all(`${escaped}%`) as RawRow[]).map(fromRaw);
  }

  /** A resumed run is running again, in this process. */
  restart(id: string, config: Record<string, unknown>, backend: string, pid: number, host: string): void {
    this.s.start.run(JSON.stringify(config), backend, pid, host, id);
  }

  /** After each epoch: the best so far, so a killed run still lists its figures. */
  progress(id: string, bestEpoch: number | null, epochsRun: number, headline: RunHeadline | null): void {
    this.s.progress.run(bestEpoch, epochsRun, headline ? JSON.stringify(headline) : null, id);
  }

  finish(
    id: string,
    f: {
      status: RunStatus;
      finishedAt: string;
      summary: Record<string, unknown>;
      bestEpoch: number | null;
      epochsRun: number;
      headline: RunHeadline | null;
    },
  ): void {
    this.s.finish.run(
      f.status,
      f.finishedAt,
      JSON.stringify(f.summary),
      f.bestEpoch,
      f.epochsRun,
      f.headline ? JSON.stringify(f.headline) : null,
      id,
    );
  }

  setStatus(id: string, status: RunStatus): void {
    this.s.status.run(status, id);
  }

  setTags(id: string, tags: readonly string[]): void {
    this.s.tags.run(JSON.stringify(tags), id);
  }

  setNote(id: string, note: string): void {
    this.s.note.run(note, id);
  }

  setFolder(id: string, folder: string | null): void {
    this.s.folder.run(folder, id);
  }

  /** Deletes the row, (by cascade) its metrics, and the records of its evaluations (their files went with its folder). */
  remove(id: string): void {
    this.db.transaction(() => {
      this.s.removeEvaluations.run(id);
      this.s.remove.run(id);
    })();
  }

  /** One epoch's figures (every finite value), in one transaction. */
  putMetrics(id: string, epoch: number, step: number, values: Record<string, number>): void {
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(values)) {
        if (Number.isFinite(value)) this.s.putMetric.run(id, epoch, step, name, value);
      }
    })();
  }

  /** Per epoch, the metric values recorded for a run. */
  metrics(id: string): { epoch: number; step: number; values: Record<string, number> }[] {
    const rows = this.s.metrics.all(id) as { epoch: number; step: number; name: string; value: number }[];
    const out = new Map<number, { epoch: number; step: number; values: Record<string, number> }>();
    for (const r of rows) {
      let e = out.get(r.epoch);
      if (!e) {
        e = { epoch: r.epoch, step: r.step, values: {} };
        out.set(r.epoch, e);
      }
      e.values[r.name] = r.value;
    }
    return [...out.values()];
  }

  current(): CurrentRunMark | null {
    return getMeta<CurrentRunMark>(this.db, CURRENT_META) ?? null;
  }

  setCurrent(mark: CurrentRunMark | null): void {
    if (mark === null)
      statements(this.db).query('meta.delete', 'DELETE FROM meta WHERE key = ?').run(CURRENT_META);
    else setMeta(this.db, CURRENT_META, mark);
  }
}
