/** @module registry/catalog
 * The store's catalog in the registry (docs/store.md): each table's snapshots, the data files each
 * one adds and removes, the symbols each one changed, and the source files the prices table read.
 * After DuckLake / Iceberg: one snapshot sequence across tables (so `--as-of N` names one moment of
 * the whole store); a file is live from the snapshot that added it up to the one that removed it.
 * A commit checks that the table's current snapshot is still the one the writer started from
 * (optimistic concurrency, as Delta Lake and Iceberg do) and stores everything in one transaction. */
import { clip, StockpipeError } from '../core/errors.js';
import { currentRunScope } from './run-scope.js';
import { parseTime, type Registry } from './store.js';

/** The tables the store keeps. */
export const STORE_TABLES = ['prices', 'features'] as const;
export type StoreTable = (typeof STORE_TABLES)[number];

/** What a snapshot did (Iceberg's operations): overwrite = a whole new table, append = only new rows,
 * restate = rows replaced or removed (copy-on-write of the files that held them), compact = the same
 * rows in fewer files. */
export type SnapshotOperation = 'overwrite' | 'append' | 'restate' | 'compact';

export interface SnapshotRecord {
  id: number;
  table: StoreTable;
  parent_id: number | null;
  created_at: string;
  operation: SnapshotOperation;
  rows: number;
  files: number;
  source: Record<string, unknown> | null;
  summary: Record<string, unknown> | null;
}

/** A data file as the catalog keeps it. */
export interface DataFileRecord {
  file_id: number;
  table: StoreTable;
  /** Workspace-relative path (under store/). */
  path: string;
  partition: string;
  rows: number;
  bytes: number;
  symbol_min: string | null;
  symbol_max: string | null;
  date_min: string | null;
  date_max: string | null;
  added_snapshot: number;
  removed_snapshot: number | null;
  deleted_at: string | null;
}

/** A file a commit adds (written and fsynced before the commit). */
export type NewDataFile = Omit<DataFileRecord, 'file_id' | 'table' | 'added_snapshot' | 'removed_snapshot' | 'deleted_at'>;

/** One symbol a snapshot changed: its rows from `from_date` on (null: the symbol is gone). */
export interface SymbolChange {
  symbol: string;
  from_date: string | null;
}

/** A source file as ingest last read it. */
export interface IngestFileState {
  path: string;
  symbol: string;
  size: number;
  mtime_ms: number;
  head_hash: string;
  tail_hash: string;
  lines: number;
  last_date: string | null;
  snapshot_id: number;
}

export interface CommitInput {
  /** The id the writer reserved with nextSnapshotId (its rows carry it); taken meanwhile → conflict. */
  id: number;
  table: StoreTable;
  /** The snapshot the writer read (null: the table was empty); the commit fails if another landed since. */
  base: number | null;
  operation: SnapshotOperation;
  added: readonly NewDataFile[];
  /** file_ids of live files this snapshot removes. */
  removed: readonly number[];
  /** The table's row count after this snapshot. */
  rows: number;
  source?: Record<string, unknown>;
  summary?: Record<string, unknown>;
  changes?: readonly SymbolChange[];
  /** prices only: the state of the source files read (replaces the rows of these paths). */
  ingestState?: { reset: boolean; files: readonly Omit<IngestFileState, 'snapshot_id'>[]; removedPaths: readonly string[] };
}

interface SnapshotRow extends Omit<SnapshotRecord, 'id' | 'table' | 'source' | 'summary'> {
  snapshot_id: number;
  table_name: StoreTable;
  source: string | null;
  summary: string | null;
}

const json = (t: string | null): Record<string, unknown> | null => (t === null ? null : (JSON.parse(t) as Record<string, unknown>));

function toSnapshot(r: SnapshotRow): SnapshotRecord {
  return { id: r.snapshot_id, table: r.table_name, parent_id: r.parent_id, created_at: r.created_at, operation: r.operation, rows: r.rows, files: r.files, source: json(r.source), summary: json(r.summary) };
}

interface FileRow extends Omit<DataFileRecord, 'table'> {
  table_name: StoreTable;
}

const toFile = ({ table_name, ...r }: FileRow): DataFileRecord => ({ ...r, table: table_name });

