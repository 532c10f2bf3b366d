/** @module ml/forecast-dataset
 * The day-ahead model's rows (docs/models.md) from the features table built with --extended. A
 * training row is (symbol, day t) with the symbol's next bar on the next NYSE trading day: its
 * inputs (ml/forecast-inputs: all known at the close of t) and its targets (day t+1's Adj Close and
 * Volume, read from the frame's next row). Read in two streamed passes in (Symbol, Date) order so
 * that no per-row object and no Float64 copy of the inputs is ever held: the first keeps Date, Adj
 * Close and Volume of every row and the market's daily means; the second computes the inputs of the
 * training rows straight into pre-sized Float32Array columns, the rows sorted by target day (every
 * time split is then a range of them: no gathered copies), held in row blocks (ml/forecast-blocks:
 * cut at the time split when the caller names it, so that training can release its rows' inputs
 * once they are binned, or an InputSink take the first block's a group of inputs per further pass
 * and keep none of them). `stockpipe forecast` computes the same
 * inputs of each symbol's last row with the same code. Reads through db/; no model code here. */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { scratchName } from '../core/fs.js';
import { collectGarbage } from '../core/gc.js';
import { queryRows, sqlIdent, sqlPath, sqlString, tableSource, type DuckDBConnection } from '../db/duckdb.js';
import { isResourceFailure } from '../db/duckdb-errors.js';
import { STORE_PARQUET } from '../db/parquet-format.js';
import { readNumericColumns, type NumericColumn } from '../db/read-columns.js';
import { arrayHasher, type DataLineage, hashArrays } from './dataset.js';
import { EXTENDED_COLUMNS, logRatio, NextTradingDay, SHORT_LOOKBACK } from '../features/lagged.js';
import { blockColumn, columnParts, makeBlocks, releaseBlocks, type InputBlock } from './forecast-blocks.js';
import { DividendCycles, inputComputer, MarketDays, needsDividends, needsMarket, TargetCalendar, type InputChunk, type InputContext } from './forecast-inputs.js';

/** The model's inputs, in model.json feature_names order (chosen by validation skill, docs/models.md). */
export const FORECAST_FEATURES = [
  'ret_1', 'ret_5', 'ret_20', 'vol_20', 'hl_range', 'log_volume', 'log_vol_ma_5', 'log_vol_ma_20', 'vol_ratio', 'dow', 'gap_days',
  'price_vs_med', // ln(Adj Close_t / adj_close_rolling_med_t)
  'log_vol_moving_avg', // log1p(vol_moving_avg_t)
  'is_stock', // 1 stock, 0 etf
  'vol_ratio_5', 'vol_trend', // ratios: today vs the 5-row mean, the 5-row vs the 20-row mean
  'to_month_end', 'from_month_start', 'to_quarter_end', 'pre_holiday', // the target day's calendar
  'quarter_echo', // the symbol's own volume one quarter before the target day
  'quad_witching', 'half_day', // events of the target day: a quarterly expiry, an NYSE early close
  'close_loc', 'oc_ret', // day t's bar: where it closed in its range, its open-to-close return
  'day_of_year', // the target day's day of the year (0 on 1 January): the season of trading volume
] as const;

/** The volume model boosts from persistence: its offset is this input (log1p(Volume_t)). */
export const LOG_VOLUME_FEATURE = FORECAST_FEATURES.indexOf('log_volume');

/** The training rows of a features table: day t with a next row of the same symbol dated the next
 * NYSE trading day, the 20-row windows complete and both Adj Close > 0; sorted by target day. */
export interface ForecastRows {
  /** Rows left out because the symbol's next bar is not the next trading day (missing days). */
  skippedGaps: number;
  /** Frame row of day t (its target is frame row + 1). */
  row: Int32Array;
  /** Day number of t+1 (the target day; ascending; the time split cuts on it). */
  targetDay: Int32Array;
}

