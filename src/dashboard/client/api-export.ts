/** @module dashboard/client/api-export
 * The Data view's and the downloads' calls (GET /tables, /tables/:table/rows, /snapshots,
 * /export/:table) and the `stockpipe export` command line that writes the same file as a download
 * (shown next to each download button). */
import { getJson } from './api.js';

export interface ColumnType {
  name: string;
  type: string;
}

/** GET /tables: one store table's current snapshot (null when not built yet) with exact counts. */
export interface TableInfo {
  table: string;
  /** store: a versioned Parquet table; registry: a table of stockpipe.db (forecasts), no snapshots. */
  source?: 'store' | 'registry';
  snapshot: { id: number; created_at: string; operation: string; files: number; bytes: number } | null;
  columns?: ColumnType[];
  rows?: number;
  symbols?: number;
  dates?: number;
  date_min?: string | null;
  date_max?: string | null;
}

export interface RowPage {
  table: string;
  snapshot_id: number;
  offset: number;
  limit: number;
  total: number;
  columns: ColumnType[];
  rows: unknown[][];
}

export interface SnapshotInfo {
  id: number;
  table: string;
  parent_id: number | null;
  created_at: string;
  operation: string;
  rows: number;
  files: number;
  /** false: vacuum deleted a file it needs, or one it lists is missing from disk (missing_file). */
  readable?: boolean;
  missing_file?: string | null;
}

/** Which rows of a table: some symbols (all when absent) and an inclusive date range. */
export interface RowFilter {
  symbols?: readonly string[];
  from?: string;
  to?: string;
}

export type ExportFormat = 'csv' | 'parquet';

function filterQuery(f: RowFilter): URLSearchParams {
  const q = new URLSearchParams();
  if (f.symbols !== undefined && f.symbols.length > 0) q.set('symbols', f.symbols.join(','));
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  return q;
}

export function getTables(signal?: AbortSignal): Promise<{ tables: TableInfo[] }> {
  return getJson('/tables', signal);
}

export function getRows(table: string, f: RowFilter, offset: number, limit: number, signal?: AbortSignal): Promise<RowPage> {
  const q = filterQuery(f);
  q.set('offset', String(offset));
  q.set('limit', String(limit));
  return getJson(`/tables/${encodeURIComponent(table)}/rows?${q}`, signal);
}

export function getSnapshots(signal?: AbortSignal): Promise<{ snapshots: SnapshotInfo[] }> {
  return getJson('/snapshots?limit=50', signal);
}

/** The download URL of a table's rows. */
export function exportUrl(table: string, f: RowFilter, format: ExportFormat): string {
  const q = filterQuery(f);
  q.set('format', format);
  return `/export/${encodeURIComponent(table)}?${q}`;
}

/** The file name the server offers (GET /export's content-disposition, same rule). */
export function exportFileName(table: string, f: RowFilter, format: ExportFormat): string {
  const parts = [table];
  if (f.symbols !== undefined && f.symbols.length > 0) parts.push(f.symbols.length <= 3 ? f.symbols.join('-') : `${f.symbols.length}-symbols`);
  if (f.from || f.to) parts.push(`${f.from || 'start'}_${f.to || 'end'}`);
  return `${parts.join('_').replace(/[^A-Za-z0-9._-]/g, '_')}.${format}`;
}

/** A shell word: bare when safe, else single-quoted. */
const word = (s: string): string => (/^[A-Za-z0-9._,:/=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** The `stockpipe export` command that writes the same file as `exportUrl` (run in the served workspace). */
export function exportCommand(table: string, f: RowFilter, format: ExportFormat): string {
  const args = ['stockpipe', 'export', table];
  if (f.symbols !== undefined && f.symbols.length > 0) args.push('--symbols', f.symbols.join(','));
  if (f.from) args.push('--from', f.from);
  if (f.to) args.push('--to', f.to);
  args.push('--format', format, '--out', exportFileName(table, f, format));
  return args.map(word).join(' ');
}
