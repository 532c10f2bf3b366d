/** @module features/build
 * Features (docs/data.md): reads tables/prices.parquet (sorted by Symbol, Date, as ingest writes it),
 * computes vol_moving_avg and adj_close_rolling_med per symbol with the typed-array kernels, and
 * writes features/features.parquet = every prices column + the two features, in the same order.
 * A worker scans prices (numeric columns, its own DuckDB) and computes the features per symbol (a
 * small build: the command's own thread, before writing); the main thread writes every column back
 * through the same table-function writer as ingest. */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { StockpipeError } from '../core/errors.js';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DEAD_SCRATCH_AGE_MS, readFileOrNull, removeDeadScratch, scratchFolder, statOrNull, withAtomicOutput, withScratch, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { type DuckDB, openDuckDB, queryRows, sqlPath, sqlString, tempTableOf, type DuckDBConnection, withThreads } from '../db/duckdb.js';
import { unsortedFiles } from '../db/table-stats.js';
import { EXPORT_PARQUET } from '../db/parquet-format.js';
import { BARS_COLUMNS, writeBarsParquet, type BarsBatch, type WrittenRange } from '../db/bars-writer.js';
import { changesBetween, currentSnapshot, getSnapshot, listSnapshots, type DataFileRecord, type SnapshotRecord } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { exportFormat } from '../store/export.js';
import { BUCKETS, bucketOf, LINEAGE_COLUMN, partitionName, TARGET_FILE_ROWS } from '../store/partition.js';
import { parquetSource, tableAt, type TableRead } from '../store/read.js';
import { ensureView } from '../store/view.js';
import { applyChanges, mayHold, type SymbolDelta, TableWrite, type WrittenFile } from '../store/write.js';
import { InboxConsumer, createControl } from '../core/sync-inbox.js';
import { workerScript } from '../core/worker-script.js';
import { civilFromDays, daysFromCivil } from '../core/calendar.js';
import type { FeatureMessage, FeatureWorkerInit } from './feature-protocol.js';
import { FeatureAssembler } from './assemble.js';
import { EXTENDED_COLUMNS, EXTENDED_LOOKBACK } from './lagged.js';
import { readNumericColumns } from '../db/read-columns.js';
import { commitPrepared, discardPrepared, removeStalePrepared } from './prepare.js';
import { loadTails, publishTails, saveTails, TAILS_TABLE, tailsMetadata, type TailsSnapshot } from './tails.js';

/**
 * Bumped when the features of the same prices change (a table of another version is rebuilt in full):
 * 2 = the day-ahead inputs computed by one module, 3 = the rolling median orders -0.0 before 0.0.
 */
export const FEATURES_VERSION = 3;
export const DEFAULT_WINDOW = 30;
/** How long a finished reader worker may take to exit on its own before it is terminated. */
const WORKER_EXIT_MS = 10_000;

export interface FeaturesOptions {
  /** The workspace: tables/, features/ and the threads and DuckDB settings. */
  ws: Workspace;
  window: number;
  /** Add the lagged day-ahead columns (features/lagged; docs/data.md, `--extended`). */
  extended?: boolean;
  force: boolean;
  log: Logger;
  progress: Progress;
  /** A full build's lanes (feature workers at once): by default one under SMALL_INPUT_ROWS rows (no worker under INLINE_ROWS), else up to two (tests set 2 to run both workers on small data). */
  lanes?: number;
}

export interface FeaturesReport {
  /** The table's folder (tables/features/). */
  output: string;
  /** The prices table's folder. */
  input: string;
  /** full = every symbol computed; incremental = only the changed symbols' window tails; partitioned = the changed buckets computed by `features --buckets` partitions, committed by `features --commit-stage` (features/partitions). */
  mode: 'full' | 'incremental' | 'partitioned';
  /** partitioned only: the staged partitions committed. */
  partitions?: number;
  /** The features snapshot written, and the prices snapshot it was computed from. */
  snapshot_id: number | null;
  prices_snapshot: number;
  /** Rows computed this time (all rows when full; the changed tails when incremental). */
  rows_computed: number;
  symbols_changed: number;
  /** full only: true when the build was the one the last full ingest prepared (features/prepare), committed without computing. */
  prepared?: boolean;
  /** incremental only: the changed symbols whose context rows (those before their first change) came from the tails file (features/tails), not the table. */
  symbols_context_cached?: number;
  rows: number;
  symbols: number;
  window: number;
  /** True when the extended columns (extended_columns) were written too. */
  extended: boolean;
  extended_columns: string[];
  /** Rows where both features are non-null (each symbol's rows from the w-th on). */
  rows_with_features: number;
  seconds: number;
  cached: boolean;
  input_hash: string;
}


/** The last build's report, or null when there is none or it is not JSON (a warning: the build runs again). */
function previousReport(ws: Workspace, text: string | null, log: Logger): FeaturesReport | null {
  if (text === null) return null;
  try {
    // Its paths are this workspace's (a copied or moved one holds the report of where it was built).
    const r = JSON.parse(text) as FeaturesReport | null;
    return typeof r === 'object' && r !== null ? { ...r, output: ws.tableDir('features'), input: ws.tableDir('prices') } : null;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'the last features report is not valid JSON: building again');
    return null;
  }
}

/** The settings a features snapshot was built with: another setting means a full rebuild. */
export interface FeatureSettings {
  version: number;
  window: number;
  extended: boolean;
}

const SCAN_COLUMNS = `CAST("Date" AS DATE) AS d, "Open", "High", "Low", "Close", "Adj Close", "Volume"::DOUBLE AS v, ("Asset" = 'stock')::UTINYINT AS a`;

/**
 * The features carry Volume as a double (the rolling mean is pandas' float64 arithmetic), which holds
 * every whole number only up to 2^53 − 1; prices keeps int64 volumes exactly. A row beyond that
 * (9 quadrillion shares: no real daily volume comes near) would be written back changed, or wrapped
 * negative at int64's maximum, so the build refuses it before writing anything. Row-group statistics
 * let DuckDB skip every file whose largest Volume is below the bound: no cost on real data.
 */
