/** @module ml/baselines
 * The baselines every model is reported next to (docs/models.md): `naive` (tomorrow's volume is the
 * 30-day mean: predict vol_moving_avg) and `polyreg` (degree-2 polynomial least squares on
 * log1p(Volume), over standardized [log1p(vol_moving_avg), adj_close_rolling_med]). Pure. */
import { StockpipeError } from '../core/errors.js';

export interface NaiveModel {
  format: 'stockpipe-naive';
  format_version: 1;
  kind: 'naive';
  feature_names: string[];
}

export interface PolyModel {
  format: 'stockpipe-poly2';
  format_version: 1;
  kind: 'polyreg';
  feature_names: string[];
  /** Input transforms applied before standardizing: 'log1p' (of max(x, 0)) or 'identity'. */
  transforms: ('log1p' | 'identity')[];
  mean: number[];
  std: number[];
  /** Coefficients of [1, a, b, a², a·b, b²] on the standardized inputs a, b. */
  coef: number[];
  target_transform: 'log1p';
}

export const FEATURE_NAMES = ['vol_moving_avg', 'adj_close_rolling_med'];

export function naiveModel(): NaiveModel {
  return { format: 'stockpipe-naive', format_version: 1, kind: 'naive', feature_names: [...FEATURE_NAMES] };
}

const TRANSFORMS: ('log1p' | 'identity')[] = ['log1p', 'identity'];

function transformed(t: 'log1p' | 'identity', x: number): number {
  return t === 'log1p' ? Math.log1p(Math.max(0, x)) : x;
}

/** The 6 terms of the degree-2 polynomial of (a, b). */
function terms(a: number, b: number, out: Float64Array): void {
  out[0] = 1;
  out[1] = a;
  out[2] = b;
  out[3] = a * a;
  out[4] = a * b;
  out[5] = b * b;
}

/** Solves A x = b (n×n, row-major) by Gaussian elimination with partial pivoting. */
export function solveLinear(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const M = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]!) > Math.abs(M[p * n + c]!)) p = r;
    if (Math.abs(M[p * n + c]!) < 1e-300) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'polyreg: the design matrix is singular (a feature is constant)');
    if (p !== c) {
      for (let k = 0; k < n; k++) [M[c * n + k], M[p * n + k]] = [M[p * n + k]!, M[c * n + k]!];
      [x[c], x[p]] = [x[p]!, x[c]!];
    }
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c]! / M[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) M[r * n + k]! -= f * M[c * n + k]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r]!;
    for (let k = r + 1; k < n; k++) s -= M[r * n + k]! * x[k]!;
    x[r] = s / M[r * n + r]!;
  }
  return x;
}

/** Relative spread at or below which an input counts as constant: its spread is then rounding
 * (a rolling mean of one repeated volume), and standardizing it would blow that noise up to ±1. */
const CONSTANT_SPREAD = 1e-9;

/** Mean and standard deviation of the transformed input over rows `idx`, without overflow or
 * underflow at any scale (prices of 1e300 or 1e-300): the mean as a running mean when the plain sum
 * overflows, the deviations scaled by the largest before squaring. `constant` when they all lie
 * within rounding of the mean (std is then 1). */
function inputStats(t: 'log1p' | 'identity', x: Float64Array, idx: Int32Array): { mean: number; std: number; constant: boolean } {
  const n = idx.length;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += transformed(t, x[idx[k]!]!);
  let mean = sum / n;
  if (!Number.isFinite(mean)) {
    mean = 0;
    for (let k = 0; k < n; k++) mean += (transformed(t, x[idx[k]!]!) - mean) / (k + 1);
  }
  let s = 0;
  for (let k = 0; k < n; k++) s = Math.max(s, Math.abs(transformed(t, x[idx[k]!]!) - mean));
  if (!(s > CONSTANT_SPREAD * Math.abs(mean))) return { mean, std: 1, constant: true };
  let ss = 0;
  for (let k = 0; k < n; k++) ss += ((transformed(t, x[idx[k]!]!) - mean) / s) ** 2;
  return { mean, std: s * Math.sqrt(ss / n), constant: false };
}

/** The fewest rows polyreg is fitted on: its six terms. */
export const POLYREG_MIN_ROWS = 6;

/** Least-squares fit of log1p(y) on the degree-2 polynomial, over rows `idx`. The terms of a
 * constant input (every volume 0, one price throughout) get coefficient 0: the polynomial of the
 * other input (or the mean, when both are constant), as least squares with that input dropped. */
export function fitPolyreg(x0: Float64Array, x1: Float64Array, y: Float64Array, idx: Int32Array): PolyModel {
  const n = idx.length;
  if (n < POLYREG_MIN_ROWS) {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `polyreg needs at least ${POLYREG_MIN_ROWS} training rows (got ${n}): every training fits it, as a model or as the baseline beside one`, {
      hint: 'Leave it more rows with both features before the test slice: a later --test-from, fewer --test-days, more history, or features with a shorter --window.',
    });
  }
  const sa = inputStats(TRANSFORMS[0]!, x0, idx);
  const sb = inputStats(TRANSFORMS[1]!, x1, idx);
  const mean = [sa.mean, sb.mean];
  const std = [sa.std, sb.std];
  // The terms [1, a, b, a², a·b, b²] fitted: those of a constant input are left at 0.
  const kept = [0, 1, 2, 3, 4, 5].filter((r) => !(sa.constant && (r === 1 || r === 3 || r === 4)) && !(sb.constant && (r === 2 || r === 4 || r === 5)));
  const m = kept.length;
  const XtX = new Float64Array(m * m);
  const Xty = new Float64Array(m);
  const t = new Float64Array(6);
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    terms((transformed('log1p', x0[i]!) - mean[0]!) / std[0]!, (transformed('identity', x1[i]!) - mean[1]!) / std[1]!, t);
    const target = Math.log1p(y[i]!);
    for (let r = 0; r < m; r++) {
      Xty[r]! += t[kept[r]!]! * target;
      for (let c = r; c < m; c++) XtX[r * m + c]! += t[kept[r]!]! * t[kept[c]!]!;
    }
  }
  for (let r = 0; r < m; r++) for (let c = 0; c < r; c++) XtX[r * m + c] = XtX[c * m + r]!;
  const solved = solveLinear(XtX, Xty, m);
  const coef = [0, 0, 0, 0, 0, 0];
  for (let r = 0; r < m; r++) coef[kept[r]!] = solved[r]!;
  return { format: 'stockpipe-poly2', format_version: 1, kind: 'polyreg', feature_names: [...FEATURE_NAMES], transforms: [...TRANSFORMS], mean, std, coef, target_transform: 'log1p' };
}

/** Predicted Volume (≥ 0) for one row. */
export function predictPoly(m: PolyModel, vma: number, acm: number): number {
  const a = (transformed(m.transforms[0]!, vma) - m.mean[0]!) / m.std[0]!;
  const b = (transformed(m.transforms[1]!, acm) - m.mean[1]!) / m.std[1]!;
  const c = m.coef;
  const z = c[0]! + c[1]! * a + c[2]! * b + c[3]! * a * a + c[4]! * a * b + c[5]! * b * b;
  return Math.max(0, Math.expm1(z));
}

export function predictNaive(_m: NaiveModel, vma: number): number {
  return Math.max(0, vma);
}
