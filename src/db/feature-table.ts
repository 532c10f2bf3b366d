/** @module db/feature-table
 * Read-only access to the features table (features/features.parquet, or tables/prices.parquet when
 * features were not built) for the dashboard: the symbol list, computed once per file version
 * (size + mtime) and cached, and one symbol's series as typed arrays (nulls → NaN). One lazily
 * opened DuckDB, queries serialised on its connection. Downsampling and scoring live in dashboard/. */
import { statOrNull } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlString, type DuckDB } from './duckdb.js';
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

interface TableFile {
  path: string;
  hasFeatures: boolean;
  version: string;
}

export class FeatureTableReader {
  private db: Promise<DuckDB> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private cached: { version: string; list: SymbolInfo[]; byName: Map<string, SymbolInfo> } | null = null;

  /** DuckDB runs with the workspace's settings (the server's memory limit and threads). */
  constructor(private readonly ws: Workspace) {}

  /** The file the dashboard reads now, or null when neither table exists. */
  async table(): Promise<TableFile | null> {
    for (const [path, hasFeatures] of [[this.ws.featuresTable, true], [this.ws.pricesTable, false]] as const) {
      const s = await statOrNull(path);
      if (s?.isFile()) return { path, hasFeatures, version: `${path}:${s.size}:${s.mtimeMs}` };
    }
    return null;
  }

  /** Every symbol, sorted; computed once per file version. */
  async symbols(): Promise<{ list: SymbolInfo[]; byName: Map<string, SymbolInfo> }> {
    const t = await this.table();
    if (t === null) return { list: [], byName: new Map() };
    if (this.cached?.version === t.version) return this.cached;
    const rows = await this.serial(async (conn) => queryRows(conn.connection,
      `SELECT "Symbol" AS symbol, any_value("Security Name") AS name, any_value("Asset") AS asset, count(*)::BIGINT AS n,
         min("Date")::VARCHAR AS date_min, max("Date")::VARCHAR AS date_max
       FROM read_parquet(${sqlString(t.path)}) GROUP BY "Symbol" ORDER BY "Symbol"`));
    const list: SymbolInfo[] = rows.map((r) => ({
      symbol: String(r.symbol), name: r.name === null ? null : String(r.name), asset: r.asset === null ? null : String(r.asset),
      rows: Number(r.n), date_min: String(r.date_min), date_max: String(r.date_max),
    }));
    this.cached = { version: t.version, list, byName: new Map(list.map((s) => [s.symbol, s])) };
    return this.cached;
  }

  /** One symbol's rows between two dates (inclusive, either optional); null for an unknown symbol. */
  async series(symbol: string, from?: string, to?: string): Promise<SymbolSeries | null> {
    const t = await this.table();
    const info = (await this.symbols()).byName.get(symbol);
    if (t === null || info === undefined) return null;
    const feats = t.hasFeatures ? 'coalesce(vol_moving_avg, \'NaN\'::DOUBLE), coalesce(adj_close_rolling_med, \'NaN\'::DOUBLE)' : '\'NaN\'::DOUBLE, \'NaN\'::DOUBLE';
    const where = [`"Symbol" = ${sqlString(symbol)}`];
    if (from !== undefined) where.push(`CAST("Date" AS DATE) >= DATE ${sqlString(from)}`);
    if (to !== undefined) where.push(`CAST("Date" AS DATE) <= DATE ${sqlString(to)}`);
    const chunks: { cols: Float64Array[]; day: Int32Array; n: number }[] = [];
    await this.serial((conn) => readNumericColumns(conn.connection,
      `SELECT CAST("Date" AS DATE), coalesce("Adj Close", 'NaN'::DOUBLE), coalesce("Volume"::DOUBLE, 'NaN'::DOUBLE), ${feats}
       FROM read_parquet(${sqlString(t.path)}) WHERE ${where.join(' AND ')} ORDER BY 1`,
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

  close(): void {
    const db = this.db;
    this.db = null;
    // An open that failed has nothing to close; its error already went to the query that started it.
    if (db) void db.then((d) => d.close(), () => {});
  }

  /** Runs `fn` after every earlier query on the one connection has finished. */
  private serial<T>(fn: (db: DuckDB) => Promise<T>): Promise<T> {
    this.db ??= openDuckDB(this.ws.duckdbSettings());
    const db = this.db;
    const next = this.queue.then(async () => fn(await db));
    this.queue = next.catch(() => {}); // the caller gets `next`'s error; the queue only waits for it to settle
    return next;
  }
}
