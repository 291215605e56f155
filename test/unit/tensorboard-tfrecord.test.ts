import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { openTensorBoardRun } from '../../src-main/training/tensorboard/event-file-writer.ts';
import { decodeEvent } from '../../src-main/training/tensorboard/event-proto.ts';
import { readPngHeader } from '../../src-main/training/tensorboard/png-header.ts';
import {
  crc32cOf,
  frameRecord,
  maskedCrc32c,
  readRecords,
} from '../../src-main/training/tensorboard/tfrecord.ts';
import { configMarkdown } from '../../src-main/training/tensorboard/training-logger.ts';

const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('CRC32C (Castagnoli)', () => {
  it('matches the published check values', () => {
    expect(crc32cOf(bytes('123456789'))).toBe(0xe3069283);
    expect(crc32cOf(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) B.4 test vectors.
    expect(crc32cOf(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32cOf(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32cOf(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32cOf(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('masks as TensorFlow does (value from TensorBoard’s own masked_crc32c)', () => {
    expect(maskedCrc32c(bytes('123456789'))).toBe(0xc78ab0e5);
  });
});

describe('TFRecord framing', () => {
  it('frames records byte for byte like TensorBoard’s RecordWriter', () => {
    // python: RecordWriter(buf).write(b'hello'); .write(b'')
    expect(hex(frameRecord(bytes('hello')))).toBe('0500000000000000eab2043e68656c6c6fbb1f1c19');
    expect(hex(frameRecord(new Uint8Array(0)))).toBe('000000000000000029039807d8ea82a2');
  });

  it('reads framed records back, stops at a truncated tail and rejects a corrupt one', () => {
    const a = frameRecord(bytes('first'));
    const b = frameRecord(bytes('second record'));
    const all = Buffer.concat([a, b]);
    expect(readRecords(all).records.map((r) => Buffer.from(r).toString())).toEqual([
      'first',
      'second record',
    ]);
    const cut = readRecords(all.subarray(0, all.length - 3));
    expect(cut.truncatedTail).toBe(true);
    expect(cut.records.map((r) => Buffer.from(r).toString())).toEqual(['first']);
    const bad = Buffer.from(all);
    bad[a.length + 14]! ^= 1; // a bit of the second record's data
    expect(() => readRecords(bad)).toThrow(/data's CRC/);
  });
});

describe('PNG header', () => {
  it('reads width, height and channels; refuses bytes that are not a PNG', async () => {
    const png = await sharp({ create: { width: 7, height: 5, channels: 4, background: '#ff000080' } })
      .png()
      .toBuffer();
    expect(readPngHeader(png)).toEqual({ width: 7, height: 5, channels: 4 });
    const grey = await sharp({ create: { width: 3, height: 9, channels: 3, background: '#808080' } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect(readPngHeader(grey)).toMatchObject({ width: 3, height: 9, channels: 1 });
    expect(() => readPngHeader(bytes('GIF89a................................'), 'charts')).toThrow(
      /charts: expected PNG bytes/,
    );
  });
});

describe('event file writer', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the file like TensorBoard, writes file_version first, and keeps records until flush()', () => {
    dir = mkdtempSync(join(tmpdir(), 'kf-tb-'));
    const run = openTensorBoardRun(join(dir, 'tb'));
    expect(run.path).toMatch(/events\.out\.tfevents\.\d{10}\.[^.]+.*\.\d+\.\d+$/);
    expect(run.path).toContain(`.${process.pid}.`);
    run.scalar('train/loss', 0.5, 1, 1_700_000_000.25);
    // Not flushed yet: only the file_version record is on disk.
    let recs = readRecords(readFileSync(run.path)).records.map(decodeEvent);
    expect(recs).toHaveLength(1);
    expect(recs[0]!.file_version).toBe('brain.Event:2');
    run.text('config', '| a | b |', 0);
    run.flush();
    recs = readRecords(readFileSync(run.path)).records.map(decodeEvent);
    expect(recs).toHaveLength(3);
    expect(recs[1]).toMatchObject({ wall_time: 1_700_000_000.25, step: 1 });
    expect(recs[1]!.summary!.value[0]).toMatchObject({ tag: 'train/loss', simple_value: 0.5 });
    const text = recs[2]!.summary!.value[0]!;
    expect(text.metadata?.plugin_data?.plugin_name).toBe('text');
    expect(text.tensor?.dtype).toBe(7);
    expect(Buffer.from(text.tensor!.string_val![0]!).toString()).toBe('| a | b |');
    run.close();
    run.close(); // idempotent
    expect(() => run.scalar('x', 1, 0)).toThrow(/closed/);
    expect(readdirSync(join(dir, 'tb'))).toHaveLength(1);
  });

  it('a second writer in the same folder gets its own file; a cut-off tail leaves earlier records readable', () => {
    dir = mkdtempSync(join(tmpdir(), 'kf-tb-'));
    const a = openTensorBoardRun(dir);
    const b = openTensorBoardRun(dir);
    expect(a.path).not.toBe(b.path);
    for (let s = 0; s < 5; s++) a.scalar('v', s, s);
    a.close();
    b.close();
    const size = readFileSync(a.path).length;
    truncateSync(a.path, size - 5); // as a crash in the middle of the last append would leave it
    const { records, truncatedTail } = readRecords(readFileSync(a.path));
    expect(truncatedTail).toBe(true);
    expect(records.map(decodeEvent).map((e) => e.summary?.value[0]?.simple_value ?? null)).toEqual([
      null,
      0,
      1,
      2,
      3,
    ]);
  });

  it('refuses bad steps, tags and images with a message naming them', () => {
    dir = mkdtempSync(join(tmpdir(), 'kf-tb-'));
    const run = openTensorBoardRun(dir);
    expect(() => run.scalar('loss', 1, -1)).toThrow(/"loss": step must be a whole number >= 0, got -1/);
    expect(() => run.scalar('', 1, 0)).toThrow(/tag: expected a non-empty string/);
    expect(() => run.image('charts', bytes('not a png at all, definitely not a png'), 0)).toThrow(
      /image "charts": expected PNG bytes/,
    );
    run.close();
  });
});

describe('config as markdown', () => {
  it('flattens nested settings into a table and escapes cell breaks', () => {
    expect(configMarkdown({ lr: 0.001, model: { hidden: 1024 }, fields: ['a', 'b'], note: 'x|y' })).toBe(
      [
        '| setting | value |',
        '| --- | --- |',
        '| lr | 0.001 |',
        '| model.hidden | 1024 |',
        '| fields | ["a","b"] |',
        '| note | "x\\|y" |',
      ].join('\n'),
    );
  });
});
