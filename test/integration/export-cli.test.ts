/**
 * `kfashion export`: the zip holds the run's files (and only those), each byte-identical to the
 * workspace's copy, with a manifest whose SHA-256s match. The zip is read back with a minimal
 * central-directory reader below (no unzip library is installed; the format is simple enough).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setMeta } from '../../src-main/store/database.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { kfashion } from '../helpers/run-cli.ts';

/** Entries of a zip: name → content, read through the central directory (stored or deflated). */
function readZip(file: string): Map<string, Buffer> {
  const zip = readFileSync(file);
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: no end-of-central-directory record`);
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry at ${p}`);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    out.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let base: string;
let ws: string;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'kf-export-'));
  ws = join(base, 'ws 워크');
  const w = Workspace.open(ws);
  setMeta(w.db, 'synthetic', true);
  w.close();
  const write = (rel: string, content: string | Buffer) => {
    const p = join(ws, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  };
  write(
    'checkpoints/best_model.json',
    JSON.stringify({
      runId: 'train-20261124T040000Z-ab12',
      config: { epochs: 2, batchSize: 4 },
      imageEmbedding: { model: 'synthetic-demo', source: 'synthetic', synthetic: true },
    }),
  );
  write('checkpoints/best_model.safetensors', Buffer.alloc(4096, 7));
  write('checkpoints/README.md', '# JSON encoder checkpoints\n');
  write('checkpoints/last.safetensors', Buffer.alloc(8192, 1));
  write('checkpoints/last.json', '{}');
  write(
    'results/training_results.json',
    JSON.stringify({ runId: 'train-20261124T040000Z-ab12', 값: '한글' }),
  );
  write('results/training_charts.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  write('results/evaluation/report.html', '<html><body>평가 보고서</body></html>');
  write('results/similarity_search/20261124T0400Z/scores.json', '{"top":[1]}');
  write('results/similarity_search/20261124T0400Z/grid.png', Buffer.from([0x89, 0x50, 9, 9]));
  write('temp_logs/sanity_check_results.json', '{"ok":true}');
  write('crops/레트로/1__상의.jpg', Buffer.from([0xff, 0xd8, 1]));
});

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('kfashion export', () => {
  it('writes a zip with the run files, config and a manifest whose SHA-256s match', () => {
    const out = join(base, 'bundle 1.zip');
    const r = kfashion(['export', '--workspace', ws, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as {
      path: string;
      runId: string;
      synthetic: boolean;
      files: unknown[];
    };
    expect(summary).toMatchObject({ path: out, runId: 'train-20261124T040000Z-ab12', synthetic: true });
    expect(existsSync(`${out}.part`)).toBe(false);

    const entries = readZip(out);
    expect([...entries.keys()].sort()).toEqual(
      [
        'checkpoint/README.md',
        'checkpoint/best_model.json',
        'checkpoint/best_model.safetensors',
        'config.json',
        'manifest.json',
        'results/evaluation/report.html',
        'results/similarity_search/20261124T0400Z/grid.png',
        'results/similarity_search/20261124T0400Z/scores.json',
        'results/training_charts.png',
        'results/training_results.json',
        'temp_logs/sanity_check_results.json',
      ].sort(),
    );
    // Byte-identical to the workspace's files.
    expect(entries.get('checkpoint/best_model.safetensors')).toEqual(
      readFileSync(join(ws, 'checkpoints/best_model.safetensors')),
    );
    expect(entries.get('results/evaluation/report.html')?.toString('utf8')).toContain('평가 보고서');

    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as {
      format: string;
      runId: string;
      timestamp: string;
      synthetic: boolean;
      note?: string;
      files: { path: string; bytes: number; sha256: string }[];
    };
    expect(manifest).toMatchObject({
      format: 'kfashion-result-bundle',
      runId: 'train-20261124T040000Z-ab12',
    });
    expect(manifest.synthetic).toBe(true);
    expect(manifest.note).toMatch(/SYNTHETIC/);
    expect(new Date(manifest.timestamp).toISOString()).toBe(manifest.timestamp);
    expect(manifest.files.map((f) => f.path).sort()).toEqual(
      [...entries.keys()].filter((k) => k !== 'manifest.json').sort(),
    );
    for (const f of manifest.files) {
      const content = entries.get(f.path)!;
      expect(sha(content), f.path).toBe(f.sha256);
      expect(content.length, f.path).toBe(f.bytes);
    }
    const config = JSON.parse(entries.get('config.json')!.toString('utf8'));
    expect(config).toMatchObject({
      runId: manifest.runId,
      synthetic: true,
      config: { epochs: 2, batchSize: 4 },
    });
  });

  it('defaults to <workspace>/exports/, never zips earlier bundles, refuses a non-zip --out', () => {
    const r = kfashion(['export', '--workspace', ws, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { path: string; relPath: string };
    expect(s.relPath).toMatch(/^exports\/bundle-train-20261124T040000Z-ab12-\d{8}T\d{6}Z\.zip$/);
    expect(existsSync(s.path)).toBe(true);
    // A second export does not swallow the first bundle.
    const again = kfashion(['export', '--workspace', ws, '--out', join(base, 'b2.zip'), '--json']);
    expect(readZip(join(base, 'b2.zip')).has(s.relPath)).toBe(false);
    expect(again.code).toBe(0);

    const bad = kfashion(['export', '--workspace', ws, '--out', join(base, 'x.tar')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--out expects a file name ending in \.zip/);
  });
});
