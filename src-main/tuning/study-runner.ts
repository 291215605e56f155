/**
 * Runs a study's trials one after another until it has `trials` finished ones, reading and writing
 * everything through the study store so that an interrupted study resumes where it stopped.
 *
 * [Note: What counts as a finished trial]
 * COMPLETE, PRUNED and FAIL trials count towards the study's trial budget — a trial that crashed with
 * an error is recorded with that error and the study goes on. A trial whose process ended mid-trial
 * (Ctrl-C, kill -9, power loss) is not a result: it is marked FAIL with `interrupted`, does not count,
 * and its parameters are enqueued again (WAITING), so `--resume` finishes the remaining trials without
 * repeating finished ones. A RUNNING trial of another live process counts as taken.
 *
 * The objective (train a run and evaluate it) is injected, so this loop is tested without training.
 *
 * [Note: Trials on a queue]
 * With a queue (`tune --queue`), the objective hands the trial to a BullMQ job that a worker process
 * trains, and several trials are in flight at once (`parallel`). Such a trial outlives the process
 * that started it: after Ctrl-C or kill -9 of `tune` its job stays in Redis and a worker finishes it.
 * So in queue mode (`adoptRunning`) an interrupted RUNNING trial is not failed and enqueued again as a
 * new number: the resuming process adopts it and runs its objective again, which finds the same job
 * (its id is the study and the trial number) and waits for its result. A trial is thus recorded once,
 * by number, whichever process sees its job finish.
 */
import type { ParamValue } from '../../src-shared/tuning.ts';
import type { StudiesStore, StudyRecord, TrialRecord } from '../store/studies-store.ts';
import type { Pruner } from './pruners.ts';
import type { FrozenTrial, Sampler } from './samplers.ts';
import type { SearchSpace } from './search-space.ts';

/** Thrown by `TrialContext.report`'s caller (or the objective) to end a trial as PRUNED. */
export class TrialPruned extends Error {
  override name = 'TrialPruned';
  constructor(readonly step: number) {
    super(`pruned at epoch ${step}`);
  }
}

export interface TrialContext {
  trialId: number;
  number: number;
  /** The trial's settings: the space's fixed values and the sampled ones. */
  params: Record<string, ParamValue>;
  attrs: Record<string, unknown>;
  /** Records epoch `step`'s figure; true when the pruner says the trial should stop now. */
  report(step: number, value: number): boolean;
  setRunId(runId: string): void;
  signal?: AbortSignal;
}

export interface TrialOutcome {
  value: number;
  attrs?: Record<string, unknown>;
}

export type Objective = (trial: TrialContext) => Promise<TrialOutcome>;

export interface RunStudyOptions {
  store: StudiesStore;
  study: StudyRecord;
  space: SearchSpace;
  sampler: Sampler;
  pruner: Pruner;
  /** Finished trials wanted (of this stage when `stage` is given). */
  trials: number;
  objective: Objective;
  /** Stop starting new trials after this long (the running one finishes). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Only trials stamped with this stage count, and only they inform the sampler and pruner. */
  stage?: string;
  onTrialDone?: (t: TrialRecord) => void;
  /** Whether a process still runs (default: signal 0). */
  isAlive?: (pid: number | null) => boolean;
  now?: () => number;
  /** Trials in flight at once (default 1: one after another); asked again whenever a slot may open. */
  parallel?: () => number;
  /**
   * Queue mode (see [Note: Trials on a queue]): interrupted RUNNING trials are adopted and their
   * objective run again, and a cancel leaves running trials RUNNING for a later resume.
   */
  adoptRunning?: boolean;
}

export interface RunStudyResult {
  /** Trials this call finished. */
  ran: number;
  /** Finished trials of the study (stage) now. */
  finished: number;
  /** Interrupted trials found and enqueued again. */
  requeued: number;
  stoppedBy: 'done' | 'timeout' | 'signal';
}

