/**
 * What the model is made of: modules that own their parameters (views into the model's parameter
 * arena) and activations (views into its activation arena), and call a layer's forward / backward
 * functions on them. `model.ts` lists modules from the config and runs them in order, then in reverse.
 *
 * [Note: arenas, llm.c style] A module never allocates while computing. It declares its parameters
 * once (name, shape, initialiser) and takes its activation buffers from `take` whenever the model
 * (re)allocates the activation arena for a larger batch; the model sizes arenas by running the same
 * declarations against a counting `take` first.
 */
import type { Rng } from '../../../dataset/rng.ts';
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Arr } from './arrays.ts';

export interface Param {
  /** PyTorch state_dict name, e.g. `mlp.0.weight`. */
  name: string;
  shape: number[];
  init: (data: Arr, rng: Rng) => void;
  data: Arr;
  /** Empty until the model allocates gradients (inference never does). */
  grad: Arr;
}

/** A state tensor that is not trained (BatchNorm's running statistics). */
export interface Buffer {
  name: string;
  shape: number[];
  data: Arr;
  init: (data: Arr) => void;
}

export interface StepContext {
  B: number;
  train: boolean;
  /** Whether gradients will be needed (training step or gradient check). */
  grads: boolean;
  /** Draws a dropout mask of n values with drop probability p (deterministic, see dropout.ts). */
  mask(mask: Arr, n: number, p: number): void;
}

/** What a layer's emission needs from the graph being built beyond nodes: its parameters and inputs. */
export interface EmitContext {
  B: number;
  /** The graph input carrying a parameter's current values (declared once per parameter). */
  param(p: Param): string;
  /** Declares `value` as the graph output that is the parameter's gradient (written into `p.grad`). */
  grad(p: Param, value: string): void;
  /** A dropout mask input [B, width] drawn by the caller before each run (see DropoutModule). */
  mask(width: number, p: number): string;
}

export type Take = (n: number) => Arr;

export interface Module {
  readonly outWidth: number;
  readonly params: Param[];
  readonly buffers: Buffer[];
  /** Output [cap, outWidth], and its gradient when the model trains. */
  out: Arr;
  dout: Arr;
  /**
   * Take activation buffers for `cap` items from `take`, and output gradients from `takeGrad` (a
   * separate arena, zeroed in one pass before each backward pass; null when the model never trains).
   */
  bind(take: Take, takeGrad: Take | null, cap: number): void;
  forward(inp: Arr, ctx: StepContext): Arr;
  /** Accumulates into `dinp` (null when the input needs no gradient) from `this.dout`. */
  backward(dinp: Arr | null, ctx: StepContext): void;
  /**
   * The same forward pass as ONNX nodes appended to `g` (the ONNX Runtime training engine, ort-step.ts);
   * returns the output's value name. Absent: the layer has no emission and that engine refuses the shape.
   */
  emitForward?(g: OnnxGraph, x: string, ctx: EmitContext): string;
  /** The backward pass as nodes, from the output gradient `dout`; returns dx (null unless `needDx`). */
  emitBackward?(g: OnnxGraph, dout: string, needDx: boolean, ctx: EmitContext): string | null;
}

export function param(name: string, shape: number[], init: Param['init']): Param {
  const empty = new Float32Array(0);
  return { name, shape, init, data: empty, grad: empty };
}

/** PyTorch nn.Linear's default: U(−1/√fan_in, 1/√fan_in) for weight and bias. */
export const uniformFanIn =
  (fanIn: number) =>
  (data: Arr, rng: Rng): void => {
    const b = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < data.length; i++) data[i] = rng.range(-b, b);
  };

export const constant =
  (v: number) =>
  (data: Arr): void => {
    data.fill(v);
  };

/** The sizing pass: a Take that only counts what would be taken. */
export function countingTake(): { take: Take; total: () => number } {
  let n = 0;
  const empty = new Float32Array(0);
  return {
    take: (k) => {
      n += k;
      return empty;
    },
    total: () => n,
  };
}

/** Hands out consecutive views of `arena`. */
export function carve(arena: Arr): Take {
  let off = 0;
  return (k) => {
    const view = arena.subarray(off, off + k);
    off += k;
    return view;
  };
}
