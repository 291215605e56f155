/**
 * One training step of the layered model's MLP in ONNX Runtime: a single graph per (model, batch size,
 * temperature) holding the MLP's forward pass, the L2 normalisation, symmetric InfoNCE and the whole
 * backward pass, each layer's nodes emitted by the layer itself (modules.ts `emitForward` /
 * `emitBackward`). Field-embedding gathers and their scatter-add stay in JS (ort-encoder.ts): they are
 * a few row copies, cheaper than a Gather/ScatterND round trip.
 *
 *   inputs   x [B, fields·embedDim] (the concatenated field embeddings), images [B, 512], the
 *            InfoNCE targets (info-nce.ts emitInfoNce), every MLP parameter, one dropout mask per
 *            Dropout layer (drawn in JS from the model's generator, in the JS engine's order)
 *   outputs  loss [1, 1], dx [B, fields·embedDim], grad.<parameter name> for every MLP parameter,
 *            grad_sumsq [] (Σ g² over those gradients, for the clip norm)
 *
 * [Note: no copies into ONNX Runtime] The Node binding wraps an input's typed array without copying it
 * (measured: a 128 MB input costs the same as a 16-byte one), and writes a pre-allocated output
 * (a `fetches` tensor) in place, so parameters go in and gradients come out as views of the model's
 * arenas. It then also returns a fresh copy of every output, which is the only copy of a step
 * (the gradients once, ~4.7 MB for the default model). Views must be of ordinary ArrayBuffers: the
 * binding refuses SharedArrayBuffer views ("Invalid argument"), hence the unshared AdamW memory.
 *
 * [Note: the synchronous run] onnxruntime-node's public `InferenceSession.run` is the binding's
 * synchronous `run` deferred by setImmediate and wrapped in a Promise (dist/backend.js). The trainer's
 * `trainStep` is synchronous (it runs in the training worker, which has nothing else to do meanwhile),
 * so this calls the binding's `run` directly through `onnxruntime-node/dist/binding.js`. That path is
 * internal to the package: `loadBinding` checks its shape and names the package version it expects in
 * the error, so an upgrade that moves it fails loudly at the first step rather than silently.
 */
import { createRequire } from 'node:module';
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import { OUTPUT_DIM } from './json-encoder-config.ts';
import type { Arr } from './layers/arrays.ts';
import { emitInfoNce, infoNceTargetInputs } from './layers/info-nce.ts';
import { emitL2NormaliseBackward, emitL2NormaliseForward } from './layers/l2-normalise.ts';
import type { EmitContext, Param } from './layers/module.ts';
import { canEmit, chainEmitBackward, chainEmitForward } from './layers/modules.ts';
import type { LayeredNetwork } from './model.ts';
import { OnnxGraph } from './onnx-graph.ts';

type Feeds = Record<string, OrtTensor>;
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(feeds: Feeds, fetches: Record<string, OrtTensor | null>, options: object): Record<string, OrtTensor>;
  dispose(): void;
}
interface Binding {
  InferenceSession: new () => NativeSession;
}

let loaded: { binding: Binding; Tensor: typeof OrtTensor } | null = null;

/** The binding's synchronous session class ([Note: the synchronous run]); the bench times it too. */
export function loadBinding(): { binding: Binding; Tensor: typeof OrtTensor } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const where = 'onnxruntime-node/dist/binding.js';
  const mod = require(where) as { binding?: Binding; initOrt?: () => void };
  const ort = require('onnxruntime-node') as { Tensor: typeof OrtTensor };
  if (typeof mod.initOrt !== 'function' || typeof mod.binding?.InferenceSession !== 'function')
    throw new Error(
      `ONNX Runtime training engine: ${where} no longer exports { binding, initOrt } (written against onnxruntime-node 1.30); use --engine layered or tfjs`,
    );
  mod.initOrt();
  loaded = { binding: mod.binding, Tensor: ort.Tensor };
  return loaded;
}

/** Whether the model's MLP can be emitted (BatchNorm has no emission yet). */
export function ortCanTrain(net: LayeredNetwork): boolean {
  return canEmit(net.mlp);
}

export interface MaskSlot {
  name: string;
  width: number;
  p: number;
  data: Float32Array;
}

