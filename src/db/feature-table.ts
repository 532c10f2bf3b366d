/** @module db/feature-table
 * Read-only access to the features table (or the prices table when features were not built) for
 * the dashboard: the symbol list, computed once per snapshot and cached, and one symbol's series as
 * typed arrays (nulls → NaN). Which snapshot and files to read is the locator's (the dashboard
 * resolves it through store/read; db/ does not import the store). One lazily opened DuckDB,
 * queries serialised on its connection. Downsampling and scoring live in dashboard/. */
import type { Workspace } from '../core/workspace.js';
import { queryRows, sqlString } from './duckdb.js';
import { SerialDuckDB } from './serial-duckdb.js';
import { readNumericColumns } from './read-columns.js';

export interface SymbolInfo {
  symbol: string;
  name: string | null;
  asset: string | null;
  rows: number;
  date_min: string;
  date_max: string;
}

/** One symbol's rows in date order; features are NaN where null or when the table has none. */
export interface SymbolSeries {
  /** Days since 1970-01-01. */
  day: Int32Array;
  adjClose: Float64Array;
  volume: Float64Array;
  vma: Float64Array;
  acm: Float64Array;
}

/** A table snapshot to read: its DuckDB table expression, whether it has the feature columns, and a
 * version key (the snapshot id) under which the symbol list is cached. */
export interface TableLocation {
  source: string;
  hasFeatures: boolean;
  version: string;
}

/** The snapshot to read now (`asOf` undefined) or as of a snapshot id / time; null when no table exists. */
export type TableLocator = (asOf?: string) => TableLocation | null;

export class FeatureTableReader {
  private readonly conn: SerialDuckDB;
  private cached: { version: string; list: SymbolInfo[]; byName: Map<string, SymbolInfo> } | null = null;

  /** DuckDB runs with the workspace's settings (the server's memory limit and threads). */
  constructor(
    ws: Workspace,
    private readonly locate: TableLocator,
  ) {
    this.conn = new SerialDuckDB(() => ws.duckdbSettings());
  }

  /** The snapshot the dashboard reads (now, or as of `asOf`), or null when neither table exists. */
  table(asOf?: string): Promise<TableLocation | null> {
    return Promise.resolve().then(() => this.locate(asOf));
  }

  /** Every symbol, sorted; computed once per snapshot (the current one, or as of `asOf`: cached only for the current one). */
  async symbols(asOf?: string): Promise<{ list: SymbolInfo[]; byName: Map<string, SymbolInfo> }> {
    const t = await this.table(asOf);
    if (t === null) return { list: [], byName: new Map() };
    if (this.cached?.version === t.version) return this.cached;
    const rows = await this.conn.run(async (conn) => queryRows(conn.connection,
      `SELECT "Symbol" AS symbol, any_value("Security Name") AS name, any_value("Asset") AS asset, count(*)::BIGINT AS n,
         min("Date")::VARCHAR AS date_min, max("Date")::VARCHAR AS date_max
       FROM ${t.source} GROUP BY "Symbol" ORDER BY "Symbol"`));
    const list: SymbolInfo[] = rows.map((r) => ({
      symbol: String(r.symbol), name: r.name === null ? null : String(r.name), asset: r.asset === null ? null : String(r.asset),
      rows: Number(r.n), date_min: String(r.date_min), date_max: String(r.date_max),
    }));
    const out = { version: t.version, list, byName: new Map(list.map((s) => [s.symbol, s])) };
    if (asOf === undefined) this.cached = out;
    return out;
  }

