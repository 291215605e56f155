import { describe, expect, it } from 'vitest';
import {
  closeMatches,
  describeAttributes,
  parseSearchQuery,
  SearchQueryError,
} from '../../src-main/evaluation/search-query.ts';

/** The part of best_model.json the parser reads: five fields with a small vocabulary each. */
const checkpoint = {
  fields: ['category', 'style', 'silhouette', 'material', 'detail'],
  vocabulary: {
    category: ['<pad>', '<unk>', '블라우스', '스커트', '드레스', '티셔츠'],
    style: ['<pad>', '<unk>', '로맨틱', '페미닌', '리조트', '레트로'],
    silhouette: ['<pad>', '<unk>', '노멀', '루즈', '타이트'],
    material: ['<pad>', '<unk>', '우븐', '레이스', '헤어 니트', '니트'],
    detail: ['<pad>', '<unk>', '셔링', '포켓', '프릴'],
  },
};

describe('parseSearchQuery', () => {
  it('reads the encoder field names', () => {
    const q = parseSearchQuery(
      '{"category": "블라우스", "style": ["로맨틱", "페미닌"], "material": "레이스"}',
      checkpoint,
    );
    expect(q.attributes).toEqual({ category: '블라우스', style: ['로맨틱', '페미닌'], material: ['레이스'] });
    expect(q.ignored).toEqual([]);
    expect(q.label).toBe('category 블라우스 · style 로맨틱, 페미닌 · material 레이스');
  });

  it("reads K-Fashion's Korean keys, merges 서브스타일 into style and normalises spellings", () => {
    const q = parseSearchQuery(
      {
        카테고리: '스커트',
        스타일: '로맨틱',
        서브스타일: '페미닌',
        핏: '노말', // K-Fashion's variant spelling of 노멀
        소재: ['레이스', '헤어\u00A0니트'], // non-breaking space as in real files
        디테일: ['프릴'],
      },
      checkpoint,
    );
    expect(q.attributes).toEqual({
      category: '스커트',
      style: ['로맨틱', '페미닌'],
      silhouette: '노멀',
      material: ['레이스', '헤어 니트'],
      detail: ['프릴'],
    });
  });

  it('reports known fields the checkpoint does not read as ignored, not as errors', () => {
    const q = parseSearchQuery({ 카테고리: '드레스', 색상: '화이트', print: ['도트'] }, checkpoint);
    expect(q.attributes).toEqual({ category: '드레스' });
    expect(q.ignored).toEqual(['색상', 'print']);
  });

  it('rejects an unknown key, naming it and the keys the checkpoint reads', () => {
    const e = () => parseSearchQuery('{"colour": "red"}', checkpoint);
    expect(e).toThrow(SearchQueryError);
    expect(e).toThrow(/Unknown query key "colour" \(did you mean "color"/);
    expect(e).toThrow(/This checkpoint reads: category, 카테고리, style, 스타일, 서브스타일, silhouette, 핏/);
    expect(() => parseSearchQuery({ 카테고리리: '블라우스' }, checkpoint)).toThrow(/did you mean "카테고리"/);
  });

  it('rejects an unknown value with close and valid values', () => {
    const e = () => parseSearchQuery({ category: '블라우즈' }, checkpoint);
    expect(e).toThrow(/Unknown category value "블라우즈" \(key 카테고리 \/ category\)/);
    expect(e).toThrow(/Close values: 블라우스\./);
    expect(e).toThrow(/Valid values: 블라우스, 스커트, 드레스, 티셔츠\./);
    // <pad>/<unk> are not values a person can ask for.
    expect(() => parseSearchQuery({ style: '<unk>' }, checkpoint)).toThrow(/Unknown style value "<unk>"/);
  });

  it('rejects bad JSON, non-objects, wrong types, two values for a single field and empty queries', () => {
    expect(() => parseSearchQuery('{category: 블라우스}', checkpoint)).toThrow(/--query is not valid JSON/);
    expect(() => parseSearchQuery('["블라우스"]', checkpoint)).toThrow(/must be a JSON object.*got an array/);
    expect(() => parseSearchQuery({ category: 3 }, checkpoint)).toThrow(
      /"category": expected a string, got 3/,
    );
    expect(() => parseSearchQuery({ category: ['블라우스', '스커트'] }, checkpoint)).toThrow(
      /category \(카테고리\) takes one value; the query gives 2/,
    );
    expect(() => parseSearchQuery({ category: '  ' }, checkpoint)).toThrow(/an empty value/);
    expect(() => parseSearchQuery({}, checkpoint)).toThrow(/no attribute this checkpoint reads/);
    expect(() => parseSearchQuery({ 색상: '화이트' }, checkpoint)).toThrow(/\(ignored: 색상\)/);
  });

  it('closeMatches and describeAttributes', () => {
    expect(closeMatches('블라우즈', ['블라우스', '스커트', '티셔츠'])).toEqual(['블라우스']);
    expect(closeMatches('니트', ['니트', '헤어 니트', '우븐'])).toEqual(['니트', '헤어 니트']);
    expect(closeMatches('zzzz', ['블라우스'])).toEqual([]);
    expect(describeAttributes({ style: ['로맨틱'], category: '블라우스' })).toBe(
      'category 블라우스 · style 로맨틱',
    );
  });
});
