/** @module store/read
 * Reading a table as of a snapshot (docs/store.md): the catalog names the snapshot and its live
 * files; readers scan exactly those files (under store/, never removed while a kept snapshot needs
 * them), so a read is consistent while another snapshot is written. `--as-of` picks an older one. */
import { statSync } from 'node:fs';
import { type ErrorCode, StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { sqlPath } from '../db/duckdb.js';
import { type AsOf, currentSnapshot, type DataFileRecord, getSnapshot, liveFiles, parseAsOf, type SnapshotRecord, snapshotAsOf, type StoreTable } from '../registry/catalog.js';
import { noteSnapshotRead } from '../registry/run-scope.js';
import { openRegistry, type Registry } from '../registry/store.js';

/** A table as of one snapshot: the snapshot, its live files and their absolute paths. */
export interface TableRead {
  table: StoreTable;
  snapshot: SnapshotRecord;
  files: DataFileRecord[];
  paths: string[];
}

export interface ReadOptions {
  /** The code of the error when the table has no snapshot (default SP_ERR_PRICES_MISSING / SP_ERR_FEATURES_MISSING). */
  missingCode?: ErrorCode;
}

/** `other`: the snapshot an id given as --as-of names when it is another table's (ids are one sequence for the store). */
function missing(ws: Workspace, table: StoreTable, asOf: string | undefined, code?: ErrorCode, other?: SnapshotRecord | null): StockpipeError {
  code ??= table === 'prices' ? 'SP_ERR_PRICES_MISSING' : 'SP_ERR_FEATURES_MISSING';
  const step = table === 'prices' ? 'stockpipe ingest' : 'stockpipe features';
  const whose = other && other.table !== table ? ` (snapshot ${other.id} is the ${other.table} table's: snapshot ids are one sequence for the store, and the ${table} table's first came later)` : '';
  return asOf === undefined
    ? new StockpipeError(code, `the ${table} table (${ws.tableDir(table)}) has no snapshot yet`, { hint: `Run \`${step}\` first.` })
    : new StockpipeError(code, `the ${table} table (${ws.tableDir(table)}) had no snapshot as of ${asOf}${whose}`, { hint: `List the snapshots with \`stockpipe snapshots ${table}\`; pick a later one.` });
}

/**
 * `--as-of` as an error names it: the text as given, and the instant it was read as when that differs
 * (a date alone is 00:00 UTC of that day, which a snapshot written later that day is after).
 */
export function asOfLabel(asOf: string | AsOf | undefined, parsed: AsOf | undefined): string | undefined {
  if (asOf === undefined || parsed === undefined) return undefined;
  if (typeof asOf !== 'string') return 'snapshot' in asOf ? `snapshot ${asOf.snapshot}` : asOf.time.toISOString();
  if (!('time' in parsed)) return asOf;
  const iso = parsed.time.toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(asOf)) return `${asOf} (read as ${iso}: a date alone is the start of that day in UTC)`;
  return asOf === iso ? asOf : `${asOf} (${iso})`;
}

/** The table as of `asOf` (text as the user gave it; undefined = current), through an open registry. */
export function tableAt(ws: Workspace, reg: Registry, table: StoreTable, asOf?: string | AsOf, opts: ReadOptions = {}): TableRead {
  const parsed = typeof asOf === 'string' ? parseAsOf(asOf) : asOf;
  const snapshot = parsed === undefined ? currentSnapshot(reg, table) : snapshotAsOf(reg, table, parsed);
  if (snapshot === null) throw missing(ws, table, asOfLabel(asOf, parsed), opts.missingCode, parsed !== undefined && 'snapshot' in parsed ? getSnapshot(reg, parsed.snapshot) : null);
  const files = liveFiles(reg, snapshot);
  const gone = files.find((f) => f.deleted_at !== null);
  if (gone) {
    throw new StockpipeError('SP_ERR_SNAPSHOT_NOT_FOUND', `snapshot ${snapshot.id} of ${table} is no longer readable: vacuum deleted ${gone.path} on ${gone.deleted_at}`, {
      hint: 'Vacuum keeps the snapshots asked for (--keep-snapshots, --older-than) and every model lineage; pick a kept snapshot.',
    });
  }
  // An older snapshot than the table's current one (--as-of): a rebuild writes a new one and never brings it back.
  const older = parsed !== undefined && currentSnapshot(reg, table)?.id !== snapshot.id;
  const paths = assertFilesOnDisk(ws, snapshot, files, opts.missingCode, older);
  noteSnapshotRead(snapshot.id);
  return { table, snapshot, files, paths };
}

