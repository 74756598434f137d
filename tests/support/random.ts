// Deterministic random numbers for tests and benchmarks: a failure reproduces from its seed.

/** xorshift32: returns a generator of unsigned 32-bit integers (seed 0 is treated as 1). */
export function xorshift32(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
