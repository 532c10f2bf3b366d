/** @module etl/ingest
 * Combine (docs/data.md): every bars file of a fetched source → one sorted zstd Parquet table,
 * tables/prices.parquet, plus a report that accounts for every input row. Parsing runs on worker
 * threads; rows stream into DuckDB's Parquet writer in (Symbol, Date) order, never all in memory.
 * A partition of it (etl/ingest-partitions: some buckets' files) runs the same code into a stage
 * folder; etl/ingest-commit commits the stages. The report's shape and accounting: etl/ingest-report. */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { DEAD_SCRATCH_AGE_MS, removeDeadScratch, stableStringify } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import { resourceKind } from '../core/os-errors.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { type DuckDB, openDuckDB, queryRows, sqlIdent, sqlString, tempTableOf } from '../db/duckdb.js';
import { STORE_PARQUET } from '../db/parquet-format.js';
import { contextRows, extraColumns, FEATURES_VERSION, kvMetadata } from '../features/build.js';
import { discardPrepared, FeaturePreparation } from '../features/prepare.js';
import { DateRangeError, writeBarsParquet, type BarsBatch, type WrittenRange } from '../db/bars-writer.js';
import { currentSnapshot, ingestState, type IngestFileState, liveFiles, type NewDataFile, type SnapshotRecord } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { BUCKETS, bucketOf, LINEAGE_COLUMN, TARGET_FILE_ROWS } from '../store/partition.js';
import { assertFilesOnDisk, parquetSource } from '../store/read.js';
import { ensureView } from '../store/view.js';
import { applyChanges, type SymbolDelta, TableWrite } from '../store/write.js';
import { type Fingerprint, fingerprint, grownTail } from './source-state.js';
import { MAX_BARS_FILE_BYTES } from './bars-file.js';
import type { ParseResult } from './parse-protocol.js';
import type { Manifest } from '../sources/types.js';
import { unreadableZip } from '../sources/zip.js';
import { HeaderError, MAX_DAY, MIN_DAY, civilFromDays, daysFromCivil, parseBarsCsv } from './csv-parse.js';
import { DROP_REASONS, mergeParsed, type ParsedBars } from './parsed-bars.js';
import type { Asset, BarFile } from './layout.js';
import { scanDateRange } from './date-range.js';
import { ParsePool } from './parse-pool.js';
import { finishReport, INGEST_VERSION, inputHash, type IngestReport, keepIssues, MAX_KEPT_ISSUES, type MalformedLine, prepareSource, readingSourceFile, readPreviousReport, round3, sourceChanged, strictBase, unreadableSourceFile } from './ingest-report.js';

export { INGEST_VERSION, type IngestReport, type MalformedLine } from './ingest-report.js';
export const PRICES_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;
/** The Parquet key-value metadata of every prices file a full ingest writes. */
export const PRICES_KV = { stockpipe_table: 'prices', stockpipe_sorted_by: 'Symbol,Date', stockpipe_ingest_version: String(INGEST_VERSION) };

export interface IngestOptions {
  /** The workspace: tables/ and the threads and DuckDB settings. */
  ws: Workspace;
  manifest: Manifest;
  strict: boolean;
  force: boolean;
  log: Logger;
  progress: Progress;
  /** A full ingest also computes the features with these settings (config features.window, features.extended) and stages them for the next `features` (features/prepare); absent: it does not. */
  prepareFeatures?: { window: number; extended: boolean };
  /** A full ingest's lanes (buckets parsed and written at once): by default one under SMALL_INPUT_BYTES of CSV (parsed in the command's thread under INLINE_PARSE_BYTES of a folder), else up to two (tests set 2 to run both with workers on small data). */
  lanes?: number;
}

/** A per-symbol group of files (usually one; several when stocks/ and etfs/ both hold it). */
interface SymbolGroup {
  symbol: string;
  files: BarFile[];
  first: number;
}

function groupBySymbol(bars: readonly BarFile[]): SymbolGroup[] {
  const groups: SymbolGroup[] = [];
  bars.forEach((b, i) => {
    const last = groups[groups.length - 1];
    if (last && last.symbol === b.symbol) last.files.push(b);
    else groups.push({ symbol: b.symbol, files: [b], first: i });
  });
  return groups;
}

/** Writes a snapshot of the prices table from the manifest's files (only the changed ones when it can); returns the ingest report. */
export async function ingest(opts: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const { manifest: m, ws, log } = opts;
  const hash = inputHash(m, opts.strict);
  await removeDeadScratch(ws, Date.now() - DEAD_SCRATCH_AGE_MS);
  const reg = openRegistry(ws);
  try {
    await ensureView(ws, reg, 'prices');
    const cur = currentSnapshot(reg, 'prices');
    const prev = cur ? await readPreviousReport(ws) : null;
    if (!opts.force && cur && prev && prev.input_hash === hash && prev.snapshot_id === cur.id) {
      log.info({ snapshot: cur.id }, 'inputs unchanged since the last ingest: nothing to do');
      return { ...prev, cached: true, seconds: round3((performance.now() - t0) / 1000) };
    }
    const { layout, names, identity, report: r } = await prepareSource(ws, m, hash, log, opts.strict);
    // Features an earlier full ingest prepared are of a prices snapshot this one replaces (a stage that
    // cannot be deleted, in a read-only tmp/, is never committed: it names the prices snapshot it was made from).
    await discardPrepared(ws).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'ingest: the features an earlier ingest prepared could not be deleted'));
    const ctx: IngestRun = { opts, m, ws, reg, names, report: r };
    const snap = incrementalFrom(cur, m, identity, { force: opts.force, strict: opts.strict, prev }) ? await ingestChanges(ctx, layout.bars, identity) : await ingestFull(ctx, layout.bars, identity);
    return await finishReport(ws, r, snap, t0);
  } finally {
    reg.close();
  }
}

