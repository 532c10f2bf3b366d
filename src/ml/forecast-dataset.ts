/** @module ml/forecast-dataset
 * The day-ahead model's rows (docs/models.md) from the features table built with --extended:
 * per row (symbol, day t) the model inputs — the lagged columns of features/lagged plus a few
 * derived from the row itself (all known at the close of t) — and, for training, the targets of
 * the symbol's next row: its log return of Adj Close and log1p(Volume). The same column builder
 * (modelColumns) serves training and `stockpipe forecast`, so both see identical inputs.
 * Reads through db/; no model code here. */
import { StockpipeError } from '../core/errors.js';
import { queryRows, sqlIdent, sqlString, tableSource, type DuckDBConnection } from '../db/duckdb.js';
import { isResourceFailure } from '../db/duckdb-errors.js';
import { readNumericColumns } from '../db/read-columns.js';
import { type DataLineage, hashArrays } from './dataset.js';
import { EXTENDED_COLUMNS, EXTENDED_LOOKBACK, logRatio, NextTradingDay } from '../features/lagged.js';

/** The model's inputs, in model.json feature_names order. */
export const FORECAST_FEATURES = [
  'ret_1', 'ret_5', 'ret_20', 'vol_20', 'hl_range', 'log_volume', 'log_vol_ma_5', 'log_vol_ma_20', 'vol_ratio', 'dow', 'gap_days',
  'price_vs_med', // ln(Adj Close_t / adj_close_rolling_med_t)
  'log_vol_moving_avg', // log1p(vol_moving_avg_t)
  'is_stock', // 1 stock, 0 etf
] as const;

/** The volume model boosts from persistence: its offset is this input (log1p(Volume_t)). */
export const LOG_VOLUME_FEATURE = FORECAST_FEATURES.indexOf('log_volume');

/** Rows of the features table as typed arrays, in file order (Symbol, Date). */
export interface ForecastFrame {
  path: string;
  rows: number;
  /** Start row of each symbol's run, plus `rows` at the end (length symbols + 1). */
  symbolStart: Int32Array;
  day: Int32Array;
  adjClose: Float64Array;
  volume: Float64Array;
  isStock: Uint8Array;
  vma: Float64Array;
  acm: Float64Array;
  /** One array per EXTENDED_COLUMNS entry. */
  ext: Float64Array[];
  /** The snapshots read (absent for a plain file). */
  lineage?: DataLineage;
}

/** sha256 of every loaded array (rows, values, order): the frame's data version. */
export function frameHash(f: ForecastFrame): string {
  return hashArrays([f.symbolStart, f.day, f.adjClose, f.volume, f.isStock, f.vma, f.acm, ...f.ext]);
}

const ext = (name: string): number => EXTENDED_COLUMNS.indexOf(name as (typeof EXTENDED_COLUMNS)[number]);

/** The model inputs of every frame row (FORECAST_FEATURES order); lagged columns are shared, not copied. */
export function modelColumns(f: ForecastFrame): Float64Array[] {
  const n = f.rows;
  const priceVsMed = new Float64Array(n);
  const logVma = new Float64Array(n);
  const stock = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    priceVsMed[i] = logRatio(f.adjClose[i]!, f.acm[i]!);
    logVma[i] = Number.isNaN(f.vma[i]!) ? NaN : Math.log1p(f.vma[i]!);
    stock[i] = f.isStock[i]!;
  }
  const derived: Record<string, Float64Array> = { price_vs_med: priceVsMed, log_vol_moving_avg: logVma, is_stock: stock };
  return FORECAST_FEATURES.map((name) => derived[name] ?? f.ext[ext(name)]!);
}

