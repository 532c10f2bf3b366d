/** @module store/write
 * Writing a snapshot of a table (docs/store.md), the way Delta Lake and Iceberg do it: new data
 * files are written first (immutable, under store/<table>/bucket=NN/), then one catalog
 * transaction adds them and removes the files they replace, then the view is updated. A crash
 * before the commit leaves only unreferenced files (vacuum deletes them) and the previous snapshot
 * intact. Appends add a file per touched bucket; restated or removed symbols rewrite the files that
 * held them (copy-on-write); a bucket with more than MAX_FILES_PER_BUCKET small files has them merged. */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeOutputDir } from '../core/fs.js';
import { diskFullError, resourceKind } from '../core/os-errors.js';
import type { Workspace } from '../core/workspace.js';
import { type DuckDBConnection, queryRows, sqlPath, sqlString, tempTableOf } from '../db/duckdb.js';
import { EMPTY_RANGE, type WrittenRange } from '../db/bars-writer.js';
import { STORE_PARQUET } from '../db/parquet-format.js';
import {
  commitSnapshot, currentSnapshot, type DataFileRecord, type CommitInput, liveFiles, type NewDataFile, nextSnapshotId, type SnapshotOperation, type SnapshotRecord, type StoreTable,
} from '../registry/catalog.js';
import type { Registry } from '../registry/store.js';
import { BUCKETS, bucketOf, MAX_FILES_PER_BUCKET, partitionName, SMALL_FILE_ROWS } from './partition.js';
import { assertFilesOnDisk, parquetSource } from './read.js';
import { publishView } from './view.js';

/** A file the write produced, before it is described. */
export interface WrittenFile {
  rel: string;
  abs: string;
  partition: string;
}

/** One symbol's change: its rows from `from` on are replaced by the delta's (null: removed). `append` = nothing before `from` changes and nothing was stored from `from` on. */
export interface SymbolDelta {
  from: string | null;
  append: boolean;
}

/** A snapshot being written: its reserved id, the snapshot it starts from, the files it adds and removes. */
export class TableWrite {
  readonly added: NewDataFile[] = [];
  readonly removed: DataFileRecord[] = [];
  private seq = 0;
  private committed = false;
  /** Every file path this write created (added, merged away, or left half-written by a failure). */
  private readonly created = new Set<string>();
  private readonly tag = randomBytes(3).toString('hex');

  private constructor(
    readonly ws: Workspace,
    readonly table: StoreTable,
    readonly id: number,
    readonly base: SnapshotRecord | null,
    readonly live: readonly DataFileRecord[],
    /** A staged write's folder (its files' `path` is relative to it; it never commits). */
    private readonly stageDir: string | null = null,
  ) {}

  /** Starts a write on the table's current snapshot (reserving the next snapshot id for its rows). */
  static begin(ws: Workspace, reg: Registry, table: StoreTable): TableWrite {
    const base = currentSnapshot(reg, table);
    return new TableWrite(ws, table, nextSnapshotId(reg), base, base ? liveFiles(reg, base) : []);
  }

  /**
   * A write whose new files go to a stage folder (`bucket=NN-<seq>.parquet`, `path` relative to the
   * folder) for a coordinator to move into the store (addMoved) and commit; it cannot commit itself.
   */
  static staged(ws: Workspace, reg: Registry, table: StoreTable, dir: string): TableWrite {
    const base = currentSnapshot(reg, table);
    return new TableWrite(ws, table, nextSnapshotId(reg), base, base ? liveFiles(reg, base) : [], dir);
  }

  /** A new file's path in a bucket (its folder is created). */
  async newFile(bucket: number): Promise<WrittenFile> {
    const partition = partitionName(bucket);
    if (this.stageDir !== null) {
      const rel = `${partition}-${String(this.seq++).padStart(3, '0')}.parquet`;
      const abs = join(this.stageDir, rel);
      await mkdir(this.stageDir, { recursive: true });
      this.created.add(abs);
      return { rel, abs, partition };
    }
    const rel = `${this.ws.relative(this.ws.storeTableDir(this.table))}/${partition}/s${String(this.id).padStart(6, '0')}-${String(this.seq++).padStart(3, '0')}-${this.tag}.parquet`;
    const abs = this.ws.path(rel);
    await makeOutputDir(join(abs, '..'));
    this.created.add(abs);
    return { rel, abs, partition };
  }