/**
 * Whether an ingest of `m` may read only the changed files: a folder source, the same one the current
 * snapshot was built from, and for a `--strict` ingest a snapshot a strict ingest wrote (strictBase).
 */
export function incrementalFrom(cur: SnapshotRecord | null, m: Manifest, identity: Record<string, unknown>, o: { force: boolean; strict: boolean; prev: IngestReport | null }): boolean {
  return !o.force && cur !== null && m.layout === 'dir' && stableStringify(cur.source) === stableStringify(identity) && strictBase(o.strict, o.prev, cur);
}

/** A source file's state as the catalog records it. */
export type SourceFileState = Omit<IngestFileState, 'snapshot_id'>;

/** What a partition (etl/ingest-partitions) leaves for the coordinator's commit instead of committing. */
export type StagedIngest =
  | { kind: 'full'; files: NewDataFile[]; kept: number; without_metadata: number; states: SourceFileState[] }
  | {
      kind: 'incremental';
      /** The delta file (in the stage folder), or null when no symbol changed. */
      delta: string | null;
      changes: { symbol: string; from: string | null; append: boolean }[];
      /** Change of the table's symbol count and of its symbols without metadata. */
      symbols_delta: number;
      without_metadata_delta: number;
      states: SourceFileState[];
      removed_paths: string[];
      files_touched: number;
    };

/** One ingest's shared state. */
export interface IngestRun {
  opts: IngestOptions;
  m: Manifest;
  ws: Workspace;
  reg: Registry;
  names: Map<string, string>;
  report: IngestReport;
  /** A partition: only these symbols' files (and states) are looked at, and the result goes to a stage folder, not the catalog. */
  stage?: { dir: string; lineage: number; base: number | null; only: (symbol: string) => boolean; out?: StagedIngest };
}

/** Adds a parsed file's counts and issues to the report (strict: the first issue fails the run). */
function account(c: IngestRun, path: string, p: ParsedBars, lineOffset: number, issues: MalformedLine[]): void {
  const r = c.report;
  r.rows_read += p.rowsRead;
  if (p.rowsRead === 0 && lineOffset === 0) r.empty_files.push(path);
  for (const reason of DROP_REASONS) r.rows_dropped[reason] += p.dropped[reason];
  r.malformed_total += p.dropped.malformed;
  for (const issue of p.issues) {
    const line = issue.line + lineOffset;
    const value = issue.value === undefined ? '' : ` (got ${JSON.stringify(issue.value)})`;
    if (c.opts.strict) throw new StockpipeError('SP_ERR_INPUT_MALFORMED', `${join(c.m.root, path)}:${line}: ${issue.reason}${value}`);
    if (issues.length < MAX_KEPT_ISSUES) issues.push({ path, line, reason: issue.reason, ...(issue.value === undefined ? {} : { value: issue.value }) });
  }
}

function parseFailure(c: IngestRun, f: BarFile, res: Extract<ParseResult, { ok: false }>): StockpipeError {
  const where = join(c.m.root, f.path);
  if (res.kind === 'header') return new StockpipeError('SP_ERR_INPUT_HEADER', `${where}: ${res.message}`);
  if (res.kind === 'too_large') return new StockpipeError('SP_ERR_INPUT_TOO_LARGE', `${c.m.layout === 'zip' ? `${c.m.root}: entry ${f.path}` : where}: ${res.message}`);
  // The parse workers forward only the text: an archive whose mode changed since the fetch is not a damaged one.
  if (res.kind === 'zip' && resourceKind(res.message) === 'no_permission') return unreadableZip(c.m.root, res.message);
  if (res.kind === 'zip') return new StockpipeError('SP_ERR_ZIP_CORRUPT', `${c.m.root}: entry ${f.path} cannot be read: ${res.message}`, { hint: 'The archive is damaged: download it again (fetch checks only its directory, not each entry).' });
  if (res.kind === 'changed') return sourceChanged(`${where}: ${res.message}`);
  return unreadableSourceFile(where, res.kind === 'missing', res.message);
}

/** A pool's files: their paths, and for a folder their sizes as fetched (each is read as it was fetched). */
function filesOf(m: Manifest, files: readonly BarFile[]): { files: string[]; sizes?: number[] } {
  return { files: files.map((f) => f.path), ...(m.layout === 'dir' ? { sizes: files.map((f) => f.size) } : {}) };
}

