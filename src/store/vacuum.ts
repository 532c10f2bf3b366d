/** @module store/vacuum
 * `stockpipe vacuum` (docs/store.md), after Delta Lake's VACUUM and Iceberg's expire-snapshots:
 * first compacts every bucket of a table's current snapshot that holds more than one file (one
 * 'compact' snapshot per table, through store/write), then deletes from disk every data file no
 * kept snapshot lists, and marks it deleted in the catalog. Kept: each table's current snapshot,
 * its newest N snapshots (or those younger than DAYS), and every snapshot a registered model's
 * lineage names (registry/lineage). Files under store/ the catalog does not know at all are
 * orphans of a crashed write: deleted once older than an hour (a running write's files are newer).
 * The decision is a pure function (planVacuum) so tests can check it on random histories. */
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { DEAD_SCRATCH_AGE_MS, readdirOrEmpty, removeDeadScratch, statOrNull } from '../core/fs.js';
import { layout, type Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import { allFiles, currentSnapshot, type DataFileRecord, listSnapshots, liveFiles, liveIn, markDeleted, type SnapshotRecord, STORE_TABLES, type StoreTable } from '../registry/catalog.js';
import { lineageSnapshotIds, openStudySnapshotIds } from '../registry/lineage.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { bucketOfPartition, SMALL_FILE_ROWS } from './partition.js';
import { assertFilesOnDisk } from './read.js';
import { compactBucket, TableWrite } from './write.js';

/** Orphans younger than this may belong to a write in progress (Delta's default retention is longer; a stockpipe write is minutes). */
export const ORPHAN_MIN_AGE_MS = DEAD_SCRATCH_AGE_MS;
export const DEFAULT_KEEP_SNAPSHOTS = 5;

export interface VacuumOptions {
  /** Keep each table's newest N snapshots (default 5). Exclusive with olderThanDays. */
  keepSnapshots?: number;
  /** Keep the snapshots created within the last DAYS days. */
  olderThanDays?: number;
  dryRun: boolean;
  now: () => Date;
  /**
   * Other scratch of the workspace's commands to clean with the orphans (the command passes
   * features/prepare's removeStalePrepared: the store does not import features).
   */
  moreOrphans?: (reg: Registry, o: { cutoff: number; dryRun: boolean }) => Promise<{ paths: string[]; bytes: number }>;
}

/** What the retention rule keeps and what it frees. */
export interface VacuumPlan {
  kept: number[];
  /** Catalog files no kept snapshot lists (not yet deleted). */
  remove: DataFileRecord[];
}

export interface CompactedTable {
  table: StoreTable;
  /** The compact snapshot (null in a dry run). */
  snapshot_id: number | null;
  buckets: number;
  files_before: number;
  files_after: number;
}

/** `stockpipe vacuum --json` data. */
export interface VacuumData {
  dry_run: boolean;
  keep: { snapshots: number | null; older_than_days: number | null };
  compacted: CompactedTable[];
  kept_snapshots: number[];
  /** Catalog files no kept snapshot needs. */
  removed: { files: number; bytes: number; paths: string[] };
  /** Files under store/ the catalog does not list, older than an hour. */
  orphans: { files: number; bytes: number; paths: string[] };
  /** Stage folders (tmp/stage/<run>/) of finished or unknown runs, untouched for an hour: left by a stalled queue execution that woke after its run ended. */
  stages: { folders: number; bytes: number; paths: string[] };
}


/**
 * Which snapshots stay readable and which files go (pure). `snapshots`: every snapshot of every
 * table; `files`: every catalog file; `lineage`: snapshot ids registered models name.
 */
export function planVacuum(snapshots: readonly SnapshotRecord[], files: readonly DataFileRecord[], lineage: ReadonlySet<number>, keep: { snapshots?: number; olderThan?: Date }): VacuumPlan {
  const kept = new Set<number>();
  for (const table of STORE_TABLES) {
    const own = snapshots.filter((s) => s.table === table).sort((a, b) => b.id - a.id);
    if (own[0]) kept.add(own[0].id);
    // A compaction snapshot holds its parent's rows: it takes none of the N places (so the snapshots
    // a --dry-run lists are kept by the run, which writes one first), and is kept within them.
    let data = 0;
    for (const s of own) {
      const within = data < (keep.snapshots ?? DEFAULT_KEEP_SNAPSHOTS);
      if (keep.olderThan !== undefined ? s.created_at >= keep.olderThan.toISOString() : within) kept.add(s.id);
      if (s.operation !== 'compact') data++;
    }
  }
  const byId = new Map(snapshots.map((s) => [s.id, s]));
  for (const id of lineage) if (byId.has(id)) kept.add(id);
  // A snapshot an earlier vacuum dropped (a file it lists is deleted) is not readable: not kept.
  for (const id of kept) if (files.some((f) => f.deleted_at !== null && liveIn(f, byId.get(id)!))) kept.delete(id);
  const keptSnaps = [...kept].map((id) => byId.get(id)!);
  const needed = (f: DataFileRecord): boolean => keptSnaps.some((s) => liveIn(f, s));
  return { kept: [...kept].sort((a, b) => a - b), remove: files.filter((f) => f.deleted_at === null && !needed(f)) };
}

/** Buckets of the table's current snapshot holding more than one small file (full-size files are never merged). */
function crowdedBuckets(live: readonly DataFileRecord[]): number[] {
  const count = new Map<number, number>();
  for (const f of live.filter((x) => x.rows < SMALL_FILE_ROWS)) {
    const b = bucketOfPartition(f.partition);
    if (b !== null) count.set(b, (count.get(b) ?? 0) + 1);
  }
  return [...count].filter(([, n]) => n > 1).map(([b]) => b).sort((x, y) => x - y);
}

/** The summary keys that describe the table, not the write: a compaction keeps them. */
const TABLE_FIGURES = ['symbols', 'symbols_without_metadata', 'date_min', 'date_max'] as const;

/** Compacts each table's crowded buckets into one file each (one 'compact' snapshot per table). */
async function compactTables(ws: Workspace, reg: Registry, dryRun: boolean): Promise<CompactedTable[]> {
  const out: CompactedTable[] = [];
  for (const table of STORE_TABLES) {
    const cur = currentSnapshot(reg, table);
    if (cur === null) continue;
    const live = liveFiles(reg, cur);
    const buckets = crowdedBuckets(live);
    if (buckets.length === 0) continue;
    const before = live.filter((f) => buckets.includes(bucketOfPartition(f.partition) ?? -1)).length;
    // The files to merge must be on disk: one deleted by hand is named, with the rebuild that brings the table back.
    assertFilesOnDisk(ws, cur, live.filter((f) => f.rows < SMALL_FILE_ROWS && buckets.includes(bucketOfPartition(f.partition) ?? -1)));
    if (dryRun) {
      out.push({ table, snapshot_id: null, buckets: buckets.length, files_before: before, files_after: buckets.length });
      continue;
    }
    const db = await openDuckDB(ws.duckdbSettings());
    const w = TableWrite.begin(ws, reg, table);
    try {
      for (const b of buckets) await compactBucket(db.connection, w, b, 1);
      // The table's figures carry over (the rows are the same): an incremental ingest adds its changes to them.
      const figures = Object.fromEntries(TABLE_FIGURES.flatMap((k) => (cur.summary !== null && typeof cur.summary === 'object' && k in cur.summary ? [[k, (cur.summary as Record<string, unknown>)[k]]] : [])));
      const snap = await w.commit(reg, { operation: 'compact', source: cur.source ?? undefined, summary: { ...figures, compacted_buckets: buckets.length, files_removed: w.removed.length, files_added: w.added.length } });
      out.push({ table, snapshot_id: snap.id, buckets: buckets.length, files_before: before, files_after: w.added.length });
    } catch (err) {
      await w.discard();
      throw err;
    } finally {
      db.close();
    }
  }
  return out;
}

/** Files under store/<table>/ (any depth below the bucket folders), workspace-relative. */
async function storeFiles(ws: Workspace): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 3) await walk(p, depth + 1);
      else if (e.isFile()) out.push(ws.relative(p));
    }
  };
  await walk(ws.storeDir, 0);
  return out.sort();
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Every data file of each table's current snapshot is on disk, else the table's missing code naming the
 * first one gone, nothing deleted: a catalog that lists files the disk lacks does not describe this store
 * (a file deleted by hand, a stockpipe.db copied from another workspace), and the workspace's own data
 * files, which that catalog does not list, would be deleted as orphans.
 */
