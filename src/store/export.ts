/** @module store/export
 * `stockpipe export TABLE [--as-of X] --out FILE.parquet|FILE.csv` (docs/store.md): one file of a
 * table as of a snapshot, sorted by Symbol, Date, the lineage column included, for pandas users and
 * for comparisons. Written to a temp file beside the target and renamed (core/fs). */
import { extname } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { statOrNull, withAtomicOutput } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, sqlString } from '../db/duckdb.js';
import type { StoreTable } from '../registry/catalog.js';
import { readTable, sourceOf } from './read.js';

export type ExportFormat = 'parquet' | 'csv';

/** `stockpipe export --json` data. */
export interface ExportData {
  table: StoreTable;
  snapshot_id: number;
  created_at: string;
  format: ExportFormat;
  path: string;
  rows: number;
  bytes: number;
}

/** The format an output name asks for (.parquet or .csv), or SP_ERR_USAGE. */
export function exportFormat(out: string): ExportFormat {
  const ext = extname(out).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.csv') return 'csv';
  throw new StockpipeError('SP_ERR_USAGE', `--out ${out}: export writes .parquet or .csv files (got '${ext || 'no extension'}')`, { hint: 'Name the output FILE.parquet or FILE.csv.' });
}

/** The SQL that reads a table read in export order (also what tests compare against). */
export function exportQuery(source: string): string {
  return `SELECT * FROM ${source} ORDER BY "Symbol", "Date"`;
}

/** Writes the table as of `asOf` (current when undefined) to `out` (an absolute path; cli/ resolves it). */
export async function exportTable(ws: Workspace, table: StoreTable, out: string, opts: { asOf?: string } = {}): Promise<ExportData> {
  const format = exportFormat(out);
  const target = out;
  const t = readTable(ws, table, opts.asOf);
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    const options = format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : 'FORMAT csv, HEADER true';
    await withAtomicOutput(target, async (tmp) => {
      await db.connection.run(`COPY (${exportQuery(sourceOf(t))}) TO ${sqlString(tmp)} (${options})`);
    });
  } finally {
    db.close();
  }
  const st = await statOrNull(target);
  return { table, snapshot_id: t.snapshot.id, created_at: t.snapshot.created_at, format, path: target, rows: t.snapshot.rows, bytes: st?.size ?? 0 };
}
