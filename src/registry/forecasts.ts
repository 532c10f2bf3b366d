/** @module registry/forecasts
 * Day-ahead forecasts in the store (table `forecasts`, migration 2): written by `stockpipe
 * forecast` (one row per model, symbol and target day; writing the same key again replaces it),
 * read by `GET /forecast/:symbol` and, once the actuals arrived, by monitoring (forecastsDue).
 * Plain functions over a Registry; the SQL is here, the scoring in ml/forecast-model. */
import type { Registry } from './store.js';

export interface ForecastRecord {
  model_id: string;
  symbol: string;
  /** The last bar the forecast saw (YYYY-MM-DD). */
  asof_date: string;
  /** The next NYSE trading day after asof_date: the day predicted. */
  target_date: string;
  adj_close: number | null;
  volume: number | null;
  /** The persistence baseline: the values of asof_date. */
  last_adj_close: number | null;
  last_volume: number | null;
  created_at: string;
  run_id: string | null;
}

export type ForecastInput = Omit<ForecastRecord, 'created_at'> & { created_at?: string };

const COLUMNS = 'model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume, created_at, run_id';
const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

/** Writes the rows in one transaction (all or none); returns how many were written. */
export function writeForecasts(reg: Registry, rows: readonly ForecastInput[]): number {
  const at = reg.timestamp();
  const sql = `INSERT INTO forecasts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (model_id, symbol, target_date) DO UPDATE SET asof_date = excluded.asof_date, adj_close = excluded.adj_close, volume = excluded.volume,
    last_adj_close = excluded.last_adj_close, last_volume = excluded.last_volume, created_at = excluded.created_at, run_id = excluded.run_id`;
  return reg.transaction(() => {
    for (const r of rows) {
      reg.run('write forecast', sql, [r.model_id, r.symbol, r.asof_date, r.target_date, finiteOrNull(r.adj_close), finiteOrNull(r.volume),
        finiteOrNull(r.last_adj_close), finiteOrNull(r.last_volume), r.created_at ?? at, r.run_id]);
    }
    return rows.length;
  });
}

/** The symbol's forecast with the latest target day (the newest written when models tie), or null. */
export function latestForecast(reg: Registry, symbol: string): ForecastRecord | null {
  return forecastHistory(reg, symbol, 1)[0] ?? null;
}

/** The symbol's last `limit` forecasts, newest target day first. */
export function forecastHistory(reg: Registry, symbol: string, limit: number): ForecastRecord[] {
  return reg.all<ForecastRecord>('read forecasts', `SELECT ${COLUMNS} FROM forecasts WHERE symbol = ? ORDER BY target_date DESC, created_at DESC, model_id LIMIT ?`, [symbol, limit]);
}

/** The symbol's forecasts with target days in [from, to] (either bound optional), oldest first. */
export function forecastsFor(reg: Registry, symbol: string, range: { from?: string; to?: string; modelId?: string } = {}): ForecastRecord[] {
  return reg.all<ForecastRecord>('read forecasts', `SELECT ${COLUMNS} FROM forecasts WHERE symbol = @symbol AND (@from IS NULL OR target_date >= @from)
    AND (@to IS NULL OR target_date <= @to) AND (@model IS NULL OR model_id = @model) ORDER BY target_date, model_id`,
  { symbol, from: range.from ?? null, to: range.to ?? null, model: range.modelId ?? null });
}

/** Every forecast whose target day is ≤ `date` (its actual may have arrived), for monitoring;
 * `since` (exclusive) skips those already joined; ordered by target day, symbol. */
export function forecastsDue(reg: Registry, date: string, opts: { since?: string; modelId?: string } = {}): ForecastRecord[] {
  return reg.all<ForecastRecord>('read forecasts', `SELECT ${COLUMNS} FROM forecasts WHERE target_date <= @date AND (@since IS NULL OR target_date > @since)
    AND (@model IS NULL OR model_id = @model) ORDER BY target_date, symbol, model_id`, { date, since: opts.since ?? null, model: opts.modelId ?? null });
}
