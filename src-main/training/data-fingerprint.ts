/**
 * The data fingerprint of a run: which split, which train and validation items in which order, and
 * which image vectors. Recorded in every run's config.json and checkpoint, so a replay, a warm
 * start, an evaluation or a bundle can tell whether the workspace still holds the data the run saw,
 * and say what differs.
 */
import { createHash } from 'node:crypto';
import { getMeta } from '../store/database.ts';
import type { Workspace } from '../store/workspace.ts';
import type { TrainingData } from './training-data.ts';

export interface DataFingerprint {
  /** How the split was made, e.g. "seeded (seed 42, val 20 %)" or "file /data/split.json". */
  split: string;
  /** Image-embedding model whose vectors were used. */
  model: string;
  train: number;
  val: number;
  /** SHA-256 (first 16 hex digits) of the ordered train item ids. */
  trainIds: string;
  /** SHA-256 (first 16 hex digits) of the ordered validation item ids. */
  valIds: string;
  /** SHA-256 (first 16 hex digits) of the train then validation image vectors, as float32 bytes. */
  vectors: string;
}

const short = (h: ReturnType<typeof createHash>) => h.digest('hex').slice(0, 16);

function hashIds(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(`${id}\n`);
  return short(h);
}

export function describeSplit(ws: Workspace): string {
  const s = getMeta<{ method: string; seed?: number; file?: string; valRatio?: number }>(ws.db, 'split');
  if (!s) return 'unknown';
  if (s.method === 'file') return `file ${s.file ?? '?'}`;
  return `seeded (seed ${s.seed ?? '?'}${s.valRatio !== undefined ? `, val ${Math.round(s.valRatio * 100)} %` : ''})`;
}

export function fingerprintOf(ws: Workspace, data: TrainingData): DataFingerprint {
  const v = createHash('sha256');
  for (const m of [data.train.images, data.val.images])
    v.update(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
  return {
    split: describeSplit(ws),
    model: data.embedding.model,
    train: data.train.ids.length,
    val: data.val.ids.length,
    trainIds: hashIds(data.train.ids),
    valIds: hashIds(data.val.ids),
    vectors: short(v),
  };
}

/** What differs between the data a run saw and the data here, in words (empty when the same). */
export function fingerprintDifferences(run: DataFingerprint, here: DataFingerprint): string[] {
  const out: string[] = [];
  if (run.model !== here.model) out.push(`image-embedding model "${run.model}" then, "${here.model}" now`);
  if (run.split !== here.split) out.push(`split ${run.split} then, ${here.split} now`);
  if (run.trainIds !== here.trainIds)
    out.push(`the training items differ (${run.train} then, ${here.train} now)`);
  if (run.valIds !== here.valIds) out.push(`the validation items differ (${run.val} then, ${here.val} now)`);
  if (out.length === 0 && run.vectors !== here.vectors)
    out.push('the image vectors differ (the same items were embedded again or re-imported)');
  else if (run.vectors !== here.vectors && run.model === here.model) out.push('the image vectors differ');
  return out;
}
