import { describe, expect, it } from 'vitest';
import {
  decodeUtf8,
  LabelError,
  parseLabel,
  parseLabelBytes,
  parsePolygon,
  parseSparsePolygon,
  readPolygon,
  wildPolygonPoint,
} from '../../src-main/dataset/label-parser.ts';
import { normalizeValue } from '../../src-main/dataset/normalize.ts';
import { labelJson, simpleLabel } from '../helpers/kfashion-fixture.ts';

const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

function reasonOf(fn: () => unknown): { reason: string; detail: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof LabelError) return { reason: e.reason, detail: e.detail };
    throw e;
  }
  throw new Error('expected a LabelError');
}

describe('label parser', () => {
  it('reads a plain label: image info, styles with 서브스타일, one garment with its polygon box', () => {
    const p = parseLabel(
      labelJson(simpleLabel(100026, { style: { 스타일: '로맨틱', 서브스타일: '페미닌' } })),
    );
    expect(p.imageId).toBe(100026);
    expect(p.width).toBe(80);
    expect(p.height).toBe(100);
    expect(p.shopFileName).toBe('IMG_100026.jpg');
    expect(p.styles).toEqual(['로맨틱', '페미닌']);
    expect(p.garments).toHaveLength(1);
    const g = p.garments[0]!;
    expect(g.part).toBe('상의');
    expect(g.boxSource).toBe('polygon');
    expect(g.box).toEqual({ x: 10, y: 10, w: 40, h: 50 });
    expect(g.attributes).toEqual({
      category: '블라우스',
      color: '화이트',
      silhouette: '루즈',
      material: ['우븐'],
      detail: ['셔링'],
      style: ['로맨틱', '페미닌'],
    });
    expect(p.excluded).toEqual([]);
  });

  it('orders polygon points by index whatever the key order', () => {
    const obj = {
      Y좌표3: 30,
      X좌표2: 20,
      X좌표10: 100,
      Y좌표1: 10,
      X좌표1: 1,
      Y좌표2: 2,
      X좌표3: 3,
      Y좌표10: 1000,
    };
    expect(parsePolygon(obj, '')).toEqual([
      { x: 1, y: 10 },
      { x: 20, y: 2 },
      { x: 3, y: 30 },
      { x: 100, y: 1000 },
    ]);
  });

  it('reads polygon points through arrays exactly as through maps: order, duplicates, odd indices, the key that throws', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const odd = ['01', '-0', ' 2', '1.5', '0x3', '1e1', '', '4097', '9007199254740993', '-1', 'x', '003'];
    const outcome = (f: () => unknown) => {
      try {
        return { ok: f() };
      } catch (e) {
        return { threw: e instanceof Error ? e.message : String(e) };
      }
    };
    for (let t = 0; t < 400; t++) {
      const obj: Record<string, unknown> = {};
      const keys = Math.floor(rand() * 40);
      for (let k = 0; k < keys; k++) {
        const axis = rand() < 0.5 ? 'X' : 'Y';
        const index = rand() < 0.2 ? odd[Math.floor(rand() * odd.length)]! : String(Math.floor(rand() * 12));
        const r = rand();
        obj[`${axis}좌표${index}`] =
          r < 0.03
            ? 'NaN'
            : r < 0.05
              ? null
              : r < 0.1
                ? (rand() - 0.5) * 1e5
                : Math.round(rand() * 1000) / 10;
      }
      if (rand() < 0.1) obj['Z좌표1'] = 5;
      if (rand() < 0.1) obj['X좌표'] = -1e6;
      expect(outcome(() => parsePolygon(obj as never, 'p.'))).toEqual(
        outcome(() => parseSparsePolygon(obj as never, 'p.')),
      );
      // The wild point found in the same pass is the one the separate check finds.
      const [w, h] = rand() < 0.3 ? [null, null] : [100, 80];
      const read = outcome(() => readPolygon(obj as never, 'p.', w, h, true));
      if ('ok' in read)
        expect((read.ok as { wild: string | null }).wild).toEqual(wildPolygonPoint(obj as never, 'p.', w, h));
    }
    // Past the dense bound, the map path answers.
    expect(parsePolygon({ X좌표5000: 1, Y좌표5000: 2, X좌표1: 3, Y좌표1: 4 }, '')).toEqual([
      { x: 3, y: 4 },
      { x: 1, y: 2 },
    ]);
  });

  it('gives the same box for scrambled and ordered polygon keys', () => {
    const pts: [number, number][] = [
      [12, 5],
      [40, 7],
      [44, 70],
      [30, 80],
      [8, 66],
      [9, 20],
    ];
    const a = parseLabel(labelJson({ ...simpleLabel(1), polygons: { 상의: pts }, scramble: true }));
    const b = parseLabel(labelJson({ ...simpleLabel(1), polygons: { 상의: pts }, scramble: false }));
    expect(a.garments[0]!.box).toEqual(b.garments[0]!.box);
    expect(a.garments[0]!.box).toEqual({ x: 8, y: 5, w: 36, h: 75 });
  });

  it('clips polygon points that lie outside the image', () => {
    const p = parseLabel(
      labelJson({
        ...simpleLabel(1),
        polygons: {
          상의: [
            [-5, -3],
            [90, 4],
            [85, 130],
            [2, 99],
          ],
        },
      }),
    );
    expect(p.garments[0]!.box).toEqual({ x: 0, y: 0, w: 80, h: 100 });
  });

  it('treats [{}] parts as absent and reads every present part', () => {
    const p = parseLabel(
      labelJson({
        id: 2,
        labels: { 하의: { 카테고리: '스커트', 색상: '블랙' }, 아우터: { 카테고리: '코트' } },
        polygons: {
          하의: [
            [0, 50],
            [40, 50],
            [40, 90],
          ],
          아우터: [
            [0, 0],
            [70, 0],
            [70, 80],
          ],
        },
      }),
    );
    expect(p.garments.map((g) => g.part).sort()).toEqual(['아우터', '하의'].sort());
    expect(p.excluded).toEqual([]);
  });

  it('keeps a garment that has only 색상 and 소매기장, without 카테고리', () => {
    const p = parseLabel(
      labelJson({ ...simpleLabel(3), labels: { 상의: { 색상: '네이비', 소매기장: '긴팔' } } }),
    );
    expect(p.garments[0]!.attributes).toEqual({ color: '네이비', sleeve_length: '긴팔', style: ['로맨틱'] });
  });

  it('reads 스타일 [{}] as no style', () => {
    const p = parseLabel(labelJson(simpleLabel(4, { style: null })));
    expect(p.styles).toEqual([]);
    expect(p.garments[0]!.attributes.style).toBeUndefined();
  });

  it('normalises NBSP and the known spelling variants', () => {
    expect(normalizeValue('노말')).toBe('노멀');
    expect(normalizeValue('홀토넥')).toBe('홀터넥');
    expect(normalizeValue('원 숄더')).toBe('원숄더');
    expect(normalizeValue('테일러칼라')).toBe('테일러드칼라');
    expect(normalizeValue('하운즈 투스')).toBe('하운즈투스');
    expect(normalizeValue('하운즈\u00A0투스')).toBe('하운즈투스');
    expect(normalizeValue('우븐\u00A0')).toBe('우븐');
    expect(normalizeValue('헤어 니트')).toBe('헤어 니트');
    expect(normalizeValue('헤어\u00A0니트')).toBe('헤어 니트');
    expect(normalizeValue('스카이\u00A0블루')).toBe('스카이블루');
    expect(normalizeValue('새로운 값')).toBe('새로운 값'); // unknown values keep their spaces
    // Decomposed Hangul (as macOS writes file names) equals the composed form.
    expect(normalizeValue('로맨틱'.normalize('NFD'))).toBe('로맨틱');
    const p = parseLabel(
      labelJson({
        ...simpleLabel(5),
        labels: {
          상의: {
            카테고리: '블라우스\u00A0',
            핏: '노말',
            넥라인: '홀토넥',
            프린트: ['하운즈\u00A0투스', '하운즈투스'],
          },
        },
      }),
    );
    expect(p.garments[0]!.attributes).toMatchObject({
      category: '블라우스',
      silhouette: '노멀',
      neckline: '홀터넥',
      print: ['하운즈투스'],
    });
  });

  it('falls back to the rect when the polygon is missing, and excludes degenerate boxes', () => {
    const rectOnly = parseLabel(labelJson({ ...simpleLabel(6), polygons: {} }));
    expect(rectOnly.garments[0]!.boxSource).toBe('rect');
    expect(rectOnly.garments[0]!.box).toEqual({ x: 10, y: 10, w: 40, h: 50 });

    const degenerate = parseLabel(
      labelJson({ ...simpleLabel(7), polygons: {}, rects: { 상의: { x: 10, y: 10, w: 1, h: 50 } } }),
    );
    expect(degenerate.garments).toEqual([]);
    expect(degenerate.excluded).toEqual([{ part: '상의', reason: 'degenerate-box' }]);

    const zero = parseLabel(
      labelJson({ ...simpleLabel(8), polygons: {}, rects: { 상의: { x: 10, y: 10, w: 30, h: 0 } } }),
    );
    expect(zero.excluded).toEqual([{ part: '상의', reason: 'degenerate-box' }]);

    const none = parseLabel(labelJson({ ...simpleLabel(9), polygons: {}, rects: {} }));
    expect(none.excluded).toEqual([{ part: '상의', reason: 'no-box' }]);
  });

  it('keeps a good polygon even when the rect is degenerate', () => {
    const p = parseLabel(labelJson({ ...simpleLabel(10), rects: { 상의: { x: 10, y: 10, w: 0, h: 1 } } }));
    expect(p.garments[0]!.boxSource).toBe('polygon');
  });

  it('excludes a garment with a box but no attributes', () => {
    const p = parseLabel(labelJson({ ...simpleLabel(11), labels: {} }));
    expect(p.excluded).toEqual([{ part: '상의', reason: 'no-attributes' }]);
  });

  it('does not depend on key order anywhere', () => {
    const json = labelJson(simpleLabel(12));
    const reversed = JSON.parse(JSON.stringify(json), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    );
    expect(parseLabel(reversed)).toEqual(parseLabel(json));
  });

  it('reads a BOM-prefixed file', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc(labelJson(simpleLabel(13)))]);
    expect(parseLabelBytes(bytes).imageId).toBe(13);
  });

  it('rejects truncated JSON, bad bytes, missing sections and wrong types with the field named', () => {
    const full = JSON.stringify(labelJson(simpleLabel(14)));
    expect(reasonOf(() => parseLabelBytes(new TextEncoder().encode(full.slice(0, 100)))).reason).toBe(
      'invalid-json',
    );
    expect(reasonOf(() => parseLabelBytes(new Uint8Array([])))).toEqual({
      reason: 'invalid-json',
      detail: 'the file is empty',
    });
    expect(reasonOf(() => parseLabelBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).reason).toBe(
      'bad-encoding',
    );

    const noLabels = labelJson(simpleLabel(15)) as {
      '데이터셋 정보': { '데이터셋 상세설명': Record<string, unknown> };
    };
    delete noLabels['데이터셋 정보']['데이터셋 상세설명']['라벨링'];
    expect(reasonOf(() => parseLabel(noLabels))).toEqual({
      reason: 'bad-structure',
      detail: 'missing section "데이터셋 정보.데이터셋 상세설명.라벨링"',
    });

    const badColor = labelJson({ ...simpleLabel(16), labels: { 상의: { 색상: 3 } } });
    expect(reasonOf(() => parseLabel(badColor))).toEqual({
      reason: 'bad-structure',
      detail: '"데이터셋 정보.데이터셋 상세설명.라벨링.상의[0].색상": expected a string, got a number',
    });

    const badPoly = labelJson({ ...simpleLabel(17) }) as {
      '데이터셋 정보': { '데이터셋 상세설명': { 폴리곤좌표: { 상의: Record<string, unknown>[] } } };
    };
    badPoly['데이터셋 정보']['데이터셋 상세설명']['폴리곤좌표']['상의'][0]!['X좌표2'] = 'ten';
    expect(reasonOf(() => parseLabel(badPoly)).detail).toContain(
      '폴리곤좌표.상의[0].X좌표2": expected a finite number',
    );

    expect(reasonOf(() => parseLabel([1, 2])).detail).toContain('(top level)');
    const notObj = { '데이터셋 정보': 'x' };
    expect(reasonOf(() => parseLabel(notObj)).detail).toBe(
      '"데이터셋 정보": expected an object, got a string',
    );
  });
});

