/** @module db/monitor-reads
 * The two reads `monitor` makes from the Parquet tables: actual bars for a list of symbols over a
 * date range (the join with stored forecasts), and the input columns of a recent window and of a
 * reference window before it (drift). Typed arrays out; scoring and PSI are monitor/. */
import { queryRows, sqlString, tableSource, type DuckDBConnection } from './duckdb.js';
import { readNumericColumns } from './read-columns.js';

export interface Actuals {
  /** Index into the symbols passed in. */
  sym: Int32Array;
  /** Days since 1970-01-01. */
  day: Int32Array;
  adjClose: Float64Array;
  volume: Float64Array;
  rows: number;
}

/** Bars of `symbols` dated from..to (inclusive, YYYY-MM-DD) in the prices table (`pricesPath`: a file or a table expression, db/duckdb tableSource). */
export async function readActuals(conn: DuckDBConnection, pricesPath: string, symbols: readonly string[], from: string, to: string): Promise<Actuals> {
  const empty: Actuals = { sym: new Int32Array(0), day: new Int32Array(0), adjClose: new Float64Array(0), volume: new Float64Array(0), rows: 0 };
  if (symbols.length === 0) return empty;
  const values = symbols.map((s, i) => `(${sqlString(s)}, ${i}::INTEGER)`).join(',');
  const body = `FROM ${tableSource(pricesPath)} p JOIN (VALUES ${values}) s(sym, i) ON p."Symbol" = s.sym
    WHERE p."Date" >= ${sqlString(from)} AND p."Date" <= ${sqlString(to)} AND p."Adj Close" IS NOT NULL AND p."Volume" IS NOT NULL`;
  const [c] = await queryRows(conn, `SELECT count(*)::BIGINT AS n ${body}`);
  const n = Number(c?.n ?? 0);
  const out: Actuals = { sym: new Int32Array(n), day: new Int32Array(n), adjClose: new Float64Array(n), volume: new Float64Array(n), rows: n };
  let at = 0;
  await readNumericColumns(conn, `SELECT s.i, CAST(p."Date" AS DATE), p."Adj Close"::DOUBLE, p."Volume"::DOUBLE ${body}`, (cols, k) => {
    if (at + k > n) throw new Error(`prices changed while monitor read it (${at + k} > ${n} rows)`);
    out.sym.set((cols[0] as Int32Array).subarray(0, k), at);
    out.day.set((cols[1] as Int32Array).subarray(0, k), at);
    out.adjClose.set((cols[2] as Float64Array).subarray(0, k), at);
    out.volume.set((cols[3] as Float64Array).subarray(0, k), at);
    at += k;
  });
  return at === n ? out : { ...out, rows: at };
}

export interface DriftWindows {
  /** First and last date of each window (YYYY-MM-DD); the reference's `kind`: the days up to the reference end
   * given ('until_end'), or those just before the recent ones ('before_recent': none given, or it was unusable). */
  reference: { from: string; to: string; days: number; kind: 'until_end' | 'before_recent' };
  recent: { from: string; to: string; days: number };
  /** Column name → values in the reference window and in the recent window (NaN = null). */
  columns: Record<string, { reference: Float64Array; recent: Float64Array }>;
}

/**
 * The last `recentDays` trading days of `path` (prices or features) and a reference window of
 * `referenceDays` days: the days just before the recent ones, or — with `referenceEnd` — the days
 * up to that date (a model's training period). Log volume, daily return of Adj Close, and
 * vol_moving_avg when the table has it. Null when the table has fewer than recentDays + 2 dates.
 */
export async function readDriftWindows(conn: DuckDBConnection, path: string, recentDays: number, referenceDays: number, referenceEnd?: string): Promise<DriftWindows | null> {
  const src = tableSource(path);
  const names = new Set((await queryRows(conn, `DESCRIBE SELECT * FROM ${src}`)).map((r) => String(r.column_name)));
  const dates = (await queryRows(conn, `SELECT DISTINCT "Date"::VARCHAR AS d FROM ${src} ORDER BY 1 DESC LIMIT ${recentDays + referenceDays + 1}`)).map((r) => String(r.d)).reverse();
  if (dates.length < recentDays + 2) return null;
  const recentFrom = dates[dates.length - recentDays]!;
  // The reference: its first date only feeds the first reference day's return.
  let refDates = dates.slice(0, dates.length - recentDays);
  let kind: DriftWindows['reference']['kind'] = 'before_recent';
  if (referenceEnd !== undefined && referenceEnd < recentFrom) {
    const own = (await queryRows(conn, `SELECT DISTINCT "Date"::VARCHAR AS d FROM ${src} WHERE "Date" <= ${sqlString(referenceEnd)} ORDER BY 1 DESC LIMIT ${referenceDays + 1}`)).map((r) => String(r.d)).reverse();
    if (own.length >= 2) {
      refDates = own;
      kind = 'until_end';
    }
  }
  const refFrom = refDates[1]!;
  const refTo = refDates[refDates.length - 1]!;
  const cols = ['log_volume', 'return_1d', ...(names.has('vol_moving_avg') ? ['vol_moving_avg'] : [])];
  const exprs = [
    `COALESCE(ln("Volume"::DOUBLE + 1), 'NaN'::DOUBLE)`,
    `COALESCE("Adj Close" / lag("Adj Close") OVER (PARTITION BY "Symbol" ORDER BY "Date") - 1, 'NaN'::DOUBLE)`,
    ...(names.has('vol_moving_avg') ? [`COALESCE(vol_moving_avg, 'NaN'::DOUBLE)`] : []),
  ];
  const inner = `SELECT "Date" AS d, ${exprs.map((e, i) => `${e} AS c${i}`).join(', ')} FROM ${src} WHERE "Date" >= ${sqlString(refDates[0]!)}`;
  const body = `FROM (${inner}) WHERE (d >= ${sqlString(refFrom)} AND d <= ${sqlString(refTo)}) OR d >= ${sqlString(recentFrom)}`;
  const [c] = await queryRows(conn, `SELECT count(*) FILTER (WHERE d < ${sqlString(recentFrom)})::BIGINT AS r, count(*) FILTER (WHERE d >= ${sqlString(recentFrom)})::BIGINT AS n ${body}`);
  const nRef = Number(c?.r ?? 0);
  const nCur = Number(c?.n ?? 0);
  const out: DriftWindows['columns'] = {};
  for (const name of cols) out[name] = { reference: new Float64Array(nRef), recent: new Float64Array(nCur) };
  let r = 0;
  let k = 0;
  await readNumericColumns(conn, `SELECT (d >= ${sqlString(recentFrom)})::UTINYINT AS recent, ${cols.map((_, i) => `c${i}`).join(', ')} ${body}`, (chunk, rows) => {
    const isRecent = chunk[0] as Uint8Array;
    for (let i = 0; i < rows; i++) {
      const recent = isRecent[i] === 1;
      for (let j = 0; j < cols.length; j++) {
        const v = (chunk[j + 1] as Float64Array)[i]!;
        const col = out[cols[j]!]!;
        if (recent) col.recent[k] = v;
        else col.reference[r] = v;
      }
      if (recent) k++;
      else r++;
    }
  });
  return {
    reference: { from: refFrom, to: refTo, days: refDates.length - 1, kind },
    recent: { from: recentFrom, to: dates[dates.length - 1]!, days: recentDays },
    columns: out,
  };
}
