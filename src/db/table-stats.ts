/** @module db/table-stats
 * Statistics of a Parquet table for validate, each as one aggregate SQL pass: per-column counts,
 * exact ranges and means, quantiles (exact up to 250k rows, else on a seeded Bernoulli sample) and
 * approximate distinct counts (HyperLogLog); named row rules (counts + a few examples); per-period
 * bin counts on given edges; per-symbol and per-date groups. What they mean is left to validate/. */
import { queryRows, sqlIdent, sqlPath, sqlString, tableSource, tempTableOf, type DuckDBConnection } from './duckdb.js';

export interface ColumnInfo {
  name: string;
  type: string;
}

export interface RawColumnStats extends ColumnInfo {
  numeric: boolean;
  non_null: number;
  /** NaN or ±Infinity (numeric columns only). */
  non_finite: number;
  distinct: number;
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** Quantiles at the requested probabilities (numeric columns only; see sampleQuantiles). */
  quantiles: number[] | null;
}

/** A named row rule: a SQL predicate over the table's columns, with the columns it needs. */
export interface RowRule {
  name: string;
  needs: readonly string[];
  where: string;
}

export interface RuleCount {
  count: number;
  /** Up to 3 'SYMBOL YYYY-MM-DD' of matching rows, first in file order (when Symbol and Date exist). */
  examples: string[];
}

const NUMERIC = /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL.*)$/;

export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

/** `path`: a Parquet file or a table expression (db/duckdb tableSource). */
const src = (path: string): string => tableSource(path);

/** A double as an exact SQL literal (the shortest round-trip decimal, parsed as DOUBLE). */
export function sqlDouble(x: number): string {
  return `CAST(${sqlString(String(x))} AS DOUBLE)`;
}

/** Column names and DuckDB types of a Parquet file. */
export async function parquetColumns(conn: DuckDBConnection, path: string): Promise<ColumnInfo[]> {
  const rows = await queryRows(conn, `DESCRIBE SELECT * FROM ${src(path)}`);
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * One pass: total rows, every column's statistics, and the count (and examples) of every rule
 * whose columns are all present.
 */
export async function scanTable(
  conn: DuckDBConnection,
  path: string,
  columns: readonly ColumnInfo[],
  probs: readonly number[],
  rules: readonly RowRule[],
): Promise<{ rows: number; columns: RawColumnStats[]; rules: Record<string, RuleCount> }> {
  const names = new Set(columns.map((c) => c.name));
  const sel: string[] = ['count(*) AS n'];
  columns.forEach((c, i) => {
    const q = sqlIdent(c.name);
    sel.push(`count(${q}) AS c${i}_n`, `approx_count_distinct(${q}) AS c${i}_d`);
    if (isNumericType(c.type)) {
      const d = `${q}::DOUBLE`;
      sel.push(
        `count(*) FILTER (WHERE NOT isfinite(${d})) AS c${i}_nf`,
        `min(${d}) FILTER (WHERE isfinite(${d})) AS c${i}_min`,
        `max(${d}) FILTER (WHERE isfinite(${d})) AS c${i}_max`,
        `avg(${d}) FILTER (WHERE isfinite(${d})) AS c${i}_mean`,
      );
    } else {
      sel.push(`min(${q}::VARCHAR) AS c${i}_min`, `max(${q}::VARCHAR) AS c${i}_max`);
    }
  });
  const active = rules.filter((r) => r.needs.every((n) => names.has(n)));
  active.forEach((r, i) => sel.push(`count(*) FILTER (WHERE ${r.where}) AS r${i}_n`));
  const [row] = await queryRows(conn, `SELECT ${sel.join(',\n  ')} FROM ${src(path)}`);
  const r = row ?? {};
  const rows = Number(r.n ?? 0);
  const quantiles = await sampleQuantiles(conn, path, columns.filter((c) => isNumericType(c.type)), probs, rows);
  const stats = columns.map((c, i): RawColumnStats => {
    const numeric = isNumericType(c.type);
    const q = quantiles.get(c.name);
    return {
      ...c,
      numeric,
      non_null: Number(r[`c${i}_n`] ?? 0),
      non_finite: numeric ? Number(r[`c${i}_nf`] ?? 0) : 0,
      distinct: Number(r[`c${i}_d`] ?? 0),
      min: numeric ? num(r[`c${i}_min`]) : ((r[`c${i}_min`] as string | null) ?? null),
      max: numeric ? num(r[`c${i}_max`]) : ((r[`c${i}_max`] as string | null) ?? null),
      mean: numeric ? num(r[`c${i}_mean`]) : null,
      quantiles: numeric && q !== undefined ? q : null,
    };
  });
  const counts: Record<string, RuleCount> = {};
  const withExamples = names.has('Symbol') && names.has('Date');
  for (const [i, rule] of active.entries()) {
    const count = Number(r[`r${i}_n`] ?? 0);
    // Examples only for rules that hit: the first rows in file order (a scan that stops early).
    const ex = count > 0 && withExamples ? await queryRows(conn, `SELECT "Symbol" AS s, "Date" AS d FROM ${src(path)} WHERE ${rule.where} LIMIT 3`) : [];
    counts[rule.name] = { count, examples: ex.map((e) => `${String(e.s)} ${String(e.d)}`) };
  }
  return { rows, columns: stats, rules: counts };
}

/** Rows the quantiles are computed from: all of them up to this, else a seeded Bernoulli sample of about this many. */
export const QUANTILE_SAMPLE_ROWS = 250_000;

/**
 * Quantiles (quantile_cont) of the finite values of numeric columns: exact up to
 * QUANTILE_SAMPLE_ROWS rows, else on a seeded Bernoulli sample of about that many rows (one cheap
 * scan; t-digest over every row costs several times more at tens of millions of rows).
 */
async function sampleQuantiles(conn: DuckDBConnection, path: string, columns: readonly ColumnInfo[], probs: readonly number[], rows: number): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (columns.length === 0 || rows === 0) return out;
  const pct = Math.min(100, (100 * QUANTILE_SAMPLE_ROWS) / rows);
  const from = pct >= 100 ? src(path) : `(SELECT * FROM ${src(path)} USING SAMPLE ${pct.toFixed(6)} PERCENT (bernoulli, 42))`;
  const sel = columns.map((c, i) => {
    const d = `${sqlIdent(c.name)}::DOUBLE`;
    return `quantile_cont(${d}, [${probs.join(', ')}]) FILTER (WHERE isfinite(${d})) AS q${i}`;
  });
  const [r] = await queryRows(conn, `SELECT ${sel.join(', ')} FROM ${from}`);
  columns.forEach((c, i) => {
    const q = r?.[`q${i}`];
    if (Array.isArray(q)) out.set(c.name, q.map(Number));
  });
  return out;
}

