/**
 * Where a replayed run's settings come from: another run (`--from-run ID`), a config file
 * (`--config FILE`: a run's config.json, or a bare training config), or a config given as data (a
 * bundle's). The replay records the run it repeats and the data that run saw, so the trainer can
 * warn when the workspace's data differs.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Workspace } from '../store/workspace.ts';
import type { DataFingerprint } from '../training/data-fingerprint.ts';
import {
  RUN_CONFIG_FORMAT,
  type RunConfigFile,
  RunError,
  readRunConfig,
  resolveRun,
} from '../training/runs.ts';
import { parseTrainConfig, type TrainConfig } from '../training/train-config.ts';

export interface ReplaySource {
  config: TrainConfig;
  /** The run repeated, when known. */
  runId: string | null;
  /** The data it trained on, when recorded. */
  data: DataFingerprint | null;
}

/** Reads a run config (config.json of a run) or a bare TrainConfig from parsed JSON. */
export function replayFromJson(raw: unknown, source: string): ReplaySource {
  if (raw && typeof raw === 'object' && (raw as { format?: unknown }).format === RUN_CONFIG_FORMAT) {
    const f = raw as RunConfigFile;
    return {
      config: parseTrainConfig(f.config, `${source} → config`),
      runId: typeof f.runId === 'string' ? f.runId : null,
      data: f.data ?? null,
    };
  }
  return { config: parseTrainConfig(raw, source), runId: null, data: null };
}

export function replaySource(
  ws: Workspace,
  opts: { fromRun?: string; configFile?: string; replay?: ReplaySource },
): ReplaySource | null {
  const given = [opts.fromRun, opts.configFile, opts.replay].filter((x) => x !== undefined).length;
  if (given > 1) throw new RunError('Give only one of --from-run, --config and --from-bundle.');
  if (opts.replay) return opts.replay;
  if (opts.fromRun !== undefined) {
    const row = resolveRun(ws, opts.fromRun, '--from-run');
    const file = readRunConfig(ws, row.id);
    if (!file) {
      // A run without files (made before runs had folders): its row still holds the config.
      return { config: parseTrainConfig(row.config, `run ${row.id}'s config`), runId: row.id, data: null };
    }
    return { ...replayFromJson(file, `runs/${row.id}/config.json`), runId: row.id };
  }
  if (opts.configFile !== undefined) {
    const path = opts.configFile;
    if (!existsSync(path))
      throw new RunError(`--config ${path}: no such file (expected a run's config.json).`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new RunError(`--config ${path} is not valid JSON (${(e as Error).message}).`);
    }
    return replayFromJson(raw, `--config ${path}`);
  }
  return null;
}
