/**
 * The array type every layer computes on. Training runs in float32; the gradient tests run the very
 * same layer functions in float64, so a finite-difference check measures the maths, not rounding.
 */
export type Arr = Float32Array | Float64Array;

/** A new zeroed array of the same element type as `like`. */
export function zerosLike(like: Arr, n: number): Arr {
  return like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
}