/** Fails with SP_ERR_TRAIN_DATA unless `path` is a features table with the extended columns. */
export async function checkExtended(conn: DuckDBConnection, input: string, path = input): Promise<void> {
  let cols: Record<string, unknown>[];
  try {
    cols = await queryRows(conn, `DESCRIBE SELECT * FROM ${tableSource(input)}`);
  } catch (err) {
    if (isResourceFailure(err)) throw err;
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} is not a readable Parquet file: ${(err as Error).message}`, { cause: err, hint: 'Run `stockpipe features --extended` first.' });
  }
  const names = new Set(cols.map((c) => String(c.column_name)));
  const missing = ['Date', 'Adj Close', 'Volume', 'Asset', 'vol_moving_avg', 'adj_close_rolling_med', ...EXTENDED_COLUMNS].filter((c) => !names.has(c));
  if (missing.length > 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} lacks the day-ahead column(s) ${missing.join(', ')}`, { hint: 'Rebuild it with `stockpipe features --extended`.' });
}

const nan = (c: string): string => `coalesce(${sqlIdent(c)}, 'NaN'::DOUBLE)`;
const SELECT_LIST = [`CAST("Date" AS DATE) AS d`, `"Adj Close"`, `"Volume"::DOUBLE AS v`, `("Asset" = 'stock')::UTINYINT AS a`, nan('vol_moving_avg'), nan('adj_close_rolling_med'), ...EXTENDED_COLUMNS.map(nan)].join(', ');

function emptyFrame(path: string, rows: number, symbols: number): ForecastFrame {
  return {
    path, rows, symbolStart: new Int32Array(symbols + 1), day: new Int32Array(rows), adjClose: new Float64Array(rows), volume: new Float64Array(rows),
    isStock: new Uint8Array(rows), vma: new Float64Array(rows), acm: new Float64Array(rows), ext: EXTENDED_COLUMNS.map(() => new Float64Array(rows)),
  };
}

async function fill(conn: DuckDBConnection, sql: string, f: ForecastFrame): Promise<void> {
  let at = 0;
  await readNumericColumns(conn, sql, (c, n) => {
    if (at + n > f.rows) throw new StockpipeError('SP_ERR_INTERNAL', `${f.path}: more rows than counted (${f.rows})`);
    f.day.set((c[0] as Int32Array).subarray(0, n), at);
    f.adjClose.set((c[1] as Float64Array).subarray(0, n), at);
    f.volume.set((c[2] as Float64Array).subarray(0, n), at);
    f.isStock.set((c[3] as Uint8Array).subarray(0, n), at);
    f.vma.set((c[4] as Float64Array).subarray(0, n), at);
    f.acm.set((c[5] as Float64Array).subarray(0, n), at);
    for (let e = 0; e < f.ext.length; e++) f.ext[e]!.set((c[6 + e] as Float64Array).subarray(0, n), at);
    at += n;
  });
  if (at !== f.rows) throw new StockpipeError('SP_ERR_INTERNAL', `read ${at} rows of ${f.path}, expected ${f.rows}`);
}

/** ` AND "Date" <= until` (a logical date: only the rows known by then), or nothing. */
const upTo = (until: string | undefined): string => (until === undefined ? '' : ` AND "Date" <= ${sqlString(until)}`);

/** Every row (dated up to `until`, when given), ordered by Symbol, Date, with each symbol's run. `input`: a Parquet file or a table
 * expression (db/duckdb tableSource); `label` names it in messages. */
export async function loadForecastFrame(conn: DuckDBConnection, input: string, label = input, until?: string): Promise<ForecastFrame> {
  const path = label;
  await checkExtended(conn, input, path);
  const src = tableSource(input);
  const counts = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM ${src} WHERE true${upTo(until)} GROUP BY "Symbol" ORDER BY "Symbol"`);
  const rows = counts.reduce((s, r) => s + Number(r.n), 0);
  const f = emptyFrame(path, rows, counts.length);
  for (let s = 0; s < counts.length; s++) f.symbolStart[s + 1] = f.symbolStart[s]! + Number(counts[s]!.n);
  await fill(conn, `SELECT ${SELECT_LIST} FROM ${src} WHERE true${upTo(until)} ORDER BY "Symbol", "Date"`, f);
  for (let s = 0; s < counts.length; s++) {
    for (let i = f.symbolStart[s]! + 1; i < f.symbolStart[s + 1]!; i++) {
      if (f.day[i]! <= f.day[i - 1]!) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} is not sorted by Symbol, Date (row ${i})`, { hint: 'Rebuild it with `stockpipe features --extended --force`.' });
    }
  }
  return f;
}