async function assertExactVolumes(conn: DuckDBConnection, source: string): Promise<void> {
  const [hit] = await queryRows(conn, `SELECT "Symbol" AS s, CAST(CAST("Date" AS DATE) AS VARCHAR) AS d, CAST("Volume" AS VARCHAR) AS v FROM ${source} WHERE "Volume" >= 9007199254740992 LIMIT 1`);
  if (hit === undefined) return;
  throw new StockpipeError('SP_ERR_FEATURES_INPUT', `prices: the Volume of ${String(hit.s)} on ${String(hit.d)} is ${String(hit.v)}, beyond 2^53 − 1: the features' float64 arithmetic cannot carry it exactly (nothing written)`, {
    hint: 'Correct that row in the source and ingest again (no real daily volume comes near 9 quadrillion shares); `stockpipe export prices --symbols SYM` shows it.',
  });
}

/** A scan for the worker: rows of `symbols`-ordered data. */
interface Scan {
  queries: string[];
  /** Per symbol (in the queries' order): name, rows, Security Name. */
  symbols: string[];
  lengths: number[];
  names: (string | null)[];
}

/** Each scanned symbol's Security Name index into `nameIndex` (-1 = null). */
const nameIdxOf = (scan: Scan, nameIndex: Map<string, number>): number[] => scan.names.map((n) => (n === null ? -1 : nameIndex.get(n)!));

/** Runs `scan` on `conn` through the kernels in this thread (no worker): `emit` gets each symbol's batch, in order. */
async function computeInThread(conn: DuckDBConnection, scan: Scan, window: number, extended: boolean, nameIndex: Map<string, number>, emit: (sym: number, batch: BarsBatch, withFeatures: number) => void): Promise<void> {
  const asm = new FeatureAssembler({ lengths: scan.lengths, nameIdx: nameIdxOf(scan, nameIndex), window, extended }, emit);
  for (const sql of scan.queries) await readNumericColumns(conn, sql, (cols, n) => asm.push(cols, n));
  asm.end();
}

/**
 * Runs the feature worker over a scan and hands the main thread a `take()` that returns each
 * symbol's computed batch in order (blocking until the worker has it).
 */
async function withWorker<T>(ws: Workspace, scan: Scan, window: number, extended: boolean, nameIndex: Map<string, number>, use: (take: () => { batch: BarsBatch; withFeatures: number } | null) => Promise<T>): Promise<T> {
  const control = createControl();
  const { port1, port2 } = new MessageChannel();
  const init: FeatureWorkerInit = { queries: scan.queries, lengths: scan.lengths, nameIdx: nameIdxOf(scan, nameIndex), window, extended, memoryLimit: ws.memoryLimit, tempDir: ws.duckdbReaderTempDir, lookahead: 64, control, port: port2 };
  const worker = new Worker(workerScript(import.meta.url, 'features/feature-worker.js'), { workerData: init, transferList: [port2] });
  const inbox = new InboxConsumer<FeatureMessage>(control, [port1], (i) => `symbol ${scan.symbols[i]}`);
  worker.on('error', (err) => inbox.fail(err.message));
  // Listening from the start: it may exit before the write ends. A rejection here repeats the
  // worker's 'error' event, which inbox.fail already reports.
  const exited = once(worker, 'exit').catch(() => undefined);
  let sym = 0;
  const take = (): { batch: BarsBatch; withFeatures: number } | null => {
    while (sym < scan.lengths.length && scan.lengths[sym] === 0) sym++;
    if (sym >= scan.lengths.length) return null;
    const msg = inbox.take(sym++, (m) => (m.ok ? undefined : m.message));
    if (!msg.ok) throw new Error(msg.message);
    return { batch: msg.batch, withFeatures: msg.withFeatures };
  };
  let done = false;
  try {
    const out = await use(take);
    done = true;
    return out;
  } finally {
    // Let the worker finish its last DuckDB call and exit by itself (after a failure, it stops at
    // its next wait for room): terminating it while a native call is in flight aborts the process.
    if (!done) inbox.cancel();
    await Promise.race([exited, new Promise((r) => setTimeout(r, WORKER_EXIT_MS).unref())]);
    port1.close();
    await worker.terminate();
  }
}

/**
 * The same batches as withWorker's, computed here on `conn` before `use` runs (for a build small
 * enough to hold whole: starting a worker thread and its DuckDB costs more CPU than the build).
 */
async function withoutWorker<T>(conn: DuckDBConnection, scan: Scan, window: number, extended: boolean, nameIndex: Map<string, number>, use: (take: () => { batch: BarsBatch; withFeatures: number } | null) => Promise<T>): Promise<T> {
  const computed: ({ batch: BarsBatch; withFeatures: number } | undefined)[] = new Array(scan.lengths.length);
  await computeInThread(conn, scan, window, extended, nameIndex, (sym, batch, withFeatures) => {
    computed[sym] = { batch, withFeatures };
  });
  let sym = 0;
  return use(() => {
    while (sym < scan.lengths.length && scan.lengths[sym] === 0) sym++;
    if (sym >= scan.lengths.length) return null;
    const got = computed[sym];
    computed[sym++] = undefined;
    if (got === undefined) throw new Error(`the scan gave no rows for symbol ${scan.symbols[sym - 1]}`);
    return got;
  });
}

/**
 * The prices files a full build reads, and the prices snapshots that appended rows (appends, and
 * restatements, which append the other symbols' new days): before 2026-12-06 their appended rows were
 * written by a partitioned COPY, which could leave a file in two sorted runs, so such a file is
 * checked before a bucket is read without a sort.
 */
export interface PricesInput {
  files: readonly DataFileRecord[];
  appendSnapshots: ReadonlySet<number>;
}

export function pricesInput(reg: Registry, files: readonly DataFileRecord[]): PricesInput {
  return { files, appendSnapshots: new Set(listSnapshots(reg, 'prices').filter((s) => s.operation === 'append' || s.operation === 'restate').map((s) => s.id)) };
}

/** The live prices files of each bucket, and whether a bucket's files hold disjoint, ordered symbol ranges, each sorted within (then no sort is needed). */
async function bucketScans(conn: DuckDBConnection, ws: Workspace, input: PricesInput): Promise<{ bucket: number; source: string; ordered: boolean }[]> {
  const buckets: { bucket: number; files: DataFileRecord[]; ordered: boolean }[] = [];
  for (let b = 0; b < BUCKETS; b++) {
    const fs = input.files.filter((f) => f.partition === partitionName(b)).sort((x, y) => ((x.symbol_min ?? '') < (y.symbol_min ?? '') ? -1 : 1));
    if (fs.length > 0) buckets.push({ bucket: b, files: fs, ordered: fs.every((f, i) => i === 0 || (fs[i - 1]!.symbol_max ?? '') < (f.symbol_min ?? '')) });
  }
  // Only where no sort would be done: a bucket of overlapping files is sorted anyway.
  const unsure = buckets.filter((b) => b.ordered).flatMap((b) => b.files.filter((f) => input.appendSnapshots.has(f.added_snapshot)).map((f) => ws.path(f.path)));
  const unsorted = await unsortedFiles(conn, unsure);
  return buckets.map((b) => ({ bucket: b.bucket, source: parquetSource(b.files.map((f) => ws.path(f.path))), ordered: b.ordered && b.files.every((f) => !unsorted.has(ws.path(f.path))) }));
}