/** Refuses a table name the store does not keep (CLI and API check it first). */
export function assertStoreTable(name: string): asserts name is StoreTable {
  if (!(STORE_TABLES as readonly string[]).includes(name)) {
    throw new StockpipeError('SP_ERR_USAGE', `unknown table '${clip(name)}'`, { hint: `Tables: ${STORE_TABLES.join(', ')}.` });
  }
}

/** The table's snapshots, newest first (all tables when `table` is undefined). */
export function listSnapshots(reg: Registry, table?: StoreTable, opts: { limit?: number } = {}): SnapshotRecord[] {
  return reg
    .all<SnapshotRow>('list snapshots', 'SELECT * FROM table_snapshots WHERE (@t IS NULL OR table_name = @t) ORDER BY snapshot_id DESC LIMIT @limit', { t: table ?? null, limit: opts.limit ?? -1 })
    .map(toSnapshot);
}

/** Whether snapshot `s` lists file `f` (liveFiles' rule, for records at hand). */
export const liveIn = (f: DataFileRecord, s: Pick<SnapshotRecord, 'id' | 'table'>): boolean => s.table === f.table && f.added_snapshot <= s.id && (f.removed_snapshot === null || f.removed_snapshot > s.id);

/**
 * A listed snapshot, with whether it can still be read (`readable: false`: vacuum deleted a file it
 * needs, or one it lists is missing from disk: `missing_file`, deleted or moved outside stockpipe).
 */
export type ListedSnapshot = SnapshotRecord & { readable: boolean; missing_file: string | null };

/**
 * listSnapshots, each marked readable or not (`stockpipe snapshots`, GET /snapshots). `onDisk` (a
 * workspace-relative path → whether the file is there) is asked once per file a listed snapshot
 * needs that vacuum did not delete: a file deleted by hand made a snapshot listed readable whose
 * every read failed.
 */
export function listSnapshotsReadable(reg: Registry, table?: StoreTable, opts: { limit?: number; onDisk?: (path: string) => boolean } = {}): ListedSnapshot[] {
  const snapshots = listSnapshots(reg, table, opts);
  if (snapshots.length === 0) return [];
  // Deleted files are few (what vacuum removed).
  const deleted = reg.all<FileRow>('read deleted files', 'SELECT * FROM table_files WHERE deleted_at IS NOT NULL AND (@t IS NULL OR table_name = @t)', { t: table ?? null }).map(toFile);
  // The files the listed snapshots need that vacuum did not delete, each checked once (those of the snapshots listed only).
  const lowest = Math.min(...snapshots.map((s) => s.id));
  const missing = opts.onDisk === undefined
    ? []
    : reg
        .all<FileRow>('read live files', 'SELECT * FROM table_files WHERE deleted_at IS NULL AND (@t IS NULL OR table_name = @t) AND (removed_snapshot IS NULL OR removed_snapshot > @low) ORDER BY file_id', { t: table ?? null, low: lowest })
        .map(toFile)
        .filter((f) => snapshots.some((s) => liveIn(f, s)) && !opts.onDisk!(f.path));
  return snapshots.map((s) => {
    const vacuumed = deleted.some((f) => liveIn(f, s));
    const lost = vacuumed ? undefined : missing.find((f) => liveIn(f, s));
    return { ...s, readable: !vacuumed && lost === undefined, missing_file: lost?.path ?? null };
  });
}

export function getSnapshot(reg: Registry, id: number): SnapshotRecord | null {
  const r = reg.get<SnapshotRow>('read snapshot', 'SELECT * FROM table_snapshots WHERE snapshot_id = ?', [id]);
  return r ? toSnapshot(r) : null;
}

/** The table's newest snapshot, or null when it was never written. */
export function currentSnapshot(reg: Registry, table: StoreTable): SnapshotRecord | null {
  const r = reg.get<SnapshotRow>('read current snapshot', 'SELECT * FROM table_snapshots WHERE table_name = ? ORDER BY snapshot_id DESC LIMIT 1', [table]);
  return r ? toSnapshot(r) : null;
}

/** `--as-of`: a snapshot id (a whole number) or an ISO-8601 time. */
export type AsOf = { snapshot: number } | { time: Date };

