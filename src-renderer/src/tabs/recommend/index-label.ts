/**
 * The line a recommendation answer shows about the index that served it: exact, or the approximate
 * (HNSW) one with its recall@10 against the exact index measured when the graph was built. An
 * approximate answer always says how approximate it is, as the Search tab does.
 */
export interface AnswerIndex {
  kind: 'ann';
  engine: string;
  recallAt10: number | null;
}

export function indexLabel(index: AnswerIndex | undefined): string {
  if (!index) return 'exact index';
  const recall =
    index.recallAt10 === null
      ? 'recall@10 not measured'
      : `recall@10 ${index.recallAt10.toFixed(3)} vs exact`;
  return `approximate index (${index.engine}), ${recall}`;
}
