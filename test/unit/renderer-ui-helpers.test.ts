import { describe, expect, it } from 'vitest';
import {
  bestIndex,
  chartFileName,
  formatValue,
  seriesCsv,
  toCsv,
} from '../../src-renderer/src/lib/chart-data.ts';
import { constantColumns } from '../../src-renderer/src/lib/constant-columns.ts';
import { facetValues, NO_FILTER, passes } from '../../src-renderer/src/lib/grid-filter.ts';
import { imageProblem, sniffImageType, toBase64 } from '../../src-renderer/src/lib/image-file.ts';
import { speakUi } from '../../src-renderer/src/lib/ui-errors.ts';
import { formatHash, oneOf, parseHash } from '../../src-renderer/src/lib/url-hash.ts';

describe('view state in the URL hash', () => {
  it('reads and writes tab and selections, Hangul included, and skips empty values', () => {
    const hash = formatHash({ tab: 'search', 'search-mode': 'image', 'sample-style': '레트로', empty: '' });
    expect(hash.startsWith('#tab=search&search-mode=image&sample-style=')).toBe(true);
    expect(hash).not.toContain('empty');
    expect(parseHash(hash)).toEqual({ tab: 'search', 'search-mode': 'image', 'sample-style': '레트로' });
    expect(parseHash('')).toEqual({});
    expect(formatHash({})).toBe('');
  });

  it('falls back when a hand-edited hash names something that does not exist', () => {
    expect(oneOf('evaluate', ['dataset', 'evaluate'], 'dataset')).toBe('evaluate');
    expect(oneOf('nope', ['dataset', 'evaluate'], 'dataset')).toBe('dataset');
    expect(oneOf(undefined, ['dataset'], 'dataset')).toBe('dataset');
  });
});

describe('chart figures', () => {
  it('writes RFC 4180 CSV: quoted fields, empty cells for gaps, CRLF rows', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          [1, 'x,y'],
          [null, 'say "hi"'],
        ],
      ),
    ).toBe('a,b\r\n1,"x,y"\r\n,"say ""hi"""\r\n');
    expect(
      seriesCsv(
        'epoch',
        [1, 2],
        [
          { label: 'train', data: [0.5, null] },
          { label: 'val', data: [0.6, 0.4] },
        ],
      ),
    ).toBe('epoch,train,val\r\n1,0.5,0.6\r\n2,,0.4\r\n');
  });

  it('names files after the title, keeping Hangul', () => {
    expect(chartFileName('Loss (InfoNCE)', 'csv')).toBe('Loss-InfoNCE.csv');
    expect(chartFileName('스타일 분포 %', 'png')).toBe('스타일-분포.png');
    expect(chartFileName('%%%', 'png')).toBe('chart.png');
  });

  it('formats values with their unit and tiny ones in exponent form', () => {
    expect(formatValue(45.23456, '%')).toBe('45.23 %');
    expect(formatValue(6e-5)).toBe('6.0e-5');
    expect(formatValue(0)).toBe('0');
    expect(formatValue(Number.NaN)).toBe('–');
  });

  it('finds the best epoch (lowest validation loss, first on ties), skipping gaps', () => {
    expect(bestIndex([3, 2, null, 2, 4], true)).toBe(1);
    expect(bestIndex([0.1, 0.3, 0.2], false)).toBe(1);
    expect(bestIndex([null, null], true)).toBe(-1);
  });
});

