import { describe, expect, it } from 'vitest';
import {
  dropoutBackward,
  dropoutForward,
  dropoutMask,
} from '../../../src-main/encoders/json-encoder/layers/dropout.ts';
import { dot, expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('dropout', () => {
  it('the seeded mask is deterministic, drops about p and scales kept values by 1/(1 − p)', () => {
    const n = 20000;
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    const s1 = dropoutMask(a, n, 0.2, 1234);
    const s2 = dropoutMask(b, n, 0.2, 1234);
    expect(s1).toBe(s2);
    expect(a).toEqual(b);
    const dropped = a.filter((v) => v === 0).length / n;
    expect(dropped).toBeGreaterThan(0.18);
    expect(dropped).toBeLessThan(0.22);
    expect(a.find((v) => v !== 0)).toBeCloseTo(1 / 0.8, 6);
    const c = new Float32Array(n);
    dropoutMask(c, n, 0.2, s1);
    expect(c).not.toEqual(a); // the state advances
  });

  it('eval is the identity; backward matches central differences with the same mask', () => {
    const n = 30;
    const x = randomArray(n, 1);
    const out = new Float64Array(n);
    dropoutForward(out, x, null, n);
    expect(out).toEqual(x);
    const mask = new Float64Array(n);
    dropoutMask(mask, n, 0.3, 9);
    const r = randomArray(n, 2);
    const loss = () => {
      const o = new Float64Array(n);
      dropoutForward(o, x, mask, n);
      return dot(o, r);
    };
    const dx = new Float64Array(n);
    dropoutBackward(dx, r, mask, n);
    expectGradient(x, dx, loss);
  });
});
