/**
 * Reads and writes NumPy `.npy` files: the format researchers use for FashionCLIP embeddings
 * exported from Python (`np.save('image_embeddings.npy', emb)` — an [N, 512] float32 matrix).
 *
 * Hand-written on purpose: the format is tiny (a magic string, a version, a Python-dict header, then
 * raw little-endian data; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html),
 * and no maintained Node library reads .npy files from disk — the npm packages that exist are
 * browser/fetch oriented, unmaintained, or skip the checks we need for useful error messages.
 *
 * Supported: format versions 1.0, 2.0 and 3.0; dtypes float32 (returned as is), float64 and float16
 * (converted to Float32Array; `dtype` says what the file held), little- or big-endian; C order only.
 * Every error names the file and what was expected.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface NpyArray {
  data: Float32Array;
  shape: number[];
  /** The dtype the file declared, e.g. `<f4`, `<f8`, `<f2`. */
  dtype: string;
}

export class NpyError extends Error {
  override name = 'NpyError';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ITEM_SIZE: Readonly<Record<string, number>> = { f2: 2, f4: 4, f8: 8 };

function describeStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const shown = Array.from(bytes.subarray(0, 8), (b) =>
    b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`,
  ).join('');
  return `"${shown}"`;
}

/** Parses the header's Python dict literal: string keys; string, bool or int-tuple values. */
function parseHeader(text: string, name: string): Record<string, string | boolean | number[]> {
  let i = 0;
  const fail = (what: string): never => {
    throw new NpyError(
      `${name}: malformed .npy header (${what} at offset ${i}): ${JSON.stringify(text.trim())}`,
    );
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expect = (ch: string) => {
    ws();
    if (text[i] !== ch) fail(`expected "${ch}"`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a quoted string');
    const end = text.indexOf(q!, i + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  const value = (): string | boolean | number[] => {
    ws();
    const ch = text[i];
    if (ch === "'" || ch === '"') return str();
    if (text.startsWith('True', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('False', i)) {
      i += 5;
      return false;
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      i++;
      const dims: number[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return dims;
        }
        const m = /^(\d+)L?/.exec(text.slice(i));
        if (!m) fail('expected a non-negative integer in the shape');
        dims.push(Number(m![1]));
        i += m![0].length;
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
    }
    return fail('expected a string, True/False or a tuple');
  };
  const out: Record<string, string | boolean | number[]> = {};
  expect('{');
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const key = str();
    expect(':');
    out[key] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail('expected "," or "}"');
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Decodes .npy bytes. `name` (the file path) prefixes every error message. */
export function decodeNpy(bytes: Uint8Array, name = '.npy data'): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, k) => bytes[k] === b)) {
    throw new NpyError(`${name}: expected a .npy file (magic \\x93NUMPY), got ${describeStart(bytes)}`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12)
      throw new NpyError(`${name}: truncated .npy header (file is ${bytes.length} bytes)`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(
      `${name}: unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`,
    );
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    throw new NpyError(
      `${name}: truncated .npy header (header says ${headerLen} bytes, file has ${bytes.length - headerStart} after the preamble)`,
    );
  }
  const headerBytes = bytes.subarray(headerStart, dataStart);
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const header = parseHeader(headerText, name);

  const descr = header['descr'];
  const fortran = header['fortran_order'];
  const shape = header['shape'];
  if (typeof descr !== 'string') throw new NpyError(`${name}: .npy header has no 'descr' string (the dtype)`);
  if (typeof fortran !== 'boolean')
    throw new NpyError(`${name}: .npy header has no 'fortran_order' True/False`);
  if (!Array.isArray(shape)) throw new NpyError(`${name}: .npy header has no 'shape' tuple`);
  if (fortran) {
    throw new NpyError(
      `${name}: fortran_order True is not supported (expected a C-order array; save it with np.save(path, np.ascontiguousarray(a)))`,
    );
  }
  const m = /^([<>|=])(f[248])$/.exec(descr);
  if (!m) {
    throw new NpyError(
      `${name}: unsupported dtype '${descr}' (expected float32 '<f4', or '<f8' / '<f2' to convert)`,
    );
  }
  const kind = m[2]!;
  const little = m[1] === '<' || m[1] === '|' || (m[1] === '=' && HOST_LITTLE_ENDIAN);
  const itemSize = ITEM_SIZE[kind]!;
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * itemSize;
  const have = bytes.length - dataStart;
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  if (have < expected) {
    throw new NpyError(
      `${name}: truncated data: shape ${shapeText} of '${descr}' needs ${expected} bytes, the file has ${have} after the header`,
    );
  }
  if (have > expected) {
    throw new NpyError(
      `${name}: ${have - expected} unexpected bytes after the data (shape ${shapeText} of '${descr}' needs ${expected} bytes)`,
    );
  }

  const data = new Float32Array(count);
  if (kind === 'f4' && little === HOST_LITTLE_ENDIAN) {
    // Copy (not view): the source may be unaligned, and callers may keep the array after the buffer.
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + expected));
  } else {
    for (let k = 0; k < count; k++) {
      const o = dataStart + k * itemSize;
      data[k] =
        kind === 'f4'
          ? view.getFloat32(o, little)
          : kind === 'f8'
            ? view.getFloat64(o, little)
            : halfToFloat(view.getUint16(o, little));
    }
  }
  return { data, shape: [...shape], dtype: descr };
}

/** Encodes a float32 array as a version 1.0 .npy file (2.0 if the header would not fit), C order. */
export function encodeNpy(data: Float32Array, shape: readonly number[], name = '.npy data'): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new NpyError(`${name}: shape must be non-negative integers, got [${shape.join(', ')}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new NpyError(
      `${name}: shape [${shape.join(', ')}] holds ${count} values, the data has ${data.length}`,
    );
  }
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The header is padded with spaces and ends in a newline, so the data starts on a 64-byte boundary.
  let version = 1;
  let preamble = 10;
  let total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  if (total - preamble > 0xffff) {
    version = 2;
    preamble = 12;
    total = Math.ceil((preamble + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - preamble;
  const out = new Uint8Array(total + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  const header = `${dict}${' '.repeat(headerLen - dict.length - 1)}\n`;
  for (let k = 0; k < header.length; k++) out[preamble + k] = header.charCodeAt(k);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  } else {
    for (let k = 0; k < data.length; k++) view.setFloat32(total + k * 4, data[k]!, true);
  }
  return out;
}

/** Reads a .npy file into a Float32Array. */
export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await readFile(path), path);
}

export function readNpySync(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

/** Writes a float32 .npy file; through a temporary file and a rename, so a reader never sees half a file. */
export async function writeNpy(path: string, data: Float32Array, shape: readonly number[]): Promise<void> {
  const bytes = encodeNpy(data, shape, path);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export function writeNpySync(path: string, data: Float32Array, shape: readonly number[]): void {
  const bytes = encodeNpy(data, shape, path);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
