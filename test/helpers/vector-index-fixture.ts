/**
 * What the vector-index tests share: indexes built through `indexTracker` are closed after each test
 * (an ONNX Runtime index holds a search worker thread that would outlive it), and item ids by row.
 */
import { VectorIndex } from '../../src-main/retrieval/vector-index.ts';

export function indexTracker() {
  const open: VectorIndex[] = [];
  const track = <T extends VectorIndex>(index: T): T => {
    open.push(index);
    return index;
  };
  return {
    /** Closed by `closeAll`. */
    track,
    build: async (...args: Parameters<typeof VectorIndex.build>): Promise<VectorIndex> =>
      track(await VectorIndex.build(...args)),
    /** For `afterEach`. */
    closeAll: async (): Promise<void> => {
      for (const i of open.splice(0)) await i.close();
    },
  };
}

/** `item-0` … `item-(n-1)`. */
export const itemIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `item-${i}`);
