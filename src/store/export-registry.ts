/** @module store/export-registry
 * The registry's tables that the Data view and `stockpipe export` show next to the store's:
 * `forecasts` (the day-ahead forecasts, SQLite, not versioned by snapshots). Their columns with
 * types, a page of rows, exact counts, and an export to CSV or Parquet: the rows are read from the
 * registry in keyset pages into newline-delimited JSON under tmp/, then DuckDB types, sorts and
 * writes them (COPY), so a CSV and a Parquet file look like a store table's. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { scratchFolder, scratchName, statOrNull, withAtomicOutput, withScratch } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlIdent, sqlString } from '../db/duckdb.js';
import { EXPORT_PARQUET } from '../db/parquet-format.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { checkExportFilter, clipList, type ExportData, exportFormat, type ExportFilter } from './export.js';

export const REGISTRY_TABLES = ['forecasts'] as const;
export type RegistryTable = (typeof REGISTRY_TABLES)[number];

/** Columns as DuckDB types them on export (the SQLite table's, in its order). */
const COLUMNS: Record<RegistryTable, { name: string; type: string }[]> = {
  forecasts: [
    { name: 'model_id', type: 'VARCHAR' }, { name: 'symbol', type: 'VARCHAR' }, { name: 'asof_date', type: 'VARCHAR' }, { name: 'target_date', type: 'VARCHAR' },
    { name: 'adj_close', type: 'DOUBLE' }, { name: 'volume', type: 'DOUBLE' }, { name: 'last_adj_close', type: 'DOUBLE' }, { name: 'last_volume', type: 'DOUBLE' },
    { name: 'created_at', type: 'VARCHAR' }, { name: 'run_id', type: 'VARCHAR' },
  ],
};
/** Each table's symbol and date columns (what --symbols and --from/--to narrow) and its order. */
const KEYS: Record<RegistryTable, { symbol: string; date: string; order: string[] }> = {
  forecasts: { symbol: 'symbol', date: 'target_date', order: ['symbol', 'target_date', 'model_id'] },
};

export function isRegistryTable(name: string): name is RegistryTable {
  return (REGISTRY_TABLES as readonly string[]).includes(name);
}

export function registryColumns(table: RegistryTable): { name: string; type: string }[] {
  return COLUMNS[table];
}

function where(table: RegistryTable, f: ExportFilter): { sql: string; params: unknown[] } {
  const k = KEYS[table];
  const w: string[] = [];
  const params: unknown[] = [];
  if (f.symbols !== undefined && f.symbols.length > 0) {
    w.push(`${k.symbol} IN (${f.symbols.map(() => '?').join(', ')})`);
    params.push(...f.symbols);
  }
  if (f.from !== undefined) { w.push(`${k.date} >= ?`); params.push(f.from); }
  if (f.to !== undefined) { w.push(`${k.date} <= ?`); params.push(f.to); }
  return { sql: w.length === 0 ? '' : ` WHERE ${w.join(' AND ')}`, params };
}

/** Exact rows, symbols, dates and date range of a registry table. */
export function registrySummary(reg: Registry, table: RegistryTable): { rows: number; symbols: number; dates: number; date_min: string | null; date_max: string | null } {
  const k = KEYS[table];
  const r = reg.get<{ n: number; s: number; d: number; lo: string | null; hi: string | null }>('summarise a registry table',
    `SELECT count(*) AS n, count(DISTINCT ${k.symbol}) AS s, count(DISTINCT ${k.date}) AS d, min(${k.date}) AS lo, max(${k.date}) AS hi FROM ${table}`)!;
  return { rows: r.n, symbols: r.s, dates: r.d, date_min: r.lo, date_max: r.hi };
}

/** A page of a registry table's rows (arrays in column order) in its export order, and the rows the filter keeps. */
export function registryRows(reg: Registry, table: RegistryTable, f: ExportFilter, offset: number, limit: number): { columns: { name: string; type: string }[]; rows: unknown[][]; total: number } {
  const cols = COLUMNS[table];
  const w = where(table, f);
  const total = reg.get<{ n: number }>('count registry rows', `SELECT count(*) AS n FROM ${table}${w.sql}`, w.params)!.n;
  const rows = reg.all<Record<string, unknown>>('read registry rows',
    `SELECT ${cols.map((c) => c.name).join(', ')} FROM ${table}${w.sql} ORDER BY ${KEYS[table].order.join(', ')} LIMIT ? OFFSET ?`, [...w.params, limit, offset]);
  return { columns: cols, rows: rows.map((r) => cols.map((c) => r[c.name] ?? null)), total };
}

