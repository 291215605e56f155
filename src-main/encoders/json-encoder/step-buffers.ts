/**
 * Per-step arrays of a training step that the helper thread reads or writes (hidden-shard.ts,
 * shard-worker.ts): SharedArrayBuffer-backed, grown to the largest batch seen and reused, so a step
 * allocates nothing shared.
 */
import type { ShardIo } from './hidden-shard.ts';
import { OUTPUT_DIM } from './json-encoder-config.ts';

/** The output head's arrays: images/T both ways, Zᵀ, S, dS, dZᵀ. */
export interface HeadBuffers {
  iS: Float32Array;
  iST: Float32Array;
  zT: Float32Array;
  s: Float32Array;
  dS: Float32Array;
  dzT: Float32Array;
}

export function headBuffers(
  B: number,
  make: (n: number) => Float32Array = (n) => new Float32Array(n),
): HeadBuffers {
  return {
    iS: make(B * OUTPUT_DIM),
    iST: make(OUTPUT_DIM * B),
    zT: make(OUTPUT_DIM * B),
    s: make(B * B),
    dS: make(B * B),
    dzT: make(OUTPUT_DIM * B),
  };
}

/** SharedArrayBuffer-backed floats (the helper's inputs and outputs). */
function sharedF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/**
 * Shard 1's inputs and outputs in shared buffers, grown to the largest batch seen. `at(B)` returns
 * views for a batch of B (valid until the next call that grows them).
 */
export class SharedShardIo {
  private size = 0;
  private io: ShardIo | null = null;
  private headSize = 0;
  private headBuffers: HeadBuffers | null = null;

  /** The output head's arrays for a batch of B, shared so the helper can take rows of its products. */
  head(B: number): HeadBuffers {
    if (B > this.headSize || !this.headBuffers) {
      this.headSize = Math.max(B, this.headSize * 2, 64);
      this.headBuffers = headBuffers(this.headSize, sharedF32);
    }
    const h = this.headBuffers;
    const cut = (x: Float32Array, n: number) => x.subarray(0, n);
    return {
      iS: cut(h.iS, B * OUTPUT_DIM),
      iST: cut(h.iST, OUTPUT_DIM * B),
      zT: cut(h.zT, OUTPUT_DIM * B),
      s: cut(h.s, B * B),
      dS: cut(h.dS, B * B),
      dzT: cut(h.dzT, OUTPUT_DIM * B),
    };
  }

  constructor(
    private readonly rows: number,
    private readonly totalVocab: number,
  ) {}

  at(B: number): ShardIo {
    if (B > this.size || !this.io) {
      this.size = Math.max(B, this.size * 2, 64);
      const n = this.size;
      this.io = {
        batch: n,
        mT: sharedF32(this.totalVocab * n),
        m: sharedF32(n * this.totalVocab),
        maskT: sharedF32(this.rows * n),
        yPart: sharedF32(OUTPUT_DIM * n),
        dyT: sharedF32(OUTPUT_DIM * n),
        dy: sharedF32(n * OUTPUT_DIM),
        sums: new Float64Array(new SharedArrayBuffer(8)),
      };
    }
    const io = this.io;
    return {
      batch: B,
      mT: io.mT.subarray(0, this.totalVocab * B),
      m: io.m.subarray(0, B * this.totalVocab),
      maskT: io.maskT!.subarray(0, this.rows * B),
      yPart: io.yPart.subarray(0, OUTPUT_DIM * B),
      dyT: io.dyT.subarray(0, OUTPUT_DIM * B),
      dy: io.dy.subarray(0, B * OUTPUT_DIM),
      sums: io.sums,
    };
  }
}