  /** One symbol's rows between two dates (inclusive, either optional), as of a snapshot (default: now); null for an unknown symbol. */
  async series(symbol: string, from?: string, to?: string, asOf?: string): Promise<SymbolSeries | null> {
    const t = await this.table(asOf);
    if (t === null) return null;
    const info = await this.symbolIn(t, symbol);
    if (!info) return null;
    const feats = t.hasFeatures ? 'coalesce(vol_moving_avg, \'NaN\'::DOUBLE), coalesce(adj_close_rolling_med, \'NaN\'::DOUBLE)' : '\'NaN\'::DOUBLE, \'NaN\'::DOUBLE';
    const where = [`"Symbol" = ${sqlString(symbol)}`];
    if (from !== undefined) where.push(`CAST("Date" AS DATE) >= DATE ${sqlString(from)}`);
    if (to !== undefined) where.push(`CAST("Date" AS DATE) <= DATE ${sqlString(to)}`);
    const chunks: { cols: Float64Array[]; day: Int32Array; n: number }[] = [];
    await this.conn.run((conn) => readNumericColumns(conn.connection,
      `SELECT CAST("Date" AS DATE), coalesce("Adj Close", 'NaN'::DOUBLE), coalesce("Volume"::DOUBLE, 'NaN'::DOUBLE), ${feats}
       FROM ${t.source} WHERE ${where.join(' AND ')} ORDER BY 1`,
      (c, n) => chunks.push({ day: (c[0] as Int32Array).slice(0, n), cols: c.slice(1).map((x) => (x as Float64Array).slice(0, n)), n })));
    const total = chunks.reduce((s, c) => s + c.n, 0);
    const out: SymbolSeries = { day: new Int32Array(total), adjClose: new Float64Array(total), volume: new Float64Array(total), vma: new Float64Array(total), acm: new Float64Array(total) };
    let at = 0;
    for (const c of chunks) {
      out.day.set(c.day, at);
      out.adjClose.set(c.cols[0]!, at);
      out.volume.set(c.cols[1]!, at);
      out.vma.set(c.cols[2]!, at);
      out.acm.set(c.cols[3]!, at);
      at += c.n;
    }
    return out;
  }

  /** Whether the snapshot has the symbol: from the cached list for the current snapshot, else one query. */
  private async symbolIn(t: TableLocation, symbol: string): Promise<boolean> {
    if (this.cached?.version === t.version) return this.cached.byName.has(symbol);
    const cur = await this.table();
    if (cur?.version === t.version) return (await this.symbols()).byName.has(symbol);
    const rows = await this.conn.run(async (db) => queryRows(db.connection, `SELECT 1 AS x FROM ${t.source} WHERE "Symbol" = ${sqlString(symbol)} LIMIT 1`));
    return rows.length > 0;
  }

  /**
   * Every row dated from `from` to `to` (inclusive) with both features and a volume, as of a
   * snapshot, ordered by Symbol, Date: a volume model's test slice (the model page's residuals).
   * A string saying why when there are none to read: no features table (or not that snapshot), or one without feature columns.
   */
  async featureRows(from: string, to: string, asOf?: string): Promise<{ vma: Float64Array; acm: Float64Array; volume: Float64Array } | string> {
    const t = await this.table(asOf);
    if (t === null) return asOf === undefined ? 'there is no features table (run `stockpipe features`)' : `the features table has no snapshot ${asOf} (vacuum may have removed it)`;
    if (!t.hasFeatures) return 'the features table has no feature columns';
    const chunks: { cols: Float64Array[]; n: number }[] = [];
    await this.conn.run((conn) => readNumericColumns(conn.connection,
      `SELECT vol_moving_avg::DOUBLE, adj_close_rolling_med::DOUBLE, "Volume"::DOUBLE FROM ${t.source}
       WHERE CAST("Date" AS DATE) BETWEEN DATE ${sqlString(from)} AND DATE ${sqlString(to)}
         AND vol_moving_avg IS NOT NULL AND adj_close_rolling_med IS NOT NULL AND "Volume" IS NOT NULL
       ORDER BY "Symbol", "Date"`,
      (c, n) => chunks.push({ cols: c.map((x) => (x as Float64Array).slice(0, n)), n })));
    const total = chunks.reduce((s, c) => s + c.n, 0);
    const out = { vma: new Float64Array(total), acm: new Float64Array(total), volume: new Float64Array(total) };
    let at = 0;
    for (const c of chunks) {
      out.vma.set(c.cols[0]!, at);
      out.acm.set(c.cols[1]!, at);
      out.volume.set(c.cols[2]!, at);
      at += c.n;
    }
    return out;
  }

  close(): void {
    this.conn.close();
  }

}
