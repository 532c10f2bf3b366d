/** @module ml/gbdt/binning
 * Quantile binning of numeric columns into ≤ 255 value bins (Uint8) from a seeded sample; NaN has
 * its own bin, NAN_BIN = 255. Edges are sample values, so thresholds are real data values. */
import { createRng } from '../../core/rng.js';

/** Bin of NaN: above every value bin, so `bin <= t` sends NaN right at every split. */
export const NAN_BIN = 255;
/** Most value bins per feature (bins 0..254). */
export const MAX_VALUE_BINS = 255;
/** Histogram slots per feature: 256 bins (value bins + the NaN bin). */
export const HIST_BINS = 256;

export type NumericColumn = Float64Array | Float32Array;

export interface BinOptions {
  /** Value bins, 2..255 (default 255). */
  maxBins?: number;
  /** Values sampled (with replacement, seeded) when the column is longer (default 200,000). */
  sampleSize?: number;
  seed?: number;
}

/**
 * Upper edges of the value bins of one column: bin b holds edges[b-1] < x <= edges[b]; bin 0 also
 * holds everything below, the last bin everything above (x > edges[k-1]). Length k = number of
 * value bins (0 for an all-NaN column, 1 for a constant one). A split at bin t < k-1 has
 * threshold edges[t]: x <= edges[t] goes left, everything else (NaN included) right.
 */
export function computeBinEdges(column: NumericColumn, opts: BinOptions = {}): Float64Array {
  const maxBins = opts.maxBins ?? MAX_VALUE_BINS;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_VALUE_BINS) throw new RangeError(`maxBins must be an integer in 2..${MAX_VALUE_BINS} (got ${maxBins})`);
  const sampleSize = opts.sampleSize ?? 200_000;
  let sample: Float64Array;
  if (column.length <= sampleSize) sample = Float64Array.from(column);
  else {
    const rng = createRng(opts.seed ?? 0);
    sample = new Float64Array(sampleSize);
    for (let i = 0; i < sampleSize; i++) sample[i] = column[rng.int(column.length)]!;
  }
  sample.sort(); // NaN sorts last
  let n = sample.length;
  while (n > 0 && Number.isNaN(sample[n - 1]!)) n--;
  if (n === 0) return new Float64Array(0);
  // Distinct values and their counts.
  const values = new Float64Array(n);
  const counts = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; ) {
    const v = sample[i]!;
    let j = i + 1;
    while (j < n && sample[j] === v) j++;
    values[m] = v;
    counts[m++] = j - i;
    i = j;
  }
  if (m <= maxBins) return values.slice(0, m);
  return Float64Array.from(greedyEdges(values, counts, m, n, maxBins));
}

/**
 * Greedy equal-frequency cuts over distinct values: a bin closes once it holds its share of the
 * remaining rows, or just before a value that alone fills a share (heavy ties get their own bin).
 */
function greedyEdges(values: Float64Array, counts: Int32Array, m: number, total: number, maxBins: number): number[] {
  const edges: number[] = [];
  let remaining = total;
  let acc = 0;
  for (let i = 0; i < m; i++) {
    acc += counts[i]!;
    const binsLeft = maxBins - edges.length;
    if (binsLeft <= 1) break;
    const target = remaining / binsLeft;
    if (i < m - 1 && (acc >= target || counts[i + 1]! >= target)) {
      // Keep at least one distinct value for each bin we may still need.
      edges.push(values[i]!);
      remaining -= acc;
      acc = 0;
    }
  }
  edges.push(values[m - 1]!);
  return edges;
}

/** Search table: edges[0..k-2] then +Infinity up to 256 slots (the last value bin is open above). */
function searchTable(edges: Float64Array): Float64Array {
  const t = new Float64Array(HIST_BINS).fill(Infinity);
  for (let b = 0; b + 1 < edges.length; b++) t[b] = edges[b]!;
  return t;
}

/** The bin of one value. */
export function binValue(x: number, edges: Float64Array): number {
  if (x !== x) return NAN_BIN;
  if (edges.length === 0) return 0;
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bins a whole column into `out` (from `offset`): a branch-free 8-step search over 256 slots. */
export function binColumn(column: NumericColumn, edges: Float64Array, out: Uint8Array = new Uint8Array(column.length), offset = 0): Uint8Array {
  const t = searchTable(edges);
  const n = column.length;
  for (let i = 0; i < n; i++) {
    const x = column[i]!;
    // b = number of slots < x, i.e. the first slot with x <= t[b]. `+(…)` keeps it branch-free
    // (a ternary here compiles to unpredictable branches: 4× slower on random data).
    let b = 128 * +(t[127]! < x);
    b += 64 * +(t[b + 63]! < x);
    b += 32 * +(t[b + 31]! < x);
    b += 16 * +(t[b + 15]! < x);
    b += 8 * +(t[b + 7]! < x);
    b += 4 * +(t[b + 3]! < x);
    b += 2 * +(t[b + 1]! < x);
    b += +(t[b]! < x);
    out[offset + i] = x !== x ? NAN_BIN : b;
  }
  return out;
}
