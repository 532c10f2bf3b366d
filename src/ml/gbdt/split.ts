/** @module ml/gbdt/split
 * Best split for one feature from a gradient histogram, with L2 regularisation and minimum leaf
 * sizes. Pure: no I/O, no allocation but the result. */

export interface SplitParams {
  /** L2 penalty λ on leaf values. */
  lambda_l2: number;
  /** Least rows per child, counted as Σ hessian (exact for L2 with h = 1 and for bootstrap counts). */
  min_data_in_leaf: number;
  /** Least Σ hessian per child. */
  min_sum_hessian_in_leaf: number;
  /** Least gain for a split to be taken. */
  min_gain_to_split: number;
}

export interface SplitInfo {
  feature: number;
  /** Threshold bin: rows with bin <= bin go left (NaN bin 255 always right). */
  bin: number;
  gain: number;
  gl: number;
  hl: number;
  gr: number;
  hr: number;
}

/** G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ). */
export function splitGain(gl: number, hl: number, gr: number, hr: number, lambda: number): number {
  const g = gl + gr;
  const h = hl + hr;
  return (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - (g * g) / (h + lambda);
}

/** The optimal leaf value −G/(H+λ) (before shrinkage), bounded to ±maxDeltaStep when that is > 0. */
export function leafOutput(g: number, h: number, lambda: number, maxDeltaStep = 0): number {
  const v = -g / (h + lambda);
  if (!Number.isFinite(v)) return 0;
  return maxDeltaStep > 0 && Math.abs(v) > maxDeltaStep ? Math.sign(v) * maxDeltaStep : v;
}

/**
 * Best threshold bin of `feature` whose histogram starts at hist[offset] (pairs Σg, Σh per bin),
 * given the node totals (G, H) and `valueBins` value bins. Candidates are bins 0..valueBins-2;
 * ties keep the lowest bin. Returns null when no candidate passes the limits with gain > 0.
 */
export function bestSplitForFeature(hist: Float64Array, offset: number, valueBins: number, G: number, H: number, feature: number, p: SplitParams): SplitInfo | null {
  const lambda = p.lambda_l2;
  const minH = Math.max(p.min_data_in_leaf, p.min_sum_hessian_in_leaf);
  const parent = (G * G) / (H + lambda);
  let best: SplitInfo | null = null;
  let bestGain = Math.max(0, p.min_gain_to_split);
  let gl = 0;
  let hl = 0;
  for (let t = 0; t < valueBins - 1; t++) {
    gl += hist[offset + 2 * t]!;
    hl += hist[offset + 2 * t + 1]!;
    if (hl < minH) continue;
    const hr = H - hl;
    if (hr < minH) break; // hr only shrinks as t grows
    const gr = G - gl;
    const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
    if (gain > bestGain) {
      bestGain = gain;
      best = { feature, bin: t, gain, gl, hl, gr, hr };
    }
  }
  return best;
}
