/** Dataset-level records shared by the core, the CLI, the server and the UI. */
import { z } from 'zod';
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
export const EXCLUSION_REASONS = [
  'no-box', // neither polygon nor rect
  'degenerate-box', // polygon and rect both collapse to (almost) nothing after clipping
  'no-attributes', // a box, but no attribute at all
  'bad-coordinates', // a coordinate far outside the image: corruption, not an annotation
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** Why a whole label file was skipped. */
export const SKIP_REASONS = [
  'unreadable', // I/O error
  'bad-encoding', // not valid UTF-8
  'invalid-json', // truncated or otherwise not JSON
  'bad-structure', // JSON, but a required section is missing or has the wrong type
  'duplicate-id', // the same `<style>/<stem>` was already read from another folder
  'too-large', // larger than any real label can be; never read
  'case-twin', // names that differ only in letter case in one folder: none is read
  'folder-unreadable', // a style folder that cannot be listed (permission, link loop, dangling link)
  'link-not-followed', // a symbolic link leaving the data root or pointing back at its own parents
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

// The records below cross the contract: each is declared once, as a schema, with its type inferred
// ([Note: Result schemas own the types] in recommend.ts).
const count = z.number().int().min(0);

export const skippedFileSchema = z.object({
  path: z.string(),
  reason: z.enum(SKIP_REASONS),
  detail: z.string(),
});
export type SkippedFile = z.infer<typeof skippedFileSchema>;

export const styleCountsSchema = z.object({
  labels: count,
  /** Labels whose image file was found. */
  images: count,
  garments: count,
  excluded: count,
  excludedByReason: z.partialRecord(z.enum(EXCLUSION_REASONS), count),
  skippedFiles: count,
});
export type StyleCounts = z.infer<typeof styleCountsSchema>;

export const splitSummarySchema = z.object({
  method: z.enum(['seeded', 'file']),
  seed: z.number().optional(),
  file: z.string().optional(),
  valRatio: z.number(),
  trainImages: count,
  valImages: count,
  trainItems: count,
  valItems: count,
  /** Stems named in a split file that matched no image (first 20). */
  unknownStems: z.array(z.string()).optional(),
  unknownStemCount: count.optional(),
  /** Things a researcher should know about this split (e.g. a shop look on both sides). */
  warnings: z.array(z.string()),
});
export type SplitSummary = z.infer<typeof splitSummarySchema>;

export const scanReportSchema = z.object({
  synthetic: z.boolean(),
  dataRoot: z.string(),
  labelRoots: z.array(z.string()),
  workspace: z.string(),
  perStyle: z.record(z.string(), styleCountsSchema),
  total: styleCountsSchema,
  /** Skipped files, at most the first 100 (the count is in `total.skippedFiles`, all in `reportFiles`). */
  skipped: z.array(skippedFileSchema),
  /** Style folders that were not scanned (unreadable, looping or dangling, or links not followed). */
  skippedFolders: z.array(skippedFileSchema).optional(),
  /**
   * The full lists of skipped files and folders and excluded garments, written at the end of the scan
   * (absolute paths; absent when writing them failed, see `reportError`).
   */
  reportFiles: z.object({ json: z.string(), csv: z.string() }).optional(),
  reportError: z.string().optional(),
  removedStale: count,
  /** Labels unreadable in this scan whose earlier items were kept rather than dropped. */
  keptFromPreviousScan: count,
  split: splitSummarySchema,
  elapsedMs: z.number(),
  filesPerSecond: z.number(),
});
export type ScanReport = z.infer<typeof scanReportSchema>;

export const workspaceSummarySchema = z.object({
  workspace: z.string(),
  synthetic: z.boolean(),
  schemaVersion: count,
  dataRoots: z.array(z.object({ path: z.string(), synthetic: z.boolean() })),
  images: count,
  items: count,
  perStyle: z.record(
    z.string(),
    z.object({ images: count, items: count, trainItems: count, valItems: count }),
  ),
  split: z
    .object({ method: z.enum(['seeded', 'file']), seed: z.number().optional(), file: z.string().optional() })
    .nullable(),
  vocabularySizes: z.record(z.string(), count),
  crops: count,
  lastScan: z
    .object({ id: z.number(), status: z.string(), startedAt: z.string(), finishedAt: z.string().nullable() })
    .nullable(),
  /**
   * Image-embedding sets stored in the workspace, one per model id (`synthetic` = demo stand-ins).
   * `note` is set on vectors of a SYNTHETIC stand-in image encoder (the demo's `demo-standin`).
   */
  embeddings: z.array(
    z.object({
      model: z.string(),
      dim: count,
      source: z.enum(['onnx', 'import', 'synthetic']),
      count: count,
      note: z.string().optional(),
    }),
  ),
  /** The model query images are embedded with for image → image features (null: none yet). */
  imageEncoder: z
    .object({ model: z.string(), kind: z.string(), synthetic: z.boolean(), label: z.string() })
    .nullable()
    .optional(),
});
export type WorkspaceSummary = z.infer<typeof workspaceSummarySchema>;
