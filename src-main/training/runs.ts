/**
 * Runs: every training (and every temperature of a sweep) is a folder and a row.
 *
 *   runs/<id>/config.json       every setting that changes the result + the data fingerprint
 *   runs/<id>/run.json          status, times, process, best epoch, headline figures, parent, tags, note
 *   runs/<id>/split.json        the ordered train and validation item ids it trained on
 *   runs/<id>/checkpoints/      best.safetensors + best.json, last.safetensors + last.json, README.md
 *   runs/<id>/results/          training_results.json, training_summary.json, training_charts.png
 *   runs/<id>/evaluations/      evaluations of this run (each with its checkpoint epoch)
 *
 * [Note: Current run]
 * The seed's paths — checkpoints/best_model.* and results/training_{results,summary}.json,
 * training_charts.png — hold the CURRENT run's files: each time a run finishes it becomes current,
 * and `runs promote ID` makes another one current (until the next run finishes). The copies are
 * hard links where the file system allows (no bytes copied; the run's files are only ever replaced
 * by rename, never written in place, so a link never changes under a reader), each put in place by
 * rename, so a reader sees the old file or the new one, never half of one. Every one names its run id.
 * Anything computed from another run (an evaluation, a search) is "stale" wherever it is shown.
 *
 * [Note: Interrupted runs]
 * A running run records its process id and host in its row and run.json. A run still marked
 * `running` whose process is gone (same host) was killed: listing or opening it marks it
 * `interrupted`, resumable from its last.* checkpoint when it has one.
 */

import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { AugmentationSettings } from '../../src-shared/augmentation-config.ts';
import { quoteShort } from '../../src-shared/short-text.ts';
import type { JsonEncoderConfig } from '../encoders/json-encoder/json-encoder-types.ts';
import { tempPathFor, writeJsonAtomic } from '../store/atomic-file.ts';
import {
  type RunHeadline,
  type RunKind,
  type RunRow,
  type RunStatus,
  RunsStore,
} from '../store/runs-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { processAlive } from '../store/workspace-lock.ts';
import {
  CHECKPOINT_FILES,
  type CheckpointInfo,
  checkpointExists,
  RUN_CHECKPOINT_FILES,
  settleKilledSaves,
} from './checkpoints.ts';
import type { DataFingerprint } from './data-fingerprint.ts';
import type { TrainConfig } from './train-config.ts';

export const RUNS_DIR = 'runs';
export const RUN_CONFIG_FORMAT = 'kfashion-run-config';
export const RUN_STATUS_FORMAT = 'kfashion-run';

/**
 * What a user asked of runs that cannot be done. `code` says which kind, so both transports answer
 * with the right status: an unknown run is 404, a workspace without the run asked for (no current
 * run yet, a run still running) 409, anything else a bad request (400).
 */
export class RunError extends Error {
  override name = 'RunError';
  constructor(
    message: string,
    readonly code: 'bad_request' | 'unknown_id' | 'not_ready' = 'bad_request',
  ) {
    super(message);
  }
}

export interface RunPaths {
  dir: string;
  config: string;
  status: string;
  split: string;
  checkpoints: string;
  results: string;
  evaluations: string;
  bestWeights: string;
  bestInfo: string;
  lastWeights: string;
  lastInfo: string;
  resultsJson: string;
  summary: string;
  charts: string;
}

export function runPaths(ws: Workspace, runId: string): RunPaths {
  const dir = join(ws.root, RUNS_DIR, runId);
  const c = join(dir, 'checkpoints');
  const r = join(dir, 'results');
  return {
    dir,
    config: join(dir, 'config.json'),
    status: join(dir, 'run.json'),
    split: join(dir, 'split.json'),
    checkpoints: c,
    results: r,
    evaluations: join(dir, 'evaluations'),
    bestWeights: join(c, RUN_CHECKPOINT_FILES.best.weights),
    bestInfo: join(c, RUN_CHECKPOINT_FILES.best.info),
    lastWeights: join(c, RUN_CHECKPOINT_FILES.last.weights),
    lastInfo: join(c, RUN_CHECKPOINT_FILES.last.info),
    resultsJson: join(r, 'training_results.json'),
    summary: join(r, 'training_summary.json'),
    charts: join(r, 'training_charts.png'),
  };
}

