/**
 * Every layer of the layered encoder against central differences in float64 — the checks
 * `kfashion sanity` runs (the unit tests run the same comparisons with more cases). Each check
 * computes L = Σ out·R for a fixed random R, compares each layer's backward pass with
 * (L(x + h) − L(x − h)) / 2h for inputs and parameters, and reports the worst relative error.
 */
import { Rng } from '../../dataset/rng.ts';
import { makeJsonEncoderConfig } from './json-encoder-config.ts';
import type { EncoderInputs, JsonEncoderConfig } from './json-encoder-types.ts';
import { LayeredJsonEncoder } from './layered-encoder.ts';
import { ACTIVATIONS, activationBackward, activationForward } from './layers/activation.ts';
import { batchNormBackward, batchNormForward } from './layers/batchnorm.ts';
import { concatBackward, concatForward } from './layers/concat.ts';
import { dropoutBackward, dropoutForward, dropoutMask } from './layers/dropout.ts';
import { fieldEmbeddingBackward, fieldEmbeddingForward } from './layers/field-embedding.ts';
import { infoNceForwardBackward } from './layers/info-nce.ts';
import { l2NormaliseBackward, l2NormaliseForward } from './layers/l2-normalise.ts';
import { layerNormBackward, layerNormForward } from './layers/layernorm.ts';
import { linearBackward, linearForward } from './layers/linear.ts';
import { carve } from './layers/module.ts';
import { ResidualBlock } from './layers/residual-block.ts';

/** Gradient checks must stay below this worst relative error. */
export const GRADIENT_TOLERANCE = 1e-5;

export interface GradientCheck {
  name: string;
  worst: number;
}

