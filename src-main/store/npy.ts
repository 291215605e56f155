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
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.ts';

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

/** Parses the header's Python dict literal: string keys; string, bool or int-tuple values. */
function parseHeader(text: string, name: string): Record<string, string | boolean | number[]> {
  let i = 0;
  const fail = (what: string): never => {
    // The header's text is not quoted: the file may be any file of the server (an error must never
    // carry a server file's content), and the offset is enough to find the fault.
    throw new NpyError(`${name}: malformed .npy header (${what} at offset ${i} of the header)`);
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

/** What a .npy header says, plus where the data starts. */
export interface NpyHeader {
  shape: number[];
  /** The dtype the file declared, e.g. `<f4`. */
  dtype: string;
  /** Byte offset of the first element. */
  dataOffset: number;
  /** Number of elements (product of the shape). */
  count: number;
  itemSize: number;
  kind: 'f2' | 'f4' | 'f8';
  littleEndian: boolean;
}

/** Longest header we read when opening a file without loading it (numpy pads headers to 64 bytes). */
const MAX_HEADER_BYTES = 1 << 20;

/**
 * Parses the preamble and header from the file's first bytes (`prefix`, which must hold the whole
 * header) and checks them against the file's total length, so a truncated or padded file is caught
 * before any data is read.
 */
export function parseNpyHeader(prefix: Uint8Array, fileLength: number, name = '.npy data'): NpyHeader {
  if (prefix.length < 10 || !MAGIC.every((b, k) => prefix[k] === b)) {
    // What the file starts with is not quoted: it may be any file of the server (/etc/passwd...).
    throw new NpyError(
      `${name}: not a NumPy .npy file: expected it to start with the magic bytes \\x93NUMPY (as np.save writes), ${fileLength === 0 ? 'the file is empty' : `found ${fileLength} bytes of something else`}`,
    );
  }
  const major = prefix[6]!;
  const minor = prefix[7]!;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (prefix.length < 12)
      throw new NpyError(`${name}: truncated .npy header (file is ${prefix.length} bytes)`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(
      `${name}: unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`,
    );
  }
  const dataOffset = headerStart + headerLen;
  if (dataOffset > prefix.length) {
    throw new NpyError(
      `${name}: truncated .npy header (header says ${headerLen} bytes, file has ${Math.min(fileLength, prefix.length) - headerStart} after the preamble)`,
    );
  }
  const headerBytes = prefix.subarray(headerStart, dataOffset);
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
  const kind = m[2] as NpyHeader['kind'];
  const littleEndian = m[1] === '<' || m[1] === '|' || (m[1] === '=' && HOST_LITTLE_ENDIAN);
  const itemSize = ITEM_SIZE[kind]!;
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * itemSize;
  const have = fileLength - dataOffset;
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
  return { shape: [...shape], dtype: descr, dataOffset, count, itemSize, kind, littleEndian };
}

/** Converts `bytes` (whole elements of the header's dtype, starting at an element boundary) to float32. */
function toFloat32(bytes: Uint8Array, h: NpyHeader): Float32Array {
  const n = bytes.length / h.itemSize;
  const data = new Float32Array(n);
  if (h.kind === 'f4' && h.littleEndian === HOST_LITTLE_ENDIAN) {
    // Copy (not view): the source may be unaligned, and callers may keep the array after the buffer.
    new Uint8Array(data.buffer).set(bytes);
    return data;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < n; k++) {
    const o = k * h.itemSize;
    data[k] =
      h.kind === 'f4'
        ? view.getFloat32(o, h.littleEndian)
        : h.kind === 'f8'
          ? view.getFloat64(o, h.littleEndian)
          : halfToFloat(view.getUint16(o, h.littleEndian));
  }
  return data;
}

/** Decodes .npy bytes. `name` (the file path) prefixes every error message. */
export function decodeNpy(bytes: Uint8Array, name = '.npy data'): NpyArray {
  const h = parseNpyHeader(bytes, bytes.length, name);
  const data = toFloat32(bytes.subarray(h.dataOffset, h.dataOffset + h.count * h.itemSize), h);
  return { data, shape: h.shape, dtype: h.dtype };
}

/**
 * A .npy matrix read a block of rows at a time, for files too big to hold (1.2M × 512 float32 is
 * 2.4 GB, above what one Node buffer may be). Opening reads only the header.
 */
export class NpyRowReader {
  private constructor(
    private readonly fd: number,
    readonly path: string,
    readonly header: NpyHeader,
    /** Elements per row (the product of every dimension after the first). */
    readonly rowLength: number,
  ) {}

  static open(path: string): NpyRowReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const prefix = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
      readSync(fd, prefix, 0, prefix.length, 0);
      const header = parseNpyHeader(prefix, size, path);
      const rowLength = header.shape.slice(1).reduce((a, b) => a * b, 1);
      return new NpyRowReader(fd, path, header, rowLength);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get rows(): number {
    return this.header.shape[0] ?? 0;
  }

  /** Rows [start, start + count) as float32, converted from the file's dtype. */
  readRows(start: number, count: number): Float32Array {
    const n = Math.max(0, Math.min(count, this.rows - start));
    const bytes = Buffer.alloc(n * this.rowLength * this.header.itemSize);
    let done = 0;
    const at = this.header.dataOffset + start * this.rowLength * this.header.itemSize;
    while (done < bytes.length) {
      const got = readSync(this.fd, bytes, done, bytes.length - done, at + done);
      if (got === 0)
        throw new NpyError(`${this.path}: file ended early while reading rows ${start}..${start + n}`);
      done += got;
    }
    return toFloat32(bytes, this.header);
  }

  close(): void {
    closeSync(this.fd);
  }
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
  writeNpySync(path, data, shape);
}

export function writeNpySync(path: string, data: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(path, encodeNpy(data, shape, path));
}