/** Parses `--as-of X` (SP_ERR_USAGE on anything else). */
export function parseAsOf(text: string): AsOf {
  if (/^\d{1,15}$/.test(text)) return { snapshot: Number(text) };
  try {
    return { time: parseTime(text) };
  } catch {
    throw new StockpipeError('SP_ERR_USAGE', `--as-of '${clip(text)}' is neither a snapshot id nor a time`, { hint: 'Give a snapshot id from `stockpipe snapshots` (e.g. 12) or an ISO-8601 time (e.g. 2024-05-01T14:30:00Z).' });
  }
}

/**
 * The table's snapshot as of X: the newest one with an id ≤ X (ids are one sequence across tables,
 * so X may be any table's snapshot), or created at or before the time X. Null when the table had
 * none yet then; an unknown snapshot id is an error.
 */
export function snapshotAsOf(reg: Registry, table: StoreTable, asOf: AsOf): SnapshotRecord | null {
  if ('snapshot' in asOf) {
    const max = reg.get<{ n: number | null }>('read snapshots', 'SELECT MAX(snapshot_id) AS n FROM table_snapshots')?.n ?? 0;
    if (asOf.snapshot < 1 || asOf.snapshot > max) {
      throw new StockpipeError('SP_ERR_SNAPSHOT_NOT_FOUND', `snapshot ${asOf.snapshot} does not exist (the store has ${max === 0 ? 'none yet' : `1..${max}`})`, { hint: 'List them with `stockpipe snapshots`.' });
    }
    const r = reg.get<SnapshotRow>('read snapshot', 'SELECT * FROM table_snapshots WHERE table_name = ? AND snapshot_id <= ? ORDER BY snapshot_id DESC LIMIT 1', [table, asOf.snapshot]);
    return r ? toSnapshot(r) : null;
  }
  const r = reg.get<SnapshotRow>('read snapshot', 'SELECT * FROM table_snapshots WHERE table_name = ? AND created_at <= ? ORDER BY snapshot_id DESC LIMIT 1', [table, asOf.time.toISOString()]);
  return r ? toSnapshot(r) : null;
}

/** The files live in a snapshot of its table, by path. */
export function liveFiles(reg: Registry, snap: Pick<SnapshotRecord, 'id' | 'table'>): DataFileRecord[] {
  return reg
    .all<FileRow>('read snapshot files', 'SELECT * FROM table_files WHERE table_name = ? AND added_snapshot <= ? AND (removed_snapshot IS NULL OR removed_snapshot > ?) ORDER BY path', [snap.table, snap.id, snap.id])
    .map(toFile);
}

/** Every file the catalog lists for a table (live or not), by path. */
export function allFiles(reg: Registry, table?: StoreTable): DataFileRecord[] {
  return reg.all<FileRow>('read files', 'SELECT * FROM table_files WHERE (@t IS NULL OR table_name = @t) ORDER BY path', { t: table ?? null }).map(toFile);
}

/**
 * What the table's snapshots after `after` up to `upTo` changed: per symbol the earliest from_date
 * (null = removed, unless re-added later), and every symbol some of them removed (even when a later
 * one added it again).
 */
export function changesBetween(reg: Registry, table: StoreTable, after: number, upTo: number): { changes: Map<string, string | null>; removed: Set<string> } {
  const rows = reg.all<{ symbol: string; from_date: string | null; snapshot_id: number }>(
    'read snapshot changes',
    `SELECT c.symbol, c.from_date, c.snapshot_id FROM snapshot_changes c JOIN table_snapshots s USING (snapshot_id)
     WHERE s.table_name = ? AND c.snapshot_id > ? AND c.snapshot_id <= ? ORDER BY c.snapshot_id`,
    [table, after, upTo],
  );
  const changes = new Map<string, string | null>();
  const removed = new Set<string>();
  for (const r of rows) {
    const prev = changes.get(r.symbol);
    if (r.from_date === null) removed.add(r.symbol);
    // A removal wins over earlier changes; a later re-add starts the symbol again from its first date.
    if (r.from_date === null || prev === undefined || prev === null) changes.set(r.symbol, r.from_date);
    else changes.set(r.symbol, r.from_date < prev ? r.from_date : prev);
  }
  return { changes, removed };
}

/** The source files as the prices table's current snapshot read them, by path. */
export function ingestState(reg: Registry): Map<string, IngestFileState> {
  return new Map(reg.all<IngestFileState>('read ingest state', 'SELECT * FROM ingest_files').map((r) => [r.path, r]));
}