/** A features table as the day-ahead model reads it. */
export interface ForecastFrame {
  path: string;
  rows: number;
  /** Start row of each symbol's run, plus `rows` at the end (length symbols + 1). */
  symbolStart: Int32Array;
  day: Int32Array;
  adjClose: Float64Array;
  volume: Float64Array;
  /** The training rows and, in the same order, their inputs (`features` order, in row blocks: read them with
   * ml/forecast-slices `inputs`) and vol_ma_20 (a baseline). */
  set: ForecastRows & { features: string[]; blocks: InputBlock[]; ma20: Float32Array };
  /** The snapshots read (absent for a plain file). */
  lineage?: DataLineage;
  /** frameHash, once computed (the loader computes it when it does not keep every input). */
  hash?: string;
}

/**
 * Takes the inputs of the first of several row blocks (the training rows, when the frame is cut at
 * the split) instead of the frame keeping them: the loader computes them `perPass` inputs at a time
 * (each group another streamed read of the sorted rows), in feature order, and hands over each
 * column; only those `take` answers true for stay in the frame. At most `perPass` such columns are
 * held at once instead of every one.
 */
export interface InputSink {
  perPass: number;
  take(f: number, column: Float32Array, lo: number, hi: number): boolean;
}

/** sha256 of every loaded array (rows, values, order; the same however the inputs are blocked): the
 * frame's data version. Kept in the frame (`hash`), so that it is still known after inputs are released. */
export function frameHash(f: ForecastFrame): string {
  f.hash ??= hashArrays([...frameHashHead(f), ...f.set.features.map((name, k) => columnParts(f.set.blocks, k, name))]);
  return f.hash;
}

/** What frameHash hashes before the inputs. */
const frameHashHead = (f: Pick<ForecastFrame, 'symbolStart' | 'day' | 'adjClose' | 'volume'> & { set: Pick<ForecastFrame['set'], 'row' | 'ma20'> }): ArrayBufferView[] => [f.symbolStart, f.day, f.adjClose, f.volume, f.set.row, f.set.ma20];

/** Feature `f` of the training rows [lo, hi) (a view when one block holds them). */
export function inputColumn(f: ForecastFrame, k: number, lo: number, hi: number): Float32Array {
  return blockColumn(f.set.blocks, k, lo, hi, f.set.features[k]!);
}

/**
 * Lets go of the inputs `names` of the training rows [lo, hi) (whole blocks only: none when one block
 * holds more rows): after binning, the trainer reads bins. Reading them afterwards fails
 * (SP_ERR_INTERNAL); the frame's hash is computed first. Returns the bytes released.
 */
export function releaseInputs(f: ForecastFrame, lo: number, hi: number, names: readonly string[]): number {
  frameHash(f);
  return releaseBlocks(f.set.blocks, lo, hi, names.map((n) => f.set.features.indexOf(n)).filter((k) => k >= 0));
}

/** Lagged columns that only their own input reads and that extended tables built before they existed lack
 * (quarter_echo: features version 2): a model without that input is scored from such a table, the column read as NaN. */
const OWN_INPUT_COLUMNS: readonly string[] = ['quarter_echo'];

/** checkExtended's SP_ERR_TRAIN_DATA: a features table without the day-ahead columns (ml/rescore tells an --as-of's
 * snapshot built without them by its class). */
export class LacksExtendedError extends StockpipeError {
  constructor(path: string, missing: readonly string[]) {
    super('SP_ERR_TRAIN_DATA', `${path} lacks the day-ahead column(s) ${missing.join(', ')}`, { hint: 'Rebuild it with `stockpipe features --extended`. Where the train and daily pipelines share a workspace, set features.extended to true in the config: the train pipeline otherwise rebuilds the table without these columns.' });
  }
}

/** Fails with SP_ERR_TRAIN_DATA unless `path` is a features table with the extended columns the inputs
 * `features` read; returns the lagged columns it lacks that they do not read (OWN_INPUT_COLUMNS). */
