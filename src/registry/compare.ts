/** @module registry/compare
 * Which metric value is better, whether two test slices (or two backtests) are the same, and metric differences.
 * Pure: the store (store.ts) reads the models and applies the decision. */
import { StockpipeError } from '../core/errors.js';
import type { MetricDifference, MetricSet, SelectionSlice, TestSlice } from './types.js';

const LOWER = new Set(['mae', 'rmse', 'mse', 'mape']);
const HIGHER = new Set(['r2', 'skill']);
const ORDER = ['mae', 'rmse', 'r2', 'mae_log', 'rmse_log', 'r2_log'];
/** A day-ahead model's backtest metrics (its validation window's), the ones promotion can compare. */
const FORECAST_ORDER = ['mae_volume', 'mae_volume_log', 'rmse_volume', 'skill_volume', 'mae_adj_close', 'rmse_adj_close', 'skill_adj_close'];

/** 'lower' for error metrics (mae, rmse…, also their _log forms and named targets such as
 * mae_adj_close), 'higher' for r2/skill (skill_volume, …), null otherwise. */
export function metricDirection(metric: string): 'lower' | 'higher' | null {
  const base = metric.split('_')[0]!;
  if (LOWER.has(base)) return 'lower';
  if (HIGHER.has(base)) return 'higher';
  return null;
}

/** The direction of a metric used to promote, or SP_ERR_USAGE naming the valid ones. */
export function promotionDirection(metric: string): 'lower' | 'higher' {
  const d = metricDirection(metric);
  if (d === null) {
    throw new StockpipeError('SP_ERR_USAGE', `cannot promote on metric '${metric}': its direction is unknown`, {
      hint: `Use one of: ${ORDER.join(', ')} for volume models; ${FORECAST_ORDER.join(', ')} for day-ahead (forecast) models (lower is better for mae/rmse, higher for r2/skill).`,
    });
  }
  return d;
}

/** Whether `metric` is a day-ahead (forecast) model's: it names its target (volume, adj_close, return); a volume model's do not. */
export const isForecastMetric = (metric: string): boolean => /(volume|adj_close|return)/.test(metric);

/** SP_ERR_USAGE when `metric` is not one of `kind`'s (a day-ahead metric for a volume model, or the other way round). */
export function checkMetricForKind(metric: string, kind: string): void {
  const forecast = kind === 'forecast';
  const ofForecast = isForecastMetric(metric);
  if (forecast === ofForecast) return;
  throw new StockpipeError('SP_ERR_USAGE', `cannot promote a ${forecast ? 'day-ahead (forecast)' : `${kind} volume`} model on '${metric}': it is a ${ofForecast ? 'day-ahead' : 'volume'} model's metric`, {
    hint: `Use one of: ${(forecast ? FORECAST_ORDER : ORDER).join(', ')} (or leave --metric out: ${forecast ? 'mae_volume' : 'rmse_log'}).`,
  });
}

/** True when `x` strictly beats `y` in `direction`. */
export function isBetter(direction: 'lower' | 'higher', x: number, y: number): boolean {
  return direction === 'lower' ? x < y : x > y;
}

/** Same data (hash) and same date range: the only case where two models' metrics compare. */
export function sameTestSlice(a: TestSlice | null, b: TestSlice | null): boolean {
  if (a === null || b === null) return false;
  return a.data_hash === b.data_hash && a.date_min === b.date_min && a.date_max === b.date_max;
}

/** Same kind, data and windows: two selection scores compare directly. */
export function sameSelection(a: SelectionSlice | null | undefined, b: SelectionSlice | null | undefined): boolean {
  if (!a || !b || a.kind !== b.kind || a.data_hash !== b.data_hash || a.windows.length !== b.windows.length) return false;
  return a.windows.every((w, k) => w.from === b.windows[k]!.from && w.to === b.windows[k]!.to);
}

/**
 * The candidate was trained by the holder's own procedure (the same recorded fingerprint) on newer
 * data: its data reaches a later day and its test cut is no earlier. The holder's procedure run on
 * the candidate's backtest rows is then the candidate itself (the same settings, data and seed give
 * the same model), so the backtest cannot tell them apart, and re-scoring the holder's fitted model
 * there would read rows its refit was fitted on. Newer data settles it (a scheduled retrain).
 */
export function sameProcedureOnNewerData(cand: TestSlice | null, holder: TestSlice | null): boolean {
  const a = cand?.selection?.procedure;
  const b = holder?.selection?.procedure;
  if (a === undefined || b === undefined || a !== b || cand === null || holder === null) return false;
  return cand.date_max > holder.date_max && cand.date_min >= holder.date_min;
}

/** Describes a selection slice in one phrase: "cv over 3 pre-test folds 2020-01-02..2020-03-31". */
export function describeSelection(s: SelectionSlice | null | undefined): string {
  if (!s) return 'no backtest score';
  const w = s.windows;
  const span = w.length === 0 ? '' : ` ${w[0]!.from}..${w[w.length - 1]!.to}`;
  return s.kind === 'cv' ? `cv over ${w.length} pre-test fold${w.length === 1 ? '' : 's'}${span}` : `the validation window${span}`;
}

/** Describes a slice in one phrase, for messages. */
export function describeSlice(s: TestSlice | null): string {
  return s === null ? 'no recorded test slice' : `${s.date_min}..${s.date_max}, ${s.rows} rows, data ${s.data_hash.slice(0, 12)}`;
}

const num = (v: number | undefined): number | null => (typeof v === 'number' && !Number.isNaN(v) ? v : null);

/** The metrics of `a` and `b` side by side (known metrics first), with b − a and which is better. */
export function metricDifferences(a: MetricSet, b: MetricSet): MetricDifference[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const rank = (k: string): number => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  keys.sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
  return keys.map((metric) => {
    const va = num(a[metric]);
    const vb = num(b[metric]);
    const d = metricDirection(metric);
    const both = va !== null && vb !== null;
    let better: MetricDifference['better'] = null;
    if (both && d !== null) better = va === vb ? 'tie' : isBetter(d, va, vb) ? 'a' : 'b';
    return { metric, a: va, b: vb, diff: both ? vb - va : null, better };
  });
}
