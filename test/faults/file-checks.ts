/**
 * What a killed process may leave behind, checked the way a reader would meet it: the database passes
 * `PRAGMA integrity_check`, and every file under a visible name opens as what its extension says
 * (JSON parses, safetensors decode, PNG/JPEG decode to the last pixel, a zip has its central
 * directory, an .npy its header and all its rows, an HTML page its closing tag). Temporary files a
 * writer uses before its rename are allowed only hidden (`.<name>.<pid>.tmp`, see
 * src-main/store/atomic-file.ts) and only until the next run clears them.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { isTempName } from '../../src-main/store/atomic-file.ts';
import { parseNpyHeader } from '../../src-main/store/npy.ts';
import { decodeSafetensors } from '../../src-main/training/safetensors.ts';

export interface FileProblem {
  file: string;
  problem: string;
}

export function integrityCheck(dbPath: string): string {
  if (!existsSync(dbPath)) return 'ok (no database yet)';
  const db = new Database(dbPath);
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Names a writer uses for unfinished files, other than the hidden temp names (which are allowed). */
const VISIBLE_TEMP = /(\.tmp(-[\w-]+)?|\.part|\.partial|~)$/i;

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // TensorBoard event files are appended in place by design (its reader stops at a torn record).
      if (e.name === 'tensorboard') continue;
      yield* walk(p);
    } else if (e.isFile()) yield p;
  }
}

const ZIP_END = 0x06054b50;

async function checkFile(path: string): Promise<string | null> {
  const lower = path.toLowerCase();
  try {
    if (lower.endsWith('.json')) {
      JSON.parse(readFileSync(path, 'utf8'));
    } else if (lower.endsWith('.safetensors')) {
      decodeSafetensors(readFileSync(path), path);
    } else if (/\.(png|jpe?g|webp)$/.test(lower)) {
      // failOn 'truncated' turns libvips's "premature end of file" warning into an error.
      await sharp(path, { failOn: 'truncated' }).raw().toBuffer();
    } else if (lower.endsWith('.zip')) {
      const size = statSync(path).size;
      const tail = Buffer.alloc(Math.min(size, 65_557));
      const fd = openSync(path, 'r');
      readSync(fd, tail, 0, tail.length, size - tail.length);
      closeSync(fd);
      let found = false;
      for (let i = tail.length - 22; i >= 0 && !found; i--) found = tail.readUInt32LE(i) === ZIP_END;
      if (!found) return 'zip without its end-of-central-directory record (cut short)';
    } else if (lower.endsWith('.npy')) {
      const bytes = readFileSync(path);
      const h = parseNpyHeader(bytes.subarray(0, Math.min(bytes.length, 65_536)), bytes.length, path);
      void h;
    } else if (lower.endsWith('.rgb')) {
      // A crop at an image model's input size (input-pixel-cache.ts): a 48-byte header, then H × W × 3
      // bytes, H and W named by the folder (`input-cache/<H>x<W>-<geometry>/`).
      const m = /[\\/](\d+)x(\d+)-[0-9a-f]{8}[\\/]/.exec(path);
      if (!m) return 'input-cache file outside an <H>x<W>-<geometry> folder';
      const bytes = readFileSync(path);
      const want = 48 + Number(m[1]) * Number(m[2]) * 3;
      if (bytes.length !== want) return `input-cache file of ${bytes.length} bytes, expected ${want}`;
      if (bytes.toString('latin1', 0, 7) !== 'KFPIX1\n') return 'input-cache file without its KFPIX1 header';
    } else if (lower.endsWith('.html')) {
      if (!readFileSync(path, 'utf8').trimEnd().endsWith('</html>'))
        return 'HTML page cut short (no </html>)';
    }
    return null;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
  }
}

export interface FileReport {
  problems: FileProblem[];
  /** Hidden temporary files (allowed right after a kill; the next run must clear them). */
  hiddenTemps: string[];
  checked: number;
}

/** Every file under `root` except the database, checked as above. */
export async function checkVisibleFiles(root: string): Promise<FileReport> {
  const report: FileReport = { problems: [], hiddenTemps: [], checked: 0 };
  if (!existsSync(root)) return report;
  for (const path of walk(root)) {
    const rel = relative(root, path);
    const name = rel.split(/[\\/]/).at(-1)!;
    if (/^workspace\.db(-wal|-shm|-journal)?$/.test(rel)) continue;
    if (name === 'workspace.lock') continue;
    if (isTempName(name)) {
      report.hiddenTemps.push(rel);
      continue;
    }
    if (VISIBLE_TEMP.test(name)) {
      report.problems.push({ file: rel, problem: 'a temporary file under a visible name' });
      continue;
    }
    report.checked++;
    const problem = await checkFile(path);
    if (problem) report.problems.push({ file: rel, problem });
  }
  return report;
}