const PAGE = 50_000;

/** Writes a registry table (narrowed by `opts`) to `out` as CSV or Parquet (temp file + rename). */
export async function exportRegistryTable(ws: Workspace, table: RegistryTable, out: string, opts: ExportFilter & { format?: string; outFlag?: string } = {}): Promise<ExportData> {
  const format = exportFormat(out, opts.format);
  checkExportFilter(opts);
  if ((await statOrNull(out))?.isDirectory()) throw new StockpipeError('SP_ERR_USAGE', `--out ${out} is a folder`, { hint: 'Give a file name, e.g. --out forecasts.csv.' });
  const cols = COLUMNS[table];
  const k = KEYS[table];
  return withScratch(join(await scratchFolder(ws.tmpDir), scratchName('export', 'ndjson')), async (json) => {
    const reg = openRegistry(ws, { readonly: true });
    let rows = 0;
    try {
      const w = where(table, opts);
      if (opts.symbols !== undefined) {
        const have = new Set(reg.all<{ s: string }>('check symbols', `SELECT DISTINCT ${k.symbol} AS s FROM ${table}${w.sql}`, w.params).map((r) => r.s));
        const missing = opts.symbols.filter((s) => !have.has(s));
        if (missing.length > 0) throw new StockpipeError('SP_ERR_SYMBOL_NOT_FOUND', `the ${table} table has no rows for ${clipList(missing)}${opts.from || opts.to ? ' in that date range' : ''}`, { hint: 'Symbols are case-sensitive; leave the symbols filter (--symbols, ?symbols=) out to export every symbol, or widen the dates (--from/--to, ?from=&to=).' });
      }
      await withAtomicOutput(json, async (tmp) => {
        const file = createWriteStream(tmp);
        // Keyset pages in export order: memory stays one page whatever the table's size.
        let after: unknown[] | null = null;
        for (;;) {
          const keyWhere: string = after === null ? '' : `${w.sql === '' ? ' WHERE' : ' AND'} (${k.order.join(', ')}) > (${k.order.map(() => '?').join(', ')})`;
          const page: Record<string, unknown>[] = reg.all<Record<string, unknown>>('export registry rows',
            `SELECT ${cols.map((c) => c.name).join(', ')} FROM ${table}${w.sql}${keyWhere} ORDER BY ${k.order.join(', ')} LIMIT ${PAGE}`, [...w.params, ...(after ?? [])]);
          if (page.length === 0) break;
          const text = `${page.map((r) => JSON.stringify(r)).join('\n')}\n`;
          if (!file.write(text)) await once(file, 'drain');
          rows += page.length;
          const last = page[page.length - 1]!;
          after = k.order.map((c) => last[c]);
          if (page.length < PAGE) break;
        }
        file.end();
        await once(file, 'close');
      });
    } finally {
      reg.close();
    }
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const types = `{${cols.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
      const source = rows === 0
        ? `(SELECT ${cols.map((c) => `NULL::${c.type} AS ${sqlIdent(c.name)}`).join(', ')} LIMIT 0)`
        : `read_json(${sqlString(json)}, format = 'newline_delimited', columns = ${types})`;
      const options = format === 'parquet' ? EXPORT_PARQUET : 'FORMAT csv, HEADER true';
      await withAtomicOutput(out, async (tmp) => {
        await queryRows(db.connection, `COPY (SELECT ${cols.map((c) => sqlIdent(c.name)).join(', ')} FROM ${source} ORDER BY ${k.order.map(sqlIdent).join(', ')}) TO ${sqlString(tmp)} (${options})`);
      }, opts.outFlag);
    } finally {
      db.close();
    }
    const st = await statOrNull(out);
    return { table, snapshot_id: null, created_at: null, format, path: out, rows, bytes: st?.size ?? 0, symbols: opts.symbols === undefined ? null : [...opts.symbols], from: opts.from ?? null, to: opts.to ?? null };
  });
}
