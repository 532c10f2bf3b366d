/** @module validate/file-cache
 * Two of `validate`'s whole-table passes, done file by file. A store table is files that never
 * change once written, and what these passes compute adds up over files, so each file's part is
 * computed once and kept in `tmp/`; a check computes only the files it has not seen (a new day's
 * appended files) and adds up:
 * - the drift pass's bin counts on the reference's edges (`tmp/validate-drift-<table>.json`, keyed by
 *   the edges and the date the rows are split at);
 * - each file's symbols with their date ranges and repeated rows, for the duplicates check
 *   (`tmp/validate-symbols-<table>.json`; db/table-stats duplicatesOf adds them up).
 * A file is known by its path, rows and bytes (a registry moved aside numbers its snapshots, and so
 * its file names, from 1 again). The files are accelerators, never inputs: missing, unreadable (never
 * waited on) or for other settings, they are rebuilt; failing to write one is logged, not thrown.
 * Equality with a pass over the whole table: src/validate/file-cache.test.ts. */
import { existsSync } from 'node:fs';
import { readRegularFileSync, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { TableName, Workspace } from '../core/workspace.js';
import type { DuckDBConnection } from '../db/duckdb.js';
import { type BinSpec, duplicatesOf, fileBinCounts, type FileSymbols, fileSymbols, type PeriodBins, type PeriodSplit } from '../db/table-stats.js';

/** 2: entries hold `value` (format 1, a drift-only cache of 2026-12-06, held `periods`). */
const FORMAT = 2;

/** A table's data file as the catalog lists it. */
export interface CountedFile {
  /** Workspace-relative. */
  path: string;
  rows: number;
  bytes: number;
}

interface Entry<T> {
  rows: number;
  bytes: number;
  value: T;
}

interface CacheDoc<T> {
  format: number;
  /** The settings the values are for. */
  key: string;
  files: Record<string, Entry<T>>;
}

/** The cached entries for `key`, each still to check (usable); none when the file is missing, unreadable (not a regular file: never waited on), not JSON, or for other settings. */
function readCache(path: string, key: string, log: Logger): Map<string, unknown> {
  let doc: CacheDoc<unknown>;
  try {
    doc = JSON.parse(readRegularFileSync(path).toString('utf8')) as CacheDoc<unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.debug({ path, err: (err as Error).message }, 'validate: per-file cache unreadable; computing every file');
    return new Map();
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT || doc.key !== key || typeof doc.files !== 'object' || doc.files === null) return new Map();
  return new Map(Object.entries(doc.files as Record<string, unknown>));
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * Each of `files`' value: from the cache at `path` when it holds the file (same rows and bytes) under
 * `key` with a value `fits` takes (a hand-edited or half-valid entry is computed again, never thrown
 * on nor taken as a file of no rows), else from `compute` (given the others' absolute paths,
 * returning absolute path → value; a file it leaves out gets `empty`). The cache is rewritten to hold
 * these files and the other files it held that are still on disk.
 */
async function perFile<T>(ws: Workspace, path: string, key: string, files: readonly CountedFile[], empty: T, fits: (value: unknown, f: CountedFile) => value is T, compute: (abs: string[]) => Promise<Map<string, T>>, log: Logger): Promise<T[]> {
  const cached = readCache(path, key, log);
  const known = (f: CountedFile): Entry<T> | undefined => {
    const e = cached.get(f.path);
    if (typeof e !== 'object' || e === null) return undefined;
    const x = e as Partial<Entry<unknown>>;
    return x.rows === f.rows && x.bytes === f.bytes && fits(x.value, f) ? (x as Entry<T>) : undefined;
  };
  // Each entry checked once: a cache holds a few hundred files' entries of up to a bucket's symbols each.
  const hits = new Map(files.map((f) => [f.path, known(f)]));
  const fresh = files.filter((f) => hits.get(f.path) === undefined);
  const computed = fresh.length === 0 ? new Map<string, T>() : await compute(fresh.map((f) => ws.path(f.path)));
  const entries = new Map<string, Entry<T>>();
  for (const f of files) entries.set(f.path, { rows: f.rows, bytes: f.bytes, value: hits.get(f.path)?.value ?? computed.get(ws.path(f.path)) ?? empty });
  // Other snapshots' files (a check `--as-of` an older one, or the newest after it) keep their
  // entries while they are on disk; vacuum deletes the files no kept snapshot needs, and so these.
  const kept = new Map(entries);
  for (const [p, e] of cached) if (!kept.has(p) && existsSync(ws.path(p))) kept.set(p, e as Entry<T>);
  if (fresh.length > 0 || cached.size !== kept.size) {
    const doc: CacheDoc<T> = { format: FORMAT, key, files: Object.fromEntries(kept) };
    try {
      await writeFileAtomic(path, JSON.stringify(doc));
    } catch (err) {
      log.warn({ path, err: (err as Error).message }, 'validate: per-file cache not kept; the next check computes every file again');
    }
  }
  log.debug({ path, files: files.length, computed: fresh.length }, 'validate: per-file cache');
  return [...entries.values()].map((e) => e.value);
}

type StoredBins = { period: string; rows: number; counts: number[][] }[];

/** Counts of the settings' shape (one list of edges + 1 whole counts per spec in each period, no period twice, no bin over its period's rows) whose periods' rows add up to the file's. */
function fitsBins(specs: readonly BinSpec[]): (v: unknown, f: CountedFile) => v is StoredBins {
  return (v: unknown, f: CountedFile): v is StoredBins => {
    if (!Array.isArray(v)) return false;
    let rows = 0;
    const seen = new Set<string>();
    for (const p of v as unknown[]) {
      if (typeof p !== 'object' || p === null) return false;
      const q = p as Partial<StoredBins[number]>;
      if (typeof q.period !== 'string' || seen.has(q.period) || !isCount(q.rows) || !Array.isArray(q.counts) || q.counts.length !== specs.length) return false;
      seen.add(q.period);
      for (const [i, c] of (q.counts as unknown[]).entries()) {
        if (!Array.isArray(c) || c.length !== specs[i]!.edges.length + 1 || !c.every(isCount) || (c as number[]).reduce((a, b) => a + b, 0) > q.rows) return false;
      }
      rows += q.rows;
    }
    return rows === f.rows;
  };
}

/** A file's symbols as fileSymbols gives them ([symbol, first date, last date, repeats, rows], none when it is not sorted), the rows adding up to the file's. */
function fitsSymbols(v: unknown, f: CountedFile): v is FileSymbols {
  if (typeof v !== 'object' || v === null) return false;
  const x = v as Partial<FileSymbols>;
  if (typeof x.sorted !== 'boolean' || !Array.isArray(x.symbols) || (!x.sorted && x.symbols.length > 0)) return false;
  let rows = 0;
  for (const s of x.symbols as unknown[]) {
    if (!Array.isArray(s) || s.length !== 5 || typeof s[0] !== 'string' || typeof s[1] !== 'string' || typeof s[2] !== 'string' || !(s[1] <= s[2]) || !isCount(s[3]) || !isCount(s[4]) || s[3] >= s[4]) return false;
    rows += s[4];
  }
  return !x.sorted || rows === f.rows;
}

/** periodBinCounts of the table made of `files` (a snapshot's data files), each file binned once per key. */
export async function tableBinCounts(conn: DuckDBConnection, ws: Workspace, table: TableName, files: readonly CountedFile[], specs: readonly BinSpec[], split: PeriodSplit, log: Logger): Promise<PeriodBins[]> {
  const compute = async (abs: string[]): Promise<Map<string, StoredBins>> => {
    const counted = await fileBinCounts(conn, abs, specs, split);
    return new Map([...counted].map(([f, periods]) => [f, periods.map((p) => ({ period: p.period, rows: p.rows, counts: p.counts.map((c) => [...c]) }))]));
  };
  const values = await perFile<StoredBins>(ws, ws.driftCounts(table), JSON.stringify({ specs, split }), files, [], fitsBins(specs), compute, log);
  // The sum over files, period by period.
  const sum = new Map<string, PeriodBins>();
  for (const periods of values) {
    for (const p of periods) {
      let s = sum.get(p.period);
      if (s === undefined) sum.set(p.period, (s = { period: p.period, rows: 0, counts: specs.map((b) => new Float64Array(b.edges.length + 1)) }));
      s.rows += p.rows;
      p.counts.forEach((c, i) => c.forEach((n, k) => (s!.counts[i]![k]! += n)));
    }
  }
  return [...sum.values()].sort((a, b) => (a.period < b.period ? -1 : a.period > b.period ? 1 : 0));
}

/** duplicateRows of `source` (the table expression of a snapshot made of `files`, its data files), each file's symbols read once. */
export async function tableDuplicates(conn: DuckDBConnection, ws: Workspace, table: TableName, source: string, files: readonly CountedFile[], log: Logger): Promise<Map<string, number>> {
  if (files.length === 0) return new Map();
  const values = await perFile<FileSymbols>(ws, ws.symbolsCache(table), 'symbols', files, { sorted: true, symbols: [] }, fitsSymbols, (abs) => fileSymbols(conn, abs), log);
  return duplicatesOf(conn, source, values);
}