export interface BinSpec {
  column: string;
  /** Strictly increasing; bin k holds edges[k-1] <= x < edges[k] (as monitor/psi binCounts). */
  edges: readonly number[];
}

export interface PeriodBins {
  /** e.g. 'YYYY-MM' of the Date column (or 'all'). */
  period: string;
  rows: number;
  /** One Float64Array of edges.length + 1 counts per spec, in spec order. */
  counts: Float64Array[];
}

/** The bin index of `d` (a DOUBLE SQL expression) on `edges`, NULL for null or non-finite values. */
function binCase(d: string, edges: readonly number[]): string {
  return `CASE WHEN ${d} IS NULL OR NOT isfinite(${d}) THEN NULL ${edges.map((e, k) => `WHEN ${d} < ${sqlDouble(e)} THEN ${k}`).join(' ')} ELSE ${edges.length} END`;
}

/** How periodBinCounts groups rows: by month of a 'YYYY-MM-DD' column, into 'old'/'new' around a date, or not at all. */
export type PeriodSplit = { by: 'month'; column: string } | { by: 'after'; column: string; date: string } | null;

/**
 * Bin counts of each column on its edges (one GROUP BY pass per column), per period: each month
 * of a 'YYYY-MM-DD' column (a null date is period ''), 'old' / 'new' (dated after `date`), or one
 * period 'all'. Nulls and non-finite values fall in no bin, exactly as binCounts skips them.
 */
export async function periodBinCounts(conn: DuckDBConnection, path: string, specs: readonly BinSpec[], split: PeriodSplit): Promise<PeriodBins[]> {
  return (await binCountsBy(conn, src(path), null, specs, split)).get('') ?? [];
}

/** Parquet files read as one table, with a `filename` column: what the per-file passes group by. */
const withFilenames = (files: readonly string[]): string => `read_parquet([${files.map(sqlPath).join(', ')}], filename = true, hive_partitioning = false)`;

/**
 * periodBinCounts of each of `files` (Parquet paths) on its own, in one pass per column over them
 * all: file path → its periods (a file of no rows has none). Counts add up: the files' sum is
 * periodBinCounts of the table they make.
 */
export async function fileBinCounts(conn: DuckDBConnection, files: readonly string[], specs: readonly BinSpec[], split: PeriodSplit): Promise<Map<string, PeriodBins[]>> {
  if (files.length === 0) return new Map();
  return binCountsBy(conn, withFilenames(files), 'filename', specs, split);
}

