/** @module store/export
 * `stockpipe export TABLE [--symbols A,B] [--from D] [--to D] [--as-of X] [--format csv|parquet]
 * --out FILE` (docs/store.md): one file of a table as of a snapshot, optionally narrowed to some
 * symbols and a date range, sorted by Symbol, Date, the lineage column included, for pandas users
 * and for comparisons. The dashboard's download routes write through the same function. Written
 * to a temp file beside the target and renamed (core/fs). */
import { extname } from 'node:path';
import { clip, StockpipeError } from '../core/errors.js';
import { statOrNull, withAtomicOutput } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlString } from '../db/duckdb.js';
import { EXPORT_PARQUET } from '../db/parquet-format.js';
import type { StoreTable } from '../registry/catalog.js';
import { readTable, sourceOf, type TableRead } from './read.js';

export const EXPORT_FORMATS = ['parquet', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Which rows to export: some symbols (all when absent) and dates (inclusive, YYYY-MM-DD). */
export interface ExportFilter {
  symbols?: readonly string[];
  from?: string;
  to?: string;
}

/** `stockpipe export --json` data. */
export interface ExportData {
  table: string;
  /** The store snapshot exported (null for a registry table: forecasts). */
  snapshot_id: number | null;
  created_at: string | null;
  format: ExportFormat;
  path: string;
  rows: number;
  bytes: number;
  /** The narrowing asked for (null: the whole table). */
  symbols: string[] | null;
  from: string | null;
  to: string | null;
}

/** The format an output name asks for (.parquet or .csv), or SP_ERR_USAGE; `format` (when given) must agree. */
export function exportFormat(out: string, format?: string): ExportFormat {
  const ext = extname(out).toLowerCase();
  if (format !== undefined && !(EXPORT_FORMATS as readonly string[]).includes(format)) {
    throw new StockpipeError('SP_ERR_USAGE', `--format ${format}: export writes ${EXPORT_FORMATS.join(' or ')}`, { hint: 'Give --format csv or --format parquet.' });
  }
  const byExt: ExportFormat | null = ext === '.parquet' ? 'parquet' : ext === '.csv' ? 'csv' : null;
  if (byExt === null) {
    throw new StockpipeError('SP_ERR_USAGE', `--out ${out}: the output is a .parquet or .csv file (got '${ext || 'no extension'}')`, { hint: 'Name the output FILE.parquet or FILE.csv.' });
  }
  if (format !== undefined && format !== byExt) {
    throw new StockpipeError('SP_ERR_USAGE', `--format ${format} does not match --out ${out} (a .${byExt} name)`, { hint: `Name the output FILE.${format}, or leave --format out.` });
  }
  return byExt;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks a filter's dates (real YYYY-MM-DD days, from ≤ to) and symbols (non-empty); SP_ERR_USAGE otherwise. */
export function checkExportFilter(f: ExportFilter): void {
  for (const [flag, d] of [['--from', f.from], ['--to', f.to]] as const) {
    if (d === undefined) continue;
    const t = new Date(`${d}T00:00:00Z`);
    if (!DATE.test(d) || Number.isNaN(t.getTime()) || t.toISOString().slice(0, 10) !== d) {
      throw new StockpipeError('SP_ERR_USAGE', `${flag} ${d} is not a date`, { hint: 'Give a day as YYYY-MM-DD, e.g. 2019-01-02.' });
    }
  }
  if (f.from !== undefined && f.to !== undefined && f.from > f.to) {
    throw new StockpipeError('SP_ERR_USAGE', `--from ${f.from} is after --to ${f.to}`, { hint: 'Give --from ≤ --to, or leave one out.' });
  }
  if (f.symbols !== undefined && (f.symbols.length === 0 || f.symbols.some((s) => s === ''))) {
    throw new StockpipeError('SP_ERR_USAGE', `--symbols '${f.symbols.join(',')}' names an empty symbol`, { hint: 'Give symbols separated by commas, e.g. --symbols AAPL,MSFT.' });
  }
}

/** The WHERE clause of a filter ('' when it narrows nothing). */
function whereOf(f: ExportFilter): string {
  const w: string[] = [];
  if (f.symbols !== undefined) w.push(`"Symbol" IN (${f.symbols.map(sqlString).join(', ')})`);
  if (f.from !== undefined) w.push(`"Date" >= ${sqlString(f.from)}`);
  if (f.to !== undefined) w.push(`"Date" <= ${sqlString(f.to)}`);
  return w.length === 0 ? '' : ` WHERE ${w.join(' AND ')}`;
}

/** The SQL that reads a table in export order, narrowed by `filter` (also what tests compare against). */
export function exportQuery(source: string, filter: ExportFilter = {}): string {
  return `SELECT * FROM ${source}${whereOf(filter)} ORDER BY "Symbol", "Date"`;
}

/** Symbols quoted back in a message: at most 10, each cut to 100 characters (a request's symbols may be long). */
export function clipList(symbols: readonly string[]): string {
  const cut = symbols.slice(0, 10).map((x) => clip(x));
  return `${cut.join(', ')}${symbols.length > 10 ? ` and ${symbols.length - 10} more` : ''}`;
}

/** The symbols of `filter` the table lacks → SP_ERR_SYMBOL_NOT_FOUND (a typo would otherwise export nothing). */
export async function checkSymbols(conn: Parameters<typeof queryRows>[0], t: TableRead, symbols: readonly string[] | undefined): Promise<void> {
  if (symbols === undefined) return;
  const rows = await queryRows(conn, `SELECT DISTINCT "Symbol" AS s FROM ${sourceOf(t)} WHERE "Symbol" IN (${symbols.map(sqlString).join(', ')})`);
  const have = new Set(rows.map((r) => String(r.s)));
  const missing = symbols.filter((s) => !have.has(s));
  if (missing.length > 0) {
    throw new StockpipeError('SP_ERR_SYMBOL_NOT_FOUND', `the ${t.table} table (snapshot ${t.snapshot.id}) has no symbol ${clipList(missing)}`, { hint: 'Symbols are case-sensitive (GET /symbols lists them); leave the symbols filter (--symbols, ?symbols=) out to export every symbol.' });
  }
}

/** Writes the table as of `asOf` (current when undefined), narrowed by `filter`, to `out` (an absolute path; cli/ resolves it); `outFlag`: the option that named `out` when the user chose it (`--out`: withAtomicOutput's hints). */
export async function exportTable(ws: Workspace, table: StoreTable, out: string, opts: ExportFilter & { asOf?: string; format?: string; outFlag?: string } = {}): Promise<ExportData> {
  const format = exportFormat(out, opts.format);
  checkExportFilter(opts);
  if ((await statOrNull(out))?.isDirectory()) {
    throw new StockpipeError('SP_ERR_USAGE', `--out ${out} is a folder`, { hint: 'Give a file name, e.g. --out prices.parquet.' });
  }
  const t = readTable(ws, table, opts.asOf);
  const db = await openDuckDB(ws.duckdbSettings());
  let rows = 0;
  try {
    await checkSymbols(db.connection, t, opts.symbols);
    const options = format === 'parquet' ? EXPORT_PARQUET : 'FORMAT csv, HEADER true';
    await withAtomicOutput(out, async (tmp) => {
      // COPY answers with the number of rows it wrote.
      const r = await queryRows(db.connection, `COPY (${exportQuery(sourceOf(t), opts)}) TO ${sqlString(tmp)} (${options})`);
      rows = Number(Object.values(r[0] ?? {})[0] ?? 0);
    }, opts.outFlag);
  } finally {
    db.close();
  }
  const st = await statOrNull(out);
  return {
    table, snapshot_id: t.snapshot.id, created_at: t.snapshot.created_at, format, path: out, rows, bytes: st?.size ?? 0,
    symbols: opts.symbols === undefined ? null : [...opts.symbols], from: opts.from ?? null, to: opts.to ?? null,
  };
}
