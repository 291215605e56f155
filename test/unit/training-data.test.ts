import { describe, expect, it } from 'vitest';
import {
  type EncodedSplit,
  encodeValue,
  epochBatches,
  gatherImages,
  makeInputs,
} from '../../src-main/training/training-data.ts';

describe('training data', () => {
  const index = (v: string) => ({ a: 2, b: 3, c: 4 })[v] ?? 1;
  it('maps values to indices: unknown → UNK (1), missing single → PAD (0), multi lists kept', () => {
    expect(Array.from(encodeValue({ category: 'a' }, 'category', 'single', index))).toEqual([2]);
    expect(Array.from(encodeValue({ category: 'zzz' }, 'category', 'single', index))).toEqual([1]);
    expect(Array.from(encodeValue({}, 'category', 'single', index))).toEqual([0]);
    expect(Array.from(encodeValue({ material: ['b', 'x', 'c'] }, 'material', 'multi', index))).toEqual([
      3, 1, 4,
    ]);
    expect(Array.from(encodeValue({ material: 'a' }, 'material', 'multi', index))).toEqual([2]);
    expect(Array.from(encodeValue({}, 'material', 'multi', index))).toEqual([0]);
  });

  it("pads multi fields to the batch's longest list and pairs rows with image rows", () => {
    const split: EncodedSplit = {
      ids: ['x', 'y', 'z'],
      styleFolders: ['s', 's', 's'],
      indices: {
        category: [Int32Array.of(2), Int32Array.of(0), Int32Array.of(3)],
        material: [Int32Array.of(2, 3, 4), Int32Array.of(0), Int32Array.of(3)],
      },
      images: Float32Array.of(1, 2, 3, 4, 5, 6),
    };
    const inp = makeInputs(split, ['category', 'material'], [2, 1]);
    expect(inp.batchSize).toBe(2);
    expect(inp.fields.category).toEqual({ indices: Int32Array.of(3, 0), slots: 1 });
    expect(inp.fields.material).toEqual({ indices: Int32Array.of(3, 0), slots: 1 });
    const inp2 = makeInputs(split, ['material'], [0, 2]);
    expect(inp2.fields.material).toEqual({ indices: Int32Array.of(2, 3, 4, 3, 0, 0), slots: 3 });
    expect(Array.from(gatherImages(split, 2, [2, 0]))).toEqual([5, 6, 1, 2]);
  });

  it('shuffles per (seed, epoch), covers every item once, and drops a last batch of one', () => {
    const e1 = epochBatches(11, 5, 42, 1);
    expect(e1.map((b) => b.length)).toEqual([5, 5]); // the 11th item alone would have no negative
    const e1b = epochBatches(11, 5, 42, 1);
    expect(e1b).toEqual(e1);
    expect(epochBatches(11, 5, 42, 2)).not.toEqual(e1);
    expect(epochBatches(11, 5, 43, 1)).not.toEqual(e1);
    const all = epochBatches(12, 5, 42, 3);
    expect(all.map((b) => b.length)).toEqual([5, 5, 2]);
    expect(all.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(epochBatches(3, 64, 1, 1)).toHaveLength(1);
  });
});
