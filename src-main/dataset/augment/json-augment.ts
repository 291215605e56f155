/**
 * JSON augmentation on the encoder's index inputs, applied per training step (the trainer turns the
 * augmented rows into encoder inputs with makeInputs, rows 0..B-1): attribute mixing, then
 * synonym replacement, then field dropout (last, so "at least one field kept" holds for what the
 * encoder finally sees). It works on vocabulary indices, never on strings, so a step costs a few
 * microseconds per garment and the stored data is never touched.
 *
 * Deterministic: every draw of a step comes from one generator seeded by (run seed, epoch, step), so
 * a replay or a resumed run sees exactly the same augmented batches as the original run.
 */
import type { JsonAugmentation } from '../../../src-shared/augmentation-config.ts';
import type { FieldKind } from '../../../src-shared/fields.ts';
import { Rng } from '../rng.ts';
import { PAD_INDEX, UNK_INDEX } from '../vocabulary.ts';
import { SYNONYM_GROUPS, type SynonymField } from './synonyms.ts';

export class JsonAugmentError extends Error {
  override name = 'JsonAugmentError';
}

export interface JsonAugmentContext {
  /** The encoder's fields, in input order. */
  fields: readonly string[];
  fieldKinds: Readonly<Record<string, FieldKind>>;
  /** Each field's vocabulary (index = position), as stored with the run's checkpoint. */
  vocabulary: Readonly<Record<string, readonly { value: string }[]>>;
}

/** What the augmenter reads of a split: per field and item the indices, plus style and category. */
export interface AugmentSource {
  indices: Record<string, Int32Array[]>;
  /** Style folder of each item: the key of per-style strength. */
  styleFolders: readonly string[];
  /** Category of each item; attribute mixing pairs only garments of one category (null: never mixed). */
  categories: readonly (string | null)[];
}

/** Which step a batch belongs to: seeds the step's generator. */
export interface StepKey {
  seed: number;
  epoch: number;
  step: number;
}

/** What was done to one garment of a batch (for the dashboard and for tests). */
export interface JsonAugmentTrace {
  /** Row in the source split. */
  row: number;
  dropped: string[];
  replaced: { field: string; from: string; to: string }[];
  mixed: { field: string; withRow: number } | null;
}

const EMPTY = new Int32Array(0);

export class JsonAugmenter {
  private readonly synonyms = new Map<string, Map<number, Int32Array>>();
  private readonly mixFields: string[];

  constructor(
    readonly settings: JsonAugmentation,
    readonly ctx: JsonAugmentContext,
  ) {
    for (const f of settings.mixFields) {
      // A mix field the encoder does not read is ignored (the default list holds print, not a default field).
      if (ctx.fields.includes(f) && ctx.fieldKinds[f] !== 'multi') {
        throw new JsonAugmentError(
          `--json-aug mix-fields: "${f}" holds one value per garment; attribute mixing swaps multi-valued fields only`,
        );
      }
    }
    this.mixFields = settings.mixFields.filter((f) => ctx.fields.includes(f));
    for (const field of Object.keys(SYNONYM_GROUPS) as SynonymField[]) {
      if (!ctx.fields.includes(field)) continue;
      const vocab = ctx.vocabulary[field];
      if (!vocab) throw new JsonAugmentError(`no vocabulary for encoder field "${field}"`);
      const index = new Map(vocab.map((e, i) => [e.value, i]));
      const table = new Map<number, Int32Array>();
      for (const group of SYNONYM_GROUPS[field]) {
        const ids = group.map((v) => index.get(v)).filter((i): i is number => i !== undefined);
        for (const i of ids) table.set(i, Int32Array.from(ids.filter((j) => j !== i)));
      }
      this.synonyms.set(field, table);
    }
  }

  /** The probability multiplier of a garment's style folder (1 when not listed). */
  strength(styleFolder: string): number {
    return this.settings.styleStrength[styleFolder] ?? 1;
  }

