/**
 * The attribute fields a garment carries, and which of them the JSON encoder reads by default.
 *
 * Field names are English (they name encoder inputs and checkpoint tensors); each maps to one
 * K-Fashion key (KFASHION_FORMAT.md, "From a label file to training items"). `style` is the only
 * image-level field: it merges the image's 스타일 and 서브스타일.
 */

export type FieldKind = 'single' | 'multi';

export interface FieldSpec {
  /** English name used by the encoder, the store and the API. */
  readonly name: FieldName;
  readonly kind: FieldKind;
  /** The K-Fashion label key the value comes from (garment-level unless `imageLevel`). */
  readonly source: string;
  readonly imageLevel?: boolean;
}

export const FIELD_NAMES = [
  'category',
  'style',
  'silhouette',
  'material',
  'detail',
  'color',
  'sub_color',
  'print',
  'length',
  'sleeve_length',
  'neckline',
  'collar',
] as const;

export type FieldName = (typeof FIELD_NAMES)[number];

export const FIELDS: Readonly<Record<FieldName, FieldSpec>> = {
  category: { name: 'category', kind: 'single', source: '카테고리' },
  style: { name: 'style', kind: 'multi', source: '스타일', imageLevel: true },
  silhouette: { name: 'silhouette', kind: 'single', source: '핏' },
  material: { name: 'material', kind: 'multi', source: '소재' },
  detail: { name: 'detail', kind: 'multi', source: '디테일' },
  color: { name: 'color', kind: 'single', source: '색상' },
  sub_color: { name: 'sub_color', kind: 'single', source: '서브색상' },
  print: { name: 'print', kind: 'multi', source: '프린트' },
  length: { name: 'length', kind: 'single', source: '기장' },
  sleeve_length: { name: 'sleeve_length', kind: 'single', source: '소매기장' },
  neckline: { name: 'neckline', kind: 'single', source: '넥라인' },
  collar: { name: 'collar', kind: 'single', source: '옷깃' },
};

/** The encoder's default inputs (the research plan's five fields). */
export const DEFAULT_ENCODER_FIELDS: readonly FieldName[] = [
  'category',
  'style',
  'silhouette',
  'material',
  'detail',
];

export function isFieldName(name: string): name is FieldName {
  return (FIELD_NAMES as readonly string[]).includes(name);
}

/** Garment parts in a K-Fashion label, in the order the format lists them. */
export const GARMENT_PARTS = ['아우터', '상의', '하의', '원피스'] as const;
export type GarmentPart = (typeof GARMENT_PARTS)[number];

/** A garment's attributes: single fields hold a string, multi fields a de-duplicated string list. */
export type GarmentAttributes = Partial<Record<FieldName, string | string[]>>;