/** A symbol's files as the pool parsed them (pool indexes from `first` on), each accounted in the report. */
function takeGroup(c: IngestRun, pool: ParsePool, files: readonly BarFile[], first: number, issues: MalformedLine[], lines: Map<string, number>): { parsed: ParsedBars; asset: Asset }[] {
  return files.map((f, i) => {
    const res = pool.takeSync(first + i);
    if (!res.ok) throw parseFailure(c, f, res);
    account(c, f.path, res.parsed, 0, issues);
    lines.set(f.path, res.parsed.lines);
    return { parsed: res.parsed, asset: f.asset };
  });
}

/** A symbol's rows ready to write, or null when none were kept. */
function toBatch(c: IngestRun, groupIndex: number, symbol: string, parts: { parsed: ParsedBars; asset: Asset }[], nameIndex: Map<string, number>): BarsBatch | null {
  const merged = mergeParsed(parts);
  c.report.rows_dropped.duplicate += merged.parsed.dropped.duplicate - parts.reduce((s, p) => s + p.parsed.dropped.duplicate, 0);
  const p = merged.parsed;
  if (p.rows === 0) return null;
  c.report.rows_kept += p.rows;
  const name = c.names.get(symbol);
  // One file's rows as parsed: the features the parse computed are theirs (features/prepare computes a merged symbol's).
  const extra = parts.length === 1 ? p.features : undefined;
  return { sym: groupIndex, name: name === undefined ? undefined : nameIndex.get(name), rows: p.rows, day: p.day, open: p.open, high: p.high, low: p.low, close: p.close, adjClose: p.adjClose, volume: p.volume, ...(p.volumeExact ? { volumeExact: p.volumeExact } : {}), asset: merged.asset, ...(extra === undefined ? {} : { extra }) };
}

/** The table's summary after a write: symbols, those without metadata, date range (from the catalog's file stats and the given counts). */
export function tableSummary(w: TableWrite, symbols: number, withoutMetadata: number): Record<string, unknown> {
  const live = [...w.live.filter((f) => !w.removed.includes(f)), ...w.added];
  const mins = live.map((f) => f.date_min).filter((d): d is string => d !== null).sort();
  const maxs = live.map((f) => f.date_max).filter((d): d is string => d !== null).sort();
  return { symbols, symbols_without_metadata: withoutMetadata, date_min: mins[0] ?? null, date_max: maxs.at(-1) ?? null };
}

/** Source files' states for the catalog (folders only: a zip is read whole every time). */
async function statesOf(c: IngestRun, files: readonly BarFile[], lines: Map<string, number>, lastDate: Map<string, string | null>, known: ReadonlyMap<string, Fingerprint> = new Map()): Promise<Omit<IngestFileState, 'snapshot_id'>[]> {
  if (c.m.layout !== 'dir') return [];
  const byPath = new Map(c.m.files.map((f) => [f.path, f]));
  return files.map((f) => {
    const mf = byPath.get(f.path)!;
    const fp = known.get(f.path) ?? readingSourceFile(join(c.m.root, f.path), (p) => fingerprint(p, mf.size));
    return { path: f.path, symbol: f.symbol, size: mf.size, mtime_ms: mf.mtime_ms, head_hash: fp.head_hash, tail_hash: fp.tail_hash, lines: lines.get(f.path) ?? 0, last_date: lastDate.get(f.symbol) ?? null };
  });
}


/** Under this much CSV a full ingest parses and writes in one lane, with one parse worker: a second
 * lane's worker and DuckDB connection cost more than they save (BENCHMARKS.md, "Lanes and DuckDB's
 * threads in full builds"). */
const SMALL_INPUT_BYTES = 64 * 2 ** 20;
/** Under this much CSV of a folder a one-lane ingest parses in the command's own thread: a parse worker
 * (≈ 0.1 s of CPU to start) costs more than it overlaps (BENCHMARKS.md, "Small builds without worker
 * threads"). A zip's entries are always inflated on a worker (they are read asynchronously). */
const INLINE_PARSE_BYTES = 4 * 2 ** 20;

/** Parse workers for `files` of a source: none (the command's thread) for a folder's few megabytes read by one lane. */
function parseThreads(layout: 'dir' | 'zip', files: readonly BarFile[], lanes: number, otherwise: number): number {
  return layout === 'dir' && lanes === 1 && files.reduce((a, f) => a + f.size, 0) < INLINE_PARSE_BYTES ? 0 : otherwise;
}