export async function checkExtended(conn: DuckDBConnection, input: string, path = input, features: readonly string[] = FORECAST_FEATURES): Promise<Set<string>> {
  let cols: Record<string, unknown>[];
  try {
    cols = await queryRows(conn, `DESCRIBE SELECT * FROM ${tableSource(input)}`);
  } catch (err) {
    if (isResourceFailure(err)) throw err;
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} is not a readable Parquet file: ${(err as Error).message}`, { cause: err, hint: 'Run `stockpipe features --extended` first.' });
  }
  const names = new Set(cols.map((c) => String(c.column_name)));
  const unread = new Set(OWN_INPUT_COLUMNS.filter((c) => !names.has(c) && !features.includes(c)));
  const missing = ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset', 'vol_moving_avg', 'adj_close_rolling_med', ...EXTENDED_COLUMNS].filter((c) => !names.has(c) && !unread.has(c));
  if (missing.length > 0) throw new LacksExtendedError(path, missing);
  return unread;
}

/** Day t's own bar, read for the inputs that use it (close_loc, oc_ret). */
const BAR = ['Open', 'High', 'Low', 'Close'] as const;
const nan = (c: string): string => `coalesce(${sqlIdent(c)}, 'NaN'::DOUBLE)`;
/** The columns the loader reads, in (Symbol, Date) order, nulls as NaN; the lagged columns `absent` (checkExtended) NaN throughout. */
const sortedList = (absent: ReadonlySet<string>): string =>
  [`CAST("Date" AS DATE) AS d`, `"Adj Close" AS adj`, `"Volume"::DOUBLE AS v`, `("Asset" = 'stock')::UTINYINT AS a`, `${nan('vol_moving_avg')} AS vma`, `${nan('adj_close_rolling_med')} AS acm`, ...EXTENDED_COLUMNS.map((c) => `${absent.has(c) ? "'NaN'::DOUBLE" : nan(c)} AS ${sqlIdent(c)}`), ...BAR.map((c) => `${nan(c)} AS ${sqlIdent(`bar_${c}`)}`)].join(', ');
/** Pass 1 (and the market's means): day, Adj Close, Volume, asset, log_volume, vol_ratio. */
const BASE_LIST = ['d', 'adj', 'v', 'a', sqlIdent('log_volume'), sqlIdent('vol_ratio')].join(', ');
/** Pass 1 when a dividend input is asked for: Close too (DividendCycles). */
const BASE_CLOSE_LIST = `${BASE_LIST}, ${sqlIdent('bar_Close')}`;
/** Pass 2: everything an input may read. */
const INPUT_LIST = ['d', 'adj', 'a', 'vma', 'acm', ...EXTENDED_COLUMNS.map(sqlIdent), ...BAR.map((c) => sqlIdent(`bar_${c}`))].join(', ');

const extIndex = new Map<string, number>(EXTENDED_COLUMNS.map((c, i) => [c, i]));

const none = new Float64Array(0);
/** A pass-1 chunk as an InputChunk (only log_volume and vol_ratio of the lagged columns). */
function baseChunk(c: NumericColumn[], n: number): InputChunk {
  return { rows: n, day: c[0] as Int32Array, adjClose: c[1] as Float64Array, isStock: c[3] as Uint8Array, vma: none, acm: none, open: none, high: none, low: none, close: none, ext: (name) => c[name === 'log_volume' ? 4 : name === 'vol_ratio' ? 5 : -1] as Float64Array };
}

/** Where the bar's columns start in INPUT_LIST. */
const BAR_AT = 5 + EXTENDED_COLUMNS.length;

/** A pass-2 chunk as an InputChunk. */
function inputChunk(c: NumericColumn[], n: number): InputChunk {
  return {
    rows: n, day: c[0] as Int32Array, adjClose: c[1] as Float64Array, isStock: c[2] as Uint8Array, vma: c[3] as Float64Array, acm: c[4] as Float64Array,
    open: c[BAR_AT] as Float64Array, high: c[BAR_AT + 1] as Float64Array, low: c[BAR_AT + 2] as Float64Array, close: c[BAR_AT + 3] as Float64Array,
    ext: (name) => {
      const k = extIndex.get(name);
      if (k === undefined) throw new Error(`'${name}' is not a lagged column`);
      return c[5 + k] as Float64Array;
    },
  };
}

/** ` AND "Date" <= until` (a logical date: only the rows known by then), or nothing. */
const upTo = (until: string | undefined): string => (until === undefined ? '' : ` AND "Date" <= ${sqlString(until)}`);

/**
 * Streams `sql` (INPUT_LIST columns) and computes the inputs `features` of every row into its
 * position pos(row) of the blocks (rows with pos < 0 are skipped; an input no block has a column
 * for is not computed); `ma20` gets vol_ma_20 the same way when given.
 */
async function fillInputs(conn: DuckDBConnection, sql: string, features: readonly string[], ctx: InputContext, blocks: readonly InputBlock[], pos: (row: number) => number, ma20?: Float32Array, frameRow: (row: number) => number = (i) => i): Promise<number> {
  const computers = features.map(inputComputer);
  let scratch = new Float64Array(0);
  let dest = new Int32Array(0);
  let rowsOf = new Int32Array(0);
  let at = 0;
  await readNumericColumns(conn, sql, (cols, n) => {
    if (scratch.length < n) {
      scratch = new Float64Array(n);
      dest = new Int32Array(n);
      if (ctx.dividends) rowsOf = new Int32Array(n);
    }
    for (let i = 0; i < n; i++) dest[i] = pos(at + i);
    const chunk = inputChunk(cols, n);
    if (ctx.dividends) {
      for (let i = 0; i < n; i++) rowsOf[i] = frameRow(at + i);
      chunk.frameRow = rowsOf;
    }
    computers.forEach((compute, f) => {
      if (blocks.every((b) => !b.x[f])) return;
      compute(chunk, scratch, ctx);
      for (const b of blocks) {
        const out = b.x[f];
        if (!out) continue;
        const { lo, hi } = b;
        for (let i = 0; i < n; i++) {
          const k = dest[i]!;
          if (k >= lo && k < hi) out[k - lo] = scratch[i]!;
        }
      }
    });
    if (ma20) {
      const m = chunk.ext('vol_ma_20');
      for (let i = 0; i < n; i++) if (dest[i]! >= 0) ma20[dest[i]!] = m[i]!;
    }
    at += n;
  });
  return at;
}

/** The training rows of a frame (day, Adj Close, Volume and runs filled), sorted by target day. */
export function forecastRows(f: Pick<ForecastFrame, 'rows' | 'symbolStart' | 'day' | 'adjClose'>): ForecastRows {
  const keep = new Int32Array(f.rows);
  const cal = new NextTradingDay();
  let n = 0;
  let gaps = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let s = 0; s + 1 < f.symbolStart.length; s++) {
    const end = f.symbolStart[s + 1]!;
    for (let i = f.symbolStart[s]! + SHORT_LOOKBACK; i + 1 < end; i++) {
      if (!Number.isFinite(logRatio(f.adjClose[i + 1]!, f.adjClose[i]!))) continue;
      // The target is the next NYSE trading day (what `forecast` predicts): a row whose next bar
      // comes later (missing days) is no example of it.
      if (f.day[i + 1] !== cal.next(f.day[i]!)) {
        gaps++;
        continue;
      }
      keep[n++] = i;
      lo = Math.min(lo, f.day[i + 1]!);
      hi = Math.max(hi, f.day[i + 1]!);
    }
  }
  // Counting sort by target day, stable (frame order within a day).
  const row = new Int32Array(n);
  const targetDay = new Int32Array(n);
  if (n > 0) {
    const start = new Int32Array(hi - lo + 2);
    for (let k = 0; k < n; k++) start[f.day[keep[k]! + 1]! - lo + 1]!++;
    for (let d = 1; d < start.length; d++) start[d]! += start[d - 1]!;
    for (let k = 0; k < n; k++) {
      const i = keep[k]!;
      const at = start[f.day[i + 1]! - lo]!++;
      row[at] = i;
      targetDay[at] = f.day[i + 1]!;
    }
  }
  return { skippedGaps: gaps, row, targetDay };
}

/** Every training row (dated up to `until`, when given) with its inputs `features`. `input`: a Parquet file or a table
 * expression (db/duckdb tableSource); `label` names it in messages. `cuts`: where to cut the inputs into
 * row blocks, from the rows' target days (ascending row indices; default one block). `sink`: takes the
 * first block's inputs when there are several blocks (InputSink); 'skip': they are never computed
 * (a caller that reads the later blocks only: `evaluate` scores the test slice). */
export async function loadForecastFrame(conn: DuckDBConnection, input: string, label = input, until?: string, features: readonly string[] = FORECAST_FEATURES, cuts?: (targetDay: Int32Array) => readonly number[], sink?: InputSink | 'skip'): Promise<ForecastFrame> {
  const path = until === undefined ? label : `${label} up to ${until}`;
  const absent = await checkExtended(conn, input, label, features);
  const src = tableSource(input);
  const counts = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM ${src} WHERE true${upTo(until)} GROUP BY "Symbol" ORDER BY "Symbol"`);
  const rows = counts.reduce((s, r) => s + Number(r.n), 0);
  const symbolStart = new Int32Array(counts.length + 1);
  for (let s = 0; s < counts.length; s++) symbolStart[s + 1] = symbolStart[s]! + Number(counts[s]!.n);
  const base = { rows, symbolStart, day: new Int32Array(rows), adjClose: new Float64Array(rows), volume: new Float64Array(rows) };
  const market = new MarketDays();
  const withMarket = needsMarket(features);
  const close = needsDividends(features) ? new Float64Array(rows) : null;
  // Sorted once by DuckDB (within its memory limit, spilling to its temp folder) into a temporary
  // file that both passes then stream in order: DuckDB holds no sorted result while the inputs fill.
  const setting = String((await queryRows(conn, `SELECT current_setting('temp_directory') AS d`))[0]!.d ?? '');
  const dir = setting === '' ? tmpdir() : setting;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, scratchName('forecast-rows', 'parquet'));
  try {
    await conn.run(`COPY (SELECT ${sortedList(absent)} FROM ${src} WHERE true${upTo(until)} ORDER BY "Symbol", "Date") TO ${sqlString(tmp)} (${STORE_PARQUET})`);
    const sorted = ` FROM read_parquet(${sqlPath(tmp)})`;
    let at = 0;
    await readNumericColumns(conn, `SELECT ${close ? BASE_CLOSE_LIST : BASE_LIST}${sorted}`, (c, n) => {
      if (at + n > rows) throw new StockpipeError('SP_ERR_INTERNAL', `${path}: more rows than counted (${rows})`);
      base.day.set((c[0] as Int32Array).subarray(0, n), at);
      base.adjClose.set((c[1] as Float64Array).subarray(0, n), at);
      base.volume.set((c[2] as Float64Array).subarray(0, n), at);
      close?.set((c[6] as Float64Array).subarray(0, n), at);
      if (withMarket) market.add(baseChunk(c, n));
      at += n;
    });
    if (at !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `read ${at} rows of ${path}, expected ${rows}`);
    checkSorted(base, path);
    const r = forecastRows(base);
    // Its scratch (4 bytes a row) would otherwise stay resident under the inputs.
    collectGarbage();
    const n = r.row.length;
    const pos = new Int32Array(rows).fill(-1);
    for (let k = 0; k < n; k++) pos[r.row[k]!] = k;
    const cutAt = cuts?.(r.targetDay) ?? [];
    const streamed = sink !== undefined && makeBlocks(n, 0, cutAt).length > 1;
    const set = { ...r, features: [...features], blocks: makeBlocks(n, features.length, cutAt, streamed), ma20: new Float32Array(n) };
    const ctx: InputContext = { cal: new TargetCalendar(), market, dividends: close ? new DividendCycles(symbolStart, base.day, close, base.adjClose, base.volume) : undefined };
    // 'skip': the first block's columns stay unallocated (makeBlocks), and fillInputs writes none of its rows.
    if (!streamed || sink === 'skip') {
      const read = await fillInputs(conn, `SELECT ${INPUT_LIST}${sorted}`, features, ctx, set.blocks, (i) => pos[i]!, set.ma20);
      if (read !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `read ${read} rows of ${path} in the second pass, expected ${rows}`);
      return { path, ...base, set };
    }
    // The first block a group of inputs at a time (the first pass also fills the other blocks and
    // vol_ma_20), each column hashed in feature order before the sink takes it.
    const first = set.blocks[0]!;
    const per = Math.max(1, Math.floor(sink.perPass));
    const hash = arrayHasher();
    for (let g = 0; g * per < features.length; g++) {
      const group = features.map((_, f) => f).slice(g * per, (g + 1) * per);
      for (const f of group) first.x[f] = new Float32Array(first.hi - first.lo);
      const read = await fillInputs(conn, `SELECT ${INPUT_LIST}${sorted}`, features, ctx, g === 0 ? set.blocks : [first], (i) => pos[i]!, g === 0 ? set.ma20 : undefined);
      if (read !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `read ${read} rows of ${path} in input pass ${g + 2}, expected ${rows}`);
      if (g === 0) for (const a of frameHashHead({ ...base, set })) hash.add(a);
      for (const f of group) {
        hash.add(columnParts(set.blocks, f, features[f]!));
        if (!sink.take(f, first.x[f]!, first.lo, first.hi)) first.x[f] = null;
      }
      collectGarbage();
    }
    return { path, ...base, set, hash: hash.digest() };
  } finally {
    await rm(tmp, { force: true });
  }
}

