import { describe, expect, it } from 'vitest';
import { progressTracker } from '../../src-main/jobs/progress-tracker.ts';
import type { JobProgress } from '../../src-shared/jobs.ts';

describe('progressTracker', () => {
  it('throttles steps within a phase but never a call carrying a typed event', () => {
    const seen: JobProgress[] = [];
    const report = progressTracker('job-1', (e) => seen.push(e), 60_000);
    report('validate 1/2', 0, 10);
    report('validate 1/2', 3, 10);
    report('validate 1/2', 4, 10, {}, { event: { kind: 'epoch-end', epoch: 1 } });
    report('validate 1/2', 5, 10);
    report('validate 1/2', 10, 10);
    expect(seen.map((e) => [e.step, e.event ?? null])).toEqual([
      [0, null],
      [4, { kind: 'epoch-end', epoch: 1 }],
      [10, null],
    ]);
    expect('event' in seen[0]!).toBe(false);
  });
});
