/** @module db/table-preview
 * Read-only looks into a table snapshot for the dashboard's Data view: its schema (DuckDB's
 * column types), a page of rows in (Symbol, Date) order, optionally narrowed to some symbols and
 * dates, and exact summary counts (rows, distinct symbols and dates, date range) cached per
 * snapshot. Which files make the snapshot is the caller's (a DuckDB table expression from
 * store/read); one lazily opened DuckDB, queries serialised on its connection. */
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlString, type DuckDB } from './duckdb.js';

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
  private db: Promise<DuckDB> | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly summaries = new Map<string, TableSummary>();

  constructor(private readonly ws: Workspace) {}

  /** The columns and exact counts of the snapshot `version` read through `source` (cached per version; the last 16 kept). */
  async summary(source: string, version: string): Promise<TableSummary> {
    const hit = this.summaries.get(version);
    if (hit) return hit;
    const out = await this.serial(async (db) => {
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

  /** Rows `offset`… (at most `limit`) in (Symbol, Date) order, with the number of rows the filter keeps. */
  async rows(source: string, f: RowFilter, offset: number, limit: number): Promise<RowPage> {
    return this.serial(async (db) => {
      const columns = await this.describe(db, source);
      const w = where(f);
      const [n] = await queryRows(db.connection, `SELECT count(*)::BIGINT AS n FROM ${source}${w}`);
      const reader = await db.connection.runAndReadAll(`SELECT * FROM ${source}${w} ORDER BY "Symbol", "Date" LIMIT ${limit} OFFSET ${offset}`);
      const rows = reader.getRowsJson() as unknown[][];
      return { columns, rows, total: Number(n!.n) };
    });
  }

  close(): void {
    const db = this.db;
    this.db = null;
    // An open that failed has nothing to close; its error already went to the query that started it.
    if (db) void db.then((d) => d.close(), () => {});
  }

  private async describe(db: DuckDB, source: string): Promise<ColumnType[]> {
    const rows = await queryRows(db.connection, `DESCRIBE SELECT * FROM ${source}`);
    return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
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