function rand(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Worst relative error of `analytic` against central differences of `loss` in every value of x. */
export function worstGradientError(
  x: Float64Array,
  analytic: ArrayLike<number>,
  loss: () => number,
  sample = 0,
  h = 1e-6,
): number {
  const idx =
    sample > 0 && sample < x.length
      ? new Rng(x.length).sampleIndices(x.length, sample)
      : Array.from({ length: x.length }, (_, i) => i);
  let worst = 0;
  for (const i of idx) {
    const keep = x[i]!;
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    const numeric = (up - down) / (2 * h);
    const a = analytic[i]!;
    worst = Math.max(worst, Math.abs(numeric - a) / Math.max(1e-3, Math.abs(numeric), Math.abs(a)));
  }
  return worst;
}

const worstOf = (...xs: number[]) => Math.max(...xs);

/** One check per layer type, then the whole model (deep residual LayerNorm GELU). */
export function layerGradientChecks(seed: number): GradientCheck[] {
  const rng = Rng.derive(seed, 'layer-gradient-checks');
  const B = 4;
  const C = 6;
  const out: GradientCheck[] = [];
  {
    const OC = 5;
    const x = rand(B * C, rng);
    const w = rand(OC * C, rng);
    const b = rand(OC, rng);
    const r = rand(B * OC, rng);
    const loss = () => {
      const y = new Float64Array(B * OC);
      linearForward(y, x, w, b, B, C, OC);
      return dot(y, r);
    };
    const dx = new Float64Array(B * C);
    const dw = new Float64Array(OC * C);
    const db = new Float64Array(OC);
    linearBackward(dx, dw, db, r, x, w, B, C, OC);
    out.push({
      name: 'linear',
      worst: worstOf(
        worstGradientError(x, dx, loss),
        worstGradientError(w, dw, loss),
        worstGradientError(b, db, loss),
      ),
    });
  }
  {
    const V = 5;
    const d = 3;
    const t = rand(V * d, rng);
    t.fill(0, 0, d);
    const idx = Int32Array.from([1, 2, 0, 3, 0, 0, 4, 4, 2, 0, 0, 0]);
    const r = rand(B * d, rng);
    const loss = () => {
      const y = new Float64Array(B * d);
      fieldEmbeddingForward(y, t, idx, 3, B, d);
      return dot(y, r);
    };
    const dt = new Float64Array(V * d);
    fieldEmbeddingBackward(dt, r, idx, 3, B, d);
    out.push({ name: 'field embedding (masked mean)', worst: worstGradientError(t, dt, loss) });
  }
  {
    const a = rand(B * 2, rng);
    const c = rand(B * 3, rng);
    const r = rand(B * 5, rng);
    const loss = () => {
      const y = new Float64Array(B * 5);
      concatForward(y, [a, c], [2, 3], B);
      return dot(y, r);
    };
    const da = new Float64Array(B * 2);
    const dc = new Float64Array(B * 3);
    concatBackward([da, dc], r, [2, 3], B);
    out.push({
      name: 'concatenation',
      worst: worstOf(worstGradientError(a, da, loss), worstGradientError(c, dc, loss)),
    });
  }
  for (const kind of ACTIVATIONS) {
    const n = B * C;
    const x = rand(n, rng).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const r = rand(n, rng);
    const loss = () => {
      const y = new Float64Array(n);
      activationForward(y, x, n, kind);
      return dot(y, r);
    };
    const dx = new Float64Array(n);
    activationBackward(dx, x, r, n, kind);
    out.push({ name: `activation ${kind}`, worst: worstGradientError(x, dx, loss) });
  }
  {
    const n = B * C;
    const x = rand(n, rng);
    const mask = new Float64Array(n);
    dropoutMask(mask, n, 0.3, seed);
    const r = rand(n, rng);
    const loss = () => {
      const y = new Float64Array(n);
      dropoutForward(y, x, mask, n);
      return dot(y, r);
    };
    const dx = new Float64Array(n);
    dropoutBackward(dx, r, mask, n);
    out.push({ name: 'dropout', worst: worstGradientError(x, dx, loss) });
  }
  for (const kind of ['LayerNorm', 'BatchNorm'] as const) {
    const x = rand(B * C, rng, 2);
    const w = rand(C, rng);
    const b = rand(C, rng);
    const r = rand(B * C, rng);
    const stats = kind === 'LayerNorm' ? B : C;
    const run = () => {
      const y = new Float64Array(B * C);
      const mean = new Float64Array(stats);
      const rstd = new Float64Array(stats);
      if (kind === 'LayerNorm') layerNormForward(y, mean, rstd, x, w, b, B, C);
      else {
        const running = { mean: new Float64Array(C), var: new Float64Array(C).fill(1), batches: 0 };
        batchNormForward(y, mean, rstd, x, w, b, running, true, B, C);
      }
      return { y, mean, rstd };
    };
    const { mean, rstd } = run();
    const dx = new Float64Array(B * C);
    const dw = new Float64Array(C);
    const db = new Float64Array(C);
    (kind === 'LayerNorm' ? layerNormBackward : batchNormBackward)(dx, dw, db, r, x, w, mean, rstd, B, C);
    const loss = () => dot(run().y, r);
    out.push({
      name: kind,
      worst: worstOf(
        worstGradientError(x, dx, loss),
        worstGradientError(w, dw, loss),
        worstGradientError(b, db, loss),
      ),
    });
  }
  {
    const block = new ResidualBlock('block', C, 'layer', 'gelu', 0.2);
    const prng = new Rng(seed);
    for (const p of block.params) {
      p.data = new Float64Array(p.shape.reduce((a, c) => a * c, 1));
      p.grad = new Float64Array(p.data.length);
      p.init(p.data, prng);
    }
    block.bind(carve(new Float64Array(4096)), carve(new Float64Array(4096)), B);
    let state = seed >>> 0;
    const ctx = {
      B,
      train: true,
      grads: true,
      mask: (m: Float64Array | Float32Array, n: number, p: number) => {
        state = dropoutMask(m, n, p, state);
      },
    };
    const x = rand(B * C, rng);
    const r = rand(B * C, rng);
    const loss = () => {
      state = seed >>> 0;
      return dot(block.forward(x, ctx), r);
    };
    loss();
    block.dout.set(r);
    const dx = new Float64Array(B * C);
    block.backward(dx, ctx);
    out.push({
      name: 'residual block (LayerNorm, GELU, dropout)',
      worst: worstOf(
        worstGradientError(x, dx, loss),
        ...block.params.map((p) => worstGradientError(p.data as Float64Array, p.grad, loss)),
      ),
    });
  }
  {
    const x = rand(B * C, rng);
    const r = rand(B * C, rng);
    const run = () => {
      const y = new Float64Array(B * C);
      const norms = new Float64Array(B);
      l2NormaliseForward(y, norms, x, B, C);
      return { y, norms };
    };
    const { y, norms } = run();
    const dx = new Float64Array(B * C);
    l2NormaliseBackward(dx, r, y, norms, B, C);
    out.push({ name: 'L2 normalisation', worst: worstGradientError(x, dx, () => dot(run().y, r)) });
  }
  {
    const z = rand(B * C, rng, 0.5);
    const img = rand(B * C, rng, 0.5);
    const dz = new Float64Array(B * C);
    infoNceForwardBackward(dz, z, img, B, C, 0.2);
    out.push({
      name: 'symmetric InfoNCE',
      worst: worstGradientError(z, dz, () => infoNceForwardBackward(null, z, img, B, C, 0.2)),
    });
  }
  {
    // MixUp's soft targets: row 1's image is 0.7 its own, 0.3 row 3's ([Note: soft-target InfoNCE]).
    const z = rand(B * C, rng, 0.5);
    const img = rand(B * C, rng, 0.5);
    const y = new Float64Array(B * B);
    for (let i = 0; i < B; i++) y[i * B + i] = 1;
    y[1 * B + 1] = 0.7;
    y[3 * B + 1] = 0.3;
    const dz = new Float64Array(B * C);
    infoNceForwardBackward(dz, z, img, B, C, 0.2, undefined, y);
    out.push({
      name: 'soft-target InfoNCE (MixUp)',
      worst: worstGradientError(z, dz, () => infoNceForwardBackward(null, z, img, B, C, 0.2, undefined, y)),
    });
  }
  {
    const config: JsonEncoderConfig = {
      ...makeJsonEncoderConfig(
        { category: 5, style: 6, silhouette: 4, material: 6, detail: 5 },
        { embedDim: 3, hiddenDim: 6, dropout: 0.2 },
      ),
      depth: 3,
      residual: true,
      norm: 'layer',
      activation: 'gelu',
    };
    const m = new LayeredJsonEncoder(config, { seed, dtype: 'float64' });
    const inputs: EncoderInputs = { batchSize: 5, fields: {} };
    for (const f of config.fields) {
      const slots = config.fieldKinds[f] === 'single' ? 1 : 2;
      inputs.fields[f] = {
        slots,
        indices: Int32Array.from({ length: 5 * slots }, () => rng.int(1, config.vocabSizes[f]! - 1)),
      };
    }
    const images = Float64Array.from(new Rng(seed).unitRows(5, 512));
    const start = m.net.dropoutState;
    const loss = () => {
      m.net.dropoutState = start;
      return m.net.lossAndGrads(inputs, images, 0.1);
    };
    loss();
    const grads = Float64Array.from(m.net.gradArena);
    out.push({
      name: 'whole model (3 blocks, residual, LayerNorm, GELU, dropout)',
      worst: worstGradientError(m.net.paramArena as Float64Array, grads, loss, 300),
    });
  }
  return out;
}