export function kvMetadata(s: FeatureSettings): Record<string, string> {
  return { stockpipe_table: 'features', stockpipe_sorted_by: 'Symbol,Date', stockpipe_window: String(s.window), stockpipe_features_version: String(s.version), ...(s.extended ? { stockpipe_extended: EXTENDED_COLUMNS.join(',') } : {}) };
}

/** A features write left without files keeps one empty file with the table's columns (TableWrite.keepSchema). */
export function keepFeaturesSchema(conn: DuckDBConnection, w: TableWrite, s: FeatureSettings): Promise<void> {
  return w.keepSchema((abs) => writeBarsParquet(conn, { symbols: [], names: [], dayMin: 0, dayMax: 0, formatDay: civilFromDays, extraColumns: extraColumns(s), lineage: w.id, kvMetadata: kvMetadata(s) }, () => null, abs));
}

export const extraColumns = (s: FeatureSettings): string[] => ['vol_moving_avg', 'adj_close_rolling_med', ...(s.extended ? EXTENDED_COLUMNS : [])];

/** Rows of `paths` whose features are non-null, from the files' footers (Parquet null counts), not a scan. */
export async function rowsWithFeatures(conn: DuckDBConnection, paths: readonly string[]): Promise<number> {
  if (paths.length === 0) return 0;
  const [tot] = await queryRows(conn, `SELECT coalesce(sum(num_values) - sum(stats_null_count), 0)::BIGINT AS f FROM parquet_metadata([${paths.map(sqlPath).join(', ')}]) WHERE path_in_schema = 'vol_moving_avg'`);
  return Number(tot!.f);
}

/** The report's facts read from the written table (its files' metadata; Symbol counted only when the prices snapshot's summary lacks it). */
async function tableFacts(conn: DuckDBConnection, live: readonly string[], prices: TableRead, settings: FeatureSettings): Promise<Pick<FeaturesReport, 'symbols' | 'extended_columns' | 'rows_with_features'>> {
  const pricesSymbols = (prices.snapshot.summary as { symbols?: number } | null)?.symbols;
  return {
    symbols: pricesSymbols ?? Number((await queryRows(conn, `SELECT count(DISTINCT "Symbol")::BIGINT AS s FROM ${parquetSource(live)}`))[0]!.s),
    extended_columns: settings.extended ? [...EXTENDED_COLUMNS] : [],
    rows_with_features: await rowsWithFeatures(conn, live),
  };
}

/**
 * The report of a features snapshot already built from `prices` with these settings, read from the
 * catalog and the files' metadata (no row is computed): what the build that wrote it reported, as a
 * cached answer (rows_computed and symbols_changed as its summary recorded them).
 */
async function reportOfSnapshot(ws: Workspace, reg: Registry, cur: SnapshotRecord, prices: TableRead, settings: FeatureSettings, hash: string, t0: number): Promise<FeaturesReport> {
  const live = tableAt(ws, reg, 'features', { snapshot: cur.id }).paths;
  const summary = (cur.summary ?? {}) as { mode?: unknown; rows_computed?: unknown; symbols_changed?: unknown };
  const mode = summary.mode === 'incremental' || summary.mode === 'partitioned' ? summary.mode : 'full';
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    const facts = await tableFacts(db.connection, live, prices, settings);
    return {
      output: ws.tableDir('features'),
      input: ws.tableDir('prices'),
      mode,
      snapshot_id: cur.id,
      prices_snapshot: prices.snapshot.id,
      rows_computed: typeof summary.rows_computed === 'number' ? summary.rows_computed : 0,
      symbols_changed: typeof summary.symbols_changed === 'number' ? summary.symbols_changed : 0,
      rows: cur.rows,
      symbols: facts.symbols,
      window: settings.window,
      extended: settings.extended,
      extended_columns: facts.extended_columns,
      rows_with_features: facts.rows_with_features,
      seconds: Math.round(performance.now() - t0) / 1000,
      cached: true,
      input_hash: hash,
    };
  } finally {
    db.close();
  }
}

/** Refuses a window outside 2..1000 (SP_ERR_FEATURES_WINDOW). */
export function checkWindow(w: number): void {
  if (!Number.isInteger(w) || w < 2 || w > 1000) throw new StockpipeError('SP_ERR_FEATURES_WINDOW', `--window must be a whole number from 2 to 1000 (got ${w})`);
}

/** The report's input_hash: what the features were computed from. */
export function featuresInputHash(pricesSnapshot: number, s: FeatureSettings): string {
  return `prices:${pricesSnapshot}/w${s.window}${s.extended ? '/x' : ''}/v${s.version}`;
}

