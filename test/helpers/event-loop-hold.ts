/**
 * How long the calling thread is held while `work` runs: a 1 ms interval timer records its ticks, and
 * a gap between two ticks is time the event loop could not run a timer. Used by the search bench (the
 * index build's hold) and by the test that the build leaves the calling thread free.
 */
export async function heldWhile<T>(work: () => Promise<T>): Promise<{
  value: T;
  /** The longest gap between two ticks (or the start, or the end). */
  longestMs: number;
  /** The gaps over 10 ms, summed. */
  heldMs: number;
  ticks: number;
  totalMs: number;
}> {
  const stamps: number[] = [performance.now()];
  const timer = setInterval(() => stamps.push(performance.now()), 1);
  try {
    const value = await work();
    stamps.push(performance.now());
    let longestMs = 0;
    let heldMs = 0;
    for (let i = 1; i < stamps.length; i++) {
      const gap = stamps[i]! - stamps[i - 1]!;
      if (gap > longestMs) longestMs = gap;
      if (gap > 10) heldMs += gap;
    }
    return { value, longestMs, heldMs, ticks: stamps.length - 2, totalMs: stamps.at(-1)! - stamps[0]! };
  } finally {
    clearInterval(timer);
  }
}
