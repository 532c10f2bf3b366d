/** @module validate/drift-cache
 * The drift pass of `validate` bins every row of the table on the reference's edges. A store table
 * is files that never change once written, and bin counts add up over files, so each file's counts
 * under one reference (its columns, edges and the date the rows are split at) are computed once and
 * kept in `tmp/validate-drift-<table>.json`; a check computes only the files it has not seen (a new
 * day's appended files) and adds up. A file is known by its path, rows and bytes (a registry moved
 * aside numbers its snapshots, and so its file names, from 1 again). The file is an accelerator,
 * never an input: missing, unreadable or for other settings it is rebuilt; failing to write it is
 * logged, not thrown. Equality with a pass over the whole table: src/validate/drift-cache.test.ts. */
import { readRegularFileSync, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { TableName, Workspace } from '../core/workspace.js';
import type { DuckDBConnection } from '../db/duckdb.js';
import { type BinSpec, fileBinCounts, type PeriodBins, type PeriodSplit } from '../db/table-stats.js';

const FORMAT = 1;

/** A table's data file as the catalog lists it. */
export interface CountedFile {
  /** Workspace-relative. */
  path: string;
  rows: number;
  bytes: number;
}

interface Entry {
  rows: number;
  bytes: number;
  periods: { period: string; rows: number; counts: number[][] }[];
}

interface CacheDoc {
  format: number;
  /** The settings the counts are for: specs and split. */
  key: string;
  files: Record<string, Entry>;
}

/** The cached counts for `key`; none when the file is missing, unreadable (not a regular file: never waited on), not JSON, or for other settings. */
function readCache(path: string, key: string, log: Logger): Map<string, Entry> {
  let doc: CacheDoc;
  try {
    doc = JSON.parse(readRegularFileSync(path).toString('utf8')) as CacheDoc;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.debug({ path, err: (err as Error).message }, 'validate: drift counts unreadable; binning every file');
    return new Map();
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT || doc.key !== key || typeof doc.files !== 'object' || doc.files === null) return new Map();
  return new Map(Object.entries(doc.files));
}

/**
 * periodBinCounts of the table made of `files` (the snapshot's data files), from the cached counts of
 * the files seen before and one pass over the others; the cache is rewritten to hold these files.
 */
export async function tableBinCounts(conn: DuckDBConnection, ws: Workspace, table: TableName, files: readonly CountedFile[], specs: readonly BinSpec[], split: PeriodSplit, log: Logger): Promise<PeriodBins[]> {
  const key = JSON.stringify({ specs, split });
  const path = ws.driftCounts(table);
  const cached = readCache(path, key, log);
  const known = (f: CountedFile): Entry | undefined => {
    const e = cached.get(f.path);
    return e !== undefined && e.rows === f.rows && e.bytes === f.bytes ? e : undefined;
  };
  const fresh = files.filter((f) => known(f) === undefined);
  const counted = await fileBinCounts(conn, fresh.map((f) => ws.path(f.path)), specs, split);
  const entries = new Map<string, Entry>();
  for (const f of files) {
    const periods = known(f)?.periods ?? (counted.get(ws.path(f.path)) ?? []).map((p) => ({ period: p.period, rows: p.rows, counts: p.counts.map((c) => [...c]) }));
    entries.set(f.path, { rows: f.rows, bytes: f.bytes, periods });
  }
  // The sum over files, period by period.
  const sum = new Map<string, PeriodBins>();
  for (const e of entries.values()) {
    for (const p of e.periods) {
      let s = sum.get(p.period);
      if (s === undefined) sum.set(p.period, (s = { period: p.period, rows: 0, counts: specs.map((b) => new Float64Array(b.edges.length + 1)) }));
      s.rows += p.rows;
      p.counts.forEach((c, i) => c.forEach((n, k) => (s!.counts[i]![k]! += n)));
    }
  }
  if (fresh.length > 0 || cached.size !== entries.size) {
    const doc: CacheDoc = { format: FORMAT, key, files: Object.fromEntries(entries) };
    try {
      await writeFileAtomic(path, JSON.stringify(doc));
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'validate: drift counts not kept; the next check bins every file again');
    }
  }
  log.debug({ files: files.length, binned: fresh.length }, 'validate: drift counts');
  return [...sum.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
}
