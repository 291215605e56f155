/**
 * The modules of the MLP (module.ts): each wraps one layer file's forward / backward pair.
 */

import type { FrozenWeight } from '../matmul.ts';
import type { OnnxGraph } from '../onnx-graph.ts';
import {
  type Activation,
  activationBackward,
  activationForward,
  emitActivationBackward,
  emitActivationForward,
} from './activation.ts';
import type { Arr } from './arrays.ts';
import { type BatchNormRunning, batchNormBackward, batchNormForward } from './batchnorm.ts';
import { dropoutBackward, dropoutForward, emitDropoutBackward, emitDropoutForward } from './dropout.ts';
import {
  emitLayerNormBackward,
  emitLayerNormForward,
  layerNormBackward,
  layerNormForward,
} from './layernorm.ts';
import { emitLinearBackward, emitLinearForward, linearBackward, linearForward } from './linear.ts';
import {
  type Buffer,
  constant,
  type EmitContext,
  type Module,
  type Param,
  param,
  type StepContext,
  type Take,
  uniformFanIn,
} from './module.ts';

const none = new Float32Array(0);

abstract class Base implements Module {
  params: Param[] = [];
  buffers: Buffer[] = [];
  out: Arr = none;
  dout: Arr = none;
  protected inp: Arr = none;
  constructor(readonly outWidth: number) {}
  bind(take: Take, takeGrad: Take | null, cap: number): void {
    this.out = take(cap * this.outWidth);
    this.dout = takeGrad ? takeGrad(cap * this.outWidth) : none;
  }
  abstract forward(inp: Arr, ctx: StepContext): Arr;
  abstract backward(dinp: Arr | null, ctx: StepContext): void;
}

export class LinearModule extends Base {
  readonly weight: Param;
  readonly bias: Param;
  /** Set for inference: the engine keeps the weight (matmul.ts FrozenWeight). */
  frozen: FrozenWeight | null = null;
  constructor(
    prefix: string,
    readonly inWidth: number,
    outWidth: number,
  ) {
    super(outWidth);
    this.weight = param(`${prefix}.weight`, [outWidth, inWidth], uniformFanIn(inWidth));
    this.bias = param(`${prefix}.bias`, [outWidth], uniformFanIn(inWidth));
    this.params = [this.weight, this.bias];
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    this.inp = inp;
    const { out, frozen } = this;
    if (
      frozen &&
      out instanceof Float32Array &&
      inp instanceof Float32Array &&
      frozen.apply(out, inp, ctx.B)
    ) {
      const b = this.bias.data;
      const OC = this.outWidth;
      for (let i = 0; i < ctx.B; i++) for (let j = 0; j < OC; j++) out[i * OC + j]! += b[j]!;
      return out;
    }
    linearForward(out, inp, this.weight.data, this.bias.data, ctx.B, this.inWidth, this.outWidth);
    return out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    linearBackward(
      dinp,
      this.weight.grad,
      this.bias.grad,
      this.dout,
      this.inp,
      this.weight.data,
      ctx.B,
      this.inWidth,
      this.outWidth,
    );
  }
  private onnxIn = '';
  emitForward(g: OnnxGraph, x: string, ctx: EmitContext): string {
    this.onnxIn = x;
    return emitLinearForward(g, x, ctx.param(this.weight), ctx.param(this.bias));
  }
  emitBackward(g: OnnxGraph, dout: string, needDx: boolean, ctx: EmitContext): string | null {
    const r = emitLinearBackward(g, dout, this.onnxIn, ctx.param(this.weight), needDx);
    ctx.grad(this.weight, r.dweight);
    ctx.grad(this.bias, r.dbias);
    return r.dx;
  }
}

export class ActivationModule extends Base {
  constructor(
    width: number,
    readonly kind: Activation,
  ) {
    super(width);
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    this.inp = inp;
    activationForward(this.out, inp, ctx.B * this.outWidth, this.kind);
    return this.out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    if (dinp) activationBackward(dinp, this.inp, this.dout, ctx.B * this.outWidth, this.kind);
  }
  private onnxIn = '';
  emitForward(g: OnnxGraph, x: string): string {
    this.onnxIn = x;
    return emitActivationForward(g, x, this.kind);
  }
  emitBackward(g: OnnxGraph, dout: string, needDx: boolean): string | null {
    return needDx ? emitActivationBackward(g, this.onnxIn, dout, this.kind) : null;
  }
}

export class DropoutModule extends Base {
  private mask: Arr = none;
  private masked = false;
  constructor(
    width: number,
    readonly p: number,
  ) {
    super(width);
  }
  override bind(take: Take, takeGrad: Take | null, cap: number): void {
    super.bind(take, takeGrad, cap);
    this.mask = this.p > 0 ? take(cap * this.outWidth) : none;
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    const n = ctx.B * this.outWidth;
    this.masked = ctx.train && this.p > 0;
    if (this.masked) ctx.mask(this.mask, n, this.p);
    dropoutForward(this.out, inp, this.masked ? this.mask : null, n);
    return this.out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    if (dinp) dropoutBackward(dinp, this.dout, this.masked ? this.mask : null, ctx.B * this.outWidth);
  }
  /** The emitted graph is a training step: its mask is an input drawn before each run. */
  private onnxMask: string | null = null;
  emitForward(g: OnnxGraph, x: string, ctx: EmitContext): string {
    this.onnxMask = this.p > 0 ? ctx.mask(this.outWidth, this.p) : null;
    return emitDropoutForward(g, x, this.onnxMask);
  }
  emitBackward(g: OnnxGraph, dout: string, needDx: boolean): string | null {
    return needDx ? emitDropoutBackward(g, dout, this.onnxMask) : null;
  }
}