/** A whole new table: every file parsed, one file per bucket written in (Symbol, Date) order; `lanes` buckets at once, each lane with its own parse workers and DuckDB connection (DuckDB encodes each streamed COPY on one thread). */
export async function ingestFull(c: IngestRun, bars: readonly BarFile[], identity: Record<string, unknown>): Promise<SnapshotRecord | null> {
  const { ws, m, opts } = c;
  const log = opts.log;
  // Files in (bucket, symbol) order: each bucket's symbols are contiguous, so each bucket is one streamed write.
  const ordered = [...bars].sort((a, b) => bucketOf(a.symbol) - bucketOf(b.symbol) || (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0) || (a.path < b.path ? -1 : 1));
  const groups = groupBySymbol(ordered);
  const symbols = groups.map((g) => g.symbol);
  const nameList = [...new Set(symbols.map((s) => c.names.get(s)).filter((n): n is string => n !== undefined))].sort();
  const nameIndex = new Map(nameList.map((n, i) => [n, i]));
  const guessed = m.layout === 'dir' ? await scanDateRange(m.root, ordered.map((b) => b.path)) : null;
  const ranges = guessed ? [guessed, { min: MIN_DAY, max: MAX_DAY }] : [{ min: MIN_DAY, max: MAX_DAY }];
  // Buckets dealt to lanes by bytes, largest first.
  const bytes = new Array<number>(BUCKETS).fill(0);
  for (const b of ordered) bytes[bucketOf(b.symbol)]! += b.size;
  const used = [...new Set(ordered.map((b) => bucketOf(b.symbol)))];
  const small = bytes.reduce((a, b) => a + b, 0) < SMALL_INPUT_BYTES;
  const laneCount = Math.max(1, Math.min(opts.lanes ?? (small ? 1 : 2), ws.threads, used.length));
  const laneOf = new Array<number>(BUCKETS).fill(0);
  const load = new Array<number>(laneCount).fill(0);
  for (const b of [...used].sort((x, y) => bytes[y]! - bytes[x]!)) {
    const l = load.indexOf(Math.min(...load));
    laneOf[b] = l;
    load[l]! += bytes[b]!;
  }
  const poolThreads = parseThreads(m.layout, ordered, laneCount, small ? 1 : Math.max(1, Math.floor(ws.threads / laneCount)));
  log.debug({ lanes: laneCount, parse_workers: poolThreads }, 'ingest: full build lanes');
  const laneGroupsOf = Array.from({ length: laneCount }, (_, lane) => groups.map((g, i) => ({ g, i })).filter(({ g }) => laneOf[bucketOf(g.symbol)] === lane));
  // A local full ingest prepares the features (features/prepare): the parse computes each file's.
  const featureRequest = c.stage === undefined ? opts.prepareFeatures : undefined;
  const poolFor = (lane: number): ParsePool =>
    new ParsePool({ root: m.root, layout: m.layout, ...filesOf(m, laneGroupsOf[lane]!.flatMap(({ g }) => g.files)), threads: poolThreads, lookahead: 256, ...(featureRequest === undefined ? {} : { features: featureRequest }) });
  // The first attempt's parse workers start before DuckDB opens: their start (a Node environment each)
  // overlaps loading DuckDB and making the table's enums.
  let early: ParsePool[] | null = laneGroupsOf.map((_, lane) => poolFor(lane));
  // DuckDB's work here is the lanes' COPYs (each encoded on its calling thread): it gets only the threads
  // the lanes' parse workers and encoders leave (as features' full build does with db/duckdb withThreads).
  let db: DuckDB;
  try {
    db = await openDuckDB({ ...ws.duckdbSettings(), threads: Math.max(1, ws.threads - laneCount * (poolThreads + 1)) });
  } catch (err) {
    for (const p of early) await p.close();
    throw err;
  }
  const w = c.stage === undefined ? TableWrite.begin(ws, c.reg, 'prices') : stagedWrite(c, c.stage);
  try {
    for (const [attempt, range] of ranges.entries()) {
      const saved = JSON.stringify(c.report);
      const lines = new Map<string, number>();
      const lastDate = new Map<string, string | null>();
      let withoutMeta = 0;
      let kept = 0;
      let filesDone = 0;
      const issues: MalformedLine[] = [];
      opts.progress.start('ingest', ordered.length);
      const pools: ParsePool[] = [];
      const spec = { symbols, names: nameList, dayMin: range.min, dayMax: range.max, formatDay: civilFromDays };
      let prep: FeaturePreparation | null = null;
      try {
        if (featureRequest !== undefined) {
          const settings = { version: FEATURES_VERSION, ...featureRequest };
          prep = await FeaturePreparation.begin(ws, settings, w.id, { extra: extraColumns(settings), kv: kvMetadata(settings), ctx: contextRows(settings), log });
        }
        let failed: unknown = null;
        const settled = await Promise.allSettled(Array.from({ length: laneCount }, async (_, lane) => {
          const laneGroups = laneGroupsOf[lane]!;
          const pool = early?.[lane] ?? poolFor(lane);
          pools.push(pool);
          const conn = lane === 0 ? db.connection : await db.connect();
          let k = 0;
          let file = 0;
          const inBucket = (bucket: number): boolean => k < laneGroups.length && bucketOf(laneGroups[k]!.g.symbol) === bucket;
          for (const bucket of used.filter((b) => laneOf[b] === lane).sort((x, y) => x - y)) {
            // One file per TARGET_FILE_ROWS rows of the bucket, cut between symbols.
            while (inBucket(bucket)) {
              let rowsInFile = 0;
              const fileBatches: BarsBatch[] = [];
              const next = (): BarsBatch | null => {
                if (failed !== null) throw new Error('another lane failed'); // stop this lane's write too
                if (rowsInFile >= TARGET_FILE_ROWS) return null;
                while (inBucket(bucket)) {
                  const { g: group, i: gi } = laneGroups[k++]!;
                  const parts = takeGroup(c, pool, group.files, file, issues, lines);
                  file += group.files.length;
                  opts.progress.update(++filesDone);
                  const batch = toBatch(c, gi, group.symbol, parts, nameIndex);
                  if (batch === null) {
                    lastDate.set(group.symbol, null);
                    continue;
                  }
                  kept++;
                  if (!c.names.has(group.symbol)) withoutMeta++;
                  lastDate.set(group.symbol, civilFromDays(batch.day[batch.rows - 1]!));
                  rowsInFile += batch.rows;
                  if (prep?.active) fileBatches.push(batch);
                  return batch;
                }
                return null;
              };
              const f = await w.newFile(bucket);
              let wrote: WrittenRange;
              try {
                wrote = await writeBarsParquet(conn, { ...spec, lineage: w.id, kvMetadata: PRICES_KV }, next, f.abs);
              } catch (err) {
                failed ??= err;
                await rm(f.abs, { force: true });
                throw err;
              }
              await w.addMeasured(f, wrote);
              // The same rows' features, into the prepared stage, while they are in memory.
              if (prep !== null) await prep.file(conn, bucket, fileBatches, { path: f.abs, range: wrote }, spec);
              // Let the rows go: DuckDB keeps every table function a COPY registered, and with it the
              // producer's closure (`next`, which holds this array) until the connection closes.
              fileBatches.length = 0;
            }
          }
        }));
        // Every lane has stopped; the first failure is the one to report.
        const rejected = settled.find((x) => x.status === 'rejected');
        if (rejected) throw failed ?? rejected.reason;
        keepIssues(c.report, issues);
        const states = await statesOf(c, ordered, lines, lastDate);
        c.report.files_read = ordered.length;
        c.report.symbols_changed = kept;
        c.report.empty_files.sort();
        if (c.stage !== undefined) {
          c.stage.out = { kind: 'full', files: [...w.added], kept, without_metadata: withoutMeta, states };
          return null;
        }
        w.removeAll();
        await w.keepSchema((abs) => writeBarsParquet(db.connection, { symbols, names: nameList, dayMin: range.min, dayMax: range.min, formatDay: civilFromDays, lineage: w.id, kvMetadata: PRICES_KV }, () => null, abs));
        const snap = await w.commit(c.reg, {
          operation: 'overwrite',
          source: identity,
          summary: { ...tableSummary(w, kept, withoutMeta), mode: 'full', rows_added: c.report.rows_kept },
          ingestState: { reset: true, files: states, removedPaths: [] },
        });
        if (prep !== null) c.report.features_prepared = await prep.finish(db.connection, snap, spec);
        prep = null;
        return snap;
      } catch (err) {
        if (prep !== null) await discardPrepared(ws).catch(() => undefined); // the ingest's own failure is the one to report
        await w.discard();
        if (!(err instanceof DateRangeError) || attempt === ranges.length - 1) throw w.failure(err);
        Object.assign(c.report, JSON.parse(saved));
        log.debug({ err: err.message }, 'a file is not sorted by date: writing again with the full date dictionary');
      } finally {
        opts.progress.stop();
        const started = new Set([...pools, ...(early ?? [])]);
        early = null;
        for (const p of started) await p.close();
      }
    }
    throw new StockpipeError('SP_ERR_INTERNAL', 'ingest wrote nothing');
  } finally {
    // Started before DuckDB, if no attempt began (TableWrite.begin failed).
    for (const p of early ?? []) await p.close();
    db.close();
  }
}

