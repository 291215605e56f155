/**
 * A CSV of sales figures (`item_or_product_id,sales`) → the best-sellers: the top 10 % of rows by
 * sales (at least one), as the requirements ask. Pure, so the UI checks the file where it is picked
 * and a test pins the rules. Errors name the line and the field.
 *
 * Hand-written rather than with a CSV library: two columns, no embedded newlines are allowed in an id
 * (ids are paths like 레트로/1234/상의), and quoting is handled for the one case that occurs (a
 * quoted id holding a comma); the whole parser is shorter than a dependency's configuration.
 */

export const SALES_TOP_FRACTION = 0.1;

export interface SalesRow {
  id: string;
  sales: number;
  line: number;
}

export interface SalesSelection {
  rows: number;
  /** The best-sellers, highest sales first (ties: file order). */
  top: SalesRow[];
  /** How many rows the top share is (ceil of 10 % of the rows, at least one). */
  topCount: number;
}

export class SalesCsvError extends Error {
  override name = 'SalesCsvError';
}

function splitLine(line: string, lineNo: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new SalesCsvError(`line ${lineNo}: a quoted field is not closed`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += line[i++];
      }
      out.push(value);
      if (i < line.length && line[i] !== ',') {
        throw new SalesCsvError(`line ${lineNo}: text after a closing quote`);
      }
      i++;
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      out.push(line.slice(i, stop).trim());
      i = stop + 1;
    }
  }
  return out;
}

/** Parses the CSV text and picks the top share by sales; throws a SalesCsvError naming line and field. */
export function parseSalesCsv(text: string, fraction = SALES_TOP_FRACTION): SalesSelection {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const rows: SalesRow[] = [];
  const seen = new Map<string, number>();
  let headerSeen = false;
  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    if (raw.trim() === '') continue;
    const cells = splitLine(raw, lineNo);
    if (!headerSeen) {
      headerSeen = true;
      const [a, b] = cells.map((c) => c.trim().toLowerCase());
      if (cells.length === 2 && a === 'item_or_product_id' && b === 'sales') continue;
      if (cells.length >= 2 && Number.isNaN(Number(cells[1])) && !/^\s*$/.test(cells[1] ?? '')) {
        throw new SalesCsvError(
          `line 1: expected the header "item_or_product_id,sales", got "${raw.slice(0, 80)}"`,
        );
      }
    }
    if (cells.length !== 2) {
      throw new SalesCsvError(
        `line ${lineNo}: expected 2 fields (item_or_product_id,sales), got ${cells.length}`,
      );
    }
    const id = cells[0]!;
    const salesText = cells[1]!;
    if (id === '') throw new SalesCsvError(`line ${lineNo}, item_or_product_id: empty`);
    if (id.length > 400)
      throw new SalesCsvError(`line ${lineNo}, item_or_product_id: longer than 400 characters`);
    const sales = Number(salesText);
    if (salesText === '' || !Number.isFinite(sales) || sales < 0) {
      throw new SalesCsvError(
        `line ${lineNo}, sales: expected a number of 0 or more, got "${salesText.slice(0, 40)}"`,
      );
    }
    const before = seen.get(id);
    if (before !== undefined) {
      throw new SalesCsvError(`line ${lineNo}, item_or_product_id: "${id}" is already on line ${before}`);
    }
    seen.set(id, lineNo);
    rows.push({ id, sales, line: lineNo });
  }
  if (rows.length === 0)
    throw new SalesCsvError('the file has no sales rows (expected item_or_product_id,sales lines)');
  const topCount = Math.max(1, Math.ceil(rows.length * fraction));
  const top = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.sales - a.r.sales || a.i - b.i)
    .slice(0, topCount)
    .map(({ r }) => r);
  return { rows: rows.length, top, topCount };
}
