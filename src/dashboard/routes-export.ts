/** @module dashboard/routes-export
 * The Data view's table routes and the downloads (docs/api.md): `GET /tables` (each store table's
 * current snapshot: schema with types, exact row / symbol / date counts), `GET /tables/:table/rows`
 * (a page of rows in Symbol, Date order, narrowed by symbols and dates), `GET /snapshots` (the
 * store's catalog) and `GET /export/:table` (the same rows as a CSV or Parquet download, written by
 * store/export — the function behind `stockpipe export` — into a temp file under tmp/ and streamed,
 * then removed). The registry's forecasts table is listed, previewed and exported the same way
 * (store/export-registry). DuckDB is db/'s; which files a snapshot reads is store/read's. All reads. */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clip, StockpipeError } from '../core/errors.js';
import { scratchFolder, scratchName } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { TablePreviewReader } from '../db/table-preview.js';
import { checkAsOf, checkDateRange } from '../http/validation.js';
import { listSnapshotsReadable, STORE_TABLES, type StoreTable } from '../registry/catalog.js';
import type { RegistryReader } from '../registry/reader.js';
import { EXPORT_FORMATS, type ExportData, exportTable, type ExportFormat } from '../store/export.js';
import { exportRegistryTable, isRegistryTable, REGISTRY_TABLES, registryColumns, registryRows, registrySummary } from '../store/export-registry.js';
import { onDiskIn, sourceOf, tableAt, type TableRead } from '../store/read.js';

/** The store's tables, then the registry's (forecasts). */
const TABLE = { type: 'string', enum: [...STORE_TABLES, ...REGISTRY_TABLES] } as const;
const AS_OF = { type: 'string', minLength: 1, maxLength: 40, description: 'A snapshot id or an ISO-8601 time: the table as it was then (stockpipe snapshots)' } as const;
/** A `symbols` query parameter: comma-separated symbols, none empty and none with a control
 * character (a NUL cannot reach a DuckDB string literal; no symbol has one). */
export const SYMBOLS_QUERY = { type: 'string', minLength: 1, maxLength: 2000, pattern: '^[^,\\u0000-\\u001f\\u007f]+(,[^,\\u0000-\\u001f\\u007f]+)*$', description: 'Comma-separated symbols (default: all); no control characters' } as const;
/** The narrowing both the preview and the download take (the CLI's --symbols, --from, --to). */
const FILTER = {
  symbols: SYMBOLS_QUERY,
  from: { type: 'string', format: 'date' },
  to: { type: 'string', format: 'date' },
  as_of: AS_OF,
} as const;

interface FilterQuery {
  symbols?: string;
  from?: string;
  to?: string;
  as_of?: string;
}

const MIME: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8', parquet: 'application/vnd.apache.parquet' };

/** A `symbols` query value as its symbols (trimmed, each once); one left empty by the trim (`symbols=%20`,
 * `A, ,B`) is a 400 naming it: read as a symbol '' it matched no row, and the preview's page cache took it for no filter. */
export function symbolsOf(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const symbols = [...new Set(text.split(',').map((s) => s.trim()))];
  if (symbols.includes('')) throw new StockpipeError('SP_ERR_BAD_REQUEST', `symbols '${clip(text)}' names an empty symbol`, { hint: 'Give symbols separated by commas, e.g. symbols=AAPL,MSFT (GET /symbols lists them), or leave symbols out for all of them.' });
  return symbols;
}

/** The filter of a query, checked (dates in order, as_of parseable, no empty symbol). */
function filterOf(q: FilterQuery): { symbols?: string[]; from?: string; to?: string; asOf?: string } {
  checkDateRange(q.from, q.to);
  checkAsOf(q.as_of);
  return { symbols: symbolsOf(q.symbols), from: q.from, to: q.to, asOf: q.as_of };
}

/** A registry table has no snapshots: as_of on it is a 400. */
function noAsOf(table: string, asOf: string | undefined): void {
  if (asOf !== undefined) throw new StockpipeError('SP_ERR_BAD_REQUEST', `as_of: the ${table} table lives in the registry and has no snapshots`, { hint: 'Leave as_of out; narrow it with from/to.' });
}

/** Writes a download into a temp file under tmp/ (or the system's: core/fs scratchFolder) with `write` (removed if it fails),
 * then streams it as an attachment named `filename` with its length and `headers`, and removes it once
 * sent (or the client went away). */
