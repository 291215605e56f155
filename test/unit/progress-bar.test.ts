import { describe, expect, it } from 'vitest';
import { renderBar } from '../../src-main/cli/progress-bar.ts';
import { displayWidth } from '../../src-main/cli/terminal-text.ts';

const event = (over: Partial<Parameters<typeof renderBar>[0]> = {}) => ({
  job: 'j',
  phase: 'scan',
  step: 50,
  total: 200,
  elapsedMs: 10_000,
  etaMs: 30_000,
  metrics: {},
  ...over,
});

describe('progress bar', () => {
  it('draws a tqdm-style line with counts, elapsed<eta, rate and metrics', () => {
    const line = renderBar(event({ metrics: { loss: 0.123456, files: 50 } }));
    expect(line).toBe('scan  25%|██████                  | 50/200 [00:10<00:30, 5.0/s] loss=0.1235 files=50');
  });

  it('measures elapsed time and rate from the start of the phase, not of the job', () => {
    const line = renderBar(event({ phase: 'epoch 3/10', step: 40, elapsedMs: 70_000 }), {
      elapsedMs: 60_000,
      step: 0,
    });
    expect(line).toContain('[00:10<00:30, 4.0/s]');
  });

  it('handles an unknown total and an unknown ETA', () => {
    expect(renderBar(event({ total: 0, etaMs: null }))).toContain('| 50 [00:10<?, 5.0/s]');
  });

  it('counts Hangul as two columns', () => {
    expect(displayWidth('로맨틱 ab')).toBe(9);
  });
});