  /**
   * Augmented copies of the indices of `rows` (position b of each list = rows[b]). The source arrays
   * are never modified. Pushes one trace per row into `trace` when given.
   */
  augmentRows(
    src: AugmentSource,
    rows: readonly number[],
    key: StepKey,
    trace?: JsonAugmentTrace[],
  ): Record<string, Int32Array[]> {
    const s = this.settings;
    const { fields } = this.ctx;
    const out: Record<string, Int32Array[]> = {};
    for (const f of fields) {
      const per = src.indices[f];
      if (!per) throw new JsonAugmentError(`the training data has no indices for encoder field "${f}"`);
      out[f] = rows.map((r) => per[r]!);
    }
    const rng = Rng.derive('json-aug', key.seed, key.epoch, key.step);
    const traces: JsonAugmentTrace[] = rows.map((row) => ({ row, dropped: [], replaced: [], mixed: null }));
    const k = rows.map((r) => this.strength(src.styleFolders[r] ?? ''));

    // 1. Attribute mixing: swap one multi-valued field with a same-category garment of the batch.
    if (s.mix > 0 && this.mixFields.length > 0) {
      const mixed = new Uint8Array(rows.length);
      for (let b = 0; b < rows.length; b++) {
        if (!rng.chance(Math.min(1, s.mix * k[b]!)) || mixed[b]) continue;
        const cat = src.categories[rows[b]!];
        const field = rng.pick(this.mixFields);
        const list = out[field]!;
        const partners: number[] = [];
        for (let c = 0; c < rows.length; c++) {
          if (c === b || mixed[c] || !cat || src.categories[rows[c]!] !== cat) continue;
          if (!sameSet(list[b]!, list[c]!)) partners.push(c);
        }
        if (partners.length === 0) continue;
        const c = rng.pick(partners);
        const t = list[b]!;
        list[b] = list[c]!;
        list[c] = t;
        mixed[b] = 1;
        mixed[c] = 1;
        traces[b]!.mixed = { field, withRow: rows[c]! };
        traces[c]!.mixed = { field, withRow: rows[b]! };
      }
    }

    // 2. Synonym replacement, value by value; a multi field stays a set (a replacement already there is dropped).
    if (s.synonym > 0) {
      for (const [field, table] of this.synonyms) {
        const list = out[field]!;
        const vocab = this.ctx.vocabulary[field]!;
        for (let b = 0; b < rows.length; b++) {
          const p = Math.min(1, s.synonym * k[b]!);
          const cur = list[b]!;
          let next: Int32Array | null = null;
          for (let i = 0; i < cur.length; i++) {
            const syn = table.get(cur[i]!);
            if (!syn || syn.length === 0 || !rng.chance(p)) continue;
            const to = syn[rng.int(0, syn.length - 1)]!;
            next ??= Int32Array.from(cur);
            traces[b]!.replaced.push({ field, from: vocab[cur[i]!]!.value, to: vocab[to]!.value });
            next[i] = to;
          }
          if (next) list[b] = dedupe(next);
        }
      }
    }

    // 3. Field dropout: each present field masked with p; if every one was drawn, one is kept.
    if (s.fieldDropout > 0) {
      for (let b = 0; b < rows.length; b++) {
        const p = Math.min(0.9, s.fieldDropout * k[b]!);
        const present = fields.filter((f) => isPresent(out[f]![b]!));
        if (present.length === 0) continue;
        const drop = present.filter(() => rng.chance(p));
        if (drop.length === present.length) drop.splice(rng.int(0, drop.length - 1), 1);
        for (const f of drop)
          out[f]![b] = this.ctx.fieldKinds[f] === 'multi' ? EMPTY : Int32Array.of(PAD_INDEX);
        traces[b]!.dropped = drop;
      }
    }
    if (trace) trace.push(...traces);
    return out;
  }

  /** The attribute JSON a garment's indices stand for (the dashboard's before/after). */
  decode(indices: Record<string, Int32Array[]>, b: number): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const f of this.ctx.fields) {
      const vocab = this.ctx.vocabulary[f]!;
      const vals = [...indices[f]![b]!].filter((i) => i !== PAD_INDEX).map((i) => vocab[i]?.value ?? '<unk>');
      if (vals.length === 0) continue;
      out[f] = this.ctx.fieldKinds[f] === 'multi' ? vals : vals[0]!;
    }
    return out;
  }
}

function isPresent(a: Int32Array): boolean {
  for (const v of a) if (v !== PAD_INDEX) return true;
  return false;
}

function sameSet(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  for (const v of b) if (!s.has(v)) return false;
  return true;
}

function dedupe(a: Int32Array): Int32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const v of a) {
    if (v === UNK_INDEX || !seen.has(v)) out.push(v);
    seen.add(v);
  }
  return Int32Array.from(out);
}
