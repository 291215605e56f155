/**
 * Reads a PyTorch `torch.save` file (the zip format of torch ≥ 1.6: `<name>/data.pkl` + one raw
 * little-endian file per storage under `<name>/data/`) into float32 tensors by name — without ever
 * executing pickled code.
 *
 * The pickle is *parsed* with the npm `pickleparser` (which builds values from opcodes) and every
 * global the pickle names goes through an allow-list here: OrderedDict, the tensor/parameter rebuild
 * functions and the storage types. Anything else (e.g. `os.system`, a custom class) is rejected with
 * its name before it could be called; pickleparser itself never imports or runs Python. The zip is
 * read with `fflate`. A nested checkpoint ({"model_state_dict": …, "epoch": …}) is searched for its
 * state_dict. Errors name the file, the tensor and what was found.
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { Parser } from 'pickleparser';
import type { NamedTensor } from './json-encoder-types.ts';

export class TorchCheckpointError extends Error {
  override name = 'TorchCheckpointError';
}

/** Storage types torch.save names, with their element size and how to read one element as a number. */
const STORAGES: Record<string, { bytes: number; read: (v: DataView, off: number) => number }> = {
  FloatStorage: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  DoubleStorage: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  HalfStorage: { bytes: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  LongStorage: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  IntStorage: { bytes: 4, read: (v, o) => v.getInt32(o, true) },
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

class StorageType {
  constructor(readonly name: string) {}
}

interface StorageRef {
  type: string;
  key: string;
  numel: number;
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

function unwrap(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The allow-list of globals a state_dict pickle may name. */
function resolveName(module: string, name: string): unknown {
  const fqn = `${module}.${name}`;
  if (fqn === 'collections.OrderedDict') return () => new Map();
  if (fqn === 'torch._utils._rebuild_tensor_v2' || fqn === 'torch._utils._rebuild_tensor')
    return (storage: StorageRef, offset: number, size: unknown, stride: unknown) =>
      new TensorRef(storage, Number(offset), unwrap(size).map(Number), unwrap(stride).map(Number));
  if (fqn === 'torch._utils._rebuild_parameter' || fqn === 'torch._utils._rebuild_parameter_with_state')
    return (data: TensorRef) => data;
  if (module === 'torch' && name.endsWith('Storage')) return new StorageType(name);
  throw new TorchCheckpointError(
    `the pickle names the global '${fqn}', which a state_dict does not need (only tensors, OrderedDict and storages are read; nothing is executed)`,
  );
}

/** Tensors of a torch.save zip by name (float32; other float/int storages converted). */
export function readTorchCheckpoint(path: string): Record<string, NamedTensor> {
  const bytes = readFileSync(path);
  return parseTorchCheckpoint(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}

export function parseTorchCheckpoint(bytes: Uint8Array, source = '.pt file'): Record<string, NamedTensor> {
  const fail = (msg: string): never => {
    throw new TorchCheckpointError(`${source}: ${msg}`);
  };
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    if (bytes[0] === 0x80)
      fail(
        'this is the legacy (pre-1.6) torch.save format, which is not supported: re-save it with a current torch (torch.save(torch.load(f), g))',
      );
    fail('not a torch.save file (expected a zip archive holding data.pkl)');
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    return fail(`the zip archive cannot be read (${(e as Error).message})`);
  }
  const pkl = Object.keys(files).find((k) => k.endsWith('/data.pkl') || k === 'data.pkl');
  if (!pkl) return fail('the archive holds no data.pkl (is it a torch.save file?)');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  let root: unknown;
  try {
    const parser = new Parser({
      nameResolver: { resolve: (m: string, n: string) => resolveName(m, n) as never },
      persistentResolver: {
        resolve: (pid: unknown) => {
          const t = unwrap(pid);
          if (t[0] !== 'storage' || !(t[1] instanceof StorageType))
            throw new TorchCheckpointError(
              `unsupported persistent id ${JSON.stringify(t[0])} (expected a storage)`,
            );
          return { type: t[1].name, key: String(t[2]), numel: Number(t[4]) } satisfies StorageRef;
        },
      },
      unpicklingTypeOfDictionary: 'Map',
    });
    root = parser.parse(files[pkl]!);
  } catch (e) {
    const msg = (e as Error).message;
    return fail(
      e instanceof TorchCheckpointError
        ? msg
        : `the pickle cannot be parsed: ${msg.replace(/'(\d+)'/, (_, c) => `'${c}' (opcode 0x${Number(c).toString(16)})`)}`,
    );
  }
  const dict = findStateDict(root);
  if (!dict)
    return fail('no state_dict found (expected a dict of tensors, or a checkpoint dict holding one)');
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of dict) {
    if (!(t instanceof TensorRef)) continue;
    const spec = STORAGES[t.storage.type];
    if (!spec)
      fail(
        `tensor '${name}' is stored as ${t.storage.type}, which is not supported (float, double, half, int, long are)`,
      );
    const raw = files[`${prefix}data/${t.storage.key}`];
    if (!raw) fail(`tensor '${name}': its storage data/${t.storage.key} is missing from the archive`);
    const view = new DataView(raw!.buffer, raw!.byteOffset, raw!.byteLength);
    const count = t.size.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    // General strides: walk the index space of `size` in C order.
    const idx = new Array<number>(t.size.length).fill(0);
    for (let i = 0; i < count; i++) {
      let off = t.offset;
      for (let d = 0; d < idx.length; d++) off += idx[d]! * t.stride[d]!;
      const byte = off * spec!.bytes;
      if (byte + spec!.bytes > raw!.byteLength)
        fail(`tensor '${name}': storage data/${t.storage.key} is too short for shape [${t.size.join(', ')}]`);
      data[i] = spec!.read(view, byte);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d]! < t.size[d]!) break;
        idx[d] = 0;
      }
    }
    out[name] = { shape: [...t.size], data };
  }
  if (Object.keys(out).length === 0) fail('the state_dict holds no tensors');
  return out;
}

/** The state_dict in a torch.save root: the dict itself, or one under a usual checkpoint key. */
function findStateDict(root: unknown): Map<string, unknown> | null {
  if (!(root instanceof Map)) return null;
  if ([...root.values()].some((v) => v instanceof TensorRef)) return root as Map<string, unknown>;
  for (const key of ['state_dict', 'model_state_dict', 'model', 'encoder', 'net']) {
    const v = root.get(key);
    if (v instanceof Map && [...v.values()].some((x) => x instanceof TensorRef))
      return v as Map<string, unknown>;
  }
  return null;
}