describe('label text decode', () => {
  // [Note: label text decode]: the fast decode must give exactly the string V8's decoder gives.
  it('gives the same string as toString("utf8") for every valid UTF-8 text', () => {
    let seed = 12345;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const texts = [
      '',
      '\ufeff{"스타일": "레트로"}',
      'a'.repeat(300),
      `${'a'.repeat(300)}가`,
      `한국어 😀 \u{10ffff} \u0000 \u07ff \u0800 \uffff ${'x'.repeat(300)}`,
      JSON.stringify(
        labelJson({
          id: 7,
          style: { 스타일: '레트로' },
          labels: { 상의: { 카테고리: '블라우스', 색상: '화이트' } },
        }),
      ),
    ];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rand() * 400);
      for (let j = 0; j < n; j++) {
        const r = rand();
        const cp =
          r < 0.3
            ? Math.floor(rand() * 128)
            : r < 0.6
              ? 0xac00 + Math.floor(rand() * 11172)
              : r < 0.8
                ? Math.floor(rand() * 0xd7ff)
                : 0x10000 + Math.floor(rand() * 0xfffff);
        s += String.fromCodePoint(cp);
      }
      texts.push(s);
    }
    let nonAscii = 0;
    for (const t of texts) {
      const buf = Buffer.from(t, 'utf8');
      if (buf.length >= 256 && /[^\x00-\x7f]/.test(t)) nonAscii++;
      expect(decodeUtf8(buf)).toBe(buf.toString('utf8'));
    }
    // The transcoding path was taken, not only the plain one.
    expect(nonAscii).toBeGreaterThan(500);
  });

  it('a label decoded either way parses to the same label', () => {
    const json = labelJson({
      id: 9,
      style: { 스타일: '로맨틱' },
      labels: { 상의: { 카테고리: '블라우스', 소재: ['우븐', '레이스'] } },
      rects: { 상의: { x: 10, y: 20, w: 300, h: 400 } },
    });
    const bytes = Buffer.from(JSON.stringify(json), 'utf8');
    expect(bytes.length).toBeGreaterThan(256);
    expect(parseLabelBytes(bytes)).toEqual(parseLabel(JSON.parse(bytes.toString('utf8'))));
  });
});
