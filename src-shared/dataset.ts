/** Dataset-level records shared by the core, the CLI, the server and the UI. */
import type { GarmentAttributes, GarmentPart } from './fields.ts';

/** Axis-aligned box in image pixels: top-left corner, width, height. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where a garment's box came from: its polygon (preferred) or the label's rect (fallback). */
export type BoxSource = 'polygon' | 'rect';

/**
 * One training item: one garment of one image.
 * `id` is `<style folder>/<label file stem>/<part>`, stable across runs and machines.
 */
export interface GarmentItem {
  id: string;
  imageKey: string; // `<style folder>/<label file stem>`
  styleFolder: string;
  part: GarmentPart;
  box: Box;
  boxSource: BoxSource;
  attributes: GarmentAttributes;
}

/** Why a garment present in a label did not become an item. */
export type ExclusionReason =
  | 'no-box' // neither polygon nor rect
  | 'degenerate-box' // polygon and rect both collapse to (almost) nothing after clipping
  | 'no-attributes' // a box, but no attribute at all
  | 'bad-coordinates'; // a coordinate far outside the image: corruption, not an annotation

/** Why a whole label file was skipped. */
export type SkipReason =
  | 'unreadable' // I/O error
  | 'bad-encoding' // not valid UTF-8
  | 'invalid-json' // truncated or otherwise not JSON
  | 'bad-structure' // JSON, but a required section is missing or has the wrong type
  | 'duplicate-id' // the same `<style>/<stem>` was already read from another folder
  | 'too-large' // larger than any real label can be; never read
  | 'case-twin' // names that differ only in letter case in one folder: none is read
  | 'folder-unreadable' // a style folder that cannot be listed (permission, link loop, dangling link)
  | 'link-not-followed'; // a symbolic link leaving the data root or pointing back at its own parents

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  detail: string;
}

export interface StyleCounts {
  labels: number;
  images: number; // labels whose image file was found
  garments: number;
  excluded: number;
  excludedByReason: Partial<Record<ExclusionReason, number>>;
  skippedFiles: number;
}

export interface ScanReport {
  synthetic: boolean;
  dataRoot: string;
  labelRoots: string[];
  workspace: string;
  perStyle: Record<string, StyleCounts>;
  total: StyleCounts;
  /** Skipped files, at most the first 100 (the count is in `total.skippedFiles`, all in `reportFiles`). */
  skipped: SkippedFile[];
  /** Style folders that were not scanned (unreadable, looping or dangling, or links not followed). */
  skippedFolders?: SkippedFile[];
  /**
   * The full lists of skipped files and folders and excluded garments, written at the end of the scan
   * (absolute paths; absent when writing them failed, see `reportError`).
   */
  reportFiles?: { json: string; csv: string };
  reportError?: string;
  removedStale: number;
  /** Labels unreadable in this scan whose earlier items were kept rather than dropped. */
  keptFromPreviousScan: number;
  split: SplitSummary;
  elapsedMs: number;
  filesPerSecond: number;
}

export interface SplitSummary {
  method: 'seeded' | 'file';
  seed?: number;
  file?: string;
  valRatio: number;
  trainImages: number;
  valImages: number;
  trainItems: number;
  valItems: number;
  /** Stems named in a split file that matched no image (first 20). */
  unknownStems?: string[];
  unknownStemCount?: number;
  /** Things a researcher should know about this split (e.g. a shop look on both sides). */
  warnings: string[];
}

export interface WorkspaceSummary {
  workspace: string;
  synthetic: boolean;
  schemaVersion: number;
  dataRoots: { path: string; synthetic: boolean }[];
  images: number;
  items: number;
  perStyle: Record<string, { images: number; items: number; trainItems: number; valItems: number }>;
  split: { method: 'seeded' | 'file'; seed?: number; file?: string } | null;
  vocabularySizes: Record<string, number>;
  crops: number;
  lastScan: { id: number; status: string; startedAt: string; finishedAt: string | null } | null;
  /**
   * Image-embedding sets stored in the workspace, one per model id (`synthetic` = demo stand-ins).
   * `note` is set on vectors of a SYNTHETIC stand-in image encoder (the demo's `demo-standin`).
   */
  embeddings: {
    model: string;
    dim: number;
    source: 'onnx' | 'import' | 'synthetic';
    count: number;
    note?: string;
  }[];
  /** The model query images are embedded with for image → image features (null: none yet). */
  imageEncoder?: { model: string; kind: string; synthetic: boolean; label: string } | null;
}
