/**
 * Shannon entropy of a distribution of counts (the windows' source-address spread over hash
 * buckets), cheap enough to run every second over thousands of buckets.
 *
 * @module
 */

/** `n log2 n` of the small counts most entropy buckets hold (Math.log2 is a call into C++). */
const N_LOG2_N: Float64Array = /* @__PURE__ */ (() => {
  const t = new Float64Array(4096);
  for (let n = 1; n < t.length; n++) t[n] = n * Math.log2(n);
  return t;
})();

/** Shannon entropy (bits) of the distribution of counts over buckets. */
export function entropyOfCounts(buckets: Float64Array): number {
  let total = 0;
  let sumNLogN = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    total += n;
    sumNLogN += n < N_LOG2_N.length ? N_LOG2_N[n] : n * Math.log2(n);
  }
  if (total === 0) return 0;
  // H = log2(N) - (1/N) * sum(n log2 n); clamp the tiny negative rounding of one bucket.
  return Math.max(0, Math.log2(total) - sumNLogN / total);
}
