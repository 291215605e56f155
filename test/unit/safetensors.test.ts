import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
} from '../../src-main/training/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'kf-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The bytes the safetensors spec prescribes, assembled by hand. */
function handBuilt(header: string, payload: number[]): Buffer {
  const json = Buffer.from(header, 'utf8');
  const padded = Buffer.concat([json, Buffer.alloc((8 - ((8 + json.length) % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded.length));
  const data = Buffer.alloc(payload.length * 4);
  payload.forEach((v, i) => {
    data.writeFloatLE(v, i * 4);
  });
  return Buffer.concat([len, padded, data]);
}

describe('safetensors', () => {
  it('writes exactly the layout of the spec: u64 LE header length, JSON header, packed F32 data', () => {
    const bytes = encodeSafetensors(
      [
        ['mlp.0.weight', { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }],
        ['mlp.0.bias', { shape: [3], data: Float32Array.of(-1, 0.5, 7) }],
      ],
      { format: 'pt' },
    );
    const header =
      '{"__metadata__":{"format":"pt"},"mlp.0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"mlp.0.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}';
    expect(bytes.equals(handBuilt(header, [1, 2, 3, 4, 5, 6, -1, 0.5, 7]))).toBe(true);
    // The data section starts 8-byte aligned.
    expect((8 + Number(bytes.readBigUInt64LE(0))) % 8).toBe(0);
  });

  it('reads a hand-built file, in data order, whatever the header key order', () => {
    const header =
      '{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}';
    const { tensors, metadata } = decodeSafetensors(handBuilt(header, [1.5, -2, 3]));
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual({ shape: [1, 2], data: Float32Array.of(1.5, -2) });
    expect(tensors.get('b')).toEqual({ shape: [1], data: Float32Array.of(3) });
    expect(metadata).toEqual({ k: 'v' });
  });

  it('round-trips through a file, including empty and odd-sized tensors', () => {
    const path = join(dir, 'x.safetensors');
    const t = {
      'field_embeddings.style.weight': {
        shape: [3, 5],
        data: Float32Array.from({ length: 15 }, (_, i) => i / 3 - 2),
      },
      odd: { shape: [1], data: Float32Array.of(Math.PI) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
      scalar: { shape: [], data: Float32Array.of(42) },
    };
    writeSafetensors(path, Object.entries(t), { run_id: 'r1', note: '한국어 메타데이터' });
    const back = readSafetensors(path);
    expect(Object.fromEntries(back.tensors)).toEqual(t);
    expect(back.metadata).toEqual({ run_id: 'r1', note: '한국어 메타데이터' });
  });

  it('rejects bad input with the file and what was expected', () => {
    expect(() => encodeSafetensors([['a', { shape: [2, 2], data: new Float32Array(3) }]])).toThrow(
      'tensor "a": shape [2, 2] needs 4 floats, got 3',
    );
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, Buffer.from([1, 2, 3]));
    expect(() => readSafetensors(path)).toThrow(`${path}: 3 bytes`);
    writeFileSync(path, handBuilt('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', [0]));
    expect(() => readSafetensors(path)).toThrow('tensor "a" has dtype "F16"; only F32 is supported');
    writeFileSync(path, handBuilt('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [0, 0]));
    expect(() => readSafetensors(path)).toThrow('needs 12 bytes; data_offsets [0, 8]');
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1000n);
    expect(() => decodeSafetensors(huge, 'h')).toThrow(SafetensorsError);
    expect(() => readSafetensors(join(dir, 'none.safetensors'))).toThrow('ENOENT');
    expect(readFileSync(join(dir, 'x.safetensors')).length).toBeGreaterThan(0);
  });
});
