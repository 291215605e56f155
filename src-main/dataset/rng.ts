/**
 * Small seeded pseudo-random generators and hashes: synthetic data, the seeded split.
 *
 * Hand-written on purpose: the demo dataset must be byte-identical for a seed on every machine and
 * every Node version, and `Math.random` cannot be seeded. mulberry32 is a few lines, fast, and good
 * enough for sampling fixtures (it is not for cryptography); a dependency would add nothing but risk
 * that a new version changes the stream and with it every generated file.
 */

/** mulberry32: a 32-bit state generator returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 32-bit hash of strings and numbers (FNV-1a over UTF-16 units, then a murmur finaliser).
 * Used to derive independent sub-seeds from names, so a value's random direction does not depend
 * on the order in which values happen to be met.
 */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = typeof part === 'number' ? `#${part}` : part;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x1f; // part separator, so ('ab','c') and ('a','bc') differ
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Convenience methods over mulberry32. */
export class Rng {
  private readonly next: () => number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** A generator for a named sub-stream, e.g. `Rng.derive(seed, 'look', 3)`: independent of any other stream. */
  static derive(...parts: (string | number)[]): Rng {
    return new Rng(hashSeed(...parts));
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** Uniform float in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One key of a weight table, with probability proportional to its weight (weights ≤ 0 never). */
  weighted<K extends string>(weights: Readonly<Partial<Record<K, number>>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, w] of entries) if (w > 0) total += w;
    if (total <= 0) throw new Error('Rng.weighted: no positive weight');
    let r = this.next() * total;
    for (const [k, w] of entries) {
      if (w <= 0) continue;
      r -= w;
      if (r < 0) return k;
    }
    // Floating-point leftovers: the last positive entry.
    for (let i = entries.length - 1; i >= 0; i--) if (entries[i]![1] > 0) return entries[i]![0];
    throw new Error('unreachable');
  }

  /** Standard normal deviate (Box–Muller; the second value of each pair is kept for the next call). */
  /** `rows` Gaussian vectors of `dim`, each L2-normalised (row-major): stand-in image embeddings. */
  unitRows(rows: number, dim: number): Float32Array {
    const out = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let k = 0; k < dim; k++) {
        const v = this.normal();
        out[r * dim + k] = v;
        n += v * v;
      }
      const norm = Math.sqrt(n);
      for (let k = 0; k < dim; k++) out[r * dim + k]! /= norm;
    }
    return out;
  }

  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** `count` distinct indices from [0, n), in increasing order. */
  sampleIndices(n: number, count: number): number[] {
    const all = Array.from({ length: n }, (_, i) => i);
    this.shuffle(all);
    return all.slice(0, Math.min(count, n)).sort((a, b) => a - b);
  }
}