async function binCountsBy(conn: DuckDBConnection, from: string, group: string | null, specs: readonly BinSpec[], split: PeriodSplit): Promise<Map<string, PeriodBins[]>> {
  const byGroup = new Map<string, Map<string, PeriodBins>>();
  const period = (g: string, key: string): PeriodBins => {
    let periods = byGroup.get(g);
    if (periods === undefined) byGroup.set(g, (periods = new Map()));
    let p = periods.get(key);
    if (p === undefined) {
      p = { period: key, rows: 0, counts: specs.map((s) => new Float64Array(s.edges.length + 1)) };
      periods.set(key, p);
    }
    return p;
  };
  for (const [i, s] of specs.entries()) {
    const d = `${sqlIdent(s.column)}::DOUBLE`;
    const key =
      split === null ? "'all'"
      : split.by === 'month' ? `coalesce(substr(${sqlIdent(split.column)}, 1, 7), '')`
      : `CASE WHEN ${sqlIdent(split.column)} > ${sqlString(split.date)} THEN 'new' ELSE 'old' END`;
    const rows = await queryRows(conn, `SELECT ${group === null ? "''" : group} AS g, ${key} AS p, ${binCase(d, s.edges)} AS b, count(*) AS n FROM ${from} GROUP BY ALL`);
    for (const r of rows) {
      const p = period(String(r.g), String(r.p));
      const n = Number(r.n);
      if (i === 0) p.rows += n;
      if (r.b !== null) p.counts[i]![Number(r.b)]! += n;
    }
  }
  const out = new Map<string, PeriodBins[]>();
  for (const [g, periods] of byGroup) out.set(g, [...periods.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0)));
  return out;
}

export interface DateGroup {
  date: string;
  rows: number;
}

/** Rows per distinct Date, in date order. */
export async function dateCounts(conn: DuckDBConnection, path: string): Promise<DateGroup[]> {
  const rows = await queryRows(conn, `SELECT "Date" AS d, count(*) AS n FROM ${src(path)} WHERE "Date" IS NOT NULL GROUP BY ALL ORDER BY d`);
  return rows.map((r) => ({ date: String(r.d), rows: Number(r.n) }));
}

export interface SymbolGroup {
  symbol: string;
  rows: number;
  /** Rows less duplicated (Symbol, Date) rows (see duplicateRows). */
  distinct_dates: number;
  first: string | null;
  last: string | null;
  /** Rows whose Security Name is null (0 when the column is absent). */
  no_metadata_rows: number;
  /** Rows of the symbol dated on one of `offDates` (days the calendar calls closed). */
  off_dates: number;
}

/** Per-symbol counts and date range (one GROUP BY pass), in symbol order; `duplicates` from duplicateRows. */
export async function symbolGroups(conn: DuckDBConnection, path: string, opts: { hasSecurityName: boolean; offDates: readonly string[]; duplicates: ReadonlyMap<string, number> }): Promise<SymbolGroup[]> {
  const meta = opts.hasSecurityName ? `count(*) FILTER (WHERE "Security Name" IS NULL)` : '0';
  const off = opts.offDates.length > 0 ? `count(*) FILTER (WHERE "Date" IN (${opts.offDates.map(sqlString).join(', ')}))` : '0';
  const rows = await queryRows(
    conn,
    `SELECT "Symbol" AS s, count(*) AS n, min("Date") AS a, max("Date") AS b, ${meta} AS nm, ${off} AS nof
     FROM ${src(path)} GROUP BY ALL ORDER BY s NULLS FIRST`,
  );
  return rows.map((r) => ({
    symbol: r.s === null ? '(null)' : String(r.s),
    rows: Number(r.n),
    distinct_dates: Number(r.n) - (opts.duplicates.get(r.s === null ? '(null)' : String(r.s)) ?? 0),
    first: r.a === null ? null : String(r.a),
    last: r.b === null ? null : String(r.b),
    no_metadata_rows: Number(r.nm),
    off_dates: Number(r.nof),
  }));
}

/**
 * Repeated (Symbol, Date) rows per symbol (rows beyond the first). Rows sorted by Symbol, Date (as
 * ingest writes them) are checked by comparing each row with the one before (cheap); unsorted rows
 * fall back to a GROUP BY over every (Symbol, Date) pair. `files`: the table is these Parquet files,
 * each sorted within but not against the others (a store table's): they are checked file by file
 * (fileSymbols, duplicatesOf), since without them a table of several files is unsorted at their
 * seams (the GROUP BY over every row, three times the work at 30M rows).
 */