describe('errors in the words of the UI', () => {
  it('names the control for a contract validation error and reports the field', () => {
    const ui = speakUi('dataset.scan', 'Invalid input to dataset.scan: data: must not be empty');
    expect(ui).toEqual({ message: 'Dataset folder: must not be empty', fields: ['data'] });
    const nested = speakUi(
      'train.start',
      'Invalid input to train.start: overrides.batchSize: Too small: expected number to be >=2',
    );
    expect(nested.message).toBe('Batch size: Too small: expected number to be >=2');
    expect(nested.fields).toEqual(['batchSize']);
    const upload = speakUi('catalog.add', 'Invalid input to catalog.add: image.dataBase64: is empty');
    expect(upload.message).toBe('New product image: is empty');
  });

  it('replaces CLI flags in the core’s messages with the control labels', () => {
    const trainer = speakUi(
      'train.start',
      'Invalid training config:\n  lr (--lr): the learning rate must be a positive number, got 0',
    );
    expect(trainer.message).toBe(
      'Invalid training config:\n  Learning rate: the learning rate must be a positive number, got 0',
    );
    expect(trainer.fields).toEqual(['lr']);
    const sweep = speakUi('eval.sweep', '--temperatures needs at least one value, e.g. 0.07,0.1');
    expect(sweep.message).toBe('Temperatures needs at least one value, e.g. 0.07,0.1');
    expect(sweep.fields).toEqual(['temperatures']);
  });

  it('leaves other messages and unknown methods alone', () => {
    expect(speakUi('dataset.scan', 'No such folder: /x')).toEqual({
      message: 'No such folder: /x',
      fields: [],
    });
    expect(speakUi(undefined, 'Invalid input to x: a: b')).toEqual({
      message: 'Invalid input to x: a: b',
      fields: [],
    });
    // "--learning" is not the flag "--lr"; a word that merely contains a field name is kept.
    expect(speakUi('train.start', 'epochs --learning').message).toBe('epochs --learning');
  });
});

describe('image pickers', () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  it('knows JPEG, PNG and WebP by their first bytes', () => {
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('jpeg');
    expect(sniffImageType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('png');
    expect(sniffImageType(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffImageType(new TextEncoder().encode('GIF89a'))).toBeNull();
    expect(sniffImageType(bytes())).toBeNull();
  });

  it('refuses anything else, naming the control, the file and what was expected', () => {
    const problem = imageProblem('Query picture', 'notes.txt', new TextEncoder().encode('hello'));
    expect(problem).toBe(
      'Query picture: "notes.txt" is not a JPEG, PNG or WebP image (its first bytes are 68 65 6c 6c); choose a picture file.',
    );
    expect(imageProblem('Query picture', 'empty.jpg', bytes())).toContain('is empty');
    expect(imageProblem('Query picture', 'a.jpg', bytes(0xff, 0xd8, 0xff))).toBeNull();
  });

  it('encodes base64 like Buffer does, also past the chunk size', () => {
    const big = new Uint8Array(70_000).map((_, i) => i % 251);
    expect(toBase64(big)).toBe(Buffer.from(big).toString('base64'));
  });
});

describe('grid filters and constant columns', () => {
  const items = [
    { style: '로맨틱', category: '블라우스' },
    { style: '로맨틱', category: '스커트' },
    { style: '리조트', category: null },
  ];
  it('offers each facet value with its count, most frequent first, and filters by both', () => {
    expect(facetValues(items, 'style')).toEqual([
      { value: '로맨틱', count: 2 },
      { value: '리조트', count: 1 },
    ]);
    expect(facetValues(items, 'category').map((v) => v.value)).toEqual(['블라우스', '스커트']);
    expect(items.filter((i) => passes(i, NO_FILTER))).toHaveLength(3);
    expect(items.filter((i) => passes(i, { style: '로맨틱', category: '스커트' }))).toHaveLength(1);
  });

  it('finds the columns that are the same in every row (never with a single row)', () => {
    const rows = [
      { a: 1, b: 2 },
      { a: 1, b: 3 },
    ];
    const columns = [
      { key: 'a', text: (r: { a: number }) => String(r.a) },
      { key: 'b', text: (r: { b: number }) => String(r.b) },
    ];
    expect([...constantColumns(rows, columns)]).toEqual(['a']);
    expect(constantColumns(rows.slice(0, 1), columns).size).toBe(0);
  });
});
