/** @module ml/metrics/regression
 * Regression metrics on raw Volume and on log1p(Volume): MAE, RMSE, R². Predictions are clipped
 * at 0 first (a volume is never negative), as the reference protocol does. Pure. */

import { scaledRms } from './scaled-rms.js';

export interface RegressionMetrics {
  mae: number;
  rmse: number;
  r2: number;
  mae_log: number;
  rmse_log: number;
  r2_log: number;
  rows: number;
}

/** Metrics over the rows `idx` (all rows when omitted). */
export function regressionMetrics(y: Float64Array, pred: Float64Array, idx?: Int32Array | Uint32Array): RegressionMetrics {
  const n = idx ? idx.length : y.length;
  if (n === 0) return { mae: NaN, rmse: NaN, r2: NaN, mae_log: NaN, rmse_log: NaN, r2_log: NaN, rows: 0 };
  let sumY = 0;
  let sumLy = 0;
  const first = y[idx ? idx[0]! : 0]!;
  let constant = true;
  for (let k = 0; k < n; k++) {
    const i = idx ? idx[k]! : k;
    sumY += y[i]!;
    sumLy += Math.log1p(y[i]!);
    if (y[i] !== first) constant = false;
  }
  // One volume throughout: the means are that volume exactly (a rounded sum / n would leave a variance of
  // rounding noise, and R² a huge finite number), so R² is undefined (NaN, or −Infinity), as documented.
  const meanY = constant ? first : sumY / n;
  const meanLy = constant ? Math.log1p(first) : sumLy / n;
  let ae = 0;
  let se = 0;
  let ss = 0;
  let aeL = 0;
  let seL = 0;
  let ssL = 0;
  for (let k = 0; k < n; k++) {
    const i = idx ? idx[k]! : k;
    const t = y[i]!;
    const p = Math.max(0, pred[i]!);
    const d = t - p;
    ae += Math.abs(d);
    se += d * d;
    ss += (t - meanY) ** 2;
    const lt = Math.log1p(t);
    const dl = lt - Math.log1p(p);
    aeL += Math.abs(dl);
    seL += dl * dl;
    ssL += (lt - meanLy) ** 2;
  }
  // Squares that overflow (a baseline extrapolated far, predicting 1e200): the RMSE is still a number, the
  // errors scaled by the largest first (ml/metrics/forecast does the same); R² is then below −1e300, no number.
  const rmse = Number.isFinite(se) ? Math.sqrt(se / n) : scaledRmse(y, pred, idx);
  return { mae: ae / n, rmse, r2: 1 - se / ss, mae_log: aeL / n, rmse_log: Math.sqrt(seL / n), r2_log: 1 - seL / ssL, rows: n };
}

/** The RMSE of the raw errors (predictions clipped at 0) over rows `idx` (all when omitted), scaled so that no square overflows. */
function scaledRmse(y: Float64Array, pred: Float64Array, idx: Int32Array | Uint32Array | undefined): number {
  return scaledRms(idx ? idx.length : y.length, (k) => {
    const i = idx ? idx[k]! : k;
    return y[i]! - Math.max(0, pred[i]!);
  });
}