function checkSorted(base: Pick<ForecastFrame, 'symbolStart' | 'day'>, path: string): void {
  const { symbolStart, day } = base;
  for (let s = 0; s + 1 < symbolStart.length; s++) {
    for (let i = symbolStart[s]! + 1; i < symbolStart[s + 1]!; i++) {
      if (day[i]! <= day[i - 1]!) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} is not sorted by Symbol, Date (row ${i})`, { hint: 'Rebuild it with `stockpipe features --extended --force`.' });
    }
  }
}
/** Every symbol's rows (dated up to `until`) as the dividend inputs read them, in (Symbol, Date) order. */
async function symbolHistory(conn: DuckDBConnection, src: string, until: string | undefined): Promise<{ symbolStart: Int32Array; dividends: DividendCycles }> {
  const counts = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM ${src} WHERE true${upTo(until)} GROUP BY "Symbol" ORDER BY "Symbol"`);
  const symbolStart = new Int32Array(counts.length + 1);
  for (let s = 0; s < counts.length; s++) symbolStart[s + 1] = symbolStart[s]! + Number(counts[s]!.n);
  const rows = symbolStart[counts.length]!;
  const day = new Int32Array(rows);
  const close = new Float64Array(rows);
  const adj = new Float64Array(rows);
  const volume = new Float64Array(rows);
  let at = 0;
  await readNumericColumns(conn, `SELECT CAST("Date" AS DATE) AS d, ${nan('Close')}, ${nan('Adj Close')}, "Volume"::DOUBLE FROM ${src} WHERE true${upTo(until)} ORDER BY "Symbol", "Date"`, (c, k) => {
    day.set((c[0] as Int32Array).subarray(0, k), at);
    close.set((c[1] as Float64Array).subarray(0, k), at);
    adj.set((c[2] as Float64Array).subarray(0, k), at);
    volume.set((c[3] as Float64Array).subarray(0, k), at);
    at += k;
  });
  return { symbolStart, dividends: new DividendCycles(symbolStart, day, close, adj, volume) };
}

