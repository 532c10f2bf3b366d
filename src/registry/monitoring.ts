/** @module registry/monitoring
 * Monitoring in the store (docs/data.md): reads the day-ahead `forecasts` (written by `forecast`) and
 * reads and upserts `monitor_points` (one value per model, day, symbol ('' = all) and metric; drift
 * points use model_id '' = the inputs, not a model). monitor/ decides what to compute. */
import { previousTradingDay } from '../core/calendar.js';
import type { Registry } from './store.js';

/** model_id of drift points: they describe the inputs, not one model. */
export const INPUTS_MODEL_ID = '';
/** A per-symbol point with this metric marks a forecast as scored. */
export const SCORED_MARKER = 'mae_adj_close';
export const SERIES_METRICS = ['mae_adj_close', 'mape_adj_close', 'mae_volume', 'mape_volume', 'mae_adj_close_persistence', 'mae_volume_persistence'] as const;
export type SeriesMetric = (typeof SERIES_METRICS)[number];

export interface ForecastRow {
  model_id: string;
  symbol: string;
  target_date: string;
  adj_close: number | null;
  volume: number | null;
  last_adj_close: number | null;
  last_volume: number | null;
}

export interface MonitorPoint {
  model_id: string;
  date: string;
  symbol: string;
  metric: string;
  /** null when undefined (no rows, or a zero actual for a relative error). */
  value: number | null;
  n: number;
}

/** Forecasts without a per-symbol score yet (optionally of one model). */
export function unscoredForecasts(reg: Registry, modelId?: string, until?: string): ForecastRow[] {
  return reg.all<ForecastRow>('read unscored forecasts', `SELECT f.model_id, f.symbol, f.target_date, f.adj_close, f.volume, f.last_adj_close, f.last_volume FROM forecasts f
    WHERE (@model IS NULL OR f.model_id = @model) AND (@until IS NULL OR f.target_date <= @until) AND NOT EXISTS (SELECT 1 FROM monitor_points p
      WHERE p.model_id = f.model_id AND p.date = f.target_date AND p.symbol = f.symbol AND p.metric = '${SCORED_MARKER}')`, { model: modelId ?? null, until: until ?? null });
}

/** All forecasts of the given models with target dates in from..to. */
export function forecastsBetween(reg: Registry, modelIds: readonly string[], from: string, to: string): ForecastRow[] {
  if (modelIds.length === 0) return [];
  return reg.all<ForecastRow>('read forecasts', `SELECT model_id, symbol, target_date, adj_close, volume, last_adj_close, last_volume FROM forecasts
    WHERE model_id IN (${modelIds.map(() => '?').join(',')}) AND target_date >= ? AND target_date <= ? ORDER BY model_id, target_date, symbol`, [...modelIds, from, to]);
}

/** Forecasts in total and already scored, per model; with `until` (a logical date), those made by then and scored for days up to it. */
export function forecastCounts(reg: Registry, modelId?: string, until?: string): { model_id: string; total: number; scored: number }[] {
  return reg.all('count forecasts', `SELECT f.model_id, COUNT(*) AS total, SUM(f.target_date <= coalesce(@until, f.target_date) AND EXISTS (SELECT 1 FROM monitor_points p
      WHERE p.model_id = f.model_id AND p.date = f.target_date AND p.symbol = f.symbol AND p.metric = '${SCORED_MARKER}')) AS scored
    FROM forecasts f WHERE (@model IS NULL OR f.model_id = @model) AND (@until IS NULL OR f.asof_date <= @until) GROUP BY f.model_id ORDER BY f.model_id`, { model: modelId ?? null, until: until ?? null });
}

const UPSERT_BATCH = 100;
const upsertSql = (rows: number): string => `INSERT INTO monitor_points (model_id, date, symbol, metric, value, n, at) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
  ON CONFLICT (model_id, date, symbol, metric) DO UPDATE SET value = excluded.value, n = excluded.n, at = excluded.at`;

/** Inserts or replaces points (one transaction, 100 rows a statement); returns how many were written. */
export function upsertMonitorPoints(reg: Registry, points: readonly MonitorPoint[]): number {
  if (points.length === 0) return 0;
  const at = reg.timestamp();
  const full = upsertSql(UPSERT_BATCH);
  return reg.transaction(() => {
    for (let i = 0; i < points.length; i += UPSERT_BATCH) {
      const batch = points.slice(i, i + UPSERT_BATCH);
      const params: unknown[] = [];
      for (const p of batch) params.push(p.model_id, p.date, p.symbol, p.metric, p.value !== null && Number.isFinite(p.value) ? p.value : null, p.n, at);
      reg.run('write monitor points', batch.length === UPSERT_BATCH ? full : upsertSql(batch.length), params);
    }
    return points.length;
  });
}

