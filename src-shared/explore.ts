/**
 * Shapes of the data-path and exploring views: a data folder checked before a scan, the image-encoder
 * models the Embed panel offers, the most and least central garments, and the embedding map.
 */

/** Images per inference batch when none is given (CLI, API and the Embed panel alike). */
export const DEFAULT_EMBED_BATCH = 16;
/** The input cache's size limit in GB when none is given (see [Note: input cache budget]). */
export const DEFAULT_INPUT_CACHE_GB = 20;

/** What `dataset.check` says of a folder typed into the data-folder field. */
export interface DatasetCheck {
  path: string;
  ok: boolean;
  /** Why not: the folder is outside what this server may read, missing, or not a K-Fashion layout. */
  problem: 'outside-roots' | 'not-found' | 'not-a-dataset' | null;
  message: string | null;
  /** Browser mode: the folders this server may read (shown with an outside-roots refusal). */
  roots: string[];
  /** The layouts a data folder may have. */
  accepted: string[];
  /** When ok: where the labels are, per split folder, with their style folders. */
  sources: { labelDir: string; imageDir: string | null; split: string | null; styles: string[] }[];
}

/** One model the Embed panel offers. */
export interface EmbedModelChoice {
  id: string;
  description: string;
  repo: string;
  precisions: string[];
  /** Per precision: whether its files are in the models folder, and where each goes. */
  files: Record<string, { present: boolean; files: { path: string; url: string; present: boolean }[] }>;
}

export interface EmbedModels {
  models: EmbedModelChoice[];
  defaultModel: string;
  devices: string[];
  /** The folder the app looks in for `<model id>/<file>`. */
  modelsDir: string;
  /** The ONNX file names tried inside a user's export folder. */
  exportFiles: string[];
  /** Garments of the workspace that have a picture (what embedding looks at). */
  itemsWithImage: number;
  /** Per stored model: how many garments already have its vector. */
  embedded: { model: string; count: number; source: string }[];
  /** The workspace's image encoder (what search and recommendation embed pictures with). */
  current: string | null;
}

/** A garment of the centrality grid. */
export interface CentralItem {
  id: string;
  rank: number;
  centrality: number;
  anchor: boolean;
  style: string;
  category: string | null;
  crop: string | null;
}

export interface CentralItems {
  model: string;
  runId: string;
  computedAt: string;
  current: boolean;
  total: number;
  most: CentralItem[];
  least: CentralItem[];
}

export type MapMethod = 'pca' | 'umap';

export interface EmbeddingMapPoint {
  id: string;
  x: number;
  y: number;
}

export interface EmbeddingMapItem {
  id: string;
  style: string;
  category: string | null;
  crop: string | null;
  centrality: number | null;
  anchor: boolean;
}

export interface EmbeddingMap {
  kind: 'embedding-map';
  key: string;
  method: MapMethod;
  timestamp: string;
  model: string;
  synthetic: boolean;
  split: 'val';
  /** The checkpoint whose JSON encoder made the attribute vectors (null: image vectors only). */
  checkpoint: { run_id: string; epoch: number } | null;
  items: EmbeddingMapItem[];
  /** One point per item, in `items` order. */
  image: EmbeddingMapPoint[];
  /** The JSON encoder's vector of each item's attributes, in `items` order (empty without a checkpoint). */
  json: EmbeddingMapPoint[];
  /** Validation garments with a vector, before sampling. */
  total: number;
  note?: string;
  /** Share of the variance the two axes hold (PCA only). */
  explained?: [number, number];
  elapsedMs: number;
}
