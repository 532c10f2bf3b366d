/** @module monitor/psi
 * Population stability index between a reference sample and a new one, on bins cut at the
 * reference's quantiles. Pure; used by validate (column drift) and monitor (input drift). */

/** Bin edges: the reference's interior quantiles (deduplicated), so each bin holds ~1/bins of it. */
export function quantileEdges(reference: ArrayLike<number>, bins = 10): Float64Array {
  const xs = Float64Array.from(reference).filter((x) => Number.isFinite(x)).sort();
  if (xs.length === 0) return new Float64Array(0);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = xs[Math.min(xs.length - 1, Math.floor((i * xs.length) / bins))]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return Float64Array.from(edges);
}

/** Counts per bin: bin k holds x with edges[k-1] <= x < edges[k] (NaN/±Inf are skipped). */
export function binCounts(xs: ArrayLike<number>, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (!Number.isFinite(x)) continue;
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]! += 1;
  }
  return counts;
}

/**
 * PSI = Σ (a − e) · ln(a / e) over bins, with e and a the reference's and the new sample's bin
 * shares; an empty bin's share is floored at `epsilon` so the sum stays finite. 0 for identical
 * distributions; by convention < 0.1 stable, 0.1–0.25 moderate, > 0.25 large shift.
 */
export function psiFromCounts(expected: ArrayLike<number>, actual: ArrayLike<number>, epsilon = 1e-4): number {
  let te = 0;
  let ta = 0;
  for (let i = 0; i < expected.length; i++) {
    te += expected[i]!;
    ta += actual[i]!;
  }
  if (te === 0 || ta === 0) return Number.NaN;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / te, epsilon);
    const a = Math.max(actual[i]! / ta, epsilon);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** PSI of `actual` against `reference` on the reference's decile bins (or given edges). */
export function psi(reference: ArrayLike<number>, actual: ArrayLike<number>, edges: Float64Array = quantileEdges(reference)): number {
  return psiFromCounts(binCounts(reference, edges), binCounts(actual, edges));
}
