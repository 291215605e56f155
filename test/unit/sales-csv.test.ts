import { describe, expect, it } from 'vitest';
import { parseSalesCsv } from '../../src-shared/sales-csv.ts';

describe('sales CSV → best-sellers (top 10 % by sales)', () => {
  it('takes the top 10 % of rows by sales, rounded up, highest first', () => {
    const lines = ['item_or_product_id,sales'];
    for (let i = 1; i <= 25; i++) lines.push(`레트로/${i}/상의,${i * 10}`);
    const r = parseSalesCsv(lines.join('\r\n'));
    expect(r.rows).toBe(25);
    expect(r.topCount).toBe(3);
    expect(r.top.map((t) => t.id)).toEqual(['레트로/25/상의', '레트로/24/상의', '레트로/23/상의']);
    expect(r.top[0]!.line).toBe(26);
  });

  it('keeps at least one row, accepts no header, quoted ids and a BOM', () => {
    const r = parseSalesCsv('\uFEFF"p,1",5\np2,7\n');
    expect(r.top.map((t) => t.id)).toEqual(['p2']);
    expect(parseSalesCsv('"a ""b""",1').top[0]!.id).toBe('a "b"');
  });

  it('names the line and the field of a bad row', () => {
    expect(() => parseSalesCsv('item_or_product_id,sales\na,1\nb,many\n')).toThrow(
      'line 3, sales: expected a number of 0 or more, got "many"',
    );
    expect(() => parseSalesCsv('item_or_product_id,sales\na,1,2\n')).toThrow('line 2: expected 2 fields');
    expect(() => parseSalesCsv('item_or_product_id,sales\n,4\n')).toThrow(
      'line 2, item_or_product_id: empty',
    );
    expect(() => parseSalesCsv('a,1\na,2\n')).toThrow('line 2, item_or_product_id: "a" is already on line 1');
    expect(() => parseSalesCsv('id,count\na,1\n')).toThrow('line 1: expected the header');
    expect(() => parseSalesCsv('item_or_product_id,sales\n\n')).toThrow('no sales rows');
    expect(() => parseSalesCsv('a,-3')).toThrow('line 1, sales');
  });
});
