/** Option value parsers: each rejects a bad value with a message naming the flag and what it expects. */
import { InvalidArgumentError } from 'commander';

export function integer(flag: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`${flag} expects a whole number ${range}, got "${raw}".`);
    }
    return n;
  };
}

export function commaList(flag: string) {
  return (raw: string): string[] => {
    const list = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (list.length === 0)
      throw new InvalidArgumentError(`${flag} expects a comma-separated list, got "${raw}".`);
    return list;
  };
}

export function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError(`${flag} expects one of ${values.join(', ')}, got "${raw}".`);
    }
    return raw as T;
  };
}