export function processAlive(pid: number | null): boolean {
  if (pid === null || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const counts = (t: TrialRecord) =>
  t.state === 'COMPLETE' ||
  t.state === 'PRUNED' ||
  (t.state === 'FAIL' && !t.interrupted) ||
  t.state === 'RUNNING';

export const toFrozen = (t: TrialRecord): FrozenTrial => ({
  number: t.number,
  state: t.state,
  value: t.value,
  params: t.params,
  intermediate: t.intermediate,
});

export async function runStudy(opts: RunStudyOptions): Promise<RunStudyResult> {
  const { store, study, space, pruner, objective, signal } = opts;
  const clock = opts.now ?? Date.now;
  const started = clock();
  const inStage = (t: TrialRecord) => opts.stage === undefined || t.attrs.stage === opts.stage;
  const stageAttrs = opts.stage === undefined ? {} : { stage: opts.stage };
  const alive = opts.isAlive ?? processAlive;

  let adopted: TrialRecord[] = [];
  let interrupted: TrialRecord[] = [];
  if (opts.adoptRunning) {
    // Only this stage's: another stage's trials are adopted when that stage runs.
    adopted = store.adoptRunning(
      study.id,
      alive,
      (attrs) => opts.stage === undefined || attrs.stage === opts.stage,
    );
  } else {
    // Interrupted trials of earlier processes: FAIL (interrupted) and their parameters again.
    interrupted = store.failInterrupted(study.id, alive);
    for (const t of interrupted) {
      store.addTrial(study.id, t.params, { state: 'WAITING', attrs: { ...t.attrs, retry_of: t.number } });
    }
  }
  store.setStatus(study.id, 'running');

  let ran = 0;
  let stoppedBy: RunStudyResult['stoppedBy'] = 'done';
  let cancelled = false;
  const inFlight = new Map<number, Promise<void>>();

  /** Runs one trial's objective and records its end (the body of the one-at-a-time loop). */
  const runTrial = async (trial: TrialRecord): Promise<void> => {
    const params = { ...space.fixed, ...trial.params };
    const ctx: TrialContext = {
      trialId: trial.id,
      number: trial.number,
      params,
      attrs: trial.attrs,
      signal,
      report(step, value) {
        if (!Number.isFinite(value)) return true;
        store.reportIntermediate(trial.id, step, value);
        const me = toFrozen(store.trial(trial.id));
        const others = store
          .trials(study.id)
          .filter((t) => t.id !== trial.id && inStage(t))
          .map(toFrozen);
        return pruner.shouldPrune(me, step, others);
      },
      setRunId(runId) {
        store.setRunId(trial.id, runId);
      },
    };
    try {
      const outcome = await objective(ctx);
      if (outcome.attrs) store.mergeAttrs(trial.id, outcome.attrs);
      if (!Number.isFinite(outcome.value)) {
        store.finishTrial(trial.id, 'FAIL', null, `the objective returned ${outcome.value}`);
      } else {
        store.finishTrial(trial.id, 'COMPLETE', outcome.value);
      }
    } catch (e) {
      if (e instanceof TrialPruned) {
        store.finishTrial(trial.id, 'PRUNED', null);
      } else if (signal?.aborted) {
        cancelled = true;
        // Queue mode: the trial goes on in its job; a resume adopts it (see [Note: Trials on a queue]).
        if (opts.adoptRunning) return;
        // Cancelled mid-trial: not a result (see [Note: What counts as a finished trial]).
        store.failInterrupted(study.id, (pid) => pid !== process.pid);
        store.addTrial(study.id, trial.params, {
          state: 'WAITING',
          attrs: { ...trial.attrs, retry_of: trial.number },
        });
        return;
      } else {
        const err = e as Error;
        store.finishTrial(trial.id, 'FAIL', null, `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`);
      }
    }
    ran++;
    opts.onTrialDone?.(store.trial(trial.id));
  };
  const launch = (trial: TrialRecord) => {
    const p = runTrial(trial).finally(() => inFlight.delete(trial.id));
    inFlight.set(trial.id, p);
  };
  for (const t of adopted) launch(t);

  let canStart = true;
  for (;;) {
    while (canStart && inFlight.size < Math.max(1, opts.parallel?.() ?? 1)) {
      const all = store.trials(study.id).filter(inStage);
      if (all.filter(counts).length >= opts.trials || cancelled) {
        canStart = false;
        break;
      }
      if (signal?.aborted) {
        stoppedBy = 'signal';
        canStart = false;
        break;
      }
      if (opts.timeoutMs !== undefined && clock() - started >= opts.timeoutMs) {
        stoppedBy = 'timeout';
        canStart = false;
        break;
      }
      const trial = nextTrial(opts, all, stageAttrs);
      if (trial) launch(trial); // else another process took the waiting trial first
    }
    // Nothing in flight: the loop above decided to stop (it starts a trial whenever it may).
    if (inFlight.size === 0) break;
    // A trial ends, or (with a changing `parallel`) a second passes and a slot may have opened.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ...inFlight.values(),
      ...(opts.parallel ? [new Promise<void>((r) => (timer = setTimeout(r, 1000)))] : []),
    ]);
    clearTimeout(timer);
    if (cancelled) {
      stoppedBy = 'signal';
      canStart = false;
    }
  }
  if (cancelled) stoppedBy = 'signal';
  const finished = store.trials(study.id).filter(inStage).filter(counts).length;
  if (opts.stage === undefined) store.setStatus(study.id, finished >= opts.trials ? 'done' : 'stopped');
  return { ran, finished, requeued: interrupted.length + adopted.length, stoppedBy };
}

/** Starts the oldest WAITING trial (sampling what it lacks), or a newly sampled one. */
function nextTrial(
  opts: RunStudyOptions,
  all: TrialRecord[],
  stageAttrs: Record<string, unknown>,
): TrialRecord | null {
  const { store, study, space, sampler } = opts;
  const history = all.map(toFrozen);
  const waiting = all.find((t) => t.state === 'WAITING');
  const dists = space.parameters as Record<string, unknown>;
  if (waiting) {
    if (!store.startTrial(waiting.id)) return null;
    const missing = Object.keys(space.parameters).filter((n) => !(n in waiting.params));
    if (missing.length > 0) {
      const sampled = sampler.sample(space, history, waiting.number);
      store.setParams(waiting.id, Object.fromEntries(missing.map((n) => [n, sampled[n]!])), dists);
    }
    return store.trial(waiting.id);
  }
  // The number the new trial will get, so the sampler's draw is tied to it.
  const number = store.trials(study.id).reduce((m, t) => Math.max(m, t.number + 1), 0);
  const params = sampler.sample(space, history, number);
  return store.addTrial(study.id, params, { state: 'RUNNING', distributions: dists, attrs: stageAttrs });
}

/** The best complete trial (highest value; the earlier one on a tie). */
export function bestTrial<T extends { state: string; value: number | null; number: number }>(
  trials: readonly T[],
): T | null {
  let best: T | null = null;
  for (const t of trials) {
    if (t.state !== 'COMPLETE' || t.value === null) continue;
    if (!best || t.value > best.value!) best = t;
  }
  return best;
}
