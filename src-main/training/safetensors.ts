/**
 * Reads and writes safetensors files (https://huggingface.co/docs/safetensors): the format PyTorch
 * users load with `safetensors.torch.load_file`, so checkpoints trained here open in the earlier
 * PyTorch pipeline.
 *
 * Hand-written on purpose: the format is tiny (below) and there is no maintained Node writer — the
 * npm packages that exist are read-only, browser oriented or unmaintained — while we need only F32.
 *
 * Layout:
 *   bytes 0..8      N, the header length, unsigned 64-bit little-endian
 *   bytes 8..8+N    JSON header: {"__metadata__": {string: string}, "<name>": {"dtype": "F32",
 *                   "shape": [..], "data_offsets": [begin, end]}, ...}; offsets are relative to the
 *                   start of the data section; padded with spaces so the data section starts 8-byte
 *                   aligned (what the reference writer does)
 *   bytes 8+N..     tensor data, little-endian, C order, in the order written
 * Tensors follow each other without gaps: the reference loader rejects a buffer with holes, so only the
 * data section's start is 8-byte aligned; every F32 tensor then sits on a 4-byte boundary, which is all
 * a Float32Array view needs.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../store/atomic-file.ts';

export interface SafeTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContent {
  /** In file order. */
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
const MAX_HEADER = 100_000_000;

export function encodeSafetensors(
  tensors: Iterable<[string, SafeTensor]>,
  metadata: Record<string, string> = {},
): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const list: [string, SafeTensor][] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" cannot name a tensor');
    if (name in header) throw new SafetensorsError(`tensor "${name}" is written twice`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== t.data.length) {
      throw new SafetensorsError(
        `tensor "${name}": shape [${t.shape.join(', ')}] needs ${count} floats, got ${t.data.length}`,
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
    list.push([name, t]);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new SafetensorsError(`metadata "${k}" must be a string`);
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const [, t] of list) {
    if (HOST_LITTLE_ENDIAN) {
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    } else {
      for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, at + i * 4);
    }
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, name = 'safetensors data'): SafetensorsContent {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8)
    throw new SafetensorsError(`${name}: ${buf.length} bytes; a safetensors file has at least 8`);
  const n = buf.readBigUInt64LE(0);
  if (n > BigInt(Math.min(MAX_HEADER, buf.length - 8))) {
    throw new SafetensorsError(
      `${name}: header length ${n} does not fit the file (${buf.length} bytes); not a safetensors file?`,
    );
  }
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(`${name}: the header is not JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(`${name}: the header must be a JSON object`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') {
      for (const [mk, mv] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (typeof mv !== 'string') throw new SafetensorsError(`${name}: metadata "${mk}" is not a string`);
        metadata[mk] = mv;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info?.dtype !== 'F32') {
      throw new SafetensorsError(
        `${name}: tensor "${key}" has dtype ${JSON.stringify(info?.dtype)}; only F32 is supported`,
      );
    }
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) {
      throw new SafetensorsError(
        `${name}: tensor "${key}" needs an integer shape and data_offsets [begin, end]`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen || end - begin !== count * 4) {
      throw new SafetensorsError(
        `${name}: tensor "${key}" of shape [${shape.join(', ')}] needs ${count * 4} bytes; data_offsets [${begin}, ${end}] (data section ${dataLen} bytes)`,
      );
    }
    entries.push({ name: key, shape: shape as number[], begin, end });
  }
  // File order = order of the data, which is also the order the tensors were written in.
  entries.sort((a, b) => a.begin - b.begin);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const data = new Float32Array((e.end - e.begin) / 4);
    const at = dataStart + e.begin;
    if (HOST_LITTLE_ENDIAN) {
      // Copy through bytes: the tensor need not be 4-byte aligned within the Node buffer pool.
      new Uint8Array(data.buffer).set(buf.subarray(at, dataStart + e.end));
    } else {
      for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(at + i * 4);
    }
    tensors.set(e.name, { shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** Writes atomically: a temporary file next to the target, then a rename over it. */
export function writeSafetensors(
  path: string,
  tensors: Iterable<[string, SafeTensor]>,
  metadata: Record<string, string> = {},
): number {
  const bytes = encodeSafetensors(tensors, metadata);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

export function readSafetensors(path: string): SafetensorsContent {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(
      `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return decodeSafetensors(bytes, path);
}
