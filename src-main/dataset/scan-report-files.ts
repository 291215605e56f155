/**
 * The full lists behind a scan's summary, written to `results/scan_report.json` and
 * `results/scan_report.csv` in the workspace: every skipped style folder, every skipped label file and
 * every excluded garment, with its reason and what was wrong. The on-screen report lists only the
 * first few; these files list all of them.
 *
 * [Note: report spooling]
 * A scan of the full dataset may skip or exclude hundreds of thousands of entries, so they are not
 * held in memory: each goes to a spool file (one JSON line per entry) as the scan finds it, and the
 * two report files are assembled from the spools at the end, each written to a temporary name and
 * renamed, so a reader never sees a half-written report.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExclusionReason, SkippedFile } from '../../src-shared/dataset.ts';
import { tempPathFor } from '../store/atomic-file.ts';

export const SCAN_REPORT_JSON = 'scan_report.json';
export const SCAN_REPORT_CSV = 'scan_report.csv';

export interface ReportFolder extends SkippedFile {
  style: string;
}
export interface ReportFile extends SkippedFile {
  style: string;
}
export interface ReportExcluded {
  path: string;
  style: string;
  item: string;
  reason: ExclusionReason;
  detail: string;
}

export interface ScanReportHeader {
  scanId: number;
  status: 'done' | 'cancelled' | 'failed';
  dataRoot: string;
  workspace: string;
}

const CSV_COLUMNS = ['kind', 'path', 'style', 'item', 'reason', 'detail'];
const FLUSH_BYTES = 1 << 16;

/** One spool: JSON lines appended through a small buffer. */
class Spool {
  private buf: string[] = [];
  private bytes = 0;
  count = 0;
  constructor(
    readonly path: string,
    private readonly fd = openSync(path, 'w'),
  ) {}
  push(entry: unknown): void {
    const line = `${JSON.stringify(entry)}\n`;
    this.buf.push(line);
    this.bytes += line.length;
    this.count++;
    if (this.bytes >= FLUSH_BYTES) this.flush();
  }
  flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bytes = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
  /** The spooled lines, read back in 1 MB chunks. */
  *lines(): Generator<string> {
    const fd = openSync(this.path, 'r');
    const chunk = Buffer.allocUnsafe(1 << 20);
    let rest = Buffer.alloc(0);
    try {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        let data = Buffer.concat([rest, chunk.subarray(0, n)]);
        for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
          yield data.toString('utf8', 0, nl);
          data = data.subarray(nl + 1);
        }
        rest = Buffer.from(data);
      }
    } finally {
      closeSync(fd);
    }
  }
}

export class ScanReportWriter {
  private readonly dir: string;
  private readonly folders: ReportFolder[] = [];
  private readonly files: Spool;
  private readonly excluded: Spool;
  private closed = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'kfashion-scan-report-'));
    this.files = new Spool(join(this.dir, 'skipped-files.jsonl'));
    this.excluded = new Spool(join(this.dir, 'excluded-garments.jsonl'));
  }

  skippedFolder(f: ReportFolder): void {
    this.folders.push(f);
  }
  skippedFile(f: ReportFile): void {
    this.files.push(f);
  }
  excludedGarment(g: ReportExcluded): void {
    this.excluded.push(g);
  }

  /** Writes both report files into `resultsDir` (temp name + rename) and returns their paths. */
  write(resultsDir: string, header: ScanReportHeader): { json: string; csv: string } {
    this.closeSpools();
    mkdirSync(resultsDir, { recursive: true });
    const json = join(resultsDir, SCAN_REPORT_JSON);
    const csv = join(resultsDir, SCAN_REPORT_CSV);
    // Streamed, so not through writeFileAtomic; its temporary names, so a killed scan's leftovers are
    // swept like any other (store/atomic-file.ts).
    const jsonTmp = tempPathFor(json);
    const csvTmp = tempPathFor(csv);
    const jfd = openSync(jsonTmp, 'w');
    const cfd = openSync(csvTmp, 'w');
    try {
      const head = {
        kind: 'kfashion-scan-report',
        createdAt: new Date().toISOString(),
        ...header,
        counts: {
          skippedFolders: this.folders.length,
          skippedFiles: this.files.count,
          excludedGarments: this.excluded.count,
        },
        skippedFolders: this.folders,
      };
      const headText = JSON.stringify(head, null, 2);
      writeSync(jfd, `${headText.slice(0, -2)},\n  "skippedFiles": [`);
      writeSync(cfd, `${CSV_COLUMNS.join(',')}\r\n`);
      for (const f of this.folders)
        writeSync(cfd, csvRow(['skipped-folder', f.path, f.style, '', f.reason, f.detail]));
      const copy = (spool: Spool, kind: string, row: (e: never) => string[]) => {
        let first = true;
        let out: string[] = [];
        const drain = () => {
          writeSync(jfd, out.join(''));
          out = [];
        };
        for (const line of spool.lines()) {
          out.push(`${first ? '' : ','}\n    ${line}`);
          writeSync(cfd, csvRow([kind, ...row(JSON.parse(line) as never)]));
          first = false;
          if (out.length >= 1000) drain();
        }
        drain();
        if (!first) writeSync(jfd, '\n  ');
      };
      copy(this.files, 'skipped-file', (f: ReportFile) => [f.path, f.style, '', f.reason, f.detail]);
      writeSync(jfd, '],\n  "excludedGarments": [');
      copy(this.excluded, 'excluded-garment', (g: ReportExcluded) => [
        g.path,
        g.style,
        g.item,
        g.reason,
        g.detail,
      ]);
      writeSync(jfd, ']\n}\n');
    } finally {
      closeSync(jfd);
      closeSync(cfd);
    }
    renameSync(jsonTmp, json);
    renameSync(csvTmp, csv);
    return { json, csv };
  }

  /** Removes the spools; safe to call more than once. */
  dispose(): void {
    this.closeSpools();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private closeSpools(): void {
    if (this.closed) return;
    this.closed = true;
    this.files.close();
    this.excluded.close();
  }
}

/**
 * One RFC 4180 row (hand-written: six columns of strings do not need a CSV library). A cell that a
 * spreadsheet would run as a formula (`=`, `+`, `-`, `@` first: file names come from the dataset, not
 * from the user) gets a leading apostrophe.
 */
function csvRow(cells: string[]): string {
  return `${cells
    .map((c) => {
      const safe = /^[=+\-@\t\r]/.test(c) ? `'${c}` : c;
      return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
    })
    .join(',')}\r\n`;
}