export async function duplicateRows(conn: DuckDBConnection, path: string, files?: readonly string[]): Promise<Map<string, number>> {
  if (files !== undefined && files.length > 1) return duplicatesOf(conn, path, (await fileSymbols(conn, files)).values());
  const rows = await queryRows(
    conn,
    `SELECT s, dup, count(*) AS n FROM (SELECT "Symbol" AS s,
       "Symbol" = ${prev('"Symbol"')} AND "Date" = ${prev('"Date"')} AS dup,
       "Symbol" < ${prev('"Symbol"')} OR ("Symbol" = ${prev('"Symbol"')} AND "Date" < ${prev('"Date"')}) AS back
     FROM ${src(path)}) WHERE dup OR back GROUP BY ALL`,
  );
  if (rows.some((r) => r.dup !== true)) return exactDuplicates(conn, path);
  return new Map(rows.map((r) => [symbolKey(r.s), Number(r.n)]));
}

const prev = (c: string): string => `lag(${c}) OVER ()`;
/** Over rows read with withFilenames: the row before is of the same file. */
const SAME_FILE = `filename = ${prev('filename')}`;
/** …and the row comes before it (by Symbol, Date): its file is not sorted. */
const BACK = `${SAME_FILE} AND ("Symbol" < ${prev('"Symbol"')} OR ("Symbol" = ${prev('"Symbol"')} AND "Date" < ${prev('"Date"')}))`;
const symbolKey = (v: unknown): string => (v === null ? '(null)' : String(v));

/** The GROUP BY over every (Symbol, Date) pair of the table, or of `only` symbols' rows. */
async function exactDuplicates(conn: DuckDBConnection, path: string, only?: readonly string[]): Promise<Map<string, number>> {
  if (only !== undefined) await tempTableOf(conn, 'sp_dup_symbols', [{ name: 'Symbol', type: 'VARCHAR', values: only }]);
  const where = only === undefined ? '' : ' WHERE "Symbol" IN (SELECT "Symbol" FROM sp_dup_symbols)';
  const all = await queryRows(conn, `SELECT s, sum(n - 1) AS n FROM (SELECT "Symbol" AS s, count(*) AS n FROM ${src(path)}${where} GROUP BY "Symbol", "Date" HAVING count(*) > 1) GROUP BY ALL`);
  return new Map(all.map((r) => [symbolKey(r.s), Number(r.n)]));
}

/** The files of `files` (Parquet paths) not sorted by Symbol, Date within: one pass over their rows. */
export async function unsortedFiles(conn: DuckDBConnection, files: readonly string[]): Promise<Set<string>> {
  if (files.length === 0) return new Set();
  const rows = await queryRows(conn, `SELECT DISTINCT f FROM (SELECT filename AS f, ${BACK} AS back FROM ${withFilenames(files)}) WHERE back`);
  return new Set(rows.map((r) => String(r.f)));
}

/** What duplicatesOf needs to know of one file of a table: whether it is sorted, and each symbol's date range and repeated rows there. */
export interface FileSymbols {
  /** No row comes before the row before it (by Symbol, Date), and no Symbol or Date is null. */
  sorted: boolean;
  /** [symbol, first date, last date, rows equal to the row before them, rows] (empty when not sorted). */
  symbols: [string, string, string, number, number][];
}

/** fileSymbols of each of `files` (Parquet paths), in two passes over them all: path → its FileSymbols (a file of no rows has none). */
export async function fileSymbols(conn: DuckDBConnection, files: readonly string[]): Promise<Map<string, FileSymbols>> {
  const out = new Map<string, FileSymbols>();
  if (files.length === 0) return out;
  const from = withFilenames(files);
  // Each row against the one before it in its own file: a repeat, or a row out of order.
  const marks = await queryRows(
    conn,
    `SELECT f, s, dup, count(*) AS n FROM (SELECT filename AS f, "Symbol" AS s,
       ${SAME_FILE} AND "Symbol" = ${prev('"Symbol"')} AND "Date" = ${prev('"Date"')} AS dup, ${BACK} AS back
     FROM ${from}) WHERE dup OR back GROUP BY ALL`,
  );
  const unsorted = new Set(marks.filter((r) => r.dup !== true).map((r) => String(r.f)));
  const dups = new Map(marks.filter((r) => r.dup === true).map((r) => [`${String(r.f)}\u0000${String(r.s)}`, Number(r.n)]));
  const ranges = await queryRows(conn, `SELECT filename AS f, "Symbol" AS s, min("Date") AS lo, max("Date") AS hi, count(*) FILTER (WHERE "Date" IS NULL) AS nd, count(*) AS n FROM ${from} GROUP BY ALL ORDER BY f, s`);
  for (const r of ranges) {
    const f = String(r.f);
    let e = out.get(f);
    if (e === undefined) out.set(f, (e = { sorted: !unsorted.has(f), symbols: [] }));
    if (r.s === null || r.lo === null || Number(r.nd) > 0) e.sorted = false;
    if (e.sorted) e.symbols.push([String(r.s), String(r.lo), String(r.hi), dups.get(`${f}\u0000${String(r.s)}`) ?? 0, Number(r.n)]);
  }
  for (const e of out.values()) if (!e.sorted) e.symbols = [];
  return out;
}

