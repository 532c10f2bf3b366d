/** @module monitor/score
 * Errors of matured day-ahead forecasts (docs/data.md): per model and day over all symbols (symbol '')
 * and per model, symbol and day — MAE and MAPE of Adj Close and Volume, and the persistence
 * baseline's MAE on the same rows. Pure: rows and their actuals in, points out. */
import type { MonitorPoint, SeriesMetric } from '../registry/monitoring.js';

/** Forecast columns as typed arrays (NaN = null), rows grouped by (model, day) in order. */
export interface ScoredRows {
  model: readonly string[];
  date: readonly string[];
  symbol: readonly string[];
  predAdj: Float64Array;
  predVol: Float64Array;
  lastAdj: Float64Array;
  lastVol: Float64Array;
  /** Actuals; NaN = not matured (left out). */
  actAdj: Float64Array;
  actVol: Float64Array;
  /** 1 = not scored before: gets its per-symbol points, and its (model, day) group is rewritten. */
  fresh: Uint8Array;
}

/** Σ and count per metric for one group. */
class Acc {
  readonly sum = new Float64Array(6);
  readonly n = new Int32Array(6);
  add(k: number, v: number): void {
    if (Number.isFinite(v)) {
      this.sum[k]! += v;
      this.n[k]! += 1;
    }
  }
  reset(): void {
    this.sum.fill(0);
    this.n.fill(0);
  }
}

const ORDER: readonly SeriesMetric[] = ['mae_adj_close', 'mape_adj_close', 'mae_volume', 'mape_volume', 'mae_adj_close_persistence', 'mae_volume_persistence'];

function accumulate(acc: Acc, r: ScoredRows, i: number): void {
  const a = r.actAdj[i]!;
  const v = r.actVol[i]!;
  const ea = Math.abs(r.predAdj[i]! - a);
  const ev = Math.abs(r.predVol[i]! - v);
  acc.add(0, ea);
  acc.add(1, a !== 0 ? ea / Math.abs(a) : Number.NaN);
  acc.add(2, ev);
  acc.add(3, v !== 0 ? ev / Math.abs(v) : Number.NaN);
  acc.add(4, Math.abs(r.lastAdj[i]! - a));
  acc.add(5, Math.abs(r.lastVol[i]! - v));
}

function emit(out: MonitorPoint[], acc: Acc, model: string, date: string, symbol: string): void {
  for (let k = 0; k < ORDER.length; k++) {
    const n = acc.n[k]!;
    out.push({ model_id: model, date, symbol, metric: ORDER[k]!, value: n > 0 ? acc.sum[k]! / n : null, n });
  }
}

/**
 * Points for every fresh matured row (per symbol) and, for each (model, day) group with at least
 * one, over all its matured rows (symbol ''). A per-symbol point set is written even when the
 * prediction is null (values null, n 0): its mae_adj_close row marks the forecast as scored.
 * Each point's n counts the rows its value averages.
 */
export function scorePoints(r: ScoredRows): { points: MonitorPoint[]; matured: number; fresh: number } {
  const out: MonitorPoint[] = [];
  const group = new Acc();
  const one = new Acc();
  let matured = 0;
  let fresh = 0;
  let groupFresh = 0;
  const n = r.model.length;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(r.actAdj[i]!) && !Number.isNaN(r.actVol[i]!)) {
      matured++;
      accumulate(group, r, i);
      if (r.fresh[i] === 1) {
        fresh++;
        groupFresh++;
        one.reset();
        accumulate(one, r, i);
        emit(out, one, r.model[i]!, r.date[i]!, r.symbol[i]!);
      }
    }
    if (i + 1 === n || r.model[i + 1] !== r.model[i] || r.date[i + 1] !== r.date[i]) {
      if (groupFresh > 0) emit(out, group, r.model[i]!, r.date[i]!, '');
      group.reset();
      groupFresh = 0;
    }
  }
  return { points: out, matured, fresh };
}
