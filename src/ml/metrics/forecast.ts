/** @module ml/metrics/forecast
 * Day-ahead forecast metrics (docs/models.md): MAE/RMSE of the next Adj Close (price level) and of its
 * log return (the log scale of the price), MAE/RMSE of the next Volume raw and on log1p, and skill
 * against the persistence baseline, skill = 1 − MAE/MAE_persistence (and the same with RMSE).
 * Reported as they come out — a skill near zero or below is a result, never hidden. Pure. */

import { scaledRms } from './scaled-rms.js';

/** Predictions for the same rows as the actuals; a part left out is not scored. */
export interface ForecastPredictions {
  adjClose?: Float64Array;
  ret?: Float64Array;
  volume?: Float64Array;
}

export interface ForecastActuals {
  adjClose: Float64Array;
  ret: Float64Array;
  volume: Float64Array;
}

function errors(y: Float64Array, p: Float64Array, transform: ((x: number) => number) | null): { mae: number; rmse: number } {
  let ae = 0;
  let se = 0;
  const n = y.length;
  for (let i = 0; i < n; i++) {
    const d = transform ? transform(y[i]!) - transform(p[i]!) : y[i]! - p[i]!;
    ae += Math.abs(d);
    se += d * d;
  }
  if (n === 0) return { mae: NaN, rmse: NaN };
  // Squares that overflow (prices near 1e300) or underflow (near 1e-300): the errors scaled by the largest first.
  if (!Number.isFinite(se) || (se === 0 && ae > 0)) return { mae: ae / n, rmse: scaledRmse(y, p, transform) };
  return { mae: ae / n, rmse: Math.sqrt(se / n) };
}

function scaledRmse(y: Float64Array, p: Float64Array, transform: ((x: number) => number) | null): number {
  return scaledRms(y.length, (i) => (transform ? transform(y[i]!) - transform(p[i]!) : y[i]! - p[i]!));
}

const log1pClipped = (x: number): number => Math.log1p(x > 0 ? x : 0);

/** mae/rmse_adj_close, mae/rmse_return, mae/rmse_volume, mae/rmse_volume_log (only the parts predicted), rows. */
export function forecastMetrics(y: ForecastActuals, p: ForecastPredictions): Record<string, number> {
  const m: Record<string, number> = {};
  const put = (name: string, e: { mae: number; rmse: number }): void => {
    m[`mae_${name}`] = e.mae;
    m[`rmse_${name}`] = e.rmse;
  };
  if (p.adjClose) put('adj_close', errors(y.adjClose, p.adjClose, null));
  if (p.ret) put('return', errors(y.ret, p.ret, null));
  if (p.volume) {
    put('volume', errors(y.volume, p.volume, null));
    put('volume_log', errors(y.volume, p.volume, log1pClipped));
  }
  m.rows = y.adjClose.length;
  return m;
}

const TARGETS = ['adj_close', 'return', 'volume', 'volume_log'] as const;

/** Adds skill_<target> = 1 − mae/mae_persistence and skill_rmse_<target> for every target both have. */
export function withSkill(m: Record<string, number>, persistence: Record<string, number>): Record<string, number> {
  const out = { ...m };
  for (const t of TARGETS) {
    for (const [err, key] of [['mae', `skill_${t}`], ['rmse', `skill_rmse_${t}`]] as const) {
      const a = m[`${err}_${t}`];
      const b = persistence[`${err}_${t}`];
      if (a !== undefined && b !== undefined) out[key] = b > 0 ? 1 - a / b : NaN;
    }
  }
  return out;
}