/**
 * duplicateRows of the table at `path` from its files' FileSymbols: the repeats inside each file
 * added up, and a GROUP BY over the rows of the symbols whose date ranges in two files overlap (only
 * there can a date repeat across files). Any file not sorted: the GROUP BY over every row.
 */
export async function duplicatesOf(conn: DuckDBConnection, path: string, files: Iterable<FileSymbols>): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const ranges: [string, string, string][] = [];
  for (const f of files) {
    if (!f.sorted) return exactDuplicates(conn, path);
    for (const [sym, lo, hi, n] of f.symbols) {
      ranges.push([sym, lo, hi]);
      if (n > 0) found.set(sym, (found.get(sym) ?? 0) + n);
    }
  }
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const overlapping = new Set<string>();
  let hi = '';
  for (const [i, [sym, lo, h]] of ranges.entries()) {
    const sameSymbol = i > 0 && ranges[i - 1]![0] === sym;
    if (sameSymbol && lo <= hi) overlapping.add(sym);
    hi = sameSymbol && hi > h ? hi : h;
  }
  if (overlapping.size === 0) return found;
  const counted = await exactDuplicates(conn, path, [...overlapping]);
  for (const sym of overlapping) {
    const n = counted.get(sym);
    if (n === undefined) found.delete(sym);
    else found.set(sym, n);
  }
  return found;
}

/** The distinct dates of some symbols (for listing example gaps), symbol → sorted dates. */
export async function datesOfSymbols(conn: DuckDBConnection, path: string, symbols: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (symbols.length === 0) return out;
  const rows = await queryRows(conn, `SELECT DISTINCT "Symbol" AS s, "Date" AS d FROM ${src(path)} WHERE "Symbol" IN (${symbols.map(sqlString).join(', ')}) ORDER BY s, d`);
  for (const r of rows) {
    const s = String(r.s);
    if (!out.has(s)) out.set(s, []);
    out.get(s)!.push(String(r.d));
  }
  return out;
}

const PRICE_COLUMNS = ['Open', 'High', 'Low', 'Close', 'Adj Close'] as const;

/** The row rules of a bars table (prices or features); validate/checks turns counts into anomalies. */
export const BAR_RULES: readonly RowRule[] = [
  ...PRICE_COLUMNS.flatMap((c): RowRule[] => [
    { name: `zero:${c}`, needs: [c], where: `${sqlIdent(c)} = 0` },
    { name: `negative:${c}`, needs: [c], where: `${sqlIdent(c)} < 0` },
  ]),
  { name: 'high_below_low', needs: ['High', 'Low'], where: `"High" < "Low"` },
  {
    name: 'ohlc_outside',
    needs: ['Open', 'High', 'Low', 'Close'],
    where: `"High" >= "Low" AND "Open" > 0 AND ("Open" > "High" OR "Open" < "Low" OR "Close" > "High" OR "Close" < "Low")`,
  },
  { name: 'zero:Volume', needs: ['Volume'], where: `"Volume" = 0` },
  { name: 'negative:Volume', needs: ['Volume'], where: `"Volume" < 0` },
  { name: 'large_volume', needs: ['Volume'], where: `"Volume" > 2147483647` },
];

/** Rules `range:<column>`: finite values outside [min, max] (numeric columns with a known range). */
export function rangeRules(columns: readonly { name: string; min: unknown; max: unknown }[]): RowRule[] {
  return columns
    .filter((c) => typeof c.min === 'number' && typeof c.max === 'number')
    .map((c) => {
      const d = `${sqlIdent(c.name)}::DOUBLE`;
      return { name: `range:${c.name}`, needs: [c.name], where: `isfinite(${d}) AND (${d} < ${sqlDouble(c.min as number)} OR ${d} > ${sqlDouble(c.max as number)})` };
    });
}
