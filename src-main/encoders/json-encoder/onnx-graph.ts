/**
 * A graph builder for the ONNX Runtime training engine: layers append their forward and backward nodes
 * (each layer file's `emit…` functions), the builder hands out fresh value names and constants, and
 * `model()` serialises the result with the project's ONNX writer (encoders/onnx-model-writer.ts).
 *
 * [Note: why opset 17] Reduce ops take `axes` as an input from opset 13 on for ReduceSum only; opset 17
 * keeps ReduceMean/ReduceSumSquare's `axes` an attribute and is well inside what ONNX Runtime 1.30 runs.
 */
import {
  type AttrValue,
  type NodeSpec,
  onnxModel,
  type TensorSpec,
  type ValueSpec,
} from '../onnx-model-writer.ts';

export const STEP_OPSET = 17;

export class OnnxGraph {
  readonly nodes: NodeSpec[] = [];
  readonly inputs: ValueSpec[] = [];
  readonly outputs: ValueSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private count = 0;
  private readonly consts = new Map<string, string>();

  fresh(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  input(name: string, dims: (number | string)[]): string {
    this.inputs.push({ name, type: 'float', dims });
    return name;
  }

  /**
   * Makes `value` a graph output under `name`. A node's result is renamed (at `model()`), not copied:
   * an Identity node would copy the tensor (measured: ~4% of a default step for the gradients). A graph
   * input, a constant, or a value already output under another name gets an Identity.
   */
  output(value: string, name: string, dims: (number | string)[]): void {
    const produced = this.nodes.some((n) => n.outputs.includes(value));
    if (value !== name) {
      if (produced && !this.renames.has(value)) this.renames.set(value, name);
      else this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
    }
    this.outputs.push({ name, type: 'float', dims });
  }
  private readonly renames = new Map<string, string>();

  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, hint = op.toLowerCase()): string {
    const out = this.fresh(hint);
    this.nodes.push({ op, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  }

  /** A float32 scalar constant (shape [], broadcast by the elementwise ops), shared by value. */
  scalar(v: number): string {
    const key = `f${Math.fround(v)}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh('c');
      this.initializers.push({ name, dims: [], data: new Float32Array([v]) });
      this.consts.set(key, name);
    }
    return name;
  }

  /** An int64 vector constant (axes of ReduceSum). */
  ints(v: number[]): string {
    const key = `i${v.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = this.fresh('axes');
      this.initializers.push({ name, dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });
      this.consts.set(key, name);
    }
    return name;
  }

  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  /** Σ over the batch (axis 0): a bias-like gradient [W] from [B, W]. */
  sumRows(x: string): string {
    return this.op('ReduceSum', [x, this.ints([0])], { keepdims: 0 });
  }
  /** Mean over the last axis, kept as [B, 1]. */
  meanLast(x: string): string {
    return this.op('ReduceMean', [x], { axes: [-1], keepdims: 1 });
  }
  /** Σ over the last axis, kept as [B, 1]. */
  sumLast(x: string): string {
    return this.op('ReduceSum', [x, this.ints([-1])], { keepdims: 1 });
  }

  model(name: string): Uint8Array {
    const r = (v: string) => this.renames.get(v) ?? v;
    return onnxModel({
      name,
      inputs: this.inputs,
      outputs: this.outputs,
      nodes: this.nodes.map((n) => ({ ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r) })),
      initializers: this.initializers,
      opset: STEP_OPSET,
    });
  }
}
