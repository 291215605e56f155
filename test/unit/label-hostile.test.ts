/** Hostile label files: what the parser and the bounded reader do with input no real label has. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelFile } from '../../src-main/dataset/label-file.ts';
import {
  LabelError,
  MAX_LABEL_BYTES,
  parseLabel,
  parseLabelBytes,
} from '../../src-main/dataset/label-parser.ts';
import { labelJson, simpleLabel, tempDir } from '../helpers/kfashion-fixture.ts';

function reasonOf(fn: () => unknown): { reason: string; detail: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof LabelError) return { reason: e.reason, detail: e.detail };
    throw e;
  }
  throw new Error('expected a LabelError');
}

/** A label whose top garment's 디테일 list holds `n` entries (a hostile file of 1.5M entries, far past any real label). */
function hugeDetailText(n: number): string {
  const text = JSON.stringify(labelJson(simpleLabel(1)));
  const list = `[${'"포켓",'.repeat(n - 1)}"셔링"]`;
  return text.replace('"디테일":["셔링"]', `"디테일":${list}`);
}

const spaced = (i: number) =>
  i
    .toString(3)
    .split('')
    .map((d) => [' ', '\u00a0', '\u3000'][Number(d)])
    .join('');

let dir: string;
beforeAll(() => {
  dir = tempDir('kf-hostile-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parsing stays linear in the size of a list', () => {
  it('de-duplicates a 1.5M-entry 디테일 list in well under a second (parsed, not skipped: parseLabel has no size bound)', () => {
    const text = hugeDetailText(1_500_000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(MAX_LABEL_BYTES);
    const t0 = performance.now();
    const p = parseLabel(JSON.parse(text));
    const ms = performance.now() - t0;
    expect(p.garments[0]!.attributes.detail).toEqual(['포켓', '셔링']);
    // JSON.parse of ~12 MB included. With Array.includes this took minutes.
    expect(ms).toBeLessThan(1000);
  });

  it('stays linear when every entry is a different string: 200,000 of them parse in about a second, not minutes', () => {
    // Every raw string different, all normalising to one value: whitespace digits in base 3. A list
    // scan per entry would make 200,000²/2 = 2·10¹⁰ string comparisons (tens of seconds at least);
    // linear work is about half a second here.
    // An absolute bound far from both, rather than a ratio of two short timings on a shared machine.
    let i = 0;
    const json = JSON.parse(hugeDetailText(200_000).replace(/"포켓"/g, () => `"포켓${spaced(i++)}"`));
    const t0 = performance.now();
    const p = parseLabel(json);
    const ms = performance.now() - t0;
    console.log(`200,000 different entries: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(5000);
    expect(p.garments[0]!.attributes.detail).toEqual(['포켓', '셔링']);
  });

  it('skips the same 1.5M-entry label when read from disk: it is over the size bound, and never read', () => {
    const file = join(dir, 'huge.json');
    // 1.5M × "포켓", is 9 bytes an entry: about 13.5 MB, over the 8 MB bound.
    writeFileSync(file, hugeDetailText(1_500_000));
    const t0 = performance.now();
    const r = readLabelFile(file);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(r).toMatchObject({ ok: false, reason: 'too-large' });
    expect(!r.ok && r.detail).toMatch(
      /^1[0-9]\.\d MB, larger than any real K-Fashion label can be \(the limit is 8\.0 MB\); not read$/,
    );
  });
});

describe('value bounds', () => {
  it('refuse a list of more than 100 different values, and a value over 100 characters', () => {
    const many = JSON.stringify(labelJson(simpleLabel(1))).replace(
      '"디테일":["셔링"]',
      `"디테일":[${Array.from({ length: 101 }, (_, i) => `"d${i}"`).join(',')}]`,
    );
    expect(reasonOf(() => parseLabelBytes(new TextEncoder().encode(many)))).toEqual({
      reason: 'bad-structure',
      detail:
        '"데이터셋 정보.데이터셋 상세설명.라벨링.상의[0].디테일": more than 100 different values; a garment lists a handful (K-Fashion\'s largest field has 40 in all)',
    });
    const hundred = many.replace(',"d100"', '');
    expect(parseLabelBytes(new TextEncoder().encode(hundred)).garments[0]!.attributes.detail).toHaveLength(
      100,
    );
    const long = labelJson({ ...simpleLabel(2), labels: { 상의: { 카테고리: 'x'.repeat(5000) } } });
    expect(reasonOf(() => parseLabel(long)).detail).toBe(
      '"데이터셋 정보.데이터셋 상세설명.라벨링.상의[0].카테고리": a value of 5,000 characters; K-Fashion values are short words (at most 100 characters accepted)',
    );
  });
});

describe('the size bound', () => {
  it('refuses a file over 8 MB by its size alone (a sparse 2 GB file is not read)', () => {
    const file = join(dir, 'sparse.json');
    writeFileSync(file, '');
    truncateSync(file, 2 * 1024 ** 3);
    const before = process.memoryUsage().rss;
    const r = readLabelFile(file);
    expect(r).toMatchObject({ ok: false, reason: 'too-large' });
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('reads a file of exactly the bound, and refuses one byte more', () => {
    const file = join(dir, 'edge.json');
    const text = JSON.stringify(labelJson(simpleLabel(2)));
    writeFileSync(file, text + ' '.repeat(MAX_LABEL_BYTES - Buffer.byteLength(text)));
    expect(readLabelFile(file).ok).toBe(true);
    writeFileSync(file, text + ' '.repeat(MAX_LABEL_BYTES - Buffer.byteLength(text) + 1));
    expect(readLabelFile(file)).toMatchObject({ ok: false, reason: 'too-large' });
    expect(reasonOf(() => parseLabelBytes(new Uint8Array(MAX_LABEL_BYTES + 1))).reason).toBe('too-large');
  });

  it('reports a folder, a pipe, a loop and a dangling link by what they are, without blocking', () => {
    mkdirSync(join(dir, 'folder.json'));
    expect(readLabelFile(join(dir, 'folder.json'))).toEqual({
      ok: false,
      reason: 'unreadable',
      detail: 'a folder, not a file',
    });
    symlinkSync('loop-b.json', join(dir, 'loop-a.json'));
    symlinkSync('loop-a.json', join(dir, 'loop-b.json'));
    expect(readLabelFile(join(dir, 'loop-a.json'))).toMatchObject({
      ok: false,
      reason: 'unreadable',
      detail: expect.stringContaining('(ELOOP)'),
    });
    symlinkSync('gone.json', join(dir, 'dangling.json'));
    expect(readLabelFile(join(dir, 'dangling.json'))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('not found: a dangling symbolic link'),
    });
    const fifo = join(dir, 'pipe.json');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      // Opened without O_NONBLOCK this would wait forever for a writer.
      expect(readLabelFile(fifo)).toEqual({
        ok: false,
        reason: 'unreadable',
        detail: 'not a regular file (a device, pipe or socket)',
      });
    } else console.log('mkfifo is not available: the FIFO case is not tested here');
  });
});

describe('numbers say what was wrong', () => {
  const withPoint = (v: unknown) => {
    const json = labelJson(simpleLabel(3)) as {
      '데이터셋 정보': { '데이터셋 상세설명': { 폴리곤좌표: { 상의: Record<string, unknown>[] } } };
    };
    json['데이터셋 정보']['데이터셋 상세설명']['폴리곤좌표']['상의'][0]!['X좌표2'] = v;
    return JSON.stringify(json);
  };
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('quotes a number too large for a double as the file writes it', () => {
    const text = withPoint(0).replace('"X좌표2":0', '"X좌표2":1e400');
    expect(reasonOf(() => parseLabelBytes(bytes(text)))).toEqual({
      reason: 'bad-structure',
      detail:
        '"데이터셋 정보.데이터셋 상세설명.폴리곤좌표.상의[0].X좌표2": 1e400 is too large: numbers must lie within ±1.8e308',
    });
    const neg = withPoint(0).replace('"X좌표2":0', '"X좌표2":-2.5E999');
    expect(reasonOf(() => parseLabelBytes(bytes(neg))).detail).toContain(
      'X좌표2": -2.5E999 is too large (in magnitude)',
    );
    const width = JSON.stringify(labelJson(simpleLabel(4))).replace(
      '"이미지 너비":80',
      '"이미지 너비":9e999',
    );
    expect(reasonOf(() => parseLabelBytes(bytes(width))).detail).toBe(
      '"이미지 정보.이미지 너비": 9e999 is too large: numbers must lie within ±1.8e308',
    );
  });

  it('quotes a string where a number belongs ("NaN")', () => {
    expect(reasonOf(() => parseLabelBytes(bytes(withPoint('NaN')))).detail).toBe(
      '"데이터셋 정보.데이터셋 상세설명.폴리곤좌표.상의[0].X좌표2": expected a finite number, got the string "NaN"',
    );
    expect(reasonOf(() => parseLabelBytes(bytes(withPoint({ x: 1 })))).detail).toContain(
      'expected a finite number, got an object',
    );
  });

  it('refuses an image size no image can have', () => {
    const text = JSON.stringify(labelJson(simpleLabel(5))).replace(
      '"이미지 높이":100',
      '"이미지 높이":9007199254740993',
    );
    expect(reasonOf(() => parseLabelBytes(bytes(text))).detail).toBe(
      '"이미지 정보.이미지 높이": 9007199254740992 is larger than any image can be (at most 65535 px, the JPEG limit)',
    );
  });
});

describe('coordinates far outside the image', () => {
  it('exclude the garment as bad-coordinates, with the key, the value and the bound', () => {
    const text = JSON.stringify(
      labelJson({
        ...simpleLabel(6),
        polygons: {
          상의: [
            [10, 10],
            [77777, 10],
            [50, 60],
          ],
        },
      }),
    );
    // As the file writes it: 9007199254740993 is no JavaScript number.
    const p = parseLabelBytes(new TextEncoder().encode(text.replace('77777', '9007199254740993')));
    expect(p.garments).toEqual([]);
    expect(p.excluded).toEqual([
      {
        part: '상의',
        reason: 'bad-coordinates',
        detail:
          '"데이터셋 정보.데이터셋 상세설명.폴리곤좌표.상의[0].X좌표2": 9007199254740992 lies more than 2 × the image width (80 px) outside the image',
      },
    ]);
  });

  it('keep a point a little outside (clipped, as real labels need), and refuse one beyond two image sizes', () => {
    const poly = (x: number): [number, number][] => [
      [10, 10],
      [x, 10],
      [50, 60],
    ];
    // Width 80: up to 3 × 80 = 240 on the right and -160 on the left is tolerated (and clipped).
    expect(parseLabel(labelJson({ ...simpleLabel(7), polygons: { 상의: poly(240) } })).garments).toHaveLength(
      1,
    );
    expect(
      parseLabel(labelJson({ ...simpleLabel(7), polygons: { 상의: poly(-160) } })).garments,
    ).toHaveLength(1);
    expect(
      parseLabel(labelJson({ ...simpleLabel(7), polygons: { 상의: poly(241) } })).excluded[0]?.reason,
    ).toBe('bad-coordinates');
  });

  it('check the rect where it makes the box, and not where the polygon does', () => {
    const wildRect = { x: 10, y: 10, w: 1e12, h: 50 };
    const fromRect = parseLabel(labelJson({ ...simpleLabel(8), polygons: {}, rects: { 상의: wildRect } }));
    expect(fromRect.excluded).toEqual([
      {
        part: '상의',
        reason: 'bad-coordinates',
        detail: expect.stringContaining('렉트좌표.상의[0].X좌표 + 가로": 1000000000010 lies more than'),
      },
    ]);
    const fromPolygon = parseLabel(labelJson({ ...simpleLabel(8), rects: { 상의: wildRect } }));
    expect(fromPolygon.garments).toHaveLength(1);
  });

  it('use the JPEG limit where the label gives no image size', () => {
    const json = labelJson({
      ...simpleLabel(9),
      polygons: {
        상의: [
          [10, 10],
          [150_000, 10],
          [50, 60],
        ],
      },
    }) as { '이미지 정보': Record<string, unknown> };
    delete json['이미지 정보']['이미지 너비'];
    expect(parseLabel(json).garments).toHaveLength(1);
    // Without a width the bound is 3 × 65535 = 196605.
    const far = JSON.parse(JSON.stringify(json).replace('150000', '300000'));
    expect(parseLabel(far).excluded[0]).toMatchObject({
      reason: 'bad-coordinates',
      detail: expect.stringContaining('65535 px (the largest JPEG; the label gives no image width)'),
    });
  });
});
