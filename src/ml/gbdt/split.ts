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
  /** Under monotone constraints (a leaf with bounds, or a constrained feature): the children's
   * values before shrinkage, within the leaf's bounds (else each is leafOutput of its sums). */
  outL?: number;
  outR?: number;
}

/** A leaf's allowed values (before shrinkage) under monotone constraints: [lo, hi]; ±Infinity when free. */
export interface LeafBounds {
  lo: number;
  hi: number;
}

export const FREE: LeafBounds = Object.freeze({ lo: -Infinity, hi: Infinity });

/** G·v + ½(H+λ)·v² at the leaf value v, negated and doubled: the gain terms' G²/(H+λ) when v is −G/(H+λ). */
function gainAt(g: number, h: number, lambda: number, v: number): number {
  return -(2 * g * v + (h + lambda) * v * v);
}

const clamp = (v: number, b: LeafBounds): number => (v < b.lo ? b.lo : v > b.hi ? b.hi : v);

/**
 * bestSplitForFeature under monotone constraints (LightGBM's basic method): each child's value is
 * its leafOutput held within the leaf's `bounds`; `direction` +1 (−1) refuses a split whose left
 * value is above (below) its right one; the gain is that of the held values. The children then get
 * bounds of their own (childBounds), so that every leaf left of a constrained split stays on its side
 * of the split's midpoint: the tree's value never falls (rises) as the feature rises.
 */
export function bestConstrainedSplit(hist: Float64Array, offset: number, valueBins: number, G: number, H: number, feature: number, p: SplitParams & { max_delta_step?: number }, direction: number, bounds: LeafBounds): SplitInfo | null {
  const lambda = p.lambda_l2;
  const mds = p.max_delta_step ?? 0;
  const minH = Math.max(p.min_data_in_leaf, p.min_sum_hessian_in_leaf);
  const parent = gainAt(G, H, lambda, clamp(leafOutput(G, H, lambda, mds), bounds));
  let best: SplitInfo | null = null;
  let bestGain = Math.max(0, p.min_gain_to_split);
  let gl = 0;
  let hl = 0;
  for (let t = 0; t < valueBins - 1; t++) {
    gl += hist[offset + 2 * t]!;
    hl += hist[offset + 2 * t + 1]!;
    if (hl < minH) continue;
    const hr = H - hl;
    if (hr < minH) break;
    const gr = G - gl;
    const outL = clamp(leafOutput(gl, hl, lambda, mds), bounds);
    const outR = clamp(leafOutput(gr, hr, lambda, mds), bounds);
    if ((direction > 0 && outL > outR) || (direction < 0 && outL < outR)) continue;
    const gain = gainAt(gl, hl, lambda, outL) + gainAt(gr, hr, lambda, outR) - parent;
    if (gain > bestGain) {
      bestGain = gain;
      best = { feature, bin: t, gain, gl, hl, gr, hr, outL, outR };
    }
  }
  return best;
}

/** The children's bounds after split `s` of a leaf bounded by `b`: split at the midpoint of their values on a constrained feature, the leaf's own otherwise. */
export function childBounds(s: SplitInfo, b: LeafBounds, direction: number): [LeafBounds, LeafBounds] {
  if (direction === 0 || s.outL === undefined || s.outR === undefined) return [b, b];
  const mid = (s.outL + s.outR) / 2;
  return direction > 0 ? [{ lo: b.lo, hi: mid }, { lo: mid, hi: b.hi }] : [{ lo: mid, hi: b.hi }, { lo: b.lo, hi: mid }];
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
