/**
 * The synonym table for JSON augmentation: groups of K-Fashion style and material values that a
 * labeller could reasonably have used for the same garment. Replacing a value by another of its
 * group teaches the encoder that these labels are near each other, which the data alone says only
 * through the images.
 *
 * Built by hand from K-Fashion's value lists (kfashion-values.ts, shared/data/kfashion-vocab.json) and
 * reviewed value by value. Rules kept while reviewing:
 * - every value is one of K-Fashion's published values (a test checks each against the vocabulary),
 *   so a replacement never produces <unk>;
 * - a group holds values the label guide itself uses interchangeably or as parent/child (로맨틱's
 *   서브스타일 is often 페미닌; 헤어 니트 is a knit; suede is leather), never merely related styles
 *   (스트리트 and 스포티 look alike on photos but are labelled apart on purpose);
 * - 레트로 has no group: no other style means "retro"; it is augmented more through per-style
 *   strength instead.
 * K-Fashion's spelling variants (노말→노멀, 하운즈 투스→하운즈투스, …) are not here: the label parser
 * normalises them (VALUE_ALIASES), so they already share one vocabulary index.
 */
import type { FieldName } from '../../../src-shared/fields.ts';

export type SynonymField = Extract<FieldName, 'style' | 'material'>;

export const SYNONYM_GROUPS: Readonly<Record<SynonymField, readonly (readonly string[])[]>> = {
  style: [
    // Romantic / feminine: 페미닌 is 로맨틱's most frequent 서브스타일.
    ['로맨틱', '페미닌'],
    // Menswear-inspired: the guide describes 톰보이 and 젠더리스 through 매니시 tailoring.
    ['매니시', '톰보이', '젠더리스'],
    // 힙합 is labelled as a kind of street wear (oversized, graphic, sneakers).
    ['스트리트', '힙합'],
    // Tailored, understated: 소피스트케이티드 is 클래식 with a modern cut.
    ['클래식', '소피스트케이티드'],
    // Country / western: checks, denim, fringe, boots.
    ['컨트리', '웨스턴'],
  ],
  material: [
    // Knits: hair knit (mohair-like) is a knit.
    ['니트', '헤어 니트'],
    // Animal-hair wools.
    ['울/캐시미어', '앙고라'],
    // Leathers: suede is napped leather.
    ['가죽', '스웨이드'],
    // Fur and shearling (무스탕 is K-Fashion's word for shearling).
    ['퍼', '무스탕'],
    // Light, sheer, fluid wovens.
    ['시폰', '실크'],
    // Stretch jerseys.
    ['저지', '스판덱스'],
    // Pile fabrics.
    ['코듀로이', '벨벳'],
  ],
};

/** value → the other values of its group (empty when it has none). */
export function synonymsOf(field: SynonymField, value: string): readonly string[] {
  for (const g of SYNONYM_GROUPS[field]) if (g.includes(value)) return g.filter((v) => v !== value);
  return [];
}
