/** @module db/table-preview
 * Read-only looks into a table snapshot for the dashboard's Data view: its schema (DuckDB's
 * column types), a page of rows in (Symbol, Date) order, optionally narrowed to some symbols and
 * dates, and exact summary counts (rows, distinct symbols and dates, date range) cached per
 * snapshot. Which files make the snapshot is the caller's (a DuckDB table expression from
 * store/read); one lazily opened DuckDB, queries serialised on its connection. */
import type { Workspace } from '../core/workspace.js';
import { queryRows, sqlString, type DuckDB } from './duckdb.js';
import { SerialDuckDB } from './serial-duckdb.js';

export interface ColumnType {
  name: string;
  type: string;
}

/** Exact counts of one snapshot (count(DISTINCT) on Symbol and Date: cheap next to a scan of the values). */
export interface TableSummary {
  columns: ColumnType[];
  rows: number;
  symbols: number;
  dates: number;
  date_min: string | null;
  date_max: string | null;
}

export interface RowFilter {
  symbols?: readonly string[];
  from?: string;
  to?: string;
}

export interface RowPage {
  columns: ColumnType[];
  /** Each row's values in column order (JSON: BIGINT beyond 2^53 as text, dates as YYYY-MM-DD). */
  rows: unknown[][];
  /** Rows matching the filter. */
  total: number;
}

function where(f: RowFilter): string {
  const w: string[] = [];
  if (f.symbols !== undefined && f.symbols.length > 0) w.push(`"Symbol" IN (${f.symbols.map(sqlString).join(', ')})`);
  if (f.from !== undefined) w.push(`"Date" >= ${sqlString(f.from)}`);
  if (f.to !== undefined) w.push(`"Date" <= ${sqlString(f.to)}`);
  return w.length === 0 ? '' : ` WHERE ${w.join(' AND ')}`;
}

export class TablePreviewReader {
  private readonly conn: SerialDuckDB;
  private readonly summaries = new Map<string, TableSummary>();
  private readonly counts = new Map<string, { symbol: string; n: number }[]>();

  constructor(ws: Workspace) {
    this.conn = new SerialDuckDB(() => ws.duckdbSettings());
  }

  /** The columns and exact counts of the snapshot `version` read through `source` (cached per version; the last 16 kept). */
  async summary(source: string, version: string): Promise<TableSummary> {
    const hit = this.summaries.get(version);
    if (hit) return hit;
    const out = await this.conn.run(async (db) => {
      const columns = await this.describe(db, source);
      const [r] = await queryRows(db.connection,
        `SELECT count(*)::BIGINT AS n, count(DISTINCT "Symbol")::BIGINT AS s, count(DISTINCT "Date")::BIGINT AS d, min("Date")::VARCHAR AS lo, max("Date")::VARCHAR AS hi FROM ${source}`);
      return {
        columns, rows: Number(r!.n), symbols: Number(r!.s), dates: Number(r!.d),
        date_min: r!.lo === null ? null : String(r!.lo), date_max: r!.hi === null ? null : String(r!.hi),
      };
    });
    if (this.summaries.size >= 16) this.summaries.delete(this.summaries.keys().next().value!);
    this.summaries.set(version, out);
    return out;
  }

  /** Rows `offset`… (at most `limit`) in (Symbol, Date) order, with the number of rows the filter keeps.
   * The page is found through the rows per symbol (cached per snapshot and filter): only the few
   * symbols it spans are read and sorted, so a deep page costs what the first one does. */
  async rows(source: string, version: string, f: RowFilter, offset: number, limit: number): Promise<RowPage> {
    const counts = await this.symbolCounts(source, version, f);
    const total = counts.reduce((n, c) => n + c.n, 0);
    const span: string[] = [];
    let skip = offset;
    let at = 0;
    for (const c of counts) {
      if (at + c.n <= offset) {
        at += c.n;
        continue;
      }
      if (span.length === 0) skip = offset - at;
      span.push(c.symbol);
      at += c.n;
      if (at >= offset + limit) break;
    }
    return this.conn.run(async (db) => {
      const columns = await this.describe(db, source);
      if (span.length === 0) return { columns, rows: [], total };
      const w = where({ ...f, symbols: span });
      const reader = await db.connection.runAndReadAll(`SELECT * FROM ${source}${w} ORDER BY "Symbol", "Date" LIMIT ${limit} OFFSET ${skip}`);
      return { columns, rows: reader.getRowsJson() as unknown[][], total };
    });
  }

  /** Rows per symbol (sorted by symbol) that the filter keeps; the last 16 (snapshot, filter) pairs cached. */
  private async symbolCounts(source: string, version: string, f: RowFilter): Promise<{ symbol: string; n: number }[]> {
    // JSON: a joined key read the symbol '' as no filter (and 'A,B' as A and B).
    const key = JSON.stringify([version, f.symbols ?? null, f.from ?? null, f.to ?? null]);
    const hit = this.counts.get(key);
    if (hit) return hit;
    const rows = await this.conn.run(async (db) => queryRows(db.connection, `SELECT "Symbol" AS s, count(*)::BIGINT AS n FROM ${source}${where(f)} GROUP BY 1 ORDER BY 1`));
    const out = rows.map((r) => ({ symbol: String(r.s), n: Number(r.n) }));
    if (this.counts.size >= 16) this.counts.delete(this.counts.keys().next().value!);
    this.counts.set(key, out);
    return out;
  }

  close(): void {
    this.conn.close();
  }

  private async describe(db: DuckDB, source: string): Promise<ColumnType[]> {
    const rows = await queryRows(db.connection, `DESCRIBE SELECT * FROM ${source}`);
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  }

}