/** Builds a features snapshot from the current prices snapshot: only the changed symbols' tails when it can; cached when nothing changed. */
export async function buildFeatures(opts: FeaturesOptions): Promise<FeaturesReport> {
  const t0 = performance.now();
  const { ws, window: w, log } = opts;
  checkWindow(w);
  const settings: FeatureSettings = { version: FEATURES_VERSION, window: w, extended: opts.extended === true };
  await removeDeadScratch(ws, Date.now() - DEAD_SCRATCH_AGE_MS);
  const reg = openRegistry(ws);
  try {
    await ensureView(ws, reg, 'prices');
    await ensureView(ws, reg, 'features');
    const prices = tableAt(ws, reg, 'prices');
    const cur = currentSnapshot(reg, 'features');
    const built = (cur?.source ?? null) as (FeatureSettings & { prices_snapshot: number }) | null;
    const sameSettings = built !== null && built.version === settings.version && built.window === settings.window && built.extended === settings.extended;
    const hash = featuresInputHash(prices.snapshot.id, settings);
    if (!opts.force && cur && sameSettings && built!.prices_snapshot === prices.snapshot.id) {
      // The features of these prices are built: a stage prepared for them was used or came too late,
      // and one a killed ingest left is of no use either (features/prepare).
      await removeStalePrepared(ws, reg, { cutoff: Date.now() - DEAD_SCRATCH_AGE_MS });
      const prev = previousReport(ws, await readFileOrNull(ws.featuresReport), log);
      if (prev && prev.snapshot_id === cur.id) {
        log.info({ snapshot: cur.id }, 'prices and settings unchanged since the last build: nothing to do');
        return { ...prev, cached: true, seconds: Math.round(performance.now() - t0) / 1000 };
      }
      // The current snapshot is this build already, without its report: its writer was killed after
      // the commit (or vacuum compacted it since). Nothing to compute: the report is made from it.
      log.info({ snapshot: cur.id }, 'prices and settings unchanged since the last build (its report is missing or older): nothing to do');
      const report = await reportOfSnapshot(ws, reg, cur, prices, settings, hash, t0);
      await writeFileAtomic(ws.featuresReport, `${JSON.stringify({ ...report, cached: false }, null, 2)}\n`);
      return report;
    }
    // A rebuild without the lagged columns the current table has: said, as the day-ahead model needs them.
    if (built?.extended === true && !settings.extended) {
      log.warn({ snapshot: cur?.id }, 'the features table has the lagged day-ahead columns (features --extended, the daily pipeline); this build drops them, and train --task forecast will refuse it: set features.extended to true in the config to keep them (train and daily on one workspace)');
    }
    // Incremental only over prices snapshots that changed rows per symbol (an overwrite rebuilds all).
    const between = cur && sameSettings && !opts.force ? listSnapshots(reg, 'prices').filter((s) => s.id > built!.prices_snapshot && s.id <= prices.snapshot.id) : [];
    const incremental = cur !== null && sameSettings && !opts.force && between.length > 0 && between.every((s) => s.operation !== 'overwrite');
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const source = { ...settings, prices_snapshot: prices.snapshot.id };
      // symbols: a full build's count of symbols computed (all of them); an incremental one changes `changes`.
      let r: { computed: number; symbols?: number; changes: Map<string, SymbolDelta>; append: boolean; contextCached?: number };
      let snap: SnapshotRecord;
      // A full build the last full ingest prepared (features/prepare) is committed as it is; --force computes anew.
      const keepSchema = (w: TableWrite): Promise<void> => keepFeaturesSchema(db.connection, w, settings);
      const prepared = incremental ? null : opts.force ? await discardPrepared(ws).then(() => null) : await commitPrepared(ws, reg, { settings, prices: prices.snapshot, source, keepSchema, log });
      if (prepared !== null) {
        snap = prepared.snapshot;
        r = { computed: prepared.rows, symbols: prepared.symbols, changes: new Map(), append: false };
        log.info({ snapshot: snap.id, rows: prepared.rows }, 'features: committed the rows the full ingest prepared');
      } else {
        const w0 = TableWrite.begin(ws, reg, 'features');
        try {
          r = incremental
            ? await incrementalBuild(db.connection, w0, prices, settings, { since: built!.prices_snapshot, sinceCreated: getSnapshot(reg, built!.prices_snapshot)?.created_at ?? '', ...changesBetween(reg, 'prices', built!.prices_snapshot, prices.snapshot.id) }, between.every((s) => s.operation === 'append' || s.operation === 'compact'), log)
            : await fullBuild(db, w0, pricesInput(reg, prices.files), settings, opts, { prices: prices.snapshot, log });
          snap = await w0.commit(reg, {
            operation: incremental ? (r.append ? 'append' : 'restate') : 'overwrite',
            source,
            summary: { mode: incremental ? 'incremental' : 'full', rows_computed: r.computed, symbols_changed: r.symbols ?? r.changes.size, files_added: w0.added.length, files_removed: w0.removed.length },
            changes: incremental ? [...r.changes].map(([symbol, ch]) => ({ symbol, from_date: ch.from })) : [],
          });
        } catch (err) {
          await w0.discard(); // nothing was committed: the files written so far are nobody's
          throw w0.failure(err);
        }
      }
      log.debug({ phase: 'committed', ms: Math.round(performance.now() - t0) }, 'features');
      const live = tableAt(ws, reg, 'features').paths;
      const facts = await tableFacts(db.connection, live, prices, settings);
      const report: FeaturesReport = {
        output: ws.tableDir('features'),
        input: ws.tableDir('prices'),
        mode: incremental ? 'incremental' : 'full',
        snapshot_id: snap.id,
        prices_snapshot: prices.snapshot.id,
        rows_computed: r.computed,
        symbols_changed: r.symbols ?? r.changes.size,
        ...(incremental ? { symbols_context_cached: r.contextCached ?? 0 } : {}),
        ...(prepared !== null ? { prepared: true } : {}),
        rows: snap.rows,
        symbols: facts.symbols,
        window: w,
        extended: settings.extended,
        extended_columns: facts.extended_columns,
        rows_with_features: facts.rows_with_features,
        seconds: Math.round(performance.now() - t0) / 1000,
        cached: false,
        input_hash: hash,
      };
      await writeFileAtomic(ws.featuresReport, `${JSON.stringify(report, null, 2)}\n`);
      return report;
    } finally {
      db.close();
    }
  } finally {
    opts.progress.stop();
    reg.close();
  }
}

/** Under this many rows a full build computes and writes in one lane: a second lane's worker and DuckDB connection cost more than they save (BENCHMARKS.md, "Lanes and DuckDB's threads in full builds"). */
const SMALL_INPUT_ROWS = 500_000;
/** Under this many rows a full build computes in the command's own thread, before writing: no worker thread (≈ 0.2 s of CPU to start with its DuckDB) for a build of a few tenths of a second (BENCHMARKS.md, "Small builds without worker threads"). */
const INLINE_ROWS = 300_000;

/**
 * Every symbol of `files`: one worker scan per bucket (no sort when the bucket's files are ordered),
 * files of about TARGET_FILE_ROWS cut between symbols, written by `lanes` workers and connections at
 * once. Each symbol's values depend only on its own rows, so a build of some buckets' files (a
 * partition, features/partitions) writes the same values as a build of all of them.
 */