export class LayerNormModule extends Base {
  readonly weight: Param;
  readonly bias: Param;
  private mean: Arr = none;
  private rstd: Arr = none;
  constructor(prefix: string, width: number) {
    super(width);
    this.weight = param(`${prefix}.weight`, [width], constant(1));
    this.bias = param(`${prefix}.bias`, [width], constant(0));
    this.params = [this.weight, this.bias];
  }
  override bind(take: Take, takeGrad: Take | null, cap: number): void {
    super.bind(take, takeGrad, cap);
    this.mean = take(cap);
    this.rstd = take(cap);
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    this.inp = inp;
    const { weight, bias, mean, rstd } = this;
    layerNormForward(this.out, mean, rstd, inp, weight.data, bias.data, ctx.B, this.outWidth);
    return this.out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    const w = this.weight;
    const b = this.bias;
    const tmp = dinp ?? new Float64Array(ctx.B * this.outWidth);
    layerNormBackward(
      tmp,
      w.grad,
      b.grad,
      this.dout,
      this.inp,
      w.data,
      this.mean,
      this.rstd,
      ctx.B,
      this.outWidth,
    );
  }
  private onnxSaved = { xhat: '', rstd: '' };
  emitForward(g: OnnxGraph, x: string, ctx: EmitContext): string {
    const r = emitLayerNormForward(g, x, ctx.param(this.weight), ctx.param(this.bias));
    this.onnxSaved = r;
    return r.out;
  }
  emitBackward(g: OnnxGraph, dout: string, needDx: boolean, ctx: EmitContext): string | null {
    const r = emitLayerNormBackward(g, dout, this.onnxSaved, ctx.param(this.weight));
    ctx.grad(this.weight, r.dweight);
    ctx.grad(this.bias, r.dbias);
    return needDx ? r.dx : null;
  }
}

export class BatchNormModule extends Base {
  readonly weight: Param;
  readonly bias: Param;
  readonly runningMean: Buffer;
  readonly runningVar: Buffer;
  /** PyTorch's num_batches_tracked, stored as a one-value buffer. */
  readonly tracked: Buffer;
  private mean: Arr = none;
  private rstd: Arr = none;
  constructor(prefix: string, width: number) {
    super(width);
    this.weight = param(`${prefix}.weight`, [width], constant(1));
    this.bias = param(`${prefix}.bias`, [width], constant(0));
    this.params = [this.weight, this.bias];
    const buf = (name: string, shape: number[], v: number): Buffer => ({
      name: `${prefix}.${name}`,
      shape,
      data: none,
      init: constant(v),
    });
    this.runningMean = buf('running_mean', [width], 0);
    this.runningVar = buf('running_var', [width], 1);
    this.tracked = buf('num_batches_tracked', [], 0);
    this.buffers = [this.runningMean, this.runningVar, this.tracked];
  }
  override bind(take: Take, takeGrad: Take | null, cap: number): void {
    super.bind(take, takeGrad, cap);
    this.mean = take(this.outWidth);
    this.rstd = take(this.outWidth);
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    this.inp = inp;
    const running: BatchNormRunning = {
      mean: this.runningMean.data,
      var: this.runningVar.data,
      batches: this.tracked.data[0]!,
    };
    batchNormForward(
      this.out,
      this.mean,
      this.rstd,
      inp,
      this.weight.data,
      this.bias.data,
      running,
      ctx.train,
      ctx.B,
      this.outWidth,
    );
    this.tracked.data[0] = running.batches;
    return this.out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    if (!ctx.train) throw new Error('BatchNorm: backward of an eval-mode forward pass is not supported');
    const w = this.weight;
    const tmp = dinp ?? new Float64Array(ctx.B * this.outWidth);
    batchNormBackward(
      tmp,
      w.grad,
      this.bias.grad,
      this.dout,
      this.inp,
      w.data,
      this.mean,
      this.rstd,
      ctx.B,
      this.outWidth,
    );
  }
}

/** Runs modules in order and their backward passes in reverse: a block, or the whole MLP. */
export function chainForward(mods: readonly Module[], inp: Arr, ctx: StepContext): Arr {
  let x = inp;
  for (const m of mods) x = m.forward(x, ctx);
  return x;
}

export function chainBackward(mods: readonly Module[], dinp: Arr | null, ctx: StepContext): void {
  for (let i = mods.length - 1; i >= 0; i--) mods[i]!.backward(i > 0 ? mods[i - 1]!.dout : dinp, ctx);
}

/** Whether every module (and every module inside a block) has an ONNX emission. */
export function canEmit(mods: readonly Module[]): boolean {
  return mods.every((m) =>
    'body' in m
      ? canEmit((m as { body: Module[] }).body)
      : typeof m.emitForward === 'function' && typeof m.emitBackward === 'function',
  );
}

/** chainForward as ONNX nodes. */
export function chainEmitForward(g: OnnxGraph, mods: readonly Module[], x: string, ctx: EmitContext): string {
  let v = x;
  for (const m of mods) v = m.emitForward!(g, v, ctx);
  return v;
}

/** chainBackward as ONNX nodes: returns the chain's input gradient (null unless `needDx`). */
export function chainEmitBackward(
  g: OnnxGraph,
  mods: readonly Module[],
  dout: string,
  needDx: boolean,
  ctx: EmitContext,
): string | null {
  let d: string | null = dout;
  for (let i = mods.length - 1; i >= 0 && d !== null; i--)
    d = mods[i]!.emitBackward!(g, d, i > 0 || needDx, ctx);
  return d;
}