/** What changed in a folder source since the catalog's ingest state (sizes and mtimes; no file is read). */
export interface SourceChanges {
  /** The symbols whose files are new, changed or partly gone, with their files. */
  touched: SymbolGroup[];
  /** Recorded files no longer in the source, by symbol. */
  gone: Map<string, string[]>;
  /** Symbols all of whose files are gone. */
  removed: string[];
}

/** The changed symbols among `bars` (and recorded files of symbols `only` accepts, when given). */
export function sourceChanges(state: ReadonlyMap<string, IngestFileState>, bars: readonly BarFile[], m: Manifest, only?: (symbol: string) => boolean): SourceChanges {
  const manifestFiles = new Map(m.files.map((f) => [f.path, f]));
  const present = new Set(bars.map((b) => b.path));
  const gone = new Map<string, string[]>();
  for (const st of state.values()) if (!present.has(st.path) && (only === undefined || only(st.symbol))) gone.set(st.symbol, [...(gone.get(st.symbol) ?? []), st.path]);
  const groups = groupBySymbol(bars);
  const touched = groups.filter((g) => gone.has(g.symbol) || g.files.some((f) => {
    const st = state.get(f.path);
    const mf = manifestFiles.get(f.path)!;
    return st === undefined || st.size !== mf.size || st.mtime_ms !== mf.mtime_ms;
  }));
  const removed = [...gone.keys()].filter((s) => !groups.some((g) => g.symbol === s));
  return { touched, gone, removed };
}

/** A touched symbol: its new rows, and whether they are only a grown file's new lines. */
interface Touched {
  symbol: string;
  batch: BarsBatch | null;
  tail: boolean;
}

/**
 * Only what changed since the current snapshot: new, grown, rewritten and removed files. A grown
 * file is read from its old end; a rewritten one is read whole and compared with the stored rows in
 * SQL, so only rows from the first differing date on are replaced, and unchanged rows keep the
 * snapshot that brought them. Returns null when nothing changed (no new snapshot).
 */
