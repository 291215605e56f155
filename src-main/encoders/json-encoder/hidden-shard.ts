/**
 * [Note: the hidden layer in two shards] Everything in a training step that touches the hidden layer
 * splits by hidden unit: rows [from, from + rows) of Hᵀ need only rows of W₁, b₁, the dropout mask and
 * W₂ᵀ, and they contribute a partial sum W₂[:, rows]·Dᵀ[rows] to the output. So the hidden layer is
 * kept as two shards, one per core: the main thread computes shard 0 while the helper thread
 * (shard-worker.ts) computes shard 1, forward and backward, and each updates its own shard's
 * parameters. The main thread alone does what needs the whole output (normalisation, similarities,
 * InfoNCE) and the small shared parameters (embedding tables, b₂). With one thread, the main thread
 * runs both shards' functions one after the other: the same kernels on the same data, so the results
 * are bit-identical with and without the helper.
 *
 * The functions below take `tf` as a parameter, so the main thread and the helper thread (its entry,
 * shard-helper.ts) run them on their own tfjs instances. Products are
 * plain matMuls with the weight as first operand where possible (json-encoder.ts, [Note: a fast
 * training step on the wasm backend]): Hᵀ = (W₁_f·E_fᵀ)·Mᵀ, Yᵀ = W₂ᵀ'·Dᵀ with the [512, rows] mirror,
 * dDᵀ = W₂_rows·dYᵀ with the primary [rows, 512], dW₂ᵀ = Dᵀ·dY, G = dHᵀ·M, dW₁_f = G_f·E_f and the
 * partial dE_fᵀ = W₁_fᵀ·G_f with the [d, rows] mirror.
 */
import type * as tfNs from '@tensorflow/tfjs';

type Tf = typeof tfNs;

/** One shard's parameters and gradient buffers, as Float32Array views (shared memory with a helper). */
export interface ShardData {
  rows: number;
  embedDim: number;
  activation: 'relu' | 'gelu';
  fields: {
    vocab: number;
    /** Column offset of the field in the multi-hot matrix. */
    offset: number;
    /** E_f [V, d] (shared by both shards; read only during a step). */
    emb: Float32Array;
    /** W₁_f rows [rows, d] and the mirror [d, rows]. */
    w1: Float32Array;
    w1T: Float32Array;
    /** Gradient outputs: dW₁_f [rows, d] and this shard's part of dE_fᵀ [d, V]. */
    gW1: Float32Array;
    gET: Float32Array;
  }[];
  totalVocab: number;
  /** b₁ rows [rows] and its gradient. */
  b1: Float32Array;
  gB1: Float32Array;
  /** W₂ᵀ rows [rows, 512] (the layout of its gradient) and the PyTorch-layout mirror [512, rows]. */
  w2: Float32Array;
  w2T: Float32Array;
  gW2: Float32Array;
}

/** The batch's inputs and the shard's outputs, as views (shared buffers with a helper). */
export interface ShardIo {
  batch: number;
  /** Multi-hot Mᵀ [ΣV, B] and M [B, ΣV]. */
  mT: Float32Array;
  m: Float32Array;
  /** This shard's rows of the dropout mask [rows, B], or null (eval, or dropout 0). */
  maskT: Float32Array | null;
  /** Forward output: this shard's partial W₂[:, rows]·Dᵀ [512, B]. */
  yPart: Float32Array;
  /** Backward inputs: dYᵀ [512, B] and dY [B, 512]. */
  dyT: Float32Array;
  dy: Float32Array;
  /** Backward output: sum of squares of the shard's own gradients (dW₁ rows, b₁, dW₂ rows). */
  sums: Float64Array;
}

/** What the forward pass keeps for the backward pass (tensors, freed by shardBackward). */
export interface ShardKept {
  hT: tfNs.Tensor2D;
  dT: tfNs.Tensor2D;
  maskT: tfNs.Tensor2D | null;
  dAct: tfNs.Tensor2D | null;
}

/**
 * Sum of squares (float64) of a gradient; the caller adds them up over all tensors for the global norm.
 * Defined here, not imported: the helper thread runs this file's functions from their source text.
 */
export function sumOfSquares(g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return s;
}

/**
 * Copies a float32 tensor's values into `dst`. On the wasm backend, straight from its heap
 * (`typedArrayFromHeap` is a view): `dataSync` would first copy into a fresh array, and those ~3 MB of
 * garbage a step measured ~3 ms of copying and collection on the helper thread at B=256.
 */
export function readInto(tf: Tf, t: tfNs.Tensor, dst: Float32Array): void {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tfNs.Tensor) => Float32Array };
  if (t.dtype === 'float32' && typeof backend.typedArrayFromHeap === 'function')
    dst.set(backend.typedArrayFromHeap(t));
  else dst.set(t.dataSync() as Float32Array);
}