function assertCurrentOnDisk(ws: Workspace, reg: Registry): void {
  for (const table of STORE_TABLES) {
    const cur = currentSnapshot(reg, table);
    if (cur === null) continue;
    try {
      assertFilesOnDisk(ws, cur, liveFiles(reg, cur));
    } catch (err) {
      if (!(err instanceof StockpipeError)) throw err;
      throw new StockpipeError(err.code, `${err.message}; vacuum deleted nothing: files under store/ this catalog does not list would be taken for orphans`, {
        hint: `${err.hint} If stockpipe.db was copied from another workspace, put this workspace's own back.`,
      });
    }
  }
}

/** Runs vacuum: compaction, then the retention rule, then orphans. */
export async function vacuumStore(ws: Workspace, o: VacuumOptions): Promise<VacuumData> {
  if (o.keepSnapshots !== undefined && o.olderThanDays !== undefined) {
    throw new StockpipeError('SP_ERR_USAGE', 'give --keep-snapshots or --older-than, not both', { hint: 'vacuum keeps the newest N snapshots of each table (default 5), or those younger than DAYS days.' });
  }
  if (o.keepSnapshots !== undefined && o.keepSnapshots < 1) throw new StockpipeError('SP_ERR_USAGE', `--keep-snapshots must be ≥ 1 (got ${o.keepSnapshots})`, { hint: 'The current snapshot of each table is always kept.' });
  // A dry run writes nothing: it reads the store as a read-only command does (a workspace on read-only media).
  const reg = openRegistry(ws, { now: o.now, readonly: o.dryRun });
  try {
    assertCurrentOnDisk(ws, reg);
    const compacted = await compactTables(ws, reg, o.dryRun);
    const olderThan = o.olderThanDays === undefined ? undefined : new Date(o.now().getTime() - o.olderThanDays * 86_400_000);
    const files = allFiles(reg);
    const plan = planVacuum(listSnapshots(reg), files, new Set([...lineageSnapshotIds(reg), ...openStudySnapshotIds(reg)]), { snapshots: o.keepSnapshots, olderThan });
    const known = new Set(files.map((f) => f.path));
    const removed = { files: plan.remove.length, bytes: 0, paths: plan.remove.map((f) => f.path) };
    for (const f of plan.remove) removed.bytes += (await sizeOf(ws.path(f.path))) || f.bytes;
    // Files an earlier vacuum marked deleted but did not get to delete (it was killed in between).
    const leftover: DataFileRecord[] = [];
    for (const f of files) if (f.deleted_at !== null && (await statOrNull(ws.path(f.path))) !== null) leftover.push(f);
    for (const f of leftover) {
      removed.files++;
      removed.bytes += await sizeOf(ws.path(f.path));
      removed.paths.push(f.path);
    }
    if (!o.dryRun) {
      // Marked deleted first, then deleted: a vacuum killed in between leaves files the catalog calls
      // deleted (the next vacuum deletes them), never a snapshot listed readable whose files are gone;
      // and a reader that resolves a snapshot from the marking on is told it was dropped.
      if (plan.remove.length > 0) markDeleted(reg, plan.remove.map((f) => f.file_id));
      for (const f of [...plan.remove, ...leftover]) await rm(ws.path(f.path), { force: true });
    }
    const orphans = { files: 0, bytes: 0, paths: [] as string[] };
    const cutoff = o.now().getTime() - ORPHAN_MIN_AGE_MS;
    for (const rel of await storeFiles(ws)) {
      if (known.has(rel)) continue;
      const abs = ws.path(rel);
      let st;
      try {
        st = await stat(abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        throw err;
      }
      if (st.mtimeMs > cutoff) continue; // perhaps a write in progress
      orphans.files++;
      orphans.bytes += st.size;
      orphans.paths.push(rel);
      if (!o.dryRun) await rm(abs, { force: true });
    }
    // Scratch a killed command left in tmp/ (a features --as-of build, an incremental build's delta).
    const scratch = await removeDeadScratch(ws, cutoff, o.dryRun);
    orphans.files += scratch.paths.length;
    orphans.bytes += scratch.bytes;
    orphans.paths.push(...scratch.paths);
    // A prepared features stage no features build can commit any more (features/prepare), or one a killed ingest left unfinished.
    const prepared = (await o.moreOrphans?.(reg, { cutoff, dryRun: o.dryRun })) ?? { paths: [], bytes: 0 };
    orphans.files += prepared.paths.length;
    orphans.bytes += prepared.bytes;
    orphans.paths.push(...prepared.paths);
    const stages = await staleStages(ws, reg, cutoff, o.dryRun);
    return {
      dry_run: o.dryRun,
      keep: { snapshots: o.olderThanDays === undefined ? (o.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS) : null, older_than_days: o.olderThanDays ?? null },
      compacted,
      kept_snapshots: plan.kept,
      removed,
      orphans,
      stages,
    };
  } finally {
    reg.close();
  }
}

/**
 * Removes (unless `dryRun`) the stage folders `tmp/stage/<run>/` whose run finished or is unknown
 * to the store and in which nothing changed since `cutoff` (ms). The runner removes its stage folder
 * when the task ends; what is left is a late execution's. A failed, cancelled or running run keeps
 * its folder (`run --resume` may still use it).
 */
async function staleStages(ws: Workspace, reg: Registry, cutoff: number, dryRun: boolean): Promise<VacuumData['stages']> {
  const out = { folders: 0, bytes: 0, paths: [] as string[] };
  const root = ws.path(layout.stageRoot);
  const runs = await readdirOrEmpty(root);
  for (const runId of runs.sort()) {
    const status = reg.getRun(runId)?.status ?? null;
    if (status !== null && status !== 'finished') continue;
    const dir = join(root, runId);
    let newest = 0;
    let bytes = 0;
    for (const rel of ['', ...(await readdir(dir, { recursive: true }))]) {
      const st = await statOrNull(join(dir, rel));
      if (st === null) continue; // removed meanwhile
      newest = Math.max(newest, st.mtimeMs);
      if (st.isFile()) bytes += st.size;
    }
    if (newest > cutoff) continue;
    out.folders++;
    out.bytes += bytes;
    out.paths.push(relative(ws.root, dir));
    if (!dryRun) await rm(dir, { recursive: true, force: true });
  }
  return out;
}
