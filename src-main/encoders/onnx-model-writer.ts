/**
 * A minimal ONNX model writer: enough of onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto) to build small graphs at run time for ONNX Runtime —
 * the exact-search graph (Gemm + TopK), the demo's stand-in image encoder, and the tests' tiny
 * FashionCLIP-shaped models.
 *
 * Written by hand: ONNX's schema is stable and only these messages are needed, which is a page of
 * code against pulling `onnx`/`protobufjs` into the app. Field numbers are those of onnx/onnx.proto;
 * repeated scalars are written unpacked, which proto2 parsers all accept.
 */

// ---- a minimal protobuf writer -------------------------------------------------------------------

const utf8 = new TextEncoder();

function varint(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

function concat(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const intField = (field: number, v: number | bigint) => [...tag(field, 0), ...varint(v)];
const bytesField = (field: number, data: Uint8Array) => concat([tag(field, 2), varint(data.length), data]);
const strField = (field: number, s: string) => bytesField(field, utf8.encode(s));
const msgField = (field: number, parts: readonly (Uint8Array | number[])[]) =>
  bytesField(field, concat(parts));
function floatField(field: number, v: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return [...tag(field, 5), ...b];
}

// ---- ONNX messages -------------------------------------------------------------------------------

export const ELEM = { float: 1, int64: 7, float16: 10 } as const;
export type Elem = keyof typeof ELEM;

export interface TensorSpec {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}
export interface ValueSpec {
  name: string;
  type: Elem;
  /** A number is a fixed size, a string a symbolic (dynamic) dimension. */
  dims: (number | string)[];
}
export type AttrValue = number | number[] | string | { float: number };
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}
export interface GraphSpec {
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  opset?: number;
  name?: string;
}

function tensorProto(t: TensorSpec): Uint8Array {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return concat([
    ...t.dims.map((d) => intField(1, d)), // dims
    intField(2, t.data instanceof Float32Array ? ELEM.float : ELEM.int64), // data_type
    strField(8, t.name), // name
    bytesField(9, raw), // raw_data (little-endian, which is the host order here)
  ]);
}

function valueInfo(v: ValueSpec): Uint8Array {
  const dims = v.dims.map((d) => msgField(1, [typeof d === 'number' ? intField(1, d) : strField(2, d)]));
  const shape = msgField(2, dims); // TypeProto.Tensor.shape
  const tensorType = msgField(1, [intField(1, ELEM[v.type]), shape]); // TypeProto.tensor_type
  return concat([strField(1, v.name), msgField(2, [tensorType])]);
}

function attribute(name: string, v: AttrValue): Uint8Array {
  // AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
  if (typeof v === 'number') return concat([strField(1, name), intField(3, v), intField(20, 2)]);
  if (typeof v === 'string') return concat([strField(1, name), strField(4, v), intField(20, 3)]);
  if (Array.isArray(v)) return concat([strField(1, name), ...v.map((x) => intField(8, x)), intField(20, 7)]);
  return concat([strField(1, name), floatField(2, v.float), intField(20, 1)]);
}

function nodeProto(n: NodeSpec, k: number): Uint8Array {
  return concat([
    ...n.inputs.map((s) => strField(1, s)),
    ...n.outputs.map((s) => strField(2, s)),
    strField(3, `${n.op.toLowerCase()}_${k}`),
    strField(4, n.op),
    ...Object.entries(n.attrs ?? {}).map(([a, v]) => msgField(5, [attribute(a, v)])),
  ]);
}

/** Serialises a graph as an ONNX ModelProto (ir_version 8, default domain at `opset`, 13 unless given). */
export function onnxModel(g: GraphSpec): Uint8Array {
  const graph = concat([
    ...g.nodes.map((n, k) => msgField(1, [nodeProto(n, k)])),
    strField(2, g.name ?? 'graph'),
    ...g.initializers.map((t) => msgField(5, [tensorProto(t)])),
    ...g.inputs.map((v) => msgField(11, [valueInfo(v)])),
    ...g.outputs.map((v) => msgField(12, [valueInfo(v)])),
  ]);
  return concat([
    intField(1, 8), // ir_version
    strField(2, 'K-Fashion Workbench'), // producer_name
    msgField(7, [graph]),
    msgField(8, [strField(1, ''), intField(2, g.opset ?? 13)]), // opset_import
  ]);
}
