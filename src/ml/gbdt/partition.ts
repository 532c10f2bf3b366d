/** @module ml/gbdt/partition
 * In-place row partitioning of a node's index range, chunk by chunk: a chunk writes its left rows
 * to the front of its slice of `tmp` and its right rows to the back (reversed), then optionally
 * adds the rows of one side to a histogram; copyBack then moves the pieces into `idx` so the node's
 * range holds [left rows | right rows]. Chunks are independent, so threads can share them. */
import { accumulateHistogram, type BinnedMatrix } from './histogram.js';

/** Which child's histogram a partition pass builds on the way. */
export const SIDE_NONE = 0;
export const SIDE_LEFT = 1;
export const SIDE_RIGHT = 2;

/**
 * Partitions idx[a..b) by bins[feature] <= bin into tmp[a..b); returns the count of left rows.
 * With side LEFT/RIGHT, that side's rows are then added to hist at `base` for `features`.
 */
export function partitionChunk(
  m: BinnedMatrix,
  idx: Int32Array,
  tmp: Int32Array,
  a: number,
  b: number,
  feature: number,
  bin: number,
  side: number,
  grad: Float32Array,
  hess: Float32Array | null,
  features: Int32Array,
  hist: Float64Array,
  base: number,
): number {
  const bins = m.bins;
  const col = feature * m.rows;
  let l = a;
  let r = b;
  // Branch-free: the row is written at both ends and only one end advances (the other slot is
  // overwritten later; when l = r − 1 both writes hit the same slot with the same row).
  for (let i = a; i < b; i++) {
    const row = idx[i]!;
    const goRight = (bin - bins[col + row]!) >>> 31; // 1 when the row's bin > bin
    tmp[l] = row;
    tmp[r - 1] = row;
    l += 1 - goRight;
    r -= goRight;
  }
  if (side === SIDE_LEFT) accumulateHistogram(m, tmp, a, l, grad, hess, features, hist, base);
  else if (side === SIDE_RIGHT) accumulateHistogram(m, tmp, l, b, grad, hess, features, hist, base);
  return l - a;
}

/**
 * Moves chunk c's pieces from tmp back into idx: its left rows after the left rows of chunks
 * 0..c-1, its right rows after all left rows (nLeft) and the right rows of chunks 0..c-1.
 * `counts[k]` is chunk k's left count; chunk k spans [start + k·size, …) clipped to end.
 */
export function copyBackChunk(idx: Int32Array, tmp: Int32Array, counts: Int32Array, start: number, end: number, size: number, c: number, nLeft: number): void {
  const a = start + c * size;
  const b = Math.min(end, a + size);
  let before = 0;
  for (let k = 0; k < c; k++) before += counts[k]!;
  const nl = counts[c]!;
  if (nl > 0) idx.set(tmp.subarray(a, a + nl), start + before);
  if (b > a + nl) idx.set(tmp.subarray(a + nl, b), start + nLeft + (a - start - before));
}