/** runs/<id>/config.json: what a replay needs to repeat the run. */
export interface RunConfigFile {
  format: typeof RUN_CONFIG_FORMAT;
  version: 1;
  runId: string;
  kind: RunKind;
  createdAt: string;
  config: TrainConfig;
  /** The encoder's shape as built from the config and the vocabulary. */
  encoder: JsonEncoderConfig | null;
  imageEmbedding: { model: string; source: string; synthetic: boolean } | null;
  backend: string | null;
  /** The run's augmentation (the same as config.augmentation); null = none. */
  augmentation: AugmentationSettings | null;
  data: DataFingerprint | null;
  parent: { runId: string; epoch: number } | null;
  replayOf: string | null;
  study: string | null;
}

/** runs/<id>/run.json: the run's state, rewritten (atomically) on every change. */
export interface RunStatusFile {
  format: typeof RUN_STATUS_FORMAT;
  version: 1;
  runId: string;
  seq: number;
  kind: RunKind;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  updatedAt: string;
  pid: number | null;
  host: string | null;
  epochsPlanned: number | null;
  epochsRun: number;
  bestEpoch: number | null;
  headline: RunHeadline | null;
  parent: string | null;
  replayOf: string | null;
  study: string | null;
  tags: string[];
  note: string;
  error?: string;
}

const stores = new WeakMap<Workspace, RunsStore>();

/** The workspace's runs table (statements prepared once per open workspace). */
export function runsStore(ws: Workspace): RunsStore {
  let s = stores.get(ws);
  if (!s) {
    s = new RunsStore(ws.db);
    stores.set(ws, s);
  }
  return s;
}

export function readJsonFile<T>(path: string): T | null {
  try {
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : null;
  } catch {
    return null;
  }
}

export function readRunConfig(ws: Workspace, runId: string): RunConfigFile | null {
  return readJsonFile<RunConfigFile>(runPaths(ws, runId).config);
}

export function writeRunConfig(ws: Workspace, file: RunConfigFile): void {
  const p = runPaths(ws, file.runId);
  mkdirSync(p.dir, { recursive: true });
  writeJsonAtomic(p.config, file);
}

/** Writes run.json from the run's row (the row is the truth; the file travels with the folder). */
export function writeRunStatus(
  ws: Workspace,
  row: RunRow,
  extra: { epochsPlanned?: number | null; error?: string } = {},
): void {
  const p = runPaths(ws, row.id);
  if (!existsSync(p.dir)) return;
  const prev = readJsonFile<RunStatusFile>(p.status);
  const file: RunStatusFile = {
    format: RUN_STATUS_FORMAT,
    version: 1,
    runId: row.id,
    seq: row.seq,
    kind: row.kind,
    status: row.status,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    updatedAt: new Date().toISOString(),
    pid: row.pid,
    host: row.host,
    epochsPlanned:
      extra.epochsPlanned ??
      prev?.epochsPlanned ??
      (typeof row.config.epochs === 'number' ? row.config.epochs : null),
    epochsRun: row.epochsRun ?? 0,
    bestEpoch: row.bestEpoch,
    headline: row.headline,
    parent: row.parentId,
    replayOf: row.replayOf,
    study: row.study,
    tags: row.tags,
    note: row.note,
    ...((extra.error ?? prev?.error) ? { error: extra.error ?? prev?.error } : {}),
  };
  writeJsonAtomic(p.status, file);
}

export function writeSplitIds(ws: Workspace, runId: string, split: { train: string[]; val: string[] }): void {
  writeJsonAtomic(runPaths(ws, runId).split, split);
}

export function readSplitIds(ws: Workspace, runId: string): { train: string[]; val: string[] } | null {
  return readJsonFile(runPaths(ws, runId).split);
}

/** Marks `running` rows whose process is gone as `interrupted` (row and run.json). */
export function refreshInterrupted(ws: Workspace, rows?: RunRow[]): RunRow[] {
  const store = runsStore(ws);
  const all = rows ?? store.list();
  return all.map((r) => {
    if (r.status !== 'running' || processAlive(r.pid, r.host)) return r;
    store.setStatus(r.id, 'interrupted');
    const updated = { ...r, status: 'interrupted' as const };
    writeRunStatus(ws, updated);
    settleKilledSaves(runPaths(ws, r.id).checkpoints);
    return updated;
  });
}

export function getRun(ws: Workspace, runId: string): RunRow | null {
  const r = runsStore(ws).get(runId);
  return r ? (refreshInterrupted(ws, [r])[0] ?? null) : null;
}

