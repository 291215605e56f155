/**
 * Tuning studies in the workspace database: studies, trials, their parameters and per-epoch
 * intermediate values. The store is the single source of truth (as Optuna's storages): a study is
 * resumed, pruned and summarised from these rows alone. Statements are prepared once per connection (statements.ts).
 *
 * A trial's state machine: WAITING (enqueued with fixed parameters) → RUNNING → COMPLETE | PRUNED |
 * FAIL. A RUNNING trial whose process is gone is marked FAIL with `interrupted` (see
 * `failInterrupted`), and the runner enqueues its parameters again.
 */
import type { ParamValue, TrialState } from '../../src-shared/tuning.ts';
import type { Db } from './database.ts';
import { type Query, type RowMode, statements } from './statements.ts';

export class StudyStoreError extends Error {
  override name = 'StudyStoreError';
}

export type StudyStatus = 'running' | 'done' | 'stopped';

export interface StudyRecord {
  id: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  status: StudyStatus;
  metric: string;
  protocol: string;
  settings: Record<string, unknown>;
}

export interface TrialRecord {
  id: number;
  studyId: number;
  number: number;
  state: TrialState;
  value: number | null;
  runId: string | null;
  error: string | null;
  interrupted: boolean;
  pid: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  attrs: Record<string, unknown>;
  params: Record<string, ParamValue>;
  /** step → value, steps ascending. */
  intermediate: Map<number, number>;
}

interface StudyRow {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  status: StudyStatus;
  metric: string;
  protocol: string;
  settings: string;
}

interface TrialRow {
  id: number;
  study_id: number;
  number: number;
  state: TrialState;
  value: number | null;
  run_id: string | null;
  error: string | null;
  interrupted: number;
  pid: number | null;
  started_at: string | null;
  finished_at: string | null;
  attrs: string;
}

const now = () => new Date().toISOString();

export class StudiesStore {
  private readonly s;

