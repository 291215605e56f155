/** Reading one label file, with every failure turned into a skip reason: what parse workers run. */
import { readFileSync } from 'node:fs';
import type { SkipReason } from '../../src-shared/dataset.ts';
import { LabelError, type ParsedLabel, parseLabelBytes } from './label-parser.ts';

export type LabelFileResult =
  | { ok: true; label: ParsedLabel }
  | { ok: false; reason: SkipReason; detail: string };

export function readLabelFile(path: string): LabelFileResult {
  try {
    return { ok: true, label: parseLabelBytes(readFileSync(path)) };
  } catch (e) {
    if (e instanceof LabelError) return { ok: false, reason: e.reason, detail: e.detail };
    return { ok: false, reason: 'unreadable', detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Parses a batch of label files; the scan hands batches to this or to a pool of workers running it. */
export type LabelBatchReader = (paths: string[]) => Promise<LabelFileResult[]>;

export const readLabelsInline: LabelBatchReader = async (paths) => paths.map(readLabelFile);
