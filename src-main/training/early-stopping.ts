/**
 * Early stopping on the validation loss: the run stops when the loss has not improved by more than
 * `minDelta` for `patience` epochs in a row, and the best epoch's weights are the ones kept. The earlier
 * PyTorch pipeline overfitted when trained longer, so this, not the epoch count, ends a default run.
 *
 * The state is plain data so that it travels in `last.json` and a resumed run stops exactly where an
 * uninterrupted one would have.
 */

export interface EarlyStoppingState {
  patience: number;
  minDelta: number;
  /** Lowest validation loss so far (Infinity before the first epoch). */
  best: number;
  /** 1-based epoch of `best`; 0 before the first epoch. */
  bestEpoch: number;
  /** Epochs since the last improvement. */
  badEpochs: number;
  stopped: boolean;
}

export interface EarlyStoppingUpdate {
  improved: boolean;
  stop: boolean;
}

export function initialEarlyStopping(patience: number, minDelta = 0): EarlyStoppingState {
  return { patience, minDelta, best: Number.POSITIVE_INFINITY, bestEpoch: 0, badEpochs: 0, stopped: false };
}

/**
 * Records one epoch's validation loss (mutates `state`). A non-finite loss never counts as an
 * improvement, so a diverged run stops instead of saving NaN weights as "best".
 */
export function updateEarlyStopping(
  state: EarlyStoppingState,
  valLoss: number,
  epoch: number,
): EarlyStoppingUpdate {
  const improved = Number.isFinite(valLoss) && valLoss < state.best - state.minDelta;
  if (improved) {
    state.best = valLoss;
    state.bestEpoch = epoch;
    state.badEpochs = 0;
  } else {
    state.badEpochs++;
  }
  state.stopped = state.badEpochs >= state.patience;
  return { improved, stop: state.stopped };
}

/** JSON cannot hold Infinity: `best` is written as null before the first epoch. */
export function earlyStoppingToJson(s: EarlyStoppingState): Omit<EarlyStoppingState, 'best'> & {
  best: number | null;
} {
  return { ...s, best: Number.isFinite(s.best) ? s.best : null };
}

export function earlyStoppingFromJson(
  s: Omit<EarlyStoppingState, 'best'> & { best: number | null },
): EarlyStoppingState {
  return { ...s, best: s.best ?? Number.POSITIVE_INFINITY };
}
