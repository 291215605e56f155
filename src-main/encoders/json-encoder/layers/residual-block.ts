/**
 * Residual MLP block: out = x + Dropout(Activation(Norm(Linear(x)))), width unchanged.
 * PyTorch names: `<prefix>.linear.*`, `<prefix>.norm.*` (module order: linear, norm, act, dropout).
 * Backward: the skip sends dout straight to dx; the branch adds its own gradient.
 */
import type { OnnxGraph } from '../onnx-graph.ts';
import type { Activation } from './activation.ts';
import type { Arr } from './arrays.ts';
import type { Buffer, EmitContext, Module, Param, StepContext, Take } from './module.ts';
import {
  ActivationModule,
  BatchNormModule,
  chainBackward,
  chainEmitBackward,
  chainEmitForward,
  chainForward,
  DropoutModule,
  LayerNormModule,
  LinearModule,
} from './modules.ts';

export type NormKind = 'none' | 'layer' | 'batch';

/** Linear → norm → activation → dropout: a hidden block's body (also the non-residual hidden block). */
export function hiddenBody(
  linearName: string,
  normName: string,
  inWidth: number,
  width: number,
  norm: NormKind,
  activation: Activation,
  dropout: number,
): Module[] {
  const mods: Module[] = [new LinearModule(linearName, inWidth, width)];
  if (norm === 'layer') mods.push(new LayerNormModule(normName, width));
  if (norm === 'batch') mods.push(new BatchNormModule(normName, width));
  mods.push(new ActivationModule(width, activation), new DropoutModule(width, dropout));
  return mods;
}

const none = new Float32Array(0);

export class ResidualBlock implements Module {
  readonly body: Module[];
  readonly params: Param[];
  readonly buffers: Buffer[];
  out: Arr = none;
  dout: Arr = none;
  constructor(
    prefix: string,
    readonly outWidth: number,
    norm: NormKind,
    activation: Activation,
    dropout: number,
  ) {
    this.body = hiddenBody(
      `${prefix}.linear`,
      `${prefix}.norm`,
      outWidth,
      outWidth,
      norm,
      activation,
      dropout,
    );
    this.params = this.body.flatMap((m) => m.params);
    this.buffers = this.body.flatMap((m) => m.buffers);
  }
  bind(take: Take, takeGrad: Take | null, cap: number): void {
    for (const m of this.body) m.bind(take, takeGrad, cap);
    this.out = take(cap * this.outWidth);
    this.dout = takeGrad ? takeGrad(cap * this.outWidth) : none;
  }
  forward(inp: Arr, ctx: StepContext): Arr {
    const f = chainForward(this.body, inp, ctx);
    const n = ctx.B * this.outWidth;
    for (let i = 0; i < n; i++) this.out[i] = inp[i]! + f[i]!;
    return this.out;
  }
  backward(dinp: Arr | null, ctx: StepContext): void {
    const n = ctx.B * this.outWidth;
    const last = this.body[this.body.length - 1]!;
    last.dout.set(this.dout.subarray(0, n));
    if (dinp) for (let i = 0; i < n; i++) dinp[i]! += this.dout[i]!;
    chainBackward(this.body, dinp, ctx);
  }
  emitForward(g: OnnxGraph, x: string, ctx: EmitContext): string {
    return g.add(x, chainEmitForward(g, this.body, x, ctx));
  }
  /** The skip sends dout to dx; the branch adds its own gradient (one Add, as backward's +=). */
  emitBackward(g: OnnxGraph, dout: string, needDx: boolean, ctx: EmitContext): string | null {
    const branch = chainEmitBackward(g, this.body, dout, needDx, ctx);
    return needDx && branch ? g.add(dout, branch) : null;
  }
}