  constructor(readonly db: Db) {
    const st = statements(db);
    const q = (name: string, sql: string, mode?: RowMode): Query => st.query(`studies.${name}`, sql, mode);
    this.s = {
      insertStudy: q(
        'insertStudy',
        `INSERT INTO studies (name, created_at, updated_at, status, metric, protocol, settings)
         VALUES (?, ?, ?, 'running', ?, ?, ?)`,
      ),
      studyByName: q('studyByName', 'SELECT * FROM studies WHERE name = ?'),
      studies: q('studies', 'SELECT * FROM studies ORDER BY created_at, id'),
      setStatus: q('setStatus', 'UPDATE studies SET status = ?, updated_at = ? WHERE id = ?'),
      setSettings: q('setSettings', 'UPDATE studies SET settings = ?, updated_at = ? WHERE id = ?'),
      deleteStudy: q('deleteStudy', 'DELETE FROM studies WHERE id = ?'),
      nextNumber: q(
        'nextNumber',
        'SELECT COALESCE(MAX(number) + 1, 0) AS n FROM study_trials WHERE study_id = ?',
      ),
      insertTrial: q(
        'insertTrial',
        `INSERT INTO study_trials (study_id, number, state, pid, started_at, attrs) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertParam: q(
        'insertParam',
        'INSERT OR REPLACE INTO study_trial_params (trial_id, name, value, distribution) VALUES (?, ?, ?, ?)',
      ),
      trials: q('trials', 'SELECT * FROM study_trials WHERE study_id = ? ORDER BY number'),
      trialById: q('trialById', 'SELECT * FROM study_trials WHERE id = ?'),
      params: q(
        'params',
        `SELECT p.trial_id, p.name, p.value FROM study_trial_params p JOIN study_trials t ON t.id = p.trial_id
         WHERE t.study_id = ?`,
      ),
      values: q(
        'values',
        `SELECT v.trial_id, v.step, v.value FROM study_trial_values v JOIN study_trials t ON t.id = v.trial_id
         WHERE t.study_id = ? ORDER BY v.step`,
      ),
      trialParams: q('trialParams', 'SELECT name, value FROM study_trial_params WHERE trial_id = ?'),
      trialValues: q(
        'trialValues',
        'SELECT step, value FROM study_trial_values WHERE trial_id = ? ORDER BY step',
      ),
      start: q(
        'start',
        `UPDATE study_trials SET state = 'RUNNING', pid = ?, started_at = ? WHERE id = ? AND state = 'WAITING'`,
      ),
      report: q(
        'report',
        'INSERT OR REPLACE INTO study_trial_values (trial_id, step, value) VALUES (?, ?, ?)',
      ),
      finish: q(
        'finish',
        `UPDATE study_trials SET state = ?, value = ?, error = ?, finished_at = ?, pid = NULL
         WHERE id = ? AND state = 'RUNNING'`,
      ),
      setRun: q('setRun', 'UPDATE study_trials SET run_id = ? WHERE id = ?'),
      setAttrs: q('setAttrs', 'UPDATE study_trials SET attrs = ? WHERE id = ?'),
      running: q('running', `SELECT * FROM study_trials WHERE study_id = ? AND state = 'RUNNING'`),
      clearValues: q('clearValues', 'DELETE FROM study_trial_values WHERE trial_id = ?'),
      adopt: q('adopt', `UPDATE study_trials SET pid = ? WHERE id = ? AND state = 'RUNNING'`),
      interrupt: q(
        'interrupt',
        `UPDATE study_trials SET state = 'FAIL', interrupted = 1, error = ?, finished_at = ?, pid = NULL
         WHERE id = ? AND state = 'RUNNING'`,
      ),
    };
  }

  createStudy(
    name: string,
    metric: string,
    protocol: string,
    settings: Record<string, unknown>,
  ): StudyRecord {
    if (this.s.studyByName.get(name)) {
      throw new StudyStoreError(
        `A study named "${name}" already exists in this workspace; resume it with --resume ${name} or choose another --name.`,
      );
    }
    const t = now();
    this.s.insertStudy.run(name, t, t, metric, protocol, JSON.stringify(settings));
    return this.getStudy(name)!;
  }

  getStudy(name: string): StudyRecord | null {
    const row = this.s.studyByName.get(name) as StudyRow | undefined;
    return row ? studyFromRow(row) : null;
  }

  /** The study or an error listing the studies that exist. */
  requireStudy(name: string): StudyRecord {
    const s = this.getStudy(name);
    if (s) return s;
    const have = this.listStudies().map((x) => x.name);
    throw new StudyStoreError(
      `No study named "${name}" in this workspace (studies: ${have.length ? have.join(', ') : 'none'}).`,
    );
  }

  listStudies(): StudyRecord[] {
    return (this.s.studies.all() as StudyRow[]).map(studyFromRow);
  }

  setStatus(studyId: number, status: StudyStatus): void {
    this.s.setStatus.run(status, now(), studyId);
  }

  updateSettings(studyId: number, settings: Record<string, unknown>): void {
    this.s.setSettings.run(JSON.stringify(settings), now(), studyId);
  }

  removeStudy(studyId: number): void {
    this.s.deleteStudy.run(studyId);
  }

  /**
   * A new trial with its parameters, in one transaction. `state` RUNNING starts it now (owned by
   * `pid`); WAITING enqueues it for whoever runs the study next.
   */
  addTrial(
    studyId: number,
    params: Record<string, ParamValue>,
    opts: {
      state: 'RUNNING' | 'WAITING';
      pid?: number;
      distributions?: Record<string, unknown>;
      attrs?: Record<string, unknown>;
    },
  ): TrialRecord {
    const id = this.db.transaction(() => {
      const { n } = this.s.nextNumber.get(studyId) as { n: number };
      const info = this.s.insertTrial.run(
        studyId,
        n,
        opts.state,
        opts.state === 'RUNNING' ? (opts.pid ?? process.pid) : null,
        opts.state === 'RUNNING' ? now() : null,
        JSON.stringify(opts.attrs ?? {}),
      );
      const trialId = Number(info.lastInsertRowid);
      for (const [name, value] of Object.entries(params)) {
        this.s.insertParam.run(
          trialId,
          name,
          JSON.stringify(value),
          JSON.stringify(opts.distributions?.[name] ?? null),
        );
      }
      return trialId;
    })();
    return this.trial(id);
  }

  /** Sets parameters of a trial (a WAITING trial gets its sampled ones when it starts). */
  setParams(
    trialId: number,
    params: Record<string, ParamValue>,
    distributions: Record<string, unknown> = {},
  ): void {
    this.db.transaction(() => {
      for (const [name, value] of Object.entries(params)) {
        this.s.insertParam.run(
          trialId,
          name,
          JSON.stringify(value),
          JSON.stringify(distributions[name] ?? null),
        );
      }
    })();
  }

  /** WAITING → RUNNING; false when another process took it first. */
  startTrial(trialId: number, pid = process.pid): boolean {
    return this.s.start.run(pid, now(), trialId).changes === 1;
  }

  reportIntermediate(trialId: number, step: number, value: number): void {
    if (!Number.isFinite(value))
      throw new StudyStoreError(`trial ${trialId}: step ${step} value ${value} is not finite`);
    this.s.report.run(trialId, step, value);
  }

  /** Forgets a trial's per-epoch values (its trial restarted from epoch 1 on another queue worker). */
  clearIntermediate(trialId: number): void {
    this.s.clearValues.run(trialId);
  }

  /**
   * RUNNING trials of the study (those `which` accepts, by their attributes, e.g. a stage's) whose
   * process is not `alive` now belong to `pid` (this process), as
   * they are: a queue study's trial lives on in its queue job while the process that started it is
   * gone, so the resuming process takes it over instead of running it again (see
   * [Note: Trials on a queue]).
   */
  adoptRunning(
    studyId: number,
    alive: (pid: number | null) => boolean,
    which: (attrs: Record<string, unknown>) => boolean = () => true,
    pid = process.pid,
  ): TrialRecord[] {
    const out: TrialRecord[] = [];
    for (const r of this.s.running.all(studyId) as TrialRow[]) {
      if (r.pid === pid || alive(r.pid)) continue;
      if (!which(JSON.parse(r.attrs) as Record<string, unknown>)) continue;
      if (this.s.adopt.run(pid, r.id).changes === 1) out.push(this.trial(r.id));
    }
    return out;
  }

  setRunId(trialId: number, runId: string): void {
    this.s.setRun.run(runId, trialId);
  }

  mergeAttrs(trialId: number, attrs: Record<string, unknown>): void {
    const t = this.trial(trialId);
    this.s.setAttrs.run(JSON.stringify({ ...t.attrs, ...attrs }), trialId);
  }

  /** RUNNING → COMPLETE / PRUNED / FAIL; false if the trial was not running. */
  finishTrial(
    trialId: number,
    state: 'COMPLETE' | 'PRUNED' | 'FAIL',
    value: number | null,
    error?: string,
  ): boolean {
    if (state === 'COMPLETE' && (value === null || !Number.isFinite(value))) {
      throw new StudyStoreError(`trial ${trialId}: a complete trial needs a finite value (got ${value})`);
    }
    return this.s.finish.run(state, value, error ?? null, now(), trialId).changes === 1;
  }

  /**
   * RUNNING trials of the study whose process is not `alive` become FAIL (interrupted). Returns them
   * (with their parameters) so the caller can enqueue the same parameters again.
   */
  failInterrupted(studyId: number, alive: (pid: number | null) => boolean): TrialRecord[] {
    const rows = this.s.running.all(studyId) as TrialRow[];
    const out: TrialRecord[] = [];
    for (const r of rows) {
      if (alive(r.pid)) continue;
      const changed = this.s.interrupt.run(
        `interrupted: its process (${r.pid ?? 'unknown'}) ended while the trial was running`,
        now(),
        r.id,
      ).changes;
      if (changed === 1) out.push(this.trial(r.id));
    }
    return out;
  }

  trial(trialId: number): TrialRecord {
    const row = this.s.trialById.get(trialId) as TrialRow | undefined;
    if (!row) throw new StudyStoreError(`No trial with id ${trialId}`);
    const params: Record<string, ParamValue> = {};
    for (const p of this.s.trialParams.all(trialId) as { name: string; value: string }[]) {
      params[p.name] = JSON.parse(p.value) as ParamValue;
    }
    const intermediate = new Map<number, number>();
    for (const v of this.s.trialValues.all(trialId) as { step: number; value: number }[])
      intermediate.set(v.step, v.value);
    return trialFromRow(row, params, intermediate);
  }

  /** Every trial of the study with parameters and intermediate values, in number order (3 queries). */
  trials(studyId: number): TrialRecord[] {
    const rows = this.s.trials.all(studyId) as TrialRow[];
    const params = new Map<number, Record<string, ParamValue>>();
    for (const p of this.s.params.all(studyId) as { trial_id: number; name: string; value: string }[]) {
      let m = params.get(p.trial_id);
      if (!m) {
        m = {};
        params.set(p.trial_id, m);
      }
      m[p.name] = JSON.parse(p.value) as ParamValue;
    }
    const values = new Map<number, Map<number, number>>();
    for (const v of this.s.values.all(studyId) as { trial_id: number; step: number; value: number }[]) {
      let m = values.get(v.trial_id);
      if (!m) {
        m = new Map();
        values.set(v.trial_id, m);
      }
      m.set(v.step, v.value);
    }
    return rows.map((r) => trialFromRow(r, params.get(r.id) ?? {}, values.get(r.id) ?? new Map()));
  }
}

function studyFromRow(r: StudyRow): StudyRecord {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    status: r.status,
    metric: r.metric,
    protocol: r.protocol,
    settings: JSON.parse(r.settings) as Record<string, unknown>,
  };
}

function trialFromRow(
  r: TrialRow,
  params: Record<string, ParamValue>,
  intermediate: Map<number, number>,
): TrialRecord {
  return {
    id: r.id,
    studyId: r.study_id,
    number: r.number,
    state: r.state,
    value: r.value,
    runId: r.run_id,
    error: r.error,
    interrupted: r.interrupted === 1,
    pid: r.pid,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    attrs: JSON.parse(r.attrs) as Record<string, unknown>,
    params,
    intermediate,
  };
}
