// Nothing outside src-main/store/ writes SQL: every statement lives in a typed store module, prepared
// once per connection and timed (store/statements.ts). This walks the source, so a new
// `db.prepare(...)` anywhere else fails here with its file and line.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const srcMain = join(root, 'src-main');

function* sourceFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name)) yield p;
  }
}

/** SQL entry points of better-sqlite3: preparing, running raw SQL on a connection, pragmas. */
const SQL_CALLS = [/\bprepare\(/, /\bdb\.exec\(/, /\.pragma\(/];

describe('SQL lives in src-main/store/', () => {
  it('no file outside store/ prepares or runs SQL', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const file of sourceFiles(srcMain)) {
      const rel = relative(root, file).split(sep).join('/');
      if (rel.startsWith('src-main/store/')) continue;
      scanned++;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (SQL_CALLS.some((re) => re.test(line))) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(scanned).toBeGreaterThan(50); // the walk really saw the source tree
    expect(offenders).toEqual([]);
  });

  it('the check itself catches a prepare (so an empty result above means something)', () => {
    const sample = "const n = ws.db.prepare('SELECT COUNT(*) FROM items').pluck().get();";
    expect(SQL_CALLS.some((re) => re.test(sample))).toBe(true);
  });
});