export async function ingestChanges(c: IngestRun, bars: readonly BarFile[], identity: Record<string, unknown>): Promise<SnapshotRecord | null> {
  const { ws, m, opts, reg } = c;
  const r = c.report;
  r.mode = 'incremental';
  const t0 = performance.now();
  const lap = (phase: string): void => opts.log.debug({ phase, ms: Math.round(performance.now() - t0) }, 'incremental ingest');
  const state = ingestState(reg);
  const manifestFiles = new Map(m.files.map((f) => [f.path, f]));
  const { touched: touchedGroups, gone: goneBySymbol, removed: removedSymbols } = sourceChanges(state, bars, m, c.stage?.only);
  const filesTouched = touchedGroups.reduce((s, g) => s + g.files.length, 0);
  r.files_unchanged = bars.length - filesTouched;
  const staged = (o: Omit<Extract<StagedIngest, { kind: 'incremental' }>, 'kind' | 'files_touched' | 'removed_paths'>): null => {
    c.stage!.out = { kind: 'incremental', ...o, removed_paths: [...goneBySymbol.values()].flat(), files_touched: filesTouched };
    return null;
  };
  if (touchedGroups.length === 0 && removedSymbols.length === 0) {
    r.mode = 'unchanged';
    if (c.stage !== undefined) return staged({ delta: null, changes: [], symbols_delta: 0, without_metadata_delta: 0, states: [] });
    const cur = currentSnapshot(reg, 'prices')!;
    return cur;
  }
  // Copy-on-write keeps the current snapshot's files: one deleted by hand fails here, before any file is
  // read, with the way back (ingest --force), not in the comparison as if a vacuum had deleted it.
  const base = currentSnapshot(reg, 'prices');
  if (base !== null) assertFilesOnDisk(ws, base, liveFiles(reg, base));
  const touchedSymbols = touchedGroups.map((g) => g.symbol);
  const nameList = [...new Set(touchedSymbols.map((s) => c.names.get(s)).filter((n): n is string => n !== undefined))].sort();
  const nameIndex = new Map(nameList.map((n, i) => [n, i]));
  const lines = new Map<string, number>();
  const issues: MalformedLine[] = [];
  const touched: Touched[] = [];
  /** Fingerprints already computed (a grown file's new head and end). */
  const known = new Map<string, Fingerprint>();
  const reparse: SymbolGroup[] = [];
  // Grown files: only the new lines, when they all come after the symbol's last stored date.
  const tails = touchedGroups.map((g) => {
    const st = g.files.length === 1 ? state.get(g.files[0]!.path) : undefined;
    if (st === undefined || st.last_date === null || goneBySymbol.has(g.symbol)) return null;
    const f = g.files[0]!;
    // A file grown past the 2 GiB a bars file may hold is read whole, so refused by its size as a fresh ingest refuses it.
    if (manifestFiles.get(f.path)!.size > MAX_BARS_FILE_BYTES) return null;
    return readingSourceFile(join(m.root, f.path), (p) => grownTail(p, { size: st.size, head_hash: st.head_hash, tail_hash: st.tail_hash }, manifestFiles.get(f.path)!.size));
  });
  for (const [gi, g] of touchedGroups.entries()) {
    const st = g.files.length === 1 ? state.get(g.files[0]!.path) : undefined;
    const f = g.files[0]!;
    const tail = tails[gi]!;
    if (st !== undefined && st.last_date !== null) {
      if (tail !== null && !quotedAfterHeader(tail.bytes)) {
        let parsed: ParsedBars | null = null;
        try {
          parsed = parseBarsCsv(tail.bytes);
        } catch (err) {
          if (!(err instanceof HeaderError)) throw err;
        }
        const last = daysFromIso(st.last_date);
        if (parsed !== null && (parsed.rows === 0 || parsed.day[0]! > last)) {
          account(c, f.path, parsed, st.lines, issues);
          lines.set(f.path, st.lines + parsed.lines);
          touched.push({ symbol: g.symbol, batch: toBatch(c, gi, g.symbol, [{ parsed, asset: f.asset }], nameIndex), tail: true });
          known.set(f.path, tail.head);
          r.files_tail_read++;
          continue;
        }
      }
    }
    reparse.push({ ...g, first: gi });
  }
  lap('grown files read');
  // Everything else: read whole (on the parse pool), compared with the stored rows below.
  if (reparse.length > 0) {
    const files = reparse.flatMap((g) => g.files);
    const pool = new ParsePool({ root: m.root, layout: m.layout, ...filesOf(m, files), threads: parseThreads(m.layout, files, 1, Math.min(ws.threads, Math.max(1, files.length))), lookahead: 256 });
    let k = 0;
    opts.progress.start('ingest', files.length);
    try {
      for (const g of reparse) {
        const parts = takeGroup(c, pool, g.files, k, issues, lines);
        k += g.files.length;
        opts.progress.update(k);
        touched.push({ symbol: g.symbol, batch: toBatch(c, g.first, g.symbol, parts, nameIndex), tail: false });
      }
    } finally {
      opts.progress.stop();
      await pool.close();
    }
    r.files_read = files.length;
  }
  keepIssues(r, issues);
  r.empty_files.sort();
  touched.sort((a, b) => (a.batch?.sym ?? 0) - (b.batch?.sym ?? 0));
  const db = await openDuckDB(ws.duckdbSettings());
  const w = TableWrite.begin(ws, reg, 'prices');
  if (c.stage !== undefined) checkStagedBase(w, c.stage);
  const deltaRaw = join(ws.tmpDir, `ingest-delta-${process.pid}-${w.id}.parquet`);
  const delta = join(ws.tmpDir, `ingest-changes-${process.pid}-${w.id}.parquet`);
  try {
    const conn = db.connection;
    await mkdir(ws.tmpDir, { recursive: true });
    const batches = touched.map((t) => t.batch).filter((b): b is BarsBatch => b !== null);
    let dayMin = Infinity;
    let dayMax = -Infinity;
    for (const b of batches) {
      dayMin = Math.min(dayMin, b.day[0]!);
      dayMax = Math.max(dayMax, b.day[b.rows - 1]!);
    }
    if (batches.length === 0) dayMin = dayMax = 0;
    let i = 0;
    await writeBarsParquet(conn, { symbols: touchedSymbols, names: nameList, dayMin, dayMax, formatDay: civilFromDays, lineage: w.id, kvMetadata: { stockpipe_table: 'prices' } }, () => batches[i++] ?? null, deltaRaw);
    lap('delta written');
    // Compare the re-read symbols with their stored rows: the first differing date, and each row's lineage.
    const reread = touched.filter((t) => !t.tail).map((t) => t.symbol).concat(removedSymbols);
    // Only the files whose symbol range holds a re-read symbol are opened.
    const oldPaths = w.liveHolding(reread).map((f) => ws.path(f.path));
    await conn.run(`CREATE OR REPLACE TEMP TABLE sp_reread AS SELECT unnest([${reread.map(sqlString).join(', ')}]::VARCHAR[]) AS "Symbol"`);
    const oldRows = oldPaths.length === 0 || reread.length === 0 ? null : `(SELECT p.* FROM ${parquetSource(oldPaths)} p SEMI JOIN sp_reread USING ("Symbol"))`;
    const fresh = parquetSource([deltaRaw]);
    const changes = new Map<string, SymbolDelta>();
    const existedBefore = new Set<string>();
    for (const t of touched) if (t.tail && t.batch !== null) changes.set(t.symbol, { from: civilFromDays(t.batch.day[0]!), append: true });
    for (const t of touched) if (t.tail) existedBefore.add(t.symbol);
    const same = PRICE_VALUE_COLUMNS.map((col) => `n.${sqlIdent(col)} IS NOT DISTINCT FROM o.${sqlIdent(col)}`).join(' AND ');
    if (oldRows !== null) {
      const firstDiff = await queryRows(conn, `
        WITH n AS (SELECT x.* FROM ${fresh} x SEMI JOIN sp_reread USING ("Symbol")), o AS ${oldRows},
        d AS (SELECT coalesce(n."Symbol", o."Symbol") AS s, coalesce(n."Date", o."Date") AS dt FROM n FULL JOIN o ON n."Symbol" = o."Symbol" AND n."Date" = o."Date" WHERE n."Date" IS NULL OR o."Date" IS NULL OR NOT (${same}))
        SELECT s, min(dt) AS first, (SELECT max(o2."Date") FROM o o2 WHERE o2."Symbol" = s) AS old_last FROM d GROUP BY s`);
      for (const row of firstDiff) {
        const sym = String(row.s);
        const hasNew = touched.some((t) => t.symbol === sym && t.batch !== null);
        changes.set(sym, { from: hasNew ? String(row.first) : null, append: row.old_last === null || String(row.first) > String(row.old_last) });
      }
      for (const row of await queryRows(conn, `SELECT DISTINCT "Symbol" AS s FROM ${oldRows}`)) existedBefore.add(String(row.s));
    } else {
      for (const t of touched) if (!t.tail && t.batch !== null) changes.set(t.symbol, { from: civilFromDays(t.batch.day[0]!), append: true });
    }
    // A symbol whose rows were all dropped now (or whose files are gone) but were stored before: removed.
    for (const s of [...reread]) if (!changes.has(s) && existedBefore.has(s) && !touched.some((t) => t.symbol === s && t.batch !== null)) changes.set(s, { from: null, append: false });
    for (const ch of changes.values()) if (ch.from === null) ch.append = false;
    // The rows to write: each changed symbol's rows from its first changed date, unchanged ones keeping
    // their lineage. With nothing re-read (new and grown files only) that is every row read, as read:
    // each symbol changed from its first new row (applyChanges sorts what it writes).
    if (oldRows !== null) {
      const froms = [...changes].filter(([, ch]) => ch.from !== null);
      await tempTableOf(conn, 'sp_from', [
        { name: 'Symbol', type: 'VARCHAR', values: froms.map(([s]) => s) },
        { name: 'from_date', type: 'VARCHAR', values: froms.map(([, ch]) => ch.from) },
      ]);
      const keepLineage = `coalesce(CASE WHEN ${same} THEN o.${sqlIdent(LINEAGE_COLUMN)} END, n.${sqlIdent(LINEAGE_COLUMN)})`;
      await conn.run(`COPY (SELECT n.* REPLACE (${keepLineage} AS ${sqlIdent(LINEAGE_COLUMN)}) FROM ${fresh} n JOIN sp_from f ON n."Symbol" = f."Symbol" AND n."Date" >= f.from_date
        LEFT JOIN ${oldRows} o ON n."Symbol" = o."Symbol" AND n."Date" = o."Date" ORDER BY n."Symbol", n."Date") TO ${sqlString(delta)} (${STORE_PARQUET})`);
    }
    const deltaFile = oldRows === null ? deltaRaw : delta;
    const lastDates = new Map(touched.map((t) => [t.symbol, t.batch === null ? null : civilFromDays(t.batch.day[t.batch.rows - 1]!)]));
    if (changes.size === 0) {
      r.mode = 'unchanged';
      const states = await statesOf(c, touchedGroups.flatMap((g) => g.files), lines, lastDates, known);
      if (c.stage !== undefined) return staged({ delta: null, changes: [], symbols_delta: 0, without_metadata_delta: 0, states });
      // The files were read again but hold the same rows: remember their new state, no new snapshot.
      recordSourceStates(reg, states);
      return currentSnapshot(reg, 'prices');
    }
    lap('compared');
    let symbolsDelta = 0;
    let withoutMetaDelta = 0;
    for (const [s, ch] of changes) {
      const delta1 = ch.from === null ? -1 : existedBefore.has(s) ? 0 : 1;
      symbolsDelta += delta1;
      if (!c.names.has(s)) withoutMetaDelta += delta1;
    }
    r.symbols_changed = changes.size;
    const states = await statesOf(c, touchedGroups.flatMap((g) => g.files), lines, lastDates, known);
    if (c.stage !== undefined) {
      const kept = join(c.stage.dir, 'delta.parquet');
      await rename(deltaFile, kept);
      return staged({ delta: kept, changes: [...changes].map(([symbol, ch]) => ({ symbol, ...ch })), symbols_delta: symbolsDelta, without_metadata_delta: withoutMetaDelta, states });
    }
    const applied = await applyChanges(conn, w, deltaFile, changes);
    lap('files written');
    const prevSummary = (w.base?.summary ?? {}) as { symbols?: number; symbols_without_metadata?: number };
    const symbols = (prevSummary.symbols ?? 0) + symbolsDelta;
    const withoutMeta = (prevSummary.symbols_without_metadata ?? 0) + withoutMetaDelta;
    const append = [...changes.values()].every((ch) => ch.append);
    lap('source states');
    return await w.commit(reg, {
      operation: append ? 'append' : 'restate',
      source: identity,
      summary: { ...tableSummary(w, symbols, withoutMeta), mode: 'incremental', rows_added: w.added.reduce((s, f) => s + f.rows, 0), files_added: w.added.length, files_removed: w.removed.length, buckets: applied.buckets, compacted: applied.compacted },
      changes: [...changes].map(([symbol, ch]) => ({ symbol, from_date: ch.from })),
      ingestState: { reset: false, files: states, removedPaths: [...goneBySymbol.values()].flat() },
    });
  } catch (err) {
    await w.discard();
    throw w.failure(err);
  } finally {
    db.close();
    await rm(deltaRaw, { force: true });
    await rm(delta, { force: true });
  }
}

