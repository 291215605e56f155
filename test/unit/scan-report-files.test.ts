/** The scan's full report files: assembled from spools, whole or not at all. */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScanReportWriter } from '../../src-main/dataset/scan-report-files.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';

const dir = tempDir('kf-report-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scan report files', () => {
  it('carry every entry across spool chunks (over 1 MB), in order, as JSON and as CSV', () => {
    const w = new ScanReportWriter();
    const n = 6000;
    const long = 'é"x,'.repeat(60); // 240 characters with quotes, commas and non-ASCII
    for (let i = 0; i < n; i++)
      w.skippedFile({
        path: `/d/${i}.json`,
        reason: 'invalid-json',
        detail: `${i} ${long}`,
        style: '로맨틱',
      });
    w.excludedGarment({
      path: '/d/1.json',
      style: '로맨틱',
      item: '로맨틱/1/상의',
      reason: 'no-box',
      detail: 'neither a polygon nor a rect',
    });
    w.skippedFolder({ path: '/d/up', reason: 'link-not-followed', detail: 'a link', style: 'up' });
    const out = w.write(join(dir, 'results'), { scanId: 3, status: 'done', dataRoot: '/d', workspace: dir });
    w.dispose();
    const report = JSON.parse(readFileSync(out.json, 'utf8'));
    expect(report.counts).toEqual({ skippedFolders: 1, skippedFiles: n, excludedGarments: 1 });
    expect(report.skippedFiles.map((s: { path: string }) => s.path)).toEqual(
      Array.from({ length: n }, (_, i) => `/d/${i}.json`),
    );
    expect(report.skippedFiles[4321].detail).toBe(`4321 ${long}`);
    expect(report.skippedFolders).toEqual([
      { path: '/d/up', reason: 'link-not-followed', detail: 'a link', style: 'up' },
    ]);
    const rows = readFileSync(out.csv, 'utf8').split('\r\n');
    expect(rows).toHaveLength(1 + 1 + n + 1 + 1); // header, folder, files, garment, final newline
    expect(rows[2]).toBe(`skipped-file,/d/0.json,로맨틱,,invalid-json,"0 ${long.replaceAll('"', '""')}"`);
    expect(rows.at(-2)).toBe(
      'excluded-garment,/d/1.json,로맨틱,로맨틱/1/상의,no-box,neither a polygon nor a rect',
    );
    expect(readdirSync(join(dir, 'results')).sort()).toEqual(['scan_report.csv', 'scan_report.json']);
  });

  it('writes an empty report as valid JSON, and neutralises cells a spreadsheet would run', () => {
    const w = new ScanReportWriter();
    w.skippedFile({ path: '=HYPERLINK("x")', reason: 'invalid-json', detail: '-1', style: 's' });
    const out = w.write(join(dir, 'r2'), { scanId: 1, status: 'cancelled', dataRoot: '/d', workspace: dir });
    w.dispose();
    expect(readFileSync(out.csv, 'utf8').split('\r\n')[1]).toBe(
      `skipped-file,"'=HYPERLINK(""x"")",s,,invalid-json,'-1`,
    );
    const empty = new ScanReportWriter();
    const e = empty.write(join(dir, 'r3'), { scanId: 2, status: 'done', dataRoot: '/d', workspace: dir });
    empty.dispose();
    expect(JSON.parse(readFileSync(e.json, 'utf8'))).toMatchObject({
      skippedFiles: [],
      excludedGarments: [],
      skippedFolders: [],
    });
  });
});