/** Whether the run's best checkpoint is on disk. */
export function hasBestCheckpoint(ws: Workspace, runId: string): boolean {
  return checkpointExists(runPaths(ws, runId).checkpoints, 'best');
}

/** The workspace's current run id (see [Note: Current run]), or null before any run finished. */
export function currentRunId(ws: Workspace): string | null {
  adoptLegacyCheckpoint(ws);
  const mark = runsStore(ws).current();
  if (mark && runsStore(ws).get(mark.runId)) return mark.runId;
  return null;
}

/**
 * Resolves what a user typed for a run: its id, a unique start of it, its number (3 or #3),
 * `current` or `latest`.
 */
export function resolveRun(ws: Workspace, ref: string, what = 'run'): RunRow {
  adoptLegacyCheckpoint(ws);
  const store = runsStore(ws);
  const t = ref.trim();
  let row: RunRow | null = null;
  if (t === 'current') {
    const id = currentRunId(ws);
    if (!id)
      throw new RunError(
        `${what} current: this workspace has no current run yet (no training has finished). Train first: kfashion train --workspace ${ws.root}`,
        'not_ready',
      );
    row = store.get(id);
  } else if (t === 'latest') {
    row = store.list().at(-1) ?? null;
    if (!row) throw new RunError(`${what} latest: this workspace has no runs yet.`, 'not_ready');
  } else if (/^#?\d+$/.test(t)) {
    row = store.bySeq(Number(t.replace('#', '')));
  } else {
    row = store.get(t);
    if (!row) {
      const matches = store.byPrefix(t);
      if (matches.length > 1) {
        throw new RunError(
          `${what} "${t}" matches ${matches.length} runs (${matches
            .map((m) => m.id)
            .slice(0, 5)
            .join(', ')}); give more of the id.`,
        );
      }
      row = matches[0] ?? null;
    }
  }
  if (!row) {
    const all = store.list();
    const hint = all.length
      ? ` Runs here: ${all
          .slice(-5)
          .map((r) => `#${r.seq} ${r.id}`)
          .join(', ')}${all.length > 5 ? ', …' : ''} ("kfashion runs list").`
      : ' This workspace has no runs yet.';
    throw new RunError(`${what} ${quoteShort(t)}: no such run in ${ws.root}.${hint}`, 'unknown_id');
  }
  return refreshInterrupted(ws, [row])[0]!;
}

/** The files that make a run current, run-folder name → workspace path. */
function publishedFiles(ws: Workspace, runId: string): [string, string][] {
  const p = runPaths(ws, runId);
  const ck = ws.paths.checkpoints;
  const res = ws.paths.results;
  return [
    // Weights before their JSON, as the trainer writes them (the JSON holds the weights' checksum).
    [p.bestWeights, join(ck, CHECKPOINT_FILES.best.weights)],
    [p.bestInfo, join(ck, CHECKPOINT_FILES.best.info)],
    [join(p.checkpoints, 'README.md'), join(ck, 'README.md')],
    [p.resultsJson, join(res, 'training_results.json')],
    [p.summary, join(res, 'training_summary.json')],
    [p.charts, join(res, 'training_charts.png')],
  ];
}

/** Puts `src` at `dst` atomically: a hard link (or a copy) under a temporary name, then rename. */
function placeAtomic(src: string, dst: string): void {
  // The atomic-file helper's temporary name, so a killed process's leftover is swept like any other.
  const tmp = tempPathFor(dst);
  rmSync(tmp, { force: true });
  try {
    linkSync(src, tmp);
  } catch {
    copyFileSync(src, tmp);
  }
  renameSync(tmp, dst);
}

/** Makes `runId` the current run: its files at the seed's paths, and the mark in the database. */
export function makeCurrent(ws: Workspace, runId: string, promoted: boolean): void {
  if (!hasBestCheckpoint(ws, runId)) {
    throw new RunError(
      `Run ${runId} has no best checkpoint (no epoch finished), so it cannot be the current run.`,
    );
  }
  mkdirSync(ws.paths.checkpoints, { recursive: true });
  mkdirSync(ws.paths.results, { recursive: true });
  for (const [src, dst] of publishedFiles(ws, runId)) {
    if (existsSync(src)) placeAtomic(src, dst);
    else rmSync(dst, { force: true });
  }
  runsStore(ws).setCurrent({ runId, since: new Date().toISOString(), promoted });
}

/** No current run any more: the seed's paths are emptied (their run was removed). */
function clearCurrent(ws: Workspace): void {
  for (const [, dst] of publishedFiles(ws, 'none')) rmSync(dst, { force: true });
  runsStore(ws).setCurrent(null);
}

export type RunView = RunRow & {
  current: boolean;
  /** Absolute path of runs/<id>/, or null when the run has no files. */
  dir: string | null;
  hasBest: boolean;
  hasLast: boolean;
};

export function viewRun(ws: Workspace, r: RunRow, current = currentRunId(ws)): RunView {
  const dir = r.folder ? join(ws.root, r.folder) : null;
  const ck = runPaths(ws, r.id).checkpoints;
  return {
    ...r,
    current: r.id === current,
    dir,
    hasBest: dir !== null && checkpointExists(ck, 'best'),
    hasLast: dir !== null && checkpointExists(ck, 'last'),
  };
}

/** Every run, oldest first, with killed ones marked interrupted and the current one flagged. */
export function listRuns(ws: Workspace): RunView[] {
  adoptLegacyCheckpoint(ws);
  const current = currentRunId(ws);
  return refreshInterrupted(ws).map((r) => viewRun(ws, r, current));
}

export function promoteRun(ws: Workspace, ref: string): RunView {
  const row = resolveRun(ws, ref);
  if (row.status === 'running') {
    throw new RunError(`Run ${row.id} is still running; promote it when it has finished.`, 'not_ready');
  }
  makeCurrent(ws, row.id, true);
  return viewRun(ws, row);
}

/** Deletes a run's folder and row; the current run only with `force` (the newest other finished run becomes current). */
export function removeRun(
  ws: Workspace,
  ref: string,
  opts: { force?: boolean } = {},
): { removed: string; current: string | null } {
  const row = resolveRun(ws, ref);
  if (row.status === 'running') {
    throw new RunError(
      `Run ${row.id} is running (process ${row.pid} on ${row.host}); stop it before removing it.`,
    );
  }
  const wasCurrent = currentRunId(ws) === row.id;
  if (wasCurrent && !opts.force) {
    throw new RunError(
      `Run ${row.id} is the current run (its files are checkpoints/best_model.* and results/training_*); give --force to remove it anyway (the newest other finished run then becomes current), or promote another run first.`,
    );
  }
  const store = runsStore(ws);
  if (row.folder) {
    const abs = join(ws.root, row.folder);
    // Only ever a folder under runs/: a row can name nothing else.
    if (abs.startsWith(join(ws.root, RUNS_DIR) + sep)) rmSync(abs, { recursive: true, force: true });
  }
  store.remove(row.id);
  let current = currentRunId(ws);
  if (wasCurrent) {
    const next = store
      .list()
      .filter((r) => r.status === 'done' && hasBestCheckpoint(ws, r.id))
      .at(-1);
    if (next) makeCurrent(ws, next.id, false);
    else clearCurrent(ws);
    current = next?.id ?? null;
  }
  return { removed: row.id, current };
}

export function noteRun(ws: Workspace, ref: string, note: string): RunView {
  const row = resolveRun(ws, ref);
  runsStore(ws).setNote(row.id, note);
  const updated = { ...row, note };
  writeRunStatus(ws, updated);
  return viewRun(ws, updated);
}

export const TAG_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._:\-/=+]{0,63}$/u;

export function tagRun(ws: Workspace, ref: string, tag: string, opts: { remove?: boolean } = {}): RunView {
  const t = tag.trim();
  if (!TAG_PATTERN.test(t)) {
    throw new RunError(
      `tag "${tag}": expected 1-64 letters, digits or . _ : - / = + (starting with a letter or digit).`,
    );
  }
  const row = resolveRun(ws, ref);
  const tags = opts.remove ? row.tags.filter((x) => x !== t) : [...new Set([...row.tags, t])];
  runsStore(ws).setTags(row.id, tags);
  const updated = { ...row, tags };
  writeRunStatus(ws, updated);
  return viewRun(ws, updated);
}

/** A workspace-relative path with forward slashes. */
export const relPath = (ws: Workspace, abs: string): string => relative(ws.root, abs).split(sep).join('/');

const adopted = new WeakSet<Workspace>();

/**
 * A workspace made before runs existed has checkpoints/best_model.* (and maybe last.*) and
 * results/training_* but no runs/ folder: its checkpoint becomes a run (with the id it already
 * carries), with the config, history and figures its files hold. Done once, on first use.
 */
export function adoptLegacyCheckpoint(ws: Workspace): RunRow | null {
  if (adopted.has(ws)) return null;
  adopted.add(ws);
  const ck = ws.paths.checkpoints;
  const bestInfoPath = join(ck, CHECKPOINT_FILES.best.info);
  const bestWeightsPath = join(ck, CHECKPOINT_FILES.best.weights);
  if (!existsSync(bestInfoPath) || !existsSync(bestWeightsPath)) return null;
  const store = runsStore(ws);
  if (store.current()) return null;
  const best = readJsonFile<CheckpointInfo>(bestInfoPath);
  if (!best || typeof best.runId !== 'string' || !/^[\w.-]+$/.test(best.runId)) return null;
  const existing = store.get(best.runId);
  if (existing?.folder) return null;
  const p = runPaths(ws, best.runId);
  if (existsSync(p.dir)) return null;

  mkdirSync(p.checkpoints, { recursive: true });
  mkdirSync(p.results, { recursive: true });
  mkdirSync(p.evaluations, { recursive: true });
  const copy = (src: string, dst: string) => {
    if (existsSync(src)) placeAtomic(src, dst);
  };
  copy(bestWeightsPath, p.bestWeights);
  copy(bestInfoPath, p.bestInfo);
  copy(join(ck, 'README.md'), join(p.checkpoints, 'README.md'));
  const last = readJsonFile<CheckpointInfo>(join(ck, CHECKPOINT_FILES.last.info));
  if (last?.runId === best.runId) {
    copy(join(ck, CHECKPOINT_FILES.last.weights), p.lastWeights);
    copy(join(ck, CHECKPOINT_FILES.last.info), p.lastInfo);
  }
  const results = readJsonFile<{ runId?: string; history?: unknown[]; status?: string; startedAt?: string }>(
    join(ws.paths.results, 'training_results.json'),
  );
  const sameRun = results?.runId === best.runId;
  if (sameRun) {
    copy(join(ws.paths.results, 'training_results.json'), p.resultsJson);
    copy(join(ws.paths.results, 'training_summary.json'), p.summary);
    copy(join(ws.paths.results, 'training_charts.png'), p.charts);
  }
  const history = (last?.runId === best.runId ? last.resume?.history : undefined) ?? [];
  const startedAt = existing?.startedAt ?? last?.resume?.startedAt ?? results?.startedAt ?? best.timestamp;
  writeRunConfig(ws, {
    format: RUN_CONFIG_FORMAT,
    version: 1,
    runId: best.runId,
    kind: 'train',
    createdAt: startedAt,
    config: best.config,
    encoder: best.encoder,
    imageEmbedding: best.imageEmbedding,
    backend: best.backend,
    augmentation: null,
    // Only the ids' hash was kept before runs existed; the vectors and split were not recorded.
    data: null,
    parent: null,
    replayOf: null,
    study: null,
  });
  const m = best.metrics;
  const headline: RunHeadline | null = m
    ? {
        epoch: best.epoch,
        valLoss: m.valLoss,
        top1: m.top1,
        top5: m.top5,
        mrr: m.mrr,
        protocol: 'gallery (training validation)',
      }
    : null;
  const folder = relPath(ws, p.dir);
  if (existing) {
    store.setFolder(existing.id, folder);
    if (existing.status === 'running') store.setStatus(existing.id, 'interrupted');
  } else {
    store.insert({
      id: best.runId,
      kind: 'train',
      config: best.config as unknown as Record<string, unknown>,
      backend: best.backend,
      startedAt,
      folder,
      pid: 0,
      host: '',
      status: 'done',
    });
  }
  store.progress(best.runId, best.epoch, Math.max(history.length, best.epoch), headline);
  const row = store.get(best.runId)!;
  if (!row.note)
    store.setNote(
      row.id,
      'Adopted from a workspace made before runs existed: config and figures recovered from checkpoints/best_model.json.',
    );
  writeRunStatus(ws, store.get(best.runId)!, { epochsPlanned: best.config.epochs });
  store.setCurrent({ runId: best.runId, since: new Date().toISOString(), promoted: false });
  return store.get(best.runId);
}