/** The id the next snapshot of any table will take (a writer stamps its rows with it before committing). */
export function nextSnapshotId(reg: Registry): number {
  return (reg.get<{ n: number | null }>('read snapshots', 'SELECT MAX(snapshot_id) AS n FROM table_snapshots')?.n ?? 0) + 1;
}

/** Stores a snapshot: its files, removals, changes and ingest state, in one transaction. */
export function commitSnapshot(reg: Registry, c: CommitInput): SnapshotRecord {
  return reg.transaction(() => {
    const cur = currentSnapshot(reg, c.table);
    if ((cur?.id ?? null) !== c.base) {
      throw new StockpipeError('SP_ERR_STORE_CONFLICT', `table ${c.table} moved to snapshot ${cur?.id ?? 'none'} while this write started from ${c.base ?? 'none'}: nothing was committed`, {
        hint: 'Another stockpipe process wrote the table at the same time; run the command again.',
      });
    }
    const liveCount = cur ? (reg.get<{ n: number }>('count files', 'SELECT COUNT(*) AS n FROM table_files WHERE table_name = ? AND removed_snapshot IS NULL', [c.table])?.n ?? 0) : 0;
    const files = liveCount - c.removed.length + c.added.length;
    const id = c.id;
    if (id !== nextSnapshotId(reg)) {
      throw new StockpipeError('SP_ERR_STORE_CONFLICT', `snapshot id ${id} was taken by another write while this one ran (snapshot ids are one sequence for both tables, and this write's rows carry the id it was to commit as): nothing was committed`, { hint: 'Run the command again; run ingest and features one after the other (a pipeline run does).' });
    }
    reg.run(
      'add snapshot',
      'INSERT INTO table_snapshots (snapshot_id, table_name, parent_id, created_at, operation, rows, files, source, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [id, c.table, c.base, reg.timestamp(), c.operation, c.rows, files, c.source ? JSON.stringify(c.source) : null, c.summary ? JSON.stringify(c.summary) : null],
    );
    for (const fileId of c.removed) {
      const r = reg.run('remove file', 'UPDATE table_files SET removed_snapshot = ? WHERE file_id = ? AND table_name = ? AND removed_snapshot IS NULL', [id, fileId, c.table]);
      if (r.changes !== 1) throw new StockpipeError('SP_ERR_STORE_CONFLICT', `file #${fileId} of ${c.table} is not live: nothing was committed`);
    }
    for (const f of c.added) {
      reg.run(
        'add file',
        `INSERT INTO table_files (table_name, path, partition, rows, bytes, symbol_min, symbol_max, date_min, date_max, added_snapshot)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [c.table, f.path, f.partition, f.rows, f.bytes, f.symbol_min, f.symbol_max, f.date_min, f.date_max, id],
      );
    }
    const scope = currentRunScope();
    if (scope !== null) reg.run('record lineage', "INSERT OR IGNORE INTO run_snapshots (run_id, snapshot_id, role) VALUES (?, ?, 'wrote')", [scope.runId, id]);
    for (const ch of c.changes ?? []) reg.run('record change', 'INSERT INTO snapshot_changes (snapshot_id, symbol, from_date) VALUES (?, ?, ?)', [id, ch.symbol, ch.from_date]);
    if (c.ingestState) {
      if (c.ingestState.reset) reg.run('reset ingest state', 'DELETE FROM ingest_files');
      for (const p of c.ingestState.removedPaths) reg.run('forget source file', 'DELETE FROM ingest_files WHERE path = ?', [p]);
      for (const f of c.ingestState.files) {
        reg.run(
          'record source file',
          `INSERT OR REPLACE INTO ingest_files (path, symbol, size, mtime_ms, head_hash, tail_hash, lines, last_date, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [f.path, f.symbol, f.size, f.mtime_ms, f.head_hash, f.tail_hash, f.lines, f.last_date, id],
        );
      }
    }
    return getSnapshot(reg, id)!;
  });
}

/** Marks files deleted from disk (vacuum). */
export function markDeleted(reg: Registry, fileIds: readonly number[]): void {
  reg.transaction(() => {
    const at = reg.timestamp();
    for (const id of fileIds) reg.run('mark file deleted', 'UPDATE table_files SET deleted_at = ? WHERE file_id = ?', [at, id]);
  });
}