  /** Records a written file with its row count and symbol/date ranges; an empty file is deleted instead (unless `keepEmpty`). */
  async addWritten(conn: DuckDBConnection, f: WrittenFile, keepEmpty = false): Promise<NewDataFile | null> {
    const [r] = await queryRows(conn, `SELECT count(*)::BIGINT AS n, min("Symbol") AS s0, max("Symbol") AS s1, min("Date") AS d0, max("Date") AS d1 FROM ${parquetSource([f.abs])}`);
    return this.addMeasured(f, { rows: Number(r!.n), symbol_min: r!.s0 as string | null, symbol_max: r!.s1 as string | null, date_min: r!.d0 as string | null, date_max: r!.d1 as string | null }, keepEmpty);
  }

  /**
   * Records a file of this write as its writer measured it while writing (db/bars-writer's
   * WrittenRange), without reading it back; a file without rows is deleted unless `keepEmpty`.
   */
  async addMeasured(f: WrittenFile, r: WrittenRange, keepEmpty = false): Promise<NewDataFile | null> {
    if (r.rows === 0 && !keepEmpty) {
      await rm(f.abs, { force: true });
      return null;
    }
    const file: NewDataFile = { path: f.rel, partition: f.partition, rows: r.rows, bytes: (await stat(f.abs)).size, symbol_min: r.symbol_min, symbol_max: r.symbol_max, date_min: r.date_min, date_max: r.date_max };
    this.added.push(file);
    return file;
  }