/** Each symbol's last row (its newest bar, dated up to `until` when given), ordered by Symbol. */
export interface LastRows {
  symbols: string[];
  day: Int32Array;
  adjClose: Float64Array;
  volume: Float64Array;
  /** Inputs (`features` order). */
  x: Float32Array[];
}

/** Calendar days before the oldest last bar whose rows feed the market means (its previous day's mean included). */
const MARKET_DAYS_BACK = 14;

/** Each symbol's last row with its inputs `features`, computed as for training (the market means from every symbol's rows of those days). */
export async function loadLastRows(conn: DuckDBConnection, input: string, label = input, until?: string, features: readonly string[] = FORECAST_FEATURES): Promise<LastRows> {
  const absent = await checkExtended(conn, input, label, features);
  const src = tableSource(input);
  // One pass for the newest date per symbol, one join to fetch those rows, kept in a temp table
  // (one row per symbol) that the names and the numbers are then read from.
  const table = 'stockpipe_forecast_last_rows';
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS WITH m AS (SELECT "Symbol" AS s, max("Date") AS md FROM ${src} WHERE true${upTo(until)} GROUP BY 1)
    SELECT t.* FROM ${src} t JOIN m ON t."Symbol" = m.s AND t."Date" = m.md`);
  try {
    const names = await queryRows(conn, `SELECT "Symbol" AS s FROM ${table} ORDER BY "Symbol"`);
    const n = names.length;
    const out: LastRows = { symbols: names.map((r) => String(r.s)), day: new Int32Array(n), adjClose: new Float64Array(n), volume: new Float64Array(n), x: features.map(() => new Float32Array(n)) };
    if (n === 0) return out;
    const market = new MarketDays();
    if (needsMarket(features)) {
      const lo = await queryRows(conn, `SELECT (CAST(min("Date") AS DATE) - INTERVAL ${MARKET_DAYS_BACK} DAY)::DATE::VARCHAR AS lo FROM ${table}`);
      const window = ` AND "Date" >= ${sqlString(String(lo[0]!.lo))}`;
      await readNumericColumns(conn, `SELECT ${BASE_LIST} FROM (SELECT ${sortedList(absent)} FROM ${src} WHERE true${window}${upTo(until)} ORDER BY "Symbol", "Date")`, (c, k) => market.add(baseChunk(c, k)));
    }
    const history = needsDividends(features) ? await symbolHistory(conn, src, until) : null;
    if (history && history.symbolStart.length !== n + 1) throw new StockpipeError('SP_ERR_INTERNAL', `${label}: ${history.symbolStart.length - 1} symbols in the history, ${n} last rows`);
    const ctx: InputContext = { cal: new TargetCalendar(), market, dividends: history?.dividends };
    await fillInputs(conn, `SELECT ${INPUT_LIST} FROM (SELECT ${sortedList(absent)} FROM ${table} ORDER BY "Symbol")`, features, ctx, [{ lo: 0, hi: n, x: out.x }], (i) => i, undefined, (i) => history!.symbolStart[i + 1]! - 1);
    let at = 0;
    await readNumericColumns(conn, `SELECT CAST("Date" AS DATE) AS d, "Adj Close", "Volume"::DOUBLE FROM ${table} ORDER BY "Symbol"`, (c, k) => {
      out.day.set((c[0] as Int32Array).subarray(0, k), at);
      out.adjClose.set((c[1] as Float64Array).subarray(0, k), at);
      out.volume.set((c[2] as Float64Array).subarray(0, k), at);
      at += k;
    });
    return out;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${table}`);
  }
}
