import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeNpy,
  encodeNpy,
  NpyError,
  readNpy,
  readNpySync,
  writeNpy,
  writeNpySync,
} from '../../src-main/store/npy.ts';

const dir = mkdtempSync(join(tmpdir(), 'kf-npy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A .npy file built by hand, the way numpy lays it out, for dtypes and versions we do not write. */
function craft(opts: {
  descr: string;
  shape: string;
  fortran?: boolean;
  payload: Uint8Array;
  version?: 1 | 2 | 3;
}): Uint8Array {
  const version = opts.version ?? 1;
  const dict = `{'descr': '${opts.descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${opts.shape}, }`;
  const preamble = version === 1 ? 10 : 12;
  const total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  const header = `${dict}${' '.repeat(total - preamble - dict.length - 1)}\n`;
  const out = new Uint8Array(total + opts.payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), preamble);
  out.set(opts.payload, total);
  return out;
}

function errorOf(fn: () => unknown): NpyError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NpyError) return e;
    throw e;
  }
  throw new Error('expected an NpyError');
}

describe('npy', () => {
  it('round-trips an [N, 512] float32 matrix through a file, with a 64-byte aligned v1.0 header', async () => {
    const data = Float32Array.from({ length: 3 * 512 }, (_, i) => Math.sin(i) * 1e3);
    const path = join(dir, 'round.npy');
    await writeNpy(path, data, [3, 512]);
    const bytes = readFileSync(path);
    expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = bytes.readUInt16LE(8);
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes.subarray(10, 10 + headerLen).toString('latin1')).toMatch(
      /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 512\), \} *\n$/,
    );
    expect(bytes.length).toBe(10 + headerLen + data.byteLength);
    const back = await readNpy(path);
    expect(back.shape).toEqual([3, 512]);
    expect(back.dtype).toBe('<f4');
    expect(back.data).toEqual(data);
    expect(readNpySync(path).data).toEqual(data);
  });

  it('writes 1-D and empty shapes the way numpy spells them', () => {
    const path = join(dir, 'one.npy');
    writeNpySync(path, Float32Array.of(1, 2, 3), [3]);
    expect(readFileSync(path).toString('latin1')).toContain("'shape': (3,), }");
    expect(readNpySync(path)).toEqual({ data: Float32Array.of(1, 2, 3), shape: [3], dtype: '<f4' });
    const empty = decodeNpy(encodeNpy(new Float32Array(0), [0, 512]));
    expect(empty.shape).toEqual([0, 512]);
    expect(empty.data.length).toBe(0);
  });

  it('converts float64 and float16 files to Float32Array and reports the dtype', () => {
    const f8 = new Float64Array([0.5, -1.25, 3.3, 1e-3]);
    const a = decodeNpy(craft({ descr: '<f8', shape: '(2, 2)', payload: new Uint8Array(f8.buffer) }));
    expect(a.dtype).toBe('<f8');
    expect(a.shape).toEqual([2, 2]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.data).toEqual(Float32Array.from(f8));

    // 1.0, -2.0, 0.5, 65504 (max half), a subnormal, 0
    const halves = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0000]);
    const h = decodeNpy(craft({ descr: '<f2', shape: '(6,)', payload: new Uint8Array(halves.buffer) }));
    expect(h.dtype).toBe('<f2');
    expect(Array.from(h.data)).toEqual([1, -2, 0.5, 65504, Math.fround(2 ** -24), 0]);
  });

  it('reads big-endian data and format versions 2.0 and 3.0', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -7, false);
    expect(Array.from(decodeNpy(craft({ descr: '>f4', shape: '(2,)', payload: be })).data)).toEqual([
      1.5, -7,
    ]);
    const payload = new Uint8Array(Float32Array.of(4, 5, 6).buffer);
    for (const version of [2, 3] as const) {
      const a = decodeNpy(craft({ descr: '<f4', shape: '(3L,)', payload, version }));
      expect(Array.from(a.data)).toEqual([4, 5, 6]);
      expect(a.shape).toEqual([3]);
    }
  });

  it('names the file and what was expected when the magic is wrong', () => {
    const path = join(dir, 'x.npy');
    writeFileSync(path, 'PK\u0003\u0004 not numpy at all');
    const e = errorOf(() => readNpySync(path));
    expect(e.message).toContain(path);
    expect(e.message).toContain(
      'not a NumPy .npy file: expected it to start with the magic bytes \\x93NUMPY',
    );
    expect(e.message).toMatch(/found \d+ bytes of something else/);
    // The file's own bytes are never quoted: it may be any file of the server.
    expect(e.message).not.toContain('PK');
    expect(e.message).not.toContain('numpy at all');
    expect(errorOf(() => decodeNpy(new Uint8Array(0), 'empty.npy')).message).toBe(
      'empty.npy: not a NumPy .npy file: expected it to start with the magic bytes \\x93NUMPY (as np.save writes), the file is empty',
    );
  });

  it('refuses Fortran-ordered arrays', () => {
    const payload = new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer);
    const e = errorOf(() =>
      decodeNpy(craft({ descr: '<f4', shape: '(2, 2)', fortran: true, payload }), 'f.npy'),
    );
    expect(e.message).toMatch(/^f\.npy: fortran_order True is not supported/);
  });

  it('reports truncated data, trailing bytes, bad headers and unsupported dtypes', () => {
    const full = craft({ descr: '<f4', shape: '(4, 512)', payload: new Uint8Array(4 * 512 * 4) });
    const cut = full.subarray(0, full.length - 100);
    const e = errorOf(() => decodeNpy(cut, 'cut.npy'));
    expect(e.message).toContain('cut.npy: truncated data: shape (4, 512)');
    expect(e.message).toContain('needs 8192 bytes, the file has 8092');
    const longer = new Uint8Array(full.length + 4);
    longer.set(full);
    expect(errorOf(() => decodeNpy(longer, 'long.npy')).message).toContain(
      '4 unexpected bytes after the data',
    );
    expect(errorOf(() => decodeNpy(full.subarray(0, 40), 'hdr.npy')).message).toContain(
      'hdr.npy: truncated .npy header',
    );
    const ints = craft({ descr: '<i4', shape: '(1,)', payload: new Uint8Array(4) });
    expect(errorOf(() => decodeNpy(ints, 'i.npy')).message).toContain(
      "i.npy: unsupported dtype '<i4' (expected float32 '<f4'",
    );
    const v9 = craft({ descr: '<f4', shape: '(1,)', payload: new Uint8Array(4) });
    v9[6] = 9;
    expect(errorOf(() => decodeNpy(v9, 'v.npy')).message).toContain('unsupported .npy format version 9.0');
    const garbled = craft({ descr: '<f4', shape: '(1, x)', payload: new Uint8Array(4) });
    expect(errorOf(() => decodeNpy(garbled, 'g.npy')).message).toContain('g.npy: malformed .npy header');
  });

  it('refuses to write data that does not fill the shape', () => {
    expect(() => encodeNpy(new Float32Array(10), [3, 4], 'w.npy')).toThrow(
      'w.npy: shape [3, 4] holds 12 values, the data has 10',
    );
  });
});