  /**
   * Moves a file written elsewhere (a staged partition, features/partitions) into a bucket of this
   * write and records it as described, without reading it: the caller vouches for the rows and
   * ranges (its writer measured them). The size on disk must equal `d.bytes`. A rename; across file
   * systems (EXDEV) a copy, then the source is deleted. discard() deletes it like any file this write made.
   */
  async addMoved(src: string, bucket: number, d: Omit<NewDataFile, 'path' | 'partition'>): Promise<NewDataFile> {
    const f = await this.newFile(bucket);
    try {
      await rename(src, f.abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(src, f.abs);
      await rm(src, { force: true });
    }
    const bytes = (await stat(f.abs)).size;
    if (bytes !== d.bytes) throw new Error(`${src} has ${bytes} bytes, its description says ${d.bytes}`);
    const file: NewDataFile = { ...d, path: f.rel, partition: f.partition };
    this.added.push(file);
    return file;
  }

  /**
   * For a write that keeps files of its base snapshot (incremental, compaction): every one of them
   * must be on disk, else the table's missing code naming the file, with the full rebuild that
   * brings the table back (a full write reads none of them and needs no such check).
   */
  assertBaseOnDisk(): void {
    if (this.base !== null) assertFilesOnDisk(this.ws, this.base, this.live);
  }

  /** Removes every live file (an overwrite). */
  removeAll(): void {
    this.removed.push(...this.live.filter((f) => !this.removed.includes(f)));
  }

  /** The live files that may hold one of `symbols` (their catalog symbol range contains it): the only ones a read of those symbols opens. */
  liveHolding(symbols: readonly string[]): DataFileRecord[] {
    return this.live.filter((f) => !this.removed.includes(f) && mayHold(f, symbols));
  }

  /** The live files of a bucket, as this write leaves them so far (removed ones excluded, added ones not included). */
  liveIn(bucket: number): DataFileRecord[] {
    const p = partitionName(bucket);
    return this.live.filter((f) => f.partition === p && !this.removed.includes(f));
  }

  /** Whether the table would have no file after this write. */
  emptyAfter(): boolean {
    return this.added.length === 0 && this.live.every((f) => this.removed.includes(f));
  }

  /**
   * A table with no rows keeps one empty file, so that it still has its columns (readers and other
   * tools see an empty table, not a missing one). `write` writes the empty file at the path given
   * and says what it wrote (db/bars-writer's range, or EMPTY_RANGE).
   */
  async keepSchema(write: (abs: string) => Promise<WrittenRange>): Promise<void> {
    if (!this.emptyAfter()) return;
    const f = await this.newFile(0);
    await this.addMeasured(f, await write(f.abs), true);
  }

  /** The table's rows after this write. */
  rowsAfter(): number {
    return (this.base?.rows ?? 0) - this.removed.reduce((s, f) => s + f.rows, 0) + this.added.reduce((s, f) => s + f.rows, 0);
  }

  /** Deletes what this write added (it failed before committing; after the commit, nothing). */
  async discard(): Promise<void> {
    if (this.committed) return;
    for (const abs of this.created) await rm(abs, { force: true });
    this.added.length = 0;
  }

  /**
   * A failed write's error as the user should see it: a full disk names the table's store folder and
   * how much room a new snapshot needs (estimated as the current one's size); others pass through.
   */
  failure(err: unknown): unknown {
    if (resourceKind(err) !== 'disk_full') return err;
    const bytes = this.live.reduce((a, f) => a + f.bytes, 0);
    return diskFullError(this.ws.storeTableDir(this.table), err, bytes > 0 ? { bytes, basis: `the size of the ${this.table} table's current snapshot`, exact: false } : undefined);
  }

  /** Commits the snapshot (one catalog transaction), then updates the view. */
  async commit(reg: Registry, c: Omit<CommitInput, 'id' | 'table' | 'base' | 'added' | 'removed' | 'rows'> & { operation: SnapshotOperation }): Promise<SnapshotRecord> {
    if (this.stageDir !== null) throw new Error('a staged write is committed by its coordinator, never by itself');
    const snap = commitSnapshot(reg, { ...c, id: this.id, table: this.table, base: this.base?.id ?? null, added: this.added, removed: this.removed.map((f) => f.file_id), rows: this.rowsAfter() });
    this.committed = true;
    await publishView(this.ws, reg, snap);
    return snap;
  }
}

const CHANGES = 'sp_changes';

/** Whether a file's catalog symbol range contains one of `symbols` (a file without a range may hold anything). */
export function mayHold(f: Pick<DataFileRecord, 'symbol_min' | 'symbol_max'>, symbols: readonly string[]): boolean {
  if (f.symbol_min === null || f.symbol_max === null) return true;
  return symbols.some((s) => s >= f.symbol_min! && s <= f.symbol_max!);
}

/** Loads the per-symbol changes into a DuckDB temp table (Symbol, from_date, bucket, kind). */
async function loadChanges(conn: DuckDBConnection, changes: ReadonlyMap<string, SymbolDelta>): Promise<void> {
  const all = [...changes];
  await tempTableOf(conn, CHANGES, [
    { name: 'Symbol', type: 'VARCHAR', values: all.map(([s]) => s) },
    { name: 'from_date', type: 'VARCHAR', values: all.map(([, d]) => d.from) },
    { name: 'bucket', type: 'INTEGER', values: all.map(([s]) => bucketOf(s)) },
    { name: 'kind', type: 'VARCHAR', values: all.map(([, d]) => (d.append ? 'append' : 'restate')) },
  ]);
}

/**
 * Applies per-symbol changes: `delta` (a Parquet file of the table's columns) holds, for each changed
 * symbol, every row from its `from` date on. Appended rows go to one new file per bucket; restated
 * or removed symbols rewrite the files that held them (their rows before `from` are kept as they
 * were, lineage included). Buckets left with too many files are compacted.
 */
export async function applyChanges(conn: DuckDBConnection, w: TableWrite, delta: string | readonly string[] | null, changes: ReadonlyMap<string, SymbolDelta>): Promise<{ buckets: number; compacted: number }> {
  if (changes.size === 0) return { buckets: 0, compacted: 0 };
  await loadChanges(conn, changes);
  // Several delta files (a partitioned ingest's stages, disjoint symbols) are read as one.
  const deltas = delta === null ? [] : typeof delta === 'string' ? [delta] : delta;
  const d = deltas.length === 0 ? null : parquetSource(deltas);
  const touched = new Set([...changes.keys()].map(bucketOf));
  let compacted = 0;
  // Appended rows of every bucket in one partitioned COPY (one file per bucket), then renamed into the store.
  if (d !== null && [...changes.values()].some((c) => c.append)) await appendByBucket(conn, w, d);
  for (const b of [...touched].sort((x, y) => x - y)) {
    const kinds = [...changes].filter(([s]) => bucketOf(s) === b);
    if (kinds.some(([, c]) => !c.append)) {
      const restated = kinds.filter(([, c]) => !c.append).map(([sym]) => sym);
      const files = w.liveIn(b).filter((f) => mayHold(f, restated));
      const held = files.length === 0 ? [] : await queryRows(conn, `SELECT DISTINCT p.filename AS f FROM read_parquet([${files.map((f) => sqlPath(w.ws.path(f.path))).join(', ')}], filename = true, hive_partitioning = false) p JOIN ${CHANGES} c USING ("Symbol") WHERE c.bucket = ${b} AND c.kind = 'restate'`);
      const heldPaths = new Set(held.map((r) => String(r.f)));
      const affected = files.filter((f) => heldPaths.has(w.ws.path(f.path)));
      const kept = affected.length === 0 ? null : `SELECT p.* FROM ${parquetSource(affected.map((f) => w.ws.path(f.path)))} p LEFT JOIN (SELECT * FROM ${CHANGES} WHERE kind = 'restate') c USING ("Symbol") WHERE c."Symbol" IS NULL OR (c.from_date IS NOT NULL AND p."Date" < c.from_date)`;
      const fresh = d === null ? null : `SELECT x.* FROM ${d} x JOIN ${CHANGES} c USING ("Symbol") WHERE c.bucket = ${b} AND c.kind = 'restate'`;
      const parts = [kept, fresh].filter((q): q is string => q !== null);
      if (parts.length > 0) {
        const f = await w.newFile(b);
        await conn.run(`COPY (SELECT * FROM (${parts.join(' UNION ALL ')}) ORDER BY "Symbol", "Date") TO ${sqlString(f.abs)} (${STORE_PARQUET})`);
        await w.addWritten(conn, f);
      }
      w.removed.push(...affected);
    }
    compacted += await compactBucket(conn, w, b, MAX_FILES_PER_BUCKET);
  }
  const schemaOf = w.removed[0];
  if (schemaOf) {
    await w.keepSchema(async (abs) => {
      await conn.run(`COPY (SELECT * FROM ${parquetSource([w.ws.path(schemaOf.path)])} LIMIT 0) TO ${sqlString(abs)} (${STORE_PARQUET})`);
      return EMPTY_RANGE;
    });
  }
  return { buckets: touched.size, compacted };
}

/**
 * Writes the delta's appended rows, one file per bucket, each sorted by Symbol, Date: the rows sorted
 * once into a temporary table, then one COPY per bucket. (DuckDB's partitioned COPY does not keep an
 * ORDER BY within a partition's file once the rows span several of its chunks: measured with
 * DuckDB 1.5, a new day of 8,000 symbols gave files of two sorted runs.)
 */
async function appendByBucket(conn: DuckDBConnection, w: TableWrite, d: string): Promise<void> {
  const rows = 'sp_appended';
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${rows} AS SELECT x.*, c.bucket AS sp_bucket FROM ${d} x JOIN ${CHANGES} c USING ("Symbol") WHERE c.kind = 'append' ORDER BY c.bucket, x."Symbol", x."Date"`);
  const buckets = await queryRows(conn, `SELECT DISTINCT sp_bucket AS b FROM ${rows} ORDER BY 1`);
  for (const { b } of buckets) {
    const f = await w.newFile(Number(b));
    await conn.run(`COPY (SELECT * EXCLUDE (sp_bucket) FROM ${rows} WHERE sp_bucket = ${Number(b)} ORDER BY "Symbol", "Date") TO ${sqlString(f.abs)} (${STORE_PARQUET})`);
    await w.addWritten(conn, f);
  }
  await conn.run(`DROP TABLE ${rows}`); // on a failure the command's connection goes, and the table with it
}

/**
 * Merges a bucket's small files (live ones and the ones this write added; fewer than SMALL_FILE_ROWS
 * rows each) into one when there are more than `max` of them; returns 1 if it did. Full-size files
 * are left alone, so compaction never rewrites the bulk of a bucket.
 */
export async function compactBucket(conn: DuckDBConnection, w: TableWrite, bucket: number, max: number): Promise<number> {
  const p = partitionName(bucket);
  const old = w.liveIn(bucket).filter((f) => f.rows < SMALL_FILE_ROWS);
  const fresh = w.added.filter((f) => f.partition === p && f.rows < SMALL_FILE_ROWS);
  if (old.length + fresh.length <= max || old.length + fresh.length <= 1) return 0;
  const paths = [...old.map((f) => w.ws.path(f.path)), ...fresh.map((f) => w.ws.path(f.path))];
  const f = await w.newFile(bucket);
  await conn.run(`COPY (SELECT * FROM ${parquetSource(paths)} ORDER BY "Symbol", "Date") TO ${sqlString(f.abs)} (${STORE_PARQUET})`);
  // The files this write added and now merged were never committed: delete them.
  for (const a of fresh) {
    w.added.splice(w.added.indexOf(a), 1);
    await rm(w.ws.path(a.path), { force: true });
  }
  w.removed.push(...old);
  await w.addWritten(conn, f);
  return 1;
}

/** Every bucket number, in order. */
export const ALL_BUCKETS: readonly number[] = Array.from({ length: BUCKETS }, (_, i) => i);
