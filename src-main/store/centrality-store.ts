/**
 * Stored centrality (tables item_centrality and centrality_centres): per model, each item's cosine to
 * the mean image embedding, its rank and anchor membership, and the centre itself with when it was
 * computed and from which embeddings. What centrality means is evaluation/centrality.ts's business.
 */
import type { Db } from './database.ts';
import { type Statements, statements } from './statements.ts';

export interface CentralityHead {
  runId: string;
  computedAt: string;
  /** The model's embeddings' write time when the centrality was computed. */
  embeddingsAt: string;
  /** The model's embeddings' write time now. */
  updatedAt: string;
}

export interface CentralityItemRow {
  id: string;
  centrality: number;
  rank: number;
  anchor: boolean;
}

export class CentralityStore {
  private readonly s: Statements;
  constructor(readonly db: Db) {
    this.s = statements(db);
  }

  /** Replaces the model's stored centrality (items and centre) in one transaction. */
  replace(
    model: string,
    items: Iterable<CentralityItemRow>,
    centre: {
      runId: string;
      computedAt: string;
      embeddingsAt: string;
      items: number;
      anchorFraction: number;
      anchorThreshold: number;
      vector: Float32Array;
    },
  ): void {
    const ins = this.s.query(
      'centrality.insertItem',
      'INSERT INTO item_centrality (model, item_id, centrality, rank, anchor, run_id) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.s.query('centrality.clearItems', 'DELETE FROM item_centrality WHERE model = ?').run(model);
      for (const it of items) ins.run(model, it.id, it.centrality, it.rank, it.anchor ? 1 : 0, centre.runId);
      this.s
        .query(
          'centrality.putCentre',
          `INSERT INTO centrality_centres (model, run_id, computed_at, embeddings_at, items, anchor_fraction, anchor_threshold, vector)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(model) DO UPDATE SET run_id = excluded.run_id, computed_at = excluded.computed_at,
             embeddings_at = excluded.embeddings_at, items = excluded.items, anchor_fraction = excluded.anchor_fraction,
             anchor_threshold = excluded.anchor_threshold, vector = excluded.vector`,
        )
        .run(
          model,
          centre.runId,
          centre.computedAt,
          centre.embeddingsAt,
          centre.items,
          centre.anchorFraction,
          centre.anchorThreshold,
          Buffer.from(centre.vector.buffer, centre.vector.byteOffset, centre.vector.byteLength),
        );
    })();
  }

  /** When and from what the model's centrality was computed, or undefined if never. */
  head(model: string): CentralityHead | undefined {
    return this.s
      .query<CentralityHead>(
        'centrality.head',
        `SELECT c.run_id AS runId, c.computed_at AS computedAt, c.embeddings_at AS embeddingsAt, m.updated_at AS updatedAt
         FROM centrality_centres c JOIN embedding_models m ON m.model = c.model WHERE c.model = ?`,
      )
      .get(model);
  }

  items(model: string): CentralityItemRow[] {
    return this.s
      .query<{ id: string; centrality: number; rank: number; anchor: number }>(
        'centrality.items',
        'SELECT item_id AS id, centrality, rank, anchor FROM item_centrality WHERE model = ?',
      )
      .all(model)
      .map((r) => ({ id: r.id, centrality: r.centrality, rank: r.rank, anchor: r.anchor === 1 }));
  }

  /** The centrality at or above which an item is an anchor, or undefined if never computed. */
  anchorThreshold(model: string): number | undefined {
    return this.s
      .query<number>(
        'centrality.anchorThreshold',
        'SELECT anchor_threshold FROM centrality_centres WHERE model = ?',
        'pluck',
      )
      .get(model);
  }
}