export async function fullBuild(db: DuckDB, w: FileSink, input: PricesInput, s: FeatureSettings, opts: Pick<FeaturesOptions, 'progress' | 'lanes'>, tails?: { prices: TailsSnapshot; log: Logger }): Promise<{ computed: number; symbols: number; changes: Map<string, SymbolDelta>; append: boolean }> {
  const ws = w.ws;
  const conn = db.connection;
  const files = input.files;
  await assertExactVolumes(conn, parquetSource(files.map((f) => ws.path(f.path))));
  const buckets = await bucketScans(conn, ws, input);
  // One scan for each symbol's rows, name and first and last date ("Date" is YYYY-MM-DD: the string
  // order is the date order, so no row's text is cast to a date).
  const info = await queryRows(conn, `SELECT "Symbol" AS s, count(*)::BIGINT AS n, min("Security Name") AS name, min("Date") AS lo, max("Date") AS hi FROM ${parquetSource(files.map((f) => ws.path(f.path)))} GROUP BY "Symbol" ORDER BY "Symbol"`);
  const names = [...new Set(info.map((r) => r.name).filter((n): n is string => typeof n === 'string'))].sort();
  const nameIndex = new Map(names.map((n, i) => [n, i]));
  const range = dayRange(info);
  const rows = info.reduce((a, r) => a + Number(r.n), 0);
  const lanes = Math.max(1, Math.min(opts.lanes ?? (rows < SMALL_INPUT_ROWS ? 1 : 2), ws.threads, buckets.length));
  const plans = Array.from({ length: lanes }, () => ({ scan: { queries: [], symbols: [], lengths: [], names: [] } as Scan, buckets: [] as { bucket: number; count: number }[] }));
  // Buckets dealt to the lanes largest first, so both lanes end at about the same time.
  const sized = buckets.map((b) => ({ ...b, rows: info.filter((r) => bucketOf(String(r.s)) === b.bucket).reduce((a, r) => a + Number(r.n), 0) })).sort((a, b) => b.rows - a.rows);
  const load = new Array<number>(lanes).fill(0);
  for (const b of sized) {
    const l = load.indexOf(Math.min(...load));
    load[l]! += b.rows;
    const plan = plans[l]!;
    const mine = info.filter((r) => bucketOf(String(r.s)) === b.bucket);
    plan.buckets.push({ bucket: b.bucket, count: mine.length });
    for (const r of mine) {
      plan.scan.symbols.push(String(r.s));
      plan.scan.lengths.push(Number(r.n));
      plan.scan.names.push(typeof r.name === 'string' ? r.name : null);
    }
    plan.scan.queries.push(`SELECT ${SCAN_COLUMNS} FROM ${b.source}${b.ordered ? '' : ' ORDER BY "Symbol", "Date"'}`);
  }
  // The last context rows of each symbol as they pass, for the tails file (features/tails) the next incremental build reads.
  const ctx = contextRows(s);
  const globalSym = new Map(info.map((r, i) => [String(r.s), i]));
  const tailRows: BarsBatch[] = [];
  opts.progress.start('features', rows);
  let done = 0;
  let failed: unknown = null;
  // Each lane is a feature worker and the COPY that encodes its files: DuckDB gets the threads they leave (withThreads).
  const settled = await withThreads(conn, ws.threads - 2 * lanes, () => Promise.allSettled(plans.map(async (plan, l) => {
    const c = l === 0 ? conn : await db.connect();
    const compute = lanes === 1 && rows < INLINE_ROWS ? withoutWorker.bind(null, c) : withWorker.bind(null, ws);
    await compute(plan.scan, s.window, s.extended, nameIndex, async (take) => {
      for (const pb of plan.buckets) {
        let left = pb.count;
        // One file per TARGET_FILE_ROWS rows of the bucket, cut between symbols (as ingest writes).
        while (left > 0) {
          let rowsInFile = 0;
          const next = (): BarsBatch | null => {
            if (failed !== null) throw new Error('another lane failed'); // stop this lane's write too
            if (left === 0 || rowsInFile >= TARGET_FILE_ROWS) return null;
            const got = take();
            if (got === null) throw new Error('the feature worker ended early');
            left--;
            if (tails !== undefined) tailRows.push(copyTail(got.batch, ctx, globalSym.get(plan.scan.symbols[got.batch.sym]!)!));
            done += got.batch.rows;
            rowsInFile += got.batch.rows;
            opts.progress.update(done);
            return got.batch;
          };
          const f = await w.newFile(pb.bucket);
          let wrote: WrittenRange;
          try {
            wrote = await writeBarsParquet(c, { symbols: plan.scan.symbols, names, dayMin: range.lo, dayMax: range.hi, formatDay: civilFromDays, extraColumns: extraColumns(s), lineage: w.id, kvMetadata: kvMetadata(s) }, next, f.abs);
          } catch (err) {
            failed ??= err;
            throw err;
          }
          await w.addMeasured(f, wrote);
        }
      }
    });
  })));
  const rejected = settled.find((x) => x.status === 'rejected');
  if (rejected) {
    await w.discard();
    throw failed ?? rejected.reason;
  }
  if (done !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `features wrote ${done} rows, expected ${rows}`);
  if (tails !== undefined && files.length > 0) {
    // The bars writer writes the prices columns: the tails file is one only when the prices files have exactly those.
    const columns = (await queryRows(conn, `DESCRIBE SELECT * FROM ${parquetSource([ws.path(files[0]!.path)])}`)).map((r) => String(r.column_name));
    if (columns.join('\u0000') === [...BARS_COLUMNS, LINEAGE_COLUMN].join('\u0000')) {
      tailRows.sort((a, b) => a.sym - b.sym);
      let i = 0;
      await publishTails(ws, (tmp) => writeBarsParquet(conn, { symbols: info.map((r) => String(r.s)), names, dayMin: range.lo, dayMax: range.hi, formatDay: civilFromDays, lineage: tails.prices.id, kvMetadata: tailsMetadata(tails.prices, ctx, columns) }, () => tailRows[i++] ?? null, tmp), tails.log);
    }
  }
  w.removeAll();
  const lo = range.lo;
  await w.keepSchema((abs) => writeBarsParquet(conn, { symbols: info.map((r) => String(r.s)), names, dayMin: lo, dayMax: lo, formatDay: civilFromDays, extraColumns: extraColumns(s), lineage: w.id, kvMetadata: kvMetadata(s) }, () => null, abs));
  return { computed: rows, symbols: info.length, changes: new Map(), append: false };
}

/** Where a full build puts its files: a snapshot being written (TableWrite), a scratch folder (features --as-of), or a stage folder (features --buckets). */
export interface FileSink {
  readonly id: number;
  readonly ws: Workspace;
  newFile(bucket: number): Promise<WrittenFile>;
  /** Records a file as its writer measured it (db/bars-writer); a sink may drop a file without rows. */
  addMeasured(f: WrittenFile, r: WrittenRange): Promise<unknown>;
  removeAll(): void;
  discard(): Promise<void>;
  keepSchema(write: (abs: string) => Promise<WrittenRange>): Promise<void>;
}

