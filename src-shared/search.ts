/**
 * Result shapes of similarity search (`kfashion search`, Workbench.search, the contract): plain JSON,
 * what results/similarity_search/<stamp>/results.json holds. Keys are snake_case like the evaluation
 * results (src-shared/evaluation.ts), since researchers read both from Python.
 */
import type { GarmentAttributes } from './fields.ts';

/** Largest top-K a search returns (a grid of more crops is no longer readable). */
export const SEARCH_MAX_K = 50;
export const SEARCH_DEFAULT_K = 5;
/** `--demo --samples N`: at most this many queries per demo run. */
export const SEARCH_DEMO_MAX_SAMPLES = 100;
export const SEARCH_DEMO_DEFAULT_SAMPLES = 20;

/** json-to-image: attribute JSON → garment crops; image-to-image: a picture → garment crops. */
export type SearchDirection = 'json-to-image' | 'image-to-image';

export interface SearchQuery {
  direction: SearchDirection;
  /** A short description for people, e.g. "category 블라우스 · style 로맨틱". */
  label: string;
  /** json-to-image: the query as given (keys and values as typed). */
  input?: Record<string, unknown>;
  /** json-to-image: the query in the encoder's field names, values normalised and checked. */
  attributes?: GarmentAttributes;
  /** Keys of the input that the checkpoint does not read (known K-Fashion fields it was not trained on). */
  ignored?: string[];
  /** image-to-image: the query picture's path. */
  image?: string;
  /** Demo queries: the dataset item whose attributes (and style folder, category) made the query. */
  source_item?: { id: string; style: string; category: string | null };
}

export interface SearchHitInfo {
  rank: number;
  id: string;
  /** Cosine similarity between the query vector and the item's image embedding. */
  score: number;
  /** Style folder (레트로, 로맨틱, …). */
  style: string;
  category: string | null;
  part: string;
  split: 'train' | 'val' | null;
  attributes: GarmentAttributes;
  /** The garment crop, relative to the workspace (null when the item's image is missing). */
  crop: string | null;
  /** Demo queries: this hit is the item the query was made from. */
  is_source?: boolean;
}

export interface SearchOutcome {
  query: SearchQuery;
  hits: SearchHitInfo[];
  /** Demo queries: rank of the source item in the whole gallery's top-K (null when below K). */
  source_rank?: number | null;
  /** The grid PNG of this search, relative to the run folder (null when no grid was drawn). */
  grid: string | null;
  /** Milliseconds: turning the query into a vector, and the exact top-K. */
  timing: { encode_ms: number; search_ms: number };
}

export interface SearchGalleryInfo {
  /** Image-embedding model of the gallery vectors. */
  model: string;
  /** Items with a vector of that model (all of them, every split). */
  items: number;
  source: string;
  synthetic: boolean;
  /** How the exact top-K ran, e.g. "onnxruntime MatMul+TopK, 2 threads (worker)". */
  engine: string;
}

/** results/similarity_search/<stamp>/results.json, and what `kfashion search --json` prints. */
export interface SimilaritySearchRun {
  kind: 'similarity-search';
  run_id: string;
  timestamp: string;
  /** Whether the gallery vectors (or the query image encoder) are synthetic stand-ins. */
  synthetic: boolean;
  note?: string;
  workspace: string;
  mode: 'query' | 'image' | 'demo';
  k: number;
  gallery: SearchGalleryInfo;
  /** json-to-image: the checkpoint that encoded the queries. */
  checkpoint?: {
    run_id: string;
    path: string;
    epoch: number;
    fields: string[];
    /** True when that run is not the workspace's current run (at the time of the search). */
    stale?: boolean;
  };
  /** image-to-image: the image encoder that embedded the query picture. */
  image_encoder?: { model: string; label: string; synthetic: boolean };
  searches: SearchOutcome[];
  /** Absolute paths of what was written. */
  files: { dir: string; query: string; results: string; grids: string[] };
}

/**
 * image → JSON (tagging): the attribute combinations whose JSON-encoder vectors lie nearest to a
 * picture's image vector. Two sources: combinations composed from the vocabulary (a beam search over
 * the fields), and the combinations training items actually carry.
 */
export interface TagCombination {
  rank: number;
  /** Cosine between the combination's JSON-encoder vector and the picture's image vector. */
  score: number;
  attributes: GarmentAttributes;
  label: string;
  /** Training items: how many carry exactly this combination (on the checkpoint's fields). */
  items?: number;
  /** Training items: one of them (its crop can be shown). */
  example?: { id: string; crop: string | null; style: string };
}

/** What `kfashion search --image PATH --to json` prints with --json, and search.tag answers. */
export interface ImageTagRun {
  kind: 'image-tagging';
  timestamp: string;
  synthetic: boolean;
  note?: string;
  image: string;
  k: number;
  image_encoder: { model: string; label: string; synthetic: boolean };
  checkpoint: {
    run_id: string;
    path: string;
    epoch: number;
    fields: string[];
    /** True when that run is not the workspace's current run (at the time of the tagging). */
    stale?: boolean;
  };
  /** Each field's best single values on their own (value alone as the query), best first. */
  per_field: { field: string; values: { value: string; score: number }[] }[];
  vocabulary: TagCombination[];
  training: TagCombination[];
  /** How many distinct combinations the training items carry (all scored). */
  training_combinations: number;
  timing: { encode_ms: number; score_ms: number };
}
