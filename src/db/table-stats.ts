/** @module db/table-stats
 * Statistics of a Parquet table for validate, each as one aggregate SQL pass: per-column counts,
 * ranges, means, approximate quantiles (DuckDB's t-digest `approx_quantile`) and approximate
 * distinct counts (HyperLogLog); named row rules (counts + a few examples); per-period bin counts on
 * given edges; per-symbol and per-date groups. What the numbers mean is left to validate/. */
import { queryRows, sqlIdent, sqlString, type DuckDBConnection } from './duckdb.js';

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
  /** approx_quantile at the requested probabilities (numeric columns only). */
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
  /** Up to 3 smallest 'SYMBOL YYYY-MM-DD' of matching rows (when Symbol and Date exist). */
  examples: string[];
}

const NUMERIC = /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|DECIMAL.*)$/;

export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

const src = (path: string): string => `read_parquet(${sqlString(path)})`;

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
        `approx_quantile(${d}, [${probs.join(', ')}]) FILTER (WHERE isfinite(${d})) AS c${i}_q`,
      );
    } else {
      sel.push(`min(${q}::VARCHAR) AS c${i}_min`, `max(${q}::VARCHAR) AS c${i}_max`);
    }
  });
  const active = rules.filter((r) => r.needs.every((n) => names.has(n)));
  const withExamples = names.has('Symbol') && names.has('Date');
  active.forEach((r, i) => {
    sel.push(`count(*) FILTER (WHERE ${r.where}) AS r${i}_n`);
    if (withExamples) sel.push(`min("Symbol" || ' ' || "Date", 3) FILTER (WHERE ${r.where}) AS r${i}_x`);
  });
  const [row] = await queryRows(conn, `SELECT ${sel.join(',\n  ')} FROM ${src(path)}`);
  const r = row ?? {};
  const stats = columns.map((c, i): RawColumnStats => {
    const numeric = isNumericType(c.type);
    const q = r[`c${i}_q`];
    return {
      ...c,
      numeric,
      non_null: Number(r[`c${i}_n`] ?? 0),
      non_finite: numeric ? Number(r[`c${i}_nf`] ?? 0) : 0,
      distinct: Number(r[`c${i}_d`] ?? 0),
      min: numeric ? num(r[`c${i}_min`]) : ((r[`c${i}_min`] as string | null) ?? null),
      max: numeric ? num(r[`c${i}_max`]) : ((r[`c${i}_max`] as string | null) ?? null),
      mean: numeric ? num(r[`c${i}_mean`]) : null,
      quantiles: numeric && Array.isArray(q) ? q.map(Number) : null,
    };
  });
  const counts: Record<string, RuleCount> = {};
  active.forEach((rule, i) => {
    const x = r[`r${i}_x`];
    counts[rule.name] = { count: Number(r[`r${i}_n`] ?? 0), examples: Array.isArray(x) ? x.map(String) : [] };
  });
  return { rows: Number(r.n ?? 0), columns: stats, rules: counts };
}

export interface BinSpec {
  column: string;
  /** Strictly increasing; bin k holds edges[k-1] <= x < edges[k] (as monitor/psi binCounts). */
  edges: readonly number[];
}

export interface PeriodBins {
  /** 'YYYY-MM' of the Date column (or 'all' when `periodExpr` is null). */
  period: string;
  rows: number;
  /** One Float64Array of edges.length + 1 counts per spec, in spec order. */
  counts: Float64Array[];
}

/**
 * Bin counts of each column on its edges, per period (one GROUP BY pass). Nulls and non-finite
 * values fall in no bin, exactly as binCounts skips them.
 */
export async function periodBinCounts(conn: DuckDBConnection, path: string, specs: readonly BinSpec[], periodExpr: string | null): Promise<PeriodBins[]> {
  const sel: string[] = [`${periodExpr ?? "'all'"} AS period`, 'count(*) AS n'];
  specs.forEach((s, i) => {
    const d = `${sqlIdent(s.column)}::DOUBLE`;
    const e = s.edges.map(sqlDouble);
    for (let k = 0; k <= e.length; k++) {
      const lo = k === 0 ? `isfinite(${d})` : `${d} >= ${e[k - 1]}`;
      const hi = k === e.length ? `isfinite(${d})` : `${d} < ${e[k]}`;
      sel.push(`count(*) FILTER (WHERE ${lo} AND ${hi}) AS b${i}_${k}`);
    }
  });
  const rows = await queryRows(conn, `SELECT ${sel.join(', ')} FROM ${src(path)} GROUP BY ALL ORDER BY period`);
  return rows.map((r) => ({
    period: String(r.period),
    rows: Number(r.n),
    counts: specs.map((s, i) => Float64Array.from({ length: s.edges.length + 1 }, (_, k) => Number(r[`b${i}_${k}`] ?? 0))),
  }));
}

/** The SQL of the month of a 'YYYY-MM-DD' column. */
export function monthOf(dateColumn: string): string {
  return `substr(${sqlIdent(dateColumn)}, 1, 7)`;
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
  distinct_dates: number;
  first: string | null;
  last: string | null;
  /** Rows whose Security Name is null (0 when the column is absent). */
  no_metadata_rows: number;
  /** Distinct dates of the symbol among `offDates` (rows on days the calendar calls closed). */
  off_dates: number;
}

/** Per-symbol counts and date range (one GROUP BY pass), in symbol order. */
export async function symbolGroups(conn: DuckDBConnection, path: string, opts: { hasSecurityName: boolean; offDates: readonly string[] }): Promise<SymbolGroup[]> {
  const meta = opts.hasSecurityName ? `count(*) FILTER (WHERE "Security Name" IS NULL)` : '0';
  const off = opts.offDates.length > 0 ? `count(DISTINCT "Date") FILTER (WHERE "Date" IN (${opts.offDates.map(sqlString).join(', ')}))` : '0';
  const rows = await queryRows(
    conn,
    `SELECT "Symbol" AS s, count(*) AS n, count(DISTINCT "Date") AS nd, min("Date") AS a, max("Date") AS b, ${meta} AS nm, ${off} AS nof
     FROM ${src(path)} GROUP BY ALL ORDER BY s NULLS FIRST`,
  );
  return rows.map((r) => ({
    symbol: r.s === null ? '(null)' : String(r.s),
    rows: Number(r.n),
    distinct_dates: Number(r.nd),
    first: r.a === null ? null : String(r.a),
    last: r.b === null ? null : String(r.b),
    no_metadata_rows: Number(r.nm),
    off_dates: Number(r.nof),
  }));
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