export interface SeriesRow extends Record<SeriesMetric, number | null> {
  date: string;
  n: number;
}

export interface ModelSeries {
  model_id: string;
  series: SeriesRow[];
}

/** Error series per model, oldest day first: symbol '' (all symbols) unless one is named. */
export function monitorSeries(reg: Registry, q: { model?: string; symbol?: string; from?: string; to?: string } = {}): ModelSeries[] {
  const rows = reg.all<{ model_id: string; date: string; metric: SeriesMetric; value: number | null; n: number | null }>('read monitor series',
    `SELECT model_id, date, metric, value, n FROM monitor_points WHERE model_id <> '' AND symbol = @symbol AND metric IN (${SERIES_METRICS.map((m) => `'${m}'`).join(',')})
      AND (@model IS NULL OR model_id = @model) AND (@from IS NULL OR date >= @from) AND (@to IS NULL OR date <= @to) ORDER BY model_id, date`,
    { symbol: q.symbol ?? '', model: q.model ?? null, from: q.from ?? null, to: q.to ?? null });
  const out: ModelSeries[] = [];
  const blank = (): Record<SeriesMetric, null> => Object.fromEntries(SERIES_METRICS.map((m) => [m, null])) as Record<SeriesMetric, null>;
  for (const r of rows) {
    let cur = out[out.length - 1];
    if (cur === undefined || cur.model_id !== r.model_id) out.push((cur = { model_id: r.model_id, series: [] }));
    let row = cur.series[cur.series.length - 1];
    if (row === undefined || row.date !== r.date) cur.series.push((row = { date: r.date, n: 0, ...blank() }));
    row[r.metric] = r.value;
    if (r.metric === SCORED_MARKER) row.n = r.n ?? 0;
  }
  return out;
}

export interface DriftPoint {
  date: string;
  column: string;
  psi: number | null;
  n: number;
}

/** PSI points of the inputs, oldest first. */
export function driftSeries(reg: Registry, q: { from?: string; to?: string; date?: string } = {}): DriftPoint[] {
  return reg.all<{ date: string; metric: string; value: number | null; n: number | null }>('read drift series',
    `SELECT date, metric, value, n FROM monitor_points WHERE model_id = '' AND symbol = '' AND metric LIKE 'psi:%'
      AND (@from IS NULL OR date >= @from) AND (@to IS NULL OR date <= @to) AND (@date IS NULL OR date = @date) ORDER BY date, metric`,
    { from: q.from ?? null, to: q.to ?? null, date: q.date ?? null }).map((r) => ({ date: r.date, column: r.metric.slice(4), psi: r.value, n: r.n ?? 0 }));
}

export interface WindowStats {
  from: string | null;
  to: string | null;
  days: number;
  /** Each metric's mean over the window's days, weighted by each day's n. */
  metrics: Partial<Record<SeriesMetric, { value: number; n: number }>>;
}

/** One model's all-symbol errors over its last `days` scored days. */
export function modelWindow(reg: Registry, modelId: string, days: number, until?: string): WindowStats {
  const scored = reg.all<{ date: string }>('read monitor window', `SELECT DISTINCT date FROM monitor_points WHERE model_id = ? AND symbol = '' AND metric = '${SCORED_MARKER}'
    AND (? IS NULL OR date <= ?) ORDER BY date DESC LIMIT ?`, [modelId, until ?? null, until ?? null, days]).map((r) => r.date);
  // The last `days` trading days up to the newest scored day, not the last `days` scored days: an old
  // day scored once (a backfill of 2010) must not stay in the "recent" window for years.
  let first = scored[0];
  for (let k = 1; k < days && first !== undefined; k++) first = previousTradingDay(first);
  const dates = first === undefined ? [] : scored.filter((d) => d >= first!);
  const out: WindowStats = { from: dates[dates.length - 1] ?? null, to: dates[0] ?? null, days: dates.length, metrics: {} };
  if (dates.length === 0) return out;
  const rows = reg.all<{ metric: SeriesMetric; value: number; n: number }>('read monitor window', `SELECT metric, SUM(value * n) / SUM(n) AS value, SUM(n) AS n FROM monitor_points
    WHERE model_id = ? AND symbol = '' AND date >= ? AND date <= ? AND value IS NOT NULL AND n > 0 GROUP BY metric`, [modelId, out.from, out.to]);
  for (const r of rows) if ((SERIES_METRICS as readonly string[]).includes(r.metric)) out.metrics[r.metric] = { value: r.value, n: r.n };
  return out;
}
