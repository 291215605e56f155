import { describe, expect, it } from 'vitest';
import { attrText, errorMessage, formatDuration, num, pct } from '../../src-renderer/src/lib/format.ts';

describe('renderer formatting', () => {
  it('draws durations like tqdm and unknown ones as ?', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(65_400)).toBe('1:05');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('?');
    expect(formatDuration(Number.NaN)).toBe('?');
  });

  it('never shows a missing figure as zero', () => {
    expect(pct(0.4923)).toBe('49.2 %');
    expect(pct(null)).toBe('–');
    expect(num(undefined)).toBe('–');
    expect(num(0)).toBe('0.000');
    // Learning rates keep their digits instead of rounding to 0.000.
    expect(num(5.5e-5)).toBe('5.50e-5');
  });

  it('keeps the message of whatever was thrown and joins multi-valued attributes', () => {
    expect(errorMessage(new Error('Invalid input to dataset.scan: data: must not be empty'))).toBe(
      'Invalid input to dataset.scan: data: must not be empty',
    );
    expect(errorMessage('plain')).toBe('plain');
    expect(attrText(['린넨', '니트'])).toBe('린넨, 니트');
    expect(attrText(undefined)).toBe('');
  });
});
