/** @module dashboard/downsample
 * Server-side downsampling of a long series for the charts: the rows are cut into equal buckets
 * and each bucket keeps the rows holding the minimum and maximum of every guarded column (so no
 * spike disappears and all columns stay on one shared x axis). Returns the kept row indices. */

/**
 * Indices (increasing) of at most `points` rows of `n`, keeping per bucket the argmin and argmax
 * of each column in `guard` (NaN ignored; ties → the first row). All rows when n ≤ points.
 */
export function minMaxIndices(n: number, guard: readonly Float64Array[], points: number): Int32Array {
  if (n <= points) return Int32Array.from({ length: n }, (_, i) => i);
  const perBucket = Math.max(1, 2 * guard.length);
  const buckets = Math.max(1, Math.floor(points / perBucket));
  const out = new Int32Array(buckets * perBucket);
  const picks = new Int32Array(perBucket);
  let len = 0;
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let k = 0;
    if (guard.length === 0) picks[k++] = lo;
    for (const col of guard) {
      let iMin = -1;
      let iMax = -1;
      for (let i = lo; i < hi; i++) {
        const v = col[i]!;
        if (v !== v) continue;
        if (iMin < 0 || v < col[iMin]!) iMin = i;
        if (iMax < 0 || v > col[iMax]!) iMax = i;
      }
      if (iMin < 0) iMin = iMax = lo;
      picks[k++] = iMin;
      picks[k++] = iMax;
    }
    // Sort the few picks (insertion sort) and append the distinct ones.
    for (let i = 1; i < k; i++) {
      const x = picks[i]!;
      let j = i - 1;
      while (j >= 0 && picks[j]! > x) {
        picks[j + 1] = picks[j]!;
        j--;
      }
      picks[j + 1] = x;
    }
    for (let i = 0; i < k; i++) if (i === 0 || picks[i] !== picks[i - 1]) out[len++] = picks[i]!;
  }
  return out.slice(0, len);
}

/** The values of `col` at `idx`, NaN → null (JSON). */
export function pick(col: Float64Array, idx: Int32Array): (number | null)[] {
  const out = new Array<number | null>(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const v = col[idx[k]!]!;
    out[k] = v === v ? v : null;
  }
  return out;
}