/** The step's graph for `net` at batch size B: ONNX bytes, the parameters it reads and its mask inputs. */
export function stepGraph(
  net: LayeredNetwork,
  B: number,
  temperature: number,
): { bytes: Uint8Array; params: Param[]; masks: MaskSlot[]; inWidth: number } {
  const g = new OnnxGraph();
  const params: Param[] = [];
  const masks: MaskSlot[] = [];
  const inWidth = net.fields.length * net.shape.embedDim;
  const x = g.input('x', [B, inWidth]);
  const images = g.input('images', [B, OUTPUT_DIM]);
  const t = {
    rows: g.input('target_rows', [B, B]),
    cols: g.input('target_cols', [B, B]),
    rowOn: g.input('target_row_on', [B, 1]),
    colOn: g.input('target_col_on', [1, B]),
  };
  const declared = new Set<Param>();
  const gradValues: string[] = [];
  const ctx: EmitContext = {
    B,
    param: (p) => {
      if (!declared.has(p)) {
        declared.add(p);
        params.push(p);
        g.input(p.name, p.shape);
      }
      return p.name;
    },
    grad: (p, value) => {
      g.output(value, `grad.${p.name}`, p.shape);
      gradValues.push(value);
    },
    mask: (width, p) => {
      const name = `dropout_mask.${masks.length}`;
      masks.push({ name, width, p, data: new Float32Array(B * width) });
      return g.input(name, [B, width]);
    },
  };
  const y = chainEmitForward(g, net.mlp, x, ctx);
  const z = emitL2NormaliseForward(g, y);
  const nce = emitInfoNce(g, z.out, images, t, B, temperature);
  const dy = emitL2NormaliseBackward(g, nce.dz, z.out, z.norm);
  const dx = chainEmitBackward(g, net.mlp, dy, true, ctx)!;
  g.output(nce.loss, 'loss', [1, 1]);
  // Σ g² over the MLP's gradients, so the clip norm needs no JS pass over them (the embedding
  // tables' part is added in JS). float32 sums, like torch's clip_grad_norm_ on float32 tensors.
  const squares = gradValues.map((v) => g.op('ReduceSumSquare', [v], { keepdims: 0 }));
  g.output(squares.length === 1 ? squares[0]! : g.op('Sum', squares), 'grad_sumsq', []);
  g.output(dx, 'dx', [B, inWidth]);
  return { bytes: g.model('json-encoder-train-step'), params, masks, inWidth };
}

export class OrtTrainStep {
  private readonly session: NativeSession;
  private readonly masks: MaskSlot[];
  private readonly params: Param[];
  private readonly inWidth: number;
  private readonly targets: {
    rows: Float32Array;
    cols: Float32Array;
    rowOn: Float32Array;
    colOn: Float32Array;
  };
  private readonly loss = new Float32Array(1);
  private readonly sumsq = new Float32Array(1);
  private hardTargets = false;
  readonly dx: Float32Array;
  /** Wall time of the last `run` call (the native step plus the binding's work), ms. */
  lastRunMs = 0;

  constructor(
    private readonly net: LayeredNetwork,
    readonly B: number,
    readonly temperature: number,
    threads: number,
  ) {
    const { binding } = loadBinding();
    const { bytes, params, masks, inWidth } = stepGraph(net, B, temperature);
    this.params = params;
    this.masks = masks;
    this.inWidth = inWidth;
    this.dx = new Float32Array(B * inWidth);
    this.targets = {
      rows: new Float32Array(B * B),
      cols: new Float32Array(B * B),
      rowOn: new Float32Array(B),
      colOn: new Float32Array(B),
    };
    this.session = new binding.InferenceSession();
    this.session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      // [Note: fixed threads, no spinning] The thread count is the caller's, fixed for the session;
      // MLAS splits a product by output blocks, so results do not depend on it (tested bitwise, 1 vs 2).
      // Spinning is off: between runs the JS side (gathers, AdamW) needs the cores the pool would spin on.
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: true,
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
  }

  /** Draws this step's dropout masks from the network's generator, in the JS engine's order. */
  private drawMasks(): void {
    for (const m of this.masks) this.net.dropMask(m.data, this.B * m.width, m.p);
  }

  /**
   * Runs the step on `x` (the concatenated embeddings, [B, inWidth]): writes every MLP parameter's
   * gradient into its `grad` view and the input gradient into `this.dx`; returns the loss.
   */
  run(x: Arr, images: Float32Array, targets?: Float64Array): number {
    const { Tensor } = loadBinding();
    const B = this.B;
    this.drawMasks();
    // Hard targets are the same identity every step: filled once, refilled only after soft ones.
    if (targets || !this.hardTargets) infoNceTargetInputs(B, targets, this.targets);
    this.hardTargets = !targets;
    const f32 = (a: Arr, dims: number[]) => new Tensor('float32', a as Float32Array, dims);
    const feeds: Feeds = {
      x: f32(x.subarray(0, B * this.inWidth), [B, this.inWidth]),
      images: f32(images, [B, OUTPUT_DIM]),
      target_rows: f32(this.targets.rows, [B, B]),
      target_cols: f32(this.targets.cols, [B, B]),
      target_row_on: f32(this.targets.rowOn, [B, 1]),
      target_col_on: f32(this.targets.colOn, [1, B]),
    };
    const fetches: Record<string, OrtTensor> = {
      loss: f32(this.loss, [1, 1]),
      grad_sumsq: f32(this.sumsq, []),
      dx: f32(this.dx, [B, this.inWidth]),
    };
    for (const p of this.params) {
      feeds[p.name] = f32(p.data, p.shape);
      fetches[`grad.${p.name}`] = f32(p.grad, p.shape);
    }
    for (const m of this.masks) feeds[m.name] = f32(m.data, [B, m.width]);
    const t0 = performance.now();
    this.session.run(feeds, fetches, {});
    this.lastRunMs = performance.now() - t0;
    return this.loss[0]!;
  }

  /** Σ g² over the MLP parameters' gradients of the last run. */
  get gradSumSquares(): number {
    return this.sumsq[0]!;
  }

  dispose(): void {
    this.session.dispose();
  }
}
