/** @module ml/gbdt/histogram
 * Gradient/hessian histograms: per feature HIST_BINS × (Σg, Σh) in a Float64Array of
 * nFeatures × HIST_STRIDE, built over a slice of row indices; the subtraction trick; partial sums.
 * Kernels only: who calls them on which rows (threads, chunks) is ml/gbdt/parallel's business. */
import { HIST_BINS } from './binning.js';

/**
 * Float64 slots per feature in a histogram: (Σg, Σh) for each of the 256 bins (bin b at 2b), plus
 * 8 unused slots so that consecutive features' and nodes' histograms do not sit exactly 4 KB apart
 * (same-set cache conflicts when one pass adds to many of them).
 */
export const HIST_STRIDE = HIST_BINS * 2 + 8;

/** The column-major binned matrix: bins[f * rows + r]. */
export interface BinnedMatrix {
  rows: number;
  features: number;
  bins: Uint8Array;
}

/**
 * Adds rows idx[start..end) (or rows start..end when idx is null) into out at `base`, for the
 * listed features. hess null means every hessian is 1. Accumulates in Float64.
 */
export function accumulateHistogram(
  m: BinnedMatrix,
  idx: Int32Array | null,
  start: number,
  end: number,
  grad: Float32Array,
  hess: Float32Array | null,
  features: Int32Array,
  out: Float64Array,
  base: number,
): void {
  const bins = m.bins;
  const n = m.rows;
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const col = f * n;
    const o = base + f * HIST_STRIDE;
    if (idx === null && hess === null) {
      for (let r = start; r < end; r++) {
        const j = o + (bins[col + r]! << 1);
        out[j] = out[j]! + grad[r]!;
        out[j + 1] = out[j + 1]! + 1;
      }
    } else if (idx === null && hess !== null) {
      for (let r = start; r < end; r++) {
        const j = o + (bins[col + r]! << 1);
        out[j] = out[j]! + grad[r]!;
        out[j + 1] = out[j + 1]! + hess[r]!;
      }
    } else if (idx !== null && hess === null) {
      for (let i = start; i < end; i++) {
        const r = idx[i]!;
        const j = o + (bins[col + r]! << 1);
        out[j] = out[j]! + grad[r]!;
        out[j + 1] = out[j + 1]! + 1;
      }
    } else if (idx !== null && hess !== null) {
      for (let i = start; i < end; i++) {
        const r = idx[i]!;
        const j = o + (bins[col + r]! << 1);
        out[j] = out[j]! + grad[r]!;
        out[j + 1] = out[j + 1]! + hess[r]!;
      }
    }
  }
}

/** Zeroes the listed features' slots of a histogram at `base`. */
export function clearHistogram(out: Float64Array, base: number, features: Int32Array): void {
  for (let k = 0; k < features.length; k++) {
    const o = base + features[k]! * HIST_STRIDE;
    out.fill(0, o, o + HIST_STRIDE);
  }
}

/**
 * Sums `count` partial histograms into out: partial c starts at base + c·chunkStride. The fixed
 * chunk order makes the result independent of which thread built which partial.
 */
export function sumPartials(partials: Float64Array, base: number, count: number, chunkStride: number, features: Int32Array, out: Float64Array): Float64Array {
  for (let k = 0; k < features.length; k++) {
    const fo = features[k]! * HIST_STRIDE;
    out.fill(0, fo, fo + HIST_STRIDE);
    for (let c = 0; c < count; c++) {
      const po = base + c * chunkStride + fo;
      for (let j = 0; j < HIST_STRIDE; j++) out[fo + j] = out[fo + j]! + partials[po + j]!;
    }
  }
  return out;
}

/** The subtraction trick: parent := parent − child (the sibling's histogram), listed features. */
export function subtractHistogram(parent: Float64Array, child: Float64Array, features: Int32Array): Float64Array {
  for (let k = 0; k < features.length; k++) {
    const o = features[k]! * HIST_STRIDE;
    for (let j = o; j < o + HIST_STRIDE; j++) parent[j] = parent[j]! - child[j]!;
  }
  return parent;
}

/** (Σg, Σh) over all bins of one feature: the node totals. */
export function histogramTotals(hist: Float64Array, feature: number): [number, number] {
  let g = 0;
  let h = 0;
  const o = feature * HIST_STRIDE;
  for (let j = 0; j < HIST_BINS; j++) {
    g += hist[o + 2 * j]!;
    h += hist[o + 2 * j + 1]!;
  }
  return [g, h];
}
