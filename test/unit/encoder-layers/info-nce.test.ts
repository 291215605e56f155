import { describe, expect, it } from 'vitest';
import { infoNceForwardBackward } from '../../../src-main/encoders/json-encoder/layers/info-nce.ts';
import { expectGradient, randomArray } from '../../helpers/finite-diff.ts';

describe('symmetric InfoNCE', () => {
  const B = 4;
  const C = 5;
  const z = randomArray(B * C, 1, 0.5);
  const img = randomArray(B * C, 2, 0.5);
  const T = 0.3;

  it('equals the mean of the row and column cross-entropies (written out here)', () => {
    const s = (i: number, j: number) => {
      let d = 0;
      for (let k = 0; k < C; k++) d += z[i * C + k]! * img[j * C + k]!;
      return d / T;
    };
    let rows = 0;
    let cols = 0;
    for (let i = 0; i < B; i++) {
      let sr = 0;
      let sc = 0;
      for (let j = 0; j < B; j++) {
        sr += Math.exp(s(i, j));
        sc += Math.exp(s(j, i));
      }
      rows += Math.log(sr) - s(i, i);
      cols += Math.log(sc) - s(i, i);
    }
    expect(infoNceForwardBackward(null, z, img, B, C, T)).toBeCloseTo((rows / B + cols / B) / 2, 12);
  });

  it('the closed-form gradient matches central differences', () => {
    const dz = new Float64Array(B * C);
    infoNceForwardBackward(dz, z, img, B, C, T);
    expectGradient(z, dz, () => infoNceForwardBackward(null, z, img, B, C, T));
  });
});