export async function sendExport(ws: Workspace, reply: FastifyReply, format: ExportFormat, filename: string, write: (tmp: string) => Promise<{ bytes: number; headers: Record<string, string> }>): Promise<FastifyReply> {
  const tmp = join(await scratchFolder(ws.tmpDir), scratchName('export', format));
  let out;
  try {
    out = await write(tmp);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const stream = createReadStream(tmp);
  stream.once('close', () => void rm(tmp, { force: true }));
  return reply
    .type(MIME[format])
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('content-length', String(out.bytes))
    .headers(out.headers)
    .header('cache-control', 'no-store')
    .send(stream);
}

/** The file name a download is offered as: table, symbols (up to 3), range. */
export function downloadName(table: string, f: { symbols?: readonly string[]; from?: string; to?: string }, format: ExportFormat): string {
  const parts = [table];
  if (f.symbols !== undefined) parts.push(f.symbols.length <= 3 ? f.symbols.join('-') : `${f.symbols.length}-symbols`);
  if (f.from !== undefined || f.to !== undefined) parts.push(`${f.from ?? 'start'}_${f.to ?? 'end'}`);
  return `${parts.join('_').replace(/[^A-Za-z0-9._-]/g, '_')}.${format}`;
}

export function registerExportRoutes(app: FastifyInstance, opts: { ws: Workspace; registry: RegistryReader }): void {
  const ws = opts.ws.withResources({ threads: 1 });
  const preview = new TablePreviewReader(ws);
  app.addHook('onClose', async () => preview.close());
  const at = (table: StoreTable, asOf?: string): TableRead => opts.registry.read((reg) => tableAt(ws, reg, table, asOf));

  app.get('/tables', {
    schema: { summary: 'Each store table\'s snapshot (now, or as of as_of): columns with their types and exact rows, symbols, dates and date range (null for a table not built yet)', querystring: { type: 'object', properties: { as_of: AS_OF }, additionalProperties: false } },
  }, async (req: FastifyRequest) => {
    const { as_of: asOf } = req.query as { as_of?: string };
    checkAsOf(asOf);
    const tables = [];
    for (const table of STORE_TABLES) {
      const t = opts.registry.read((reg) => {
        try {
          return tableAt(ws, reg, table, asOf);
        } catch (err) {
          // A table not built yet (or not yet as of then) is listed empty; other failures are errors.
          if ((err as { code?: string }).code === 'SP_ERR_PRICES_MISSING' || (err as { code?: string }).code === 'SP_ERR_FEATURES_MISSING') return null;
          throw err;
        }
      });
      if (t === null) {
        tables.push({ table, source: 'store', snapshot: null });
        continue;
      }
      const s = await preview.summary(sourceOf(t), `${table}@${t.snapshot.id}`);
      const bytes = t.files.reduce((n, f) => n + f.bytes, 0);
      tables.push({ table, source: 'store', snapshot: { id: t.snapshot.id, created_at: t.snapshot.created_at, operation: t.snapshot.operation, files: t.files.length, bytes }, ...s });
    }
    // The registry's tables (not versioned: the same whatever as_of).
    for (const table of REGISTRY_TABLES) tables.push({ table, source: 'registry', snapshot: null, columns: registryColumns(table), ...opts.registry.read((reg) => registrySummary(reg, table)) });
    return { as_of: asOf ?? null, tables };
  });

  app.get('/tables/:table/rows', {
    schema: {
      summary: 'A page of a store table\'s rows in Symbol, Date order (optionally some symbols and dates), with the columns and the number of matching rows',
      params: { type: 'object', properties: { table: TABLE }, required: ['table'] },
      querystring: {
        type: 'object',
        properties: { ...FILTER, offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 25 } },
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest) => {
    const { table } = req.params as { table: string };
    const q = req.query as FilterQuery & { offset: number; limit: number };
    const f = filterOf(q);
    if (isRegistryTable(table)) noAsOf(table, f.asOf);
    if (isRegistryTable(table)) return { table, snapshot_id: null, offset: q.offset, limit: q.limit, ...opts.registry.read((reg) => registryRows(reg, table, f, q.offset, q.limit)) };
    const t = at(table as StoreTable, f.asOf);
    const page = await preview.rows(sourceOf(t), `${table}@${t.snapshot.id}`, f, q.offset, q.limit);
    return { table, snapshot_id: t.snapshot.id, offset: q.offset, limit: q.limit, ...page };
  });

  app.get('/snapshots', {
    schema: {
      summary: 'The store\'s snapshots, newest first (stockpipe snapshots): id, table, created_at, operation, rows, files, parent_id, readable (false: vacuum deleted a file it needs, or one it lists is missing from disk: missing_file)',
      // The store's tables only: the registry's forecasts table has no snapshots (`stockpipe snapshots forecasts` is a usage error too).
      querystring: { type: 'object', properties: { table: { type: 'string', enum: [...STORE_TABLES] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }, additionalProperties: false },
    },
  }, (req: FastifyRequest) => {
    const q = req.query as { table?: StoreTable; limit: number };
    return { snapshots: opts.registry.read((reg) => listSnapshotsReadable(reg, q.table, { limit: q.limit, onDisk: onDiskIn(ws) })) };
  });

  app.get('/export/:table', {
    schema: {
      summary: 'A store table (optionally some symbols and dates, as of a snapshot) as one CSV or Parquet download, sorted by Symbol, Date, the _snapshot_id column included: what `stockpipe export` writes',
      params: { type: 'object', properties: { table: TABLE }, required: ['table'] },
      querystring: { type: 'object', properties: { ...FILTER, format: { type: 'string', enum: [...EXPORT_FORMATS], default: 'csv' } }, additionalProperties: false },
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const { table } = req.params as { table: string };
    const q = req.query as FilterQuery & { format: ExportFormat };
    const f = filterOf(q);
    if (isRegistryTable(table)) noAsOf(table, f.asOf);
    return sendExport(ws, reply, q.format, downloadName(table, f, q.format), async (tmp) => {
      const data: ExportData = isRegistryTable(table) ? await exportRegistryTable(ws, table, tmp, { ...f, format: q.format }) : await exportTable(ws, table as StoreTable, tmp, { ...f, format: q.format });
      return { bytes: data.bytes, headers: { 'x-snapshot-id': data.snapshot_id === null ? 'none' : String(data.snapshot_id), 'x-rows': String(data.rows) } };
    });
  });
}