/** A sink of files in a temp folder, for a computation that is not a snapshot. */
class ScratchSink implements FileSink {
  readonly files: string[] = [];
  private seq = 0;
  constructor(readonly ws: Workspace, readonly id: number, private readonly dir: string) {}
  async newFile(bucket: number): Promise<WrittenFile> {
    await mkdir(this.dir, { recursive: true });
    const abs = join(this.dir, `${partitionName(bucket)}-${this.seq++}.parquet`);
    return { rel: abs, abs, partition: partitionName(bucket) };
  }
  async addMeasured(f: WrittenFile): Promise<void> {
    this.files.push(f.abs);
  }
  removeAll(): void {}
  async keepSchema(write: (abs: string) => Promise<unknown>): Promise<void> {
    if (this.files.length > 0) return;
    const f = await this.newFile(0);
    await write(f.abs);
    this.files.push(f.abs);
  }
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface FeaturesAsOfOptions {
  ws: Workspace;
  window: number;
  extended?: boolean;
  /** A snapshot id or a time (store/read's parseAsOf). */
  asOf: string;
  /** FILE.parquet or FILE.csv. */
  out: string;
  log: Logger;
  progress: Progress;
}

export interface FeaturesAsOfReport {
  output: string;
  prices_snapshot: number;
  rows: number;
  symbols: number;
  window: number;
  extended: boolean;
  seconds: number;
}

/**
 * `features --as-of X --out FILE`: the features of the prices table as it was at X, computed the way
 * every build computes them, written to one file sorted by Symbol, Date (without the lineage column:
 * the rows are a computation, not stored ones). Equal, value for value, to the features snapshot that
 * was built from that prices snapshot. The store is not changed.
 */
export async function featuresAsOf(o: FeaturesAsOfOptions): Promise<FeaturesAsOfReport> {
  const t0 = performance.now();
  const w = o.window;
  checkWindow(w);
  // The same rule as `export --out` (the extension, in any case, names the format).
  const format = exportFormat(o.out);
  // Before the build: a folder there failed only at the rename, as SP_ERR_INTERNAL (EISDIR).
  if ((await statOrNull(o.out))?.isDirectory()) {
    throw new StockpipeError('SP_ERR_USAGE', `--out ${o.out} is a folder`, { hint: 'Give a file name, e.g. --out features-3.parquet.' });
  }
  const settings: FeatureSettings = { version: FEATURES_VERSION, window: w, extended: o.extended === true };
  await removeDeadScratch(o.ws, Date.now() - DEAD_SCRATCH_AGE_MS);
  const reg = openRegistry(o.ws, { readonly: true });
  let prices: TableRead;
  let input: PricesInput;
  try {
    prices = tableAt(o.ws, reg, 'prices', o.asOf);
    input = pricesInput(reg, prices.files);
  } finally {
    reg.close();
  }
  // The build (the size of the features table) is deleted when the command ends, also by Ctrl-C (withScratch);
  // in the system's temp folder when the workspace is read-only (the store is only read: scratchFolder).
  return withScratch(join(await scratchFolder(o.ws.tmpDir), `features-as-of-${process.pid}`), async (scratch) => {
    const db = await openDuckDB(o.ws.duckdbSettings());
    const sink = new ScratchSink(o.ws, prices.snapshot.id, scratch);
    try {
      await fullBuild(db, sink, input, settings, o);
      const opts = format === 'parquet' ? `(${EXPORT_PARQUET})` : '(FORMAT csv, HEADER true)';
      await withAtomicOutput(o.out, (tmp) => db.connection.run(`COPY (SELECT * EXCLUDE (${LINEAGE_COLUMN}) FROM ${parquetSource(sink.files)} ORDER BY "Symbol", "Date") TO ${sqlString(tmp)} ${opts}`), '--out');
      const [n] = await queryRows(db.connection, `SELECT count(*)::BIGINT AS n, count(DISTINCT "Symbol")::BIGINT AS s FROM ${parquetSource(sink.files)}`);
      return { output: o.out, prices_snapshot: prices.snapshot.id, rows: Number(n!.n), symbols: Number(n!.s), window: w, extended: settings.extended, seconds: Math.round(performance.now() - t0) / 1000 };
    } finally {
      await sink.discard();
      o.progress.stop();
      db.close();
    }
  });
}

/** Rows before a changed row that its features may read: the rolling window's w − 1, the extended columns' lookback. */
export function contextRows(s: FeatureSettings): number {
  return Math.max(s.window - 1, s.extended ? EXTENDED_LOOKBACK : 0);
}

/**
 * Only the changed symbols: for each, its prices rows from `context` rows before its first changed
 * date on are scanned, the features computed, and the rows from the changed date on replace the
 * stored ones (docs/store.md). Each row's features read only its own window, so the result equals a
 * full rebuild bit for bit.
 */
async function incrementalBuild(conn: DuckDBConnection, w: TableWrite, prices: { snapshot: SnapshotRecord; files: DataFileRecord[] }, s: FeatureSettings, base: { since: number; sinceCreated: string; changes: Map<string, string | null>; removed: ReadonlySet<string> }, append: boolean, log: Logger): Promise<{ computed: number; changes: Map<string, SymbolDelta>; append: boolean; contextCached: number }> {
  const ws = w.ws;
  const t0 = performance.now();
  const lap = (phase: string): void => log.debug({ phase, ms: Math.round(performance.now() - t0) }, 'incremental features');
  // The rows before each change stay in the current snapshot's files: one deleted by hand fails here
  // (features --force rebuilds), not after a commit that would list it again.
  w.assertBaseOnDisk();
  const ctx = contextRows(s);
  const changed = base.changes;
  await startReaddedAtOldRows(conn, w, changed, base.removed);
  const changes = new Map<string, SymbolDelta>();
  for (const [sym, from] of changed) changes.set(sym, { from, append: append && from !== null });
  const live = [...changed].filter(([, from]) => from !== null) as [string, string][];
  const columns = prices.files.length === 0 ? [] : (await queryRows(conn, `DESCRIBE SELECT * FROM ${parquetSource([ws.path(prices.files[0]!.path)])}`)).map((r) => String(r.column_name));
  const sinceTails = { id: base.since, created_at: base.sinceCreated };
  await tempTableOf(conn, 'sp_changed', [{ name: 'Symbol', type: 'VARCHAR', values: [...changed.keys()] }]);
  if (live.length === 0) {
    await applyChanges(conn, w, null, changes);
    // Removals only: the tails file stays current (the removed symbols dropped, keyed to this prices
    // snapshot), or the next build would read every symbol's context from the table.
    if (columns.length > 0 && (await loadTails(conn, ws, sinceTails, ctx, columns, log))) {
      await saveTails(conn, ws, { prices: prices.snapshot, ctx, columns, slice: `(SELECT * FROM ${TAILS_TABLE} WHERE false)`, changedTable: 'sp_changed', kept: true }, log);
    }
    return { computed: 0, changes, append: false, contextCached: 0 };
  }
  const rowsTable = 'sp_feature_rows';
  // The context of the symbols the tails file holds comes from it (features/tails), their new rows from the files added since.
  const tails = await loadTails(conn, ws, sinceTails, ctx, columns, log);
  const fast = new Set<string>();
  if (tails) {
    await tempTableOf(conn, 'sp_fc', [
      { name: 'Symbol', type: 'VARCHAR', values: live.map(([sym]) => sym) },
      { name: 'from_date', type: 'VARCHAR', values: live.map(([, from]) => from) },
    ]);
    const removed = [...base.removed].map(sqlString);
    // A symbol's tail stands when all its changes come after its last row there and it was not removed meanwhile.
    await conn.run(`CREATE OR REPLACE TEMP TABLE sp_fast AS SELECT c."Symbol", c.from_date FROM sp_fc c JOIN (SELECT "Symbol", max("Date") AS last FROM ${TAILS_TABLE} GROUP BY "Symbol") t USING ("Symbol") WHERE c.from_date > t.last${removed.length > 0 ? ` AND c."Symbol" NOT IN (${removed.join(', ')})` : ''}`);
    for (const r of await queryRows(conn, 'SELECT "Symbol" AS s FROM sp_fast')) fast.add(String(r.s));
    const added = prices.files.filter((f) => f.added_snapshot > base.since);
    const fresh = added.length === 0 ? '' : ` UNION ALL SELECT p.*, f.from_date FROM ${parquetSource(added.map((f) => ws.path(f.path)))} p JOIN sp_fast f USING ("Symbol") WHERE p."Date" >= f.from_date`;
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${rowsTable} AS SELECT t.*, f.from_date FROM ${TAILS_TABLE} t JOIN sp_fast f USING ("Symbol")${fresh}`);
    lap(`${fast.size} symbols' context from the tails file`);
  }
  const slow = fast.size === 0 ? live : live.filter(([sym]) => !fast.has(sym));
  if (slow.length > 0) await readContext(conn, ws, prices.files, slow, ctx, rowsTable, fast.size > 0, lap);
  // Keep exactly ctx rows before each symbol's change (a full rebuild's window sees no more than that).
  // The tails file's symbols have at most ctx rows before their change (its rows are their last ctx,
  // all before it): when every symbol came from there, the rows are the slice already.
  const slice = slow.length === 0 ? rowsTable : 'sp_slice';
  const delta = join(ws.tmpDir, `features-delta-${process.pid}-${w.id}.parquet`);
  await mkdir(ws.tmpDir, { recursive: true });
  try {
    if (slice !== rowsTable) await conn.run(`CREATE OR REPLACE TEMP TABLE ${slice} AS SELECT * EXCLUDE (rn, k) FROM (SELECT *, row_number() OVER (PARTITION BY "Symbol" ORDER BY "Date") AS rn, count(*) FILTER (WHERE "Date" < from_date) OVER (PARTITION BY "Symbol") AS k FROM ${rowsTable}) WHERE rn > k - ${ctx}`);
    await assertExactVolumes(conn, slice);
    const info = await queryRows(conn, `SELECT "Symbol" AS s, count(*)::BIGINT AS n, min("Security Name") AS name, count(*) FILTER (WHERE "Date" < from_date)::BIGINT AS skip, (CAST(min("Date") AS DATE) - DATE '1970-01-01')::INTEGER AS lo, (CAST(max("Date") AS DATE) - DATE '1970-01-01')::INTEGER AS hi FROM ${slice} GROUP BY "Symbol" ORDER BY "Symbol"`);
    const scan: Scan = { queries: [`SELECT ${SCAN_COLUMNS} FROM ${slice} ORDER BY "Symbol", "Date"`], symbols: info.map((r) => String(r.s)), lengths: info.map((r) => Number(r.n)), names: info.map((r) => (typeof r.name === 'string' ? r.name : null)) };
    const skip = info.map((r) => Number(r.skip));
    const names = [...new Set(scan.names.filter((n): n is string => n !== null))].sort();
    const nameIndex = new Map(names.map((n, i) => [n, i]));
    const range = { lo: info.length === 0 ? 0 : Infinity, hi: info.length === 0 ? 0 : -Infinity };
    for (const r of info) {
      range.lo = Math.min(range.lo, Number(r.lo));
      range.hi = Math.max(range.hi, Number(r.hi));
    }
    lap('slice written');
    // The tails are small: computed here, on the command's own connection (no worker to start).
    const batches: BarsBatch[] = [];
    await computeInThread(conn, scan, s.window, s.extended, nameIndex, (sym, b) => {
      const k = skip[sym]!;
      const out = k === 0 ? b : sliceBatch(b, k);
      if (out.rows > 0) batches.push(out);
    });
    const computed = batches.reduce((a, b) => a + b.rows, 0);
    let bi = 0;
    await writeBarsParquet(conn, { symbols: scan.symbols, names, dayMin: range.lo, dayMax: range.hi, formatDay: civilFromDays, extraColumns: extraColumns(s), lineage: w.id, kvMetadata: kvMetadata(s) }, () => batches[bi++] ?? null, delta);
    lap('computed');
    await applyChanges(conn, w, delta, changes);
    lap('files written');
    await saveTails(conn, ws, { prices: prices.snapshot, ctx, columns, slice, changedTable: 'sp_changed', kept: tails }, log);
    lap('tails saved');
    return { computed, changes, append, contextCached: fast.size };
  } finally {
    await rm(delta, { force: true });
  }
}

/**
 * A symbol removed and added again since the last build changed from the first date of its rows in
 * the features table, when that is before the new rows' first date: those old rows are gone from
 * prices and must go from features too (a removal and a later addition compose, in the prices
 * snapshots' changes, to the addition's first date alone). Updates `changed` in place.
 */
async function startReaddedAtOldRows(conn: DuckDBConnection, w: TableWrite, changed: Map<string, string | null>, removed: ReadonlySet<string>): Promise<void> {
  const readded = [...changed].filter(([sym, from]) => from !== null && removed.has(sym)).map(([sym]) => sym);
  if (readded.length === 0) return;
  const files = [...new Set(readded.map(bucketOf))].flatMap((b) => w.liveIn(b)).filter((f) => mayHold(f, readded));
  if (files.length === 0) return;
  const rows = await queryRows(conn, `SELECT "Symbol" AS s, min("Date") AS d FROM ${parquetSource(files.map((f) => w.ws.path(f.path)))} WHERE "Symbol" IN (${readded.map(sqlString).join(', ')}) GROUP BY "Symbol"`);
  for (const r of rows) {
    const sym = String(r.s);
    if (String(r.d) < changed.get(sym)!) changed.set(sym, String(r.d));
  }
}

/**
 * Reads `slow` symbols' context from the prices table into `rowsTable` (created, or added to when
 * `append`): each symbol's rows from a calendar-day cutoff generous enough for `ctx` trading rows
 * before its first change; a symbol with fewer inside it and older rows before it is read whole.
 */
async function readContext(conn: DuckDBConnection, ws: Workspace, files: readonly DataFileRecord[], slow: readonly [string, string][], ctx: number, rowsTable: string, append: boolean, lap: (phase: string) => void): Promise<void> {
  // Only the prices files whose symbol range holds such a symbol are read.
  const symbols = slow.map(([sym]) => sym);
  const buckets = new Set(symbols.map((sym) => partitionName(bucketOf(sym))));
  const src = parquetSource(files.filter((f) => buckets.has(f.partition) && mayHold(f, symbols)).map((f) => ws.path(f.path)));
  const lookbackDays = Math.ceil(ctx * 7 / 5) + 30;
  await tempTableOf(conn, 'sp_slow', [
    { name: 'Symbol', type: 'VARCHAR', values: slow.map(([sym]) => sym) },
    { name: 'from_date', type: 'VARCHAR', values: slow.map(([, from]) => from) },
    { name: 'cutoff', type: 'VARCHAR', values: slow.map(([, from]) => civilFromDays(isoDays(from) - lookbackDays)) },
  ]);
  // The earliest cutoff as a constant too: the scan filters on Date before it reads the other columns.
  const minCutoff = civilFromDays(Math.min(...slow.map(([, from]) => isoDays(from))) - lookbackDays);
  const rows = `SELECT p.*, c.from_date FROM (SELECT * FROM ${src} WHERE "Date" >= ${sqlString(minCutoff)}) p JOIN sp_slow c USING ("Symbol") WHERE p."Date" >= c.cutoff`;
  await conn.run(append ? `INSERT INTO ${rowsTable} ${rows}` : `CREATE OR REPLACE TEMP TABLE ${rowsTable} AS ${rows}`);
  // Symbols with fewer than ctx rows before their change inside the cutoff, but older rows before it: read whole.
  let short = await queryRows(conn, `SELECT c."Symbol" AS s, coalesce(r.n, 0)::BIGINT AS n FROM sp_slow c LEFT JOIN (SELECT "Symbol", count(*) AS n, count(*) FILTER (WHERE "Date" < from_date) AS k FROM ${rowsTable} GROUP BY "Symbol") r USING ("Symbol") WHERE coalesce(r.k, 0) < ${ctx}`);
  lap('tails read');
  if (short.length > 0) {
    // Most such symbols have no older rows at all (listed lately, or a single row): their row count,
    // from the Symbol column alone, says which do.
    const candidates = short.map((r) => sqlString(String(r.s))).join(', ');
    const totals = new Map((await queryRows(conn, `SELECT "Symbol" AS s, count(*)::BIGINT AS n FROM ${src} WHERE "Symbol" IN (${candidates}) GROUP BY "Symbol"`)).map((r) => [String(r.s), Number(r.n)]));
    short = short.filter((r) => (totals.get(String(r.s)) ?? 0) > Number(r.n));
    lap('short symbols counted');
  }
  if (short.length > 0) {
    const list = short.map((r) => sqlString(String(r.s))).join(', ');
    await conn.run(`DELETE FROM ${rowsTable} WHERE "Symbol" IN (${list})`);
    // A literal list: files written by SQL (appends, restatements, compactions) carry each row group's
    // Symbol range, so the scan skips the others; the bars writer's carry the whole symbol list there.
    await conn.run(`INSERT INTO ${rowsTable} SELECT p.*, c.from_date FROM (SELECT * FROM ${src} WHERE "Symbol" IN (${list})) p JOIN sp_slow c USING ("Symbol")`);
    lap(`${short.length} short symbols read whole`);
  }
}

/** A copy of a batch's last `ctx` rows (the prices columns; no feature columns), as symbol `sym` of another list. */
function copyTail(b: BarsBatch, ctx: number, sym: number): BarsBatch {
  const k = Math.max(0, b.rows - ctx);
  return {
    sym,
    name: b.name,
    rows: b.rows - k,
    day: b.day.slice(k), open: b.open.slice(k), high: b.high.slice(k), low: b.low.slice(k), close: b.close.slice(k), adjClose: b.adjClose.slice(k), volume: b.volume.slice(k), asset: b.asset.slice(k),
    ...(b.volumeExact === undefined ? {} : { volumeExact: b.volumeExact.slice(k) }),
  };
}

/** The first and last day (days since 1970-01-01) over rows holding YYYY-MM-DD texts `lo` and `hi` (0 and 0 when none). */
function dayRange(rows: readonly Record<string, unknown>[]): { lo: number; hi: number } {
  let lo: string | null = null;
  let hi: string | null = null;
  for (const r of rows) {
    if (typeof r.lo === 'string' && (lo === null || r.lo < lo)) lo = r.lo;
    if (typeof r.hi === 'string' && (hi === null || r.hi > hi)) hi = r.hi;
  }
  return { lo: lo === null ? 0 : isoDays(lo), hi: hi === null ? 0 : isoDays(hi) };
}

function isoDays(d: string): number {
  return daysFromCivil(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10)));
}

/** The rows of a batch from index `k` on. */
function sliceBatch(b: BarsBatch, k: number): BarsBatch {
  return {
    ...b,
    rows: b.rows - k,
    day: b.day.subarray(k), open: b.open.subarray(k), high: b.high.subarray(k), low: b.low.subarray(k), close: b.close.subarray(k), adjClose: b.adjClose.subarray(k), volume: b.volume.subarray(k), asset: b.asset.subarray(k),
    extra: b.extra?.map((e) => e.subarray(k)),
  };
}