/** Each symbol's last row (its newest bar, dated up to `until` when given), ordered by Symbol, with the symbols' names. */
export async function loadLastRows(conn: DuckDBConnection, input: string, label = input, until?: string): Promise<{ frame: ForecastFrame; symbols: string[] }> {
  const path = label;
  await checkExtended(conn, input, path);
  const src = tableSource(input);
  // One pass for the newest date per symbol, one join to fetch those rows, kept in a temp table
  // (one row per symbol) that the names and the numbers are then read from.
  const table = 'stockpipe_forecast_last_rows';
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS WITH m AS (SELECT "Symbol" AS s, max("Date") AS md FROM ${src} WHERE true${upTo(until)} GROUP BY 1)
    SELECT t.* FROM ${src} t JOIN m ON t."Symbol" = m.s AND t."Date" = m.md`);
  try {
    const names = await queryRows(conn, `SELECT "Symbol" AS s FROM ${table} ORDER BY "Symbol"`);
    const symbols = names.map((r) => String(r.s));
    const f = emptyFrame(path, symbols.length, symbols.length);
    for (let s = 0; s <= symbols.length; s++) f.symbolStart[s] = s;
    await fill(conn, `SELECT ${SELECT_LIST} FROM ${table} ORDER BY "Symbol"`, f);
    return { frame: f, symbols };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/** The training rows: day t with a next row of the same symbol dated the next NYSE trading day,
 * every window complete (t ≥ EXTENDED_LOOKBACK rows in) and both targets finite (Adj Close > 0
 * on t and t+1). */
export interface ForecastRows {
  /** Rows left out because the symbol's next bar is not the next trading day (missing days). */
  skippedGaps: number;
  /** Frame row of day t. */
  row: Int32Array;
  /** Day number of t+1 (the target day; the time split cuts on it). */
  targetDay: Int32Array;
  /** ln(AdjClose_t+1 / AdjClose_t). */
  ret: Float64Array;
  adjCloseNext: Float64Array;
  volumeNext: Float64Array;
}

export function forecastRows(f: ForecastFrame): ForecastRows {
  const keep = new Int32Array(f.rows);
  const cal = new NextTradingDay();
  let n = 0;
  let gaps = 0;
  for (let s = 0; s + 1 < f.symbolStart.length; s++) {
    const end = f.symbolStart[s + 1]!;
    for (let i = f.symbolStart[s]! + EXTENDED_LOOKBACK; i + 1 < end; i++) {
      if (!Number.isFinite(logRatio(f.adjClose[i + 1]!, f.adjClose[i]!))) continue;
      // The target is the next NYSE trading day (what `forecast` predicts): a row whose next bar
      // comes later (missing days) is no example of it.
      if (f.day[i + 1] !== cal.next(f.day[i]!)) {
        gaps++;
        continue;
      }
      keep[n++] = i;
    }
  }
  const out: ForecastRows = { skippedGaps: gaps, row: keep.slice(0, n), targetDay: new Int32Array(n), ret: new Float64Array(n), adjCloseNext: new Float64Array(n), volumeNext: new Float64Array(n) };
  for (let k = 0; k < n; k++) {
    const i = out.row[k]!;
    out.targetDay[k] = f.day[i + 1]!;
    out.ret[k] = logRatio(f.adjClose[i + 1]!, f.adjClose[i]!);
    out.adjCloseNext[k] = f.adjClose[i + 1]!;
    out.volumeNext[k] = f.volume[i + 1]!;
  }
  return out;
}