/**
 * The absolute paths of a snapshot's files, or the table's "missing" code (or `code`) naming the
 * first file the catalog lists but the disk lacks (deleted or moved by hand, a partial copy of the
 * workspace): every reader failed on it with DuckDB's "No files found" as SP_ERR_INTERNAL, and an
 * incremental write on such a snapshot carried the missing file into its own (or failed as if a
 * vacuum had deleted it meanwhile). The way back is a full rebuild, which reads none of them; for an
 * `older` snapshot than the current one (--as-of), which a rebuild does not restore, another snapshot.
 */
export function assertFilesOnDisk(ws: Workspace, snapshot: Pick<SnapshotRecord, 'id' | 'table'>, files: readonly DataFileRecord[], code?: ErrorCode, older = false): string[] {
  const table = snapshot.table;
  const paths = files.map((f) => ws.path(f.path));
  const lost = paths.findIndex((p) => statSync(p, { throwIfNoEntry: false }) === undefined);
  if (lost >= 0) {
    const rebuild = table === 'prices' ? 'stockpipe ingest --force' : 'stockpipe features --force';
    throw new StockpipeError(code ?? (table === 'prices' ? 'SP_ERR_PRICES_MISSING' : 'SP_ERR_FEATURES_MISSING'), `snapshot ${snapshot.id} of ${table} cannot be read: its data file ${paths[lost]} is missing (the catalog lists it; it was deleted or moved outside stockpipe)`, {
      hint: older
        ? `Put the file back (from a backup), or read another snapshot: \`stockpipe snapshots ${table}\` lists which are readable (a new snapshot, \`${rebuild}\`, does not bring this one back).`
        : `Put the file back (from a backup), or write a new snapshot from the sources: \`${rebuild}\`.`,
    });
  }
  return paths;
}

/**
 * Whether a workspace-relative data file is on disk (listSnapshotsReadable's `onDisk`): one stat;
 * an error other than "nothing there" (a permission) is left to the read to report.
 */
export function onDiskIn(ws: Workspace): (path: string) => boolean {
  return (path) => {
    try {
      return statSync(ws.path(path), { throwIfNoEntry: false }) !== undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== 'ENOTDIR';
    }
  };
}

/** The table as of `asOf`, opening the registry read-only for the lookup. */
export function readTable(ws: Workspace, table: StoreTable, asOf?: string | AsOf, opts: ReadOptions = {}): TableRead {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return tableAt(ws, reg, table, asOf, opts);
  } finally {
    reg.close();
  }
}

/** The snapshot id a command ran on, for lineage (null when the table is empty). */
export function snapshotIdOf(ws: Workspace, table: StoreTable, asOf?: string): number | null {
  try {
    return readTable(ws, table, asOf).snapshot.id;
  } catch (err) {
    if (err instanceof StockpipeError && (err.code === 'SP_ERR_PRICES_MISSING' || err.code === 'SP_ERR_FEATURES_MISSING')) return null;
    throw err;
  }
}

/** A DuckDB table expression over files (one table; the lineage column included; no hive column). */
export function parquetSource(paths: readonly string[]): string {
  if (paths.length === 0) throw new StockpipeError('SP_ERR_INTERNAL', 'a table snapshot with no files');
  return `read_parquet([${paths.map(sqlPath).join(', ')}], hive_partitioning = false)`;
}

/** The DuckDB table expression of a table read. */
export function sourceOf(t: TableRead): string {
  return parquetSource(t.paths);
}