/** The columns whose values decide whether a stored row is the same as a re-read one. */
const PRICE_VALUE_COLUMNS = ['Security Name', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;

/**
 * Whether a grown file's new lines (after the header line `bytes` starts with) hold a `"`. Quoting
 * carries state across lines (a quoted field spans line ends; after a quote never closed, no field
 * spans lines), so such lines may read otherwise after the old ones than on their own: a quote in
 * them can close one left open in the old lines, which a full read then takes for one field over
 * every line between. The file is then read whole. New lines without a quote read the same either
 * way (an open quote of the old lines stays unclosed to the end of the file).
 */
function quotedAfterHeader(bytes: Uint8Array): boolean {
  return bytes.indexOf(0x22, bytes.indexOf(0x0a) + 1) >= 0;
}

function daysFromIso(d: string): number {
  return daysFromCivil(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10)));
}

/** The files were read again but hold the same rows: their new sizes, mtimes and hashes (no new snapshot). */
export function recordSourceStates(reg: Registry, states: readonly SourceFileState[]): void {
  reg.transaction(() => { for (const st of states) reg.run('record source file', 'UPDATE ingest_files SET size = ?, mtime_ms = ?, head_hash = ?, tail_hash = ?, lines = ? WHERE path = ?', [st.size, st.mtime_ms, st.head_hash, st.tail_hash, st.lines, st.path]); });
}

/** A partition's write must start where the plan did: the same prices snapshot, the same next snapshot id (its rows' lineage). */
function checkStagedBase(w: TableWrite, stage: NonNullable<IngestRun['stage']>): void {
  if (w.id !== stage.lineage || (w.base?.id ?? null) !== stage.base) {
    throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the store moved since the ingest plan: prices is at snapshot ${w.base?.id ?? 'none'} and the next id is ${w.id}, the plan has ${stage.base ?? 'none'} and lineage ${stage.lineage}; nothing was staged`, {
      hint: 'Another write landed meanwhile: run the ingest again (plan, partitions, commit).',
    });
  }
}

/** A full partition's write: TableWrite's file naming and measuring, into the stage folder. */
function stagedWrite(c: IngestRun, stage: NonNullable<IngestRun['stage']>): TableWrite {
  const w = TableWrite.staged(c.ws, c.reg, 'prices', stage.dir);
  checkStagedBase(w, stage);
  return w;
}