/**
 * Forward pass of one shard: writes its partial output to io.yPart; with `keep`, returns the tensors
 * the backward pass needs (the caller passes them to shardBackward, which frees them).
 */
export function shardForward(tf: Tf, s: ShardData, io: ShardIo, keep: boolean): ShardKept | null {
  const B = io.batch;
  const d = s.embedDim;
  let kept: ShardKept | null = null;
  tf.tidy(() => {
    const projected = s.fields.map((f) =>
      tf.matMul(tf.tensor2d(f.w1, [s.rows, d]), tf.transpose(tf.tensor2d(f.emb, [f.vocab, d]))),
    ); // [rows, V_f]
    const pT = projected.length === 1 ? projected[0]! : tf.concat(projected, 1);
    const hT = tf.add(tf.matMul(pT, tf.tensor2d(io.mT, [s.totalVocab, B])), tf.tensor2d(s.b1, [s.rows, 1]));
    let aT: tfNs.Tensor2D;
    let dAct: tfNs.Tensor2D | null = null; // activation'(H), for GELU
    if (s.activation === 'gelu') {
      // Exact GELU, as nn.GELU(): x·Φ(x); Φ'(x) = φ(x).
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(hT, Math.SQRT1_2))));
      aT = tf.mul(hT, cdf) as tfNs.Tensor2D;
      if (keep)
        dAct = tf.add(
          cdf,
          tf.mul(hT, tf.mul(tf.exp(tf.mul(tf.square(hT), -0.5)), 1 / Math.sqrt(2 * Math.PI))),
        ) as tfNs.Tensor2D;
    } else aT = tf.relu(hT) as tfNs.Tensor2D;
    const maskT = io.maskT ? tf.tensor2d(io.maskT, [s.rows, B]) : null;
    const dT = maskT ? (tf.mul(aT, maskT) as tfNs.Tensor2D) : aT;
    readInto(tf, tf.matMul(tf.tensor2d(s.w2T, [512, s.rows]), dT), io.yPart);
    // Kept tensors leave the tidy through a variable, not its return value.
    if (keep)
      kept = {
        hT: tf.keep(hT as tfNs.Tensor2D),
        dT: tf.keep(dT),
        maskT: maskT ? tf.keep(maskT) : null,
        dAct: dAct ? tf.keep(dAct) : null,
      };
  });
  return kept;
}

/**
 * Backward pass of one shard from dYᵀ/dY: writes dW₂ᵀ rows, db₁ rows, dW₁_f rows and this shard's
 * part of each dE_fᵀ to the shard's gradient buffers, and the sum of squares of its own gradients to
 * io.sums[0]. Frees `kept`.
 */
export function shardBackward(tf: Tf, s: ShardData, io: ShardIo, kept: ShardKept): void {
  const B = io.batch;
  const d = s.embedDim;
  try {
    tf.tidy(() => {
      const ddT = tf.matMul(tf.tensor2d(s.w2, [s.rows, 512]), tf.tensor2d(io.dyT, [512, B])); // [rows, B]
      let dhT = kept.maskT ? tf.mul(ddT, kept.maskT) : ddT;
      dhT = kept.dAct ? tf.mul(dhT, kept.dAct) : tf.mul(dhT, tf.step(kept.hT));
      const gB1 = tf.sum(dhT, 1);
      const gW2 = tf.matMul(kept.dT, tf.tensor2d(io.dy, [B, 512])); // [rows, 512] = dW₂ᵀ rows
      const g = tf.matMul(dhT, tf.tensor2d(io.m, [B, s.totalVocab])); // [rows, ΣV]
      for (const f of s.fields) {
        const gf = tf.slice(g, [0, f.offset], [s.rows, f.vocab]) as tfNs.Tensor2D;
        const w1 = tf.matMul(gf, tf.tensor2d(f.emb, [f.vocab, d])); // [rows, d]
        const eT = tf.matMul(tf.tensor2d(f.w1T, [d, s.rows]), gf); // [d, V]
        readInto(tf, w1, f.gW1);
        readInto(tf, eT, f.gET);
      }
      readInto(tf, gW2, s.gW2);
      readInto(tf, gB1, s.gB1);
      // In JS over the copies (float64 sums): tf.sum(tf.square()) is ~1.5 ms for dW₂'s rows alone.
      let sq = sumOfSquares(s.gW2) + sumOfSquares(s.gB1);
      for (const f of s.fields) sq += sumOfSquares(f.gW1);
      io.sums[0] = sq;
    });
  } finally {
    for (const t of [kept.hT, kept.dT, kept.maskT, kept.dAct]) t?.dispose();
  }
}
