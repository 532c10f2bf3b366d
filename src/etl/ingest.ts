/** @module etl/ingest
 * Combine (docs/data.md): every bars file of a fetched source → one sorted zstd Parquet table,
 * tables/prices.parquet, plus a report that accounts for every input row. Parsing runs on worker
 * threads; rows stream into DuckDB's Parquet writer in (Symbol, Date) order, never all in memory. */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { hashJson, readFileOrNull, stableStringify, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlIdent, sqlString } from '../db/duckdb.js';
import { DateRangeError, writeBarsParquet, type BarsBatch } from '../db/bars-writer.js';
import { currentSnapshot, ingestState, type IngestFileState, type SnapshotRecord } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { BUCKETS, bucketOf, LINEAGE_COLUMN, TARGET_FILE_ROWS } from '../store/partition.js';
import { parquetSource } from '../store/read.js';
import { ensureView } from '../store/view.js';
import { applyChanges, type SymbolDelta, TableWrite } from '../store/write.js';
import { type Fingerprint, fingerprint, grownTail } from './source-state.js';
import type { ParseResult } from './parse-protocol.js';
import { forEachZipEntry } from '../sources/zip.js';
import type { Manifest } from '../sources/types.js';
import { HeaderError, MAX_DAY, MIN_DAY, civilFromDays, daysFromCivil, parseBarsCsv } from './csv-parse.js';
import { DROP_REASONS, emptyDrops, mergeParsed, type DropCounts, type ParsedBars } from './parsed-bars.js';
import { classifyFiles, type Asset, type BarFile } from './layout.js';
import { scanDateRange } from './date-range.js';
import { parseSymbolMetadata } from './metadata.js';
import { ParsePool } from './parse-pool.js';

/** Bumped when ingest's output for the same input changes (part of the cache key). */
export const INGEST_VERSION = 1;
export const PRICES_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;
const MAX_REPORTED_ISSUES = 200;
/** The Parquet key-value metadata of every prices file a full ingest writes. */
const PRICES_KV = { stockpipe_table: 'prices', stockpipe_sorted_by: 'Symbol,Date', stockpipe_ingest_version: String(INGEST_VERSION) };
/** Malformed lines held while files are read (then sorted and cut to MAX_REPORTED_ISSUES). */
const MAX_KEPT_ISSUES = 20_000;

export interface IngestOptions {
  /** The workspace: tables/ and the threads and DuckDB settings. */
  ws: Workspace;
  manifest: Manifest;
  strict: boolean;
  force: boolean;
  log: Logger;
  progress: Progress;
}

export interface MalformedLine {
  path: string;
  line: number;
  reason: string;
  /** The offending field's text, for number-range reasons (not finite, out of int64 range). */
  value?: string;
}

export interface IngestReport {
  /** The table's folder (tables/prices/: the current snapshot's files). */
  output: string;
  /** full = every file read; incremental = only changed files; unchanged = nothing changed since the current snapshot. */
  mode: 'full' | 'incremental' | 'unchanged';
  /** The prices snapshot this ingest wrote (or found current when unchanged). */
  snapshot_id: number | null;
  /** The table's rows in that snapshot (rows_kept counts only the rows read this time). */
  table_rows: number;
  /** Files read whole, files read from their old end (grown), files not read (unchanged). */
  files_read: number;
  files_tail_read: number;
  files_unchanged: number;
  /** Symbols whose stored rows changed (added, replaced or removed). */
  symbols_changed: number;
  source: string;
  files: number;
  rows_read: number;
  rows_kept: number;
  rows_dropped: DropCounts;
  symbols: number;
  symbols_without_metadata: number;
  duplicates: number;
  date_min: string | null;
  date_max: string | null;
  seconds: number;
  cached: boolean;
  input_hash: string;
  metadata_file: string | null;
  metadata_rows: number;
  files_ignored: string[];
  /** Entries the source could not follow (broken symlinks, loops), from its manifest. */
  files_skipped: { path: string; reason: string }[];
  empty_files: string[];
  /** Malformed lines by path and line (the first 200; malformed_total counts them all). */
  malformed: MalformedLine[];
  malformed_total: number;
}

/**
 * Bumped when what ingest accepts changes but its output for valid input does not (so the table's
 * ingest_version metadata, and its bytes, stay the same): 2 = range checks, quoting, symlinks.
 */
const PARSER_REVISION = 2;

/** The cache key: the source's files as the manifest saw them, the options, and the code. */
function inputHash(m: Manifest, strict: boolean): string {
  return hashJson({ v: INGEST_VERSION, p: PARSER_REVISION, root: m.root, layout: m.layout, version: m.source_version, files: m.files.map((f) => [f.path, f.size, f.mtime_ms, f.sha256]), strict });
}

async function readMetadataText(m: Manifest, path: string): Promise<string> {
  if (m.layout === 'dir') return readFile(join(m.root, path), 'utf8');
  let text = '';
  await forEachZipEntry(m.root, async (entry, read) => {
    if (entry.name === path) text = (await read()).toString('utf8');
  });
  return text;
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

/** What a prices snapshot was built from: a full ingest starts over when any of it differs. */
function sourceIdentity(m: Manifest, metadata: { path: string | null; size: number | null }): Record<string, unknown> {
  return { source: m.source, spec: m.source_spec, root: m.root, layout: m.layout, ingest_version: INGEST_VERSION, parser_revision: PARSER_REVISION, metadata };
}

/** Writes a snapshot of the prices table from the manifest's files (only the changed ones when it can); returns the ingest report. */
export async function ingest(opts: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const { manifest: m, ws, log } = opts;
  const hash = inputHash(m, opts.strict);
  const reg = openRegistry(ws);
  try {
    await ensureView(ws, reg, 'prices');
    const cur = currentSnapshot(reg, 'prices');
    if (!opts.force && cur) {
      const prev = await readPreviousReport(ws);
      if (prev && prev.input_hash === hash && prev.snapshot_id === cur.id) {
        log.info({ snapshot: cur.id }, 'inputs unchanged since the last ingest: nothing to do');
        return { ...prev, cached: true, seconds: round3((performance.now() - t0) / 1000) };
      }
    }
    const layout = classifyFiles(m.files);
    if (layout.bars.length === 0) {
      throw new StockpipeError('SP_ERR_SOURCE_LAYOUT', `${m.root} holds no stocks/<SYMBOL>.csv or etfs/<SYMBOL>.csv files (${m.files.length} files seen)`);
    }
    let names = new Map<string, string>();
    let metadataRows = 0;
    if (layout.metadata !== null) {
      const parsed = parseSymbolMetadata(await readMetadataText(m, layout.metadata));
      if ('missing' in parsed) {
        throw new StockpipeError('SP_ERR_METADATA', `${join(m.root, layout.metadata)}: header lacks ${parsed.missing.join(' and ')}`);
      }
      names = parsed.names;
      metadataRows = parsed.rows;
    } else log.warn({ root: m.root }, 'no symbols_valid_meta.csv: Security Name will be null for every symbol');
    const metaFile = layout.metadata === null ? null : m.files.find((f) => f.path === layout.metadata)!;
    const identity = sourceIdentity(m, { path: layout.metadata, size: metaFile?.size ?? null, ...(metaFile ? { mtime_ms: metaFile.mtime_ms, sha256: metaFile.sha256 } : {}) });
    const r: IngestReport = {
      output: ws.tableDir('prices'),
      source: m.source,
      files: layout.bars.length,
      rows_read: 0,
      rows_kept: 0,
      rows_dropped: emptyDrops(),
      symbols: 0,
      symbols_without_metadata: 0,
      duplicates: 0,
      date_min: null,
      date_max: null,
      seconds: 0,
      cached: false,
      input_hash: hash,
      metadata_file: layout.metadata,
      metadata_rows: metadataRows,
      files_ignored: layout.ignored.filter((p) => !p.endsWith('manifest.json')),
      files_skipped: m.skipped ?? [],
      empty_files: [],
      malformed: [],
      malformed_total: 0,
      mode: 'full',
      snapshot_id: null,
      table_rows: 0,
      files_read: 0,
      files_tail_read: 0,
      files_unchanged: 0,
      symbols_changed: 0,
    };
    const ctx: IngestRun = { opts, m, ws, reg, names, report: r };
    const incremental = !opts.force && cur !== null && m.layout === 'dir' && stableStringify(cur.source) === stableStringify(identity);
    const snap = incremental ? await ingestChanges(ctx, layout.bars, identity) : await ingestFull(ctx, layout.bars, identity);
    r.duplicates = r.rows_dropped.duplicate;
    r.seconds = round3((performance.now() - t0) / 1000);
    const dropped = DROP_REASONS.reduce((s, k) => s + r.rows_dropped[k], 0);
    if (r.rows_read !== r.rows_kept + dropped) {
      throw new StockpipeError('SP_ERR_INTERNAL', `ingest lost rows: read ${r.rows_read} ≠ kept ${r.rows_kept} + dropped ${dropped}`);
    }
    if (snap !== null) {
      const t = (snap.summary ?? {}) as { symbols?: number; symbols_without_metadata?: number; date_min?: string | null; date_max?: string | null };
      r.snapshot_id = snap.id;
      r.table_rows = snap.rows;
      r.symbols = t.symbols ?? 0;
      r.symbols_without_metadata = t.symbols_without_metadata ?? 0;
      r.date_min = t.date_min ?? null;
      r.date_max = t.date_max ?? null;
    }
    await writeFileAtomic(ws.pricesReport, `${JSON.stringify(r, null, 2)}\n`);
    return r;
  } finally {
    reg.close();
  }
}

/** One ingest's shared state. */
interface IngestRun {
  opts: IngestOptions;
  m: Manifest;
  ws: Workspace;
  reg: Registry;
  names: Map<string, string>;
  report: IngestReport;
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
  if (res.kind === 'zip') return new StockpipeError('SP_ERR_ZIP_CORRUPT', `${c.m.root}: entry ${f.path} cannot be read: ${res.message}`, { hint: 'The archive is damaged: download it again (fetch checks only its directory, not each entry).' });
  if (res.kind === 'missing') return new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `${where} is listed in the manifest but missing`, { hint: 'Run `stockpipe fetch` again: the source changed since it was fetched.' });
  return new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `cannot read ${where}: ${res.message}`);
}

/** A symbol's files as the pool parsed them (pool indexes from `first` on), each accounted in the report. */
function takeGroup(c: IngestRun, pool: ParsePool, files: readonly BarFile[], first: number, issues: MalformedLine[], lines: Map<string, number>): { parsed: ParsedBars; asset: Asset }[] {
  return files.map((f, i) => {
    const res = pool.takeSync(first + i);
    if (!res.ok) throw parseFailure(c, f, res);
    account(c, f.path, res.parsed, 0, issues);
    lines.set(f.path, res.parsed.rowsRead);
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
  return { sym: groupIndex, name: name === undefined ? undefined : nameIndex.get(name), rows: p.rows, day: p.day, open: p.open, high: p.high, low: p.low, close: p.close, adjClose: p.adjClose, volume: p.volume, ...(p.volumeExact ? { volumeExact: p.volumeExact } : {}), asset: merged.asset };
}

/** The table's summary after a write: symbols, those without metadata, date range (from the catalog's file stats and the given counts). */
function tableSummary(w: TableWrite, symbols: number, withoutMetadata: number): Record<string, unknown> {
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
    const fp = known.get(f.path) ?? fingerprint(join(c.m.root, f.path), mf.size);
    return { path: f.path, symbol: f.symbol, size: mf.size, mtime_ms: mf.mtime_ms, head_hash: fp.head_hash, tail_hash: fp.tail_hash, lines: lines.get(f.path) ?? 0, last_date: lastDate.get(f.symbol) ?? null };
  });
}


/** A whole new table: every file parsed, one file per bucket written in (Symbol, Date) order; `lanes` buckets at once, each lane with its own parse workers and DuckDB connection (DuckDB encodes each streamed COPY on one thread). */
async function ingestFull(c: IngestRun, bars: readonly BarFile[], identity: Record<string, unknown>): Promise<SnapshotRecord> {
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
  const laneCount = Math.max(1, Math.min(2, ws.threads, used.length));
  const laneOf = new Array<number>(BUCKETS).fill(0);
  const load = new Array<number>(laneCount).fill(0);
  for (const b of [...used].sort((x, y) => bytes[y]! - bytes[x]!)) {
    const l = load.indexOf(Math.min(...load));
    laneOf[b] = l;
    load[l]! += bytes[b]!;
  }
  const db = await openDuckDB(ws.duckdbSettings());
  const w = TableWrite.begin(ws, c.reg, 'prices');
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
      try {
        let failed: unknown = null;
        const settled = await Promise.allSettled(Array.from({ length: laneCount }, async (_, lane) => {
          const laneGroups = groups.map((g, i) => ({ g, i })).filter(({ g }) => laneOf[bucketOf(g.symbol)] === lane);
          const files = laneGroups.flatMap(({ g }) => g.files);
          const pool = new ParsePool({ root: m.root, layout: m.layout, files: files.map((b) => b.path), threads: Math.max(1, Math.floor(ws.threads / laneCount)), lookahead: 256 });
          pools.push(pool);
          const conn = lane === 0 ? db.connection : await db.connect();
          let k = 0;
          let file = 0;
          const inBucket = (bucket: number): boolean => k < laneGroups.length && bucketOf(laneGroups[k]!.g.symbol) === bucket;
          for (const bucket of used.filter((b) => laneOf[b] === lane).sort((x, y) => x - y)) {
            // One file per TARGET_FILE_ROWS rows of the bucket, cut between symbols.
            while (inBucket(bucket)) {
              let rowsInFile = 0;
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
                  return batch;
                }
                return null;
              };
              const f = await w.newFile(bucket);
              try {
                await writeBarsParquet(conn, { symbols, names: nameList, dayMin: range.min, dayMax: range.max, formatDay: civilFromDays, lineage: w.id, kvMetadata: PRICES_KV }, next, f.abs);
              } catch (err) {
                failed ??= err;
                await rm(f.abs, { force: true });
                throw err;
              }
              await w.addWritten(conn, f);
            }
          }
        }));
        // Every lane has stopped; the first failure is the one to report.
        const rejected = settled.find((x) => x.status === 'rejected');
        if (rejected) throw failed ?? rejected.reason;
        keepIssues(c.report, issues);
        w.removeAll();
        await w.keepSchema(db.connection, (abs) => writeBarsParquet(db.connection, { symbols, names: nameList, dayMin: range.min, dayMax: range.min, formatDay: civilFromDays, lineage: w.id, kvMetadata: PRICES_KV }, () => null, abs));
        const states = await statesOf(c, ordered, lines, lastDate);
        c.report.files_read = ordered.length;
        c.report.symbols_changed = kept;
        c.report.empty_files.sort();
        return await w.commit(c.reg, {
          operation: 'overwrite',
          source: identity,
          summary: { ...tableSummary(w, kept, withoutMeta), mode: 'full', rows_added: c.report.rows_kept },
          ingestState: { reset: true, files: states, removedPaths: [] },
        });
      } catch (err) {
        await w.discard();
        if (!(err instanceof DateRangeError) || attempt === ranges.length - 1) throw w.failure(err);
        Object.assign(c.report, JSON.parse(saved));
        log.debug({ err: err.message }, 'a file is not sorted by date: writing again with the full date dictionary');
      } finally {
        opts.progress.stop();
        for (const p of pools) await p.close();
      }
    }
    throw new StockpipeError('SP_ERR_INTERNAL', 'ingest wrote nothing');
  } finally {
    db.close();
  }
}

/** The malformed lines to report: the first MAX_REPORTED_ISSUES by path and line (lanes find them in no fixed order). */
function keepIssues(r: IngestReport, issues: MalformedLine[]): void {
  issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
  r.malformed = issues.slice(0, MAX_REPORTED_ISSUES);
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
async function ingestChanges(c: IngestRun, bars: readonly BarFile[], identity: Record<string, unknown>): Promise<SnapshotRecord | null> {
  const { ws, m, opts, reg } = c;
  const r = c.report;
  r.mode = 'incremental';
  const t0 = performance.now();
  const lap = (phase: string): void => opts.log.debug({ phase, ms: Math.round(performance.now() - t0) }, 'incremental ingest');
  const state = ingestState(reg);
  const manifestFiles = new Map(m.files.map((f) => [f.path, f]));
  const present = new Set(bars.map((b) => b.path));
  const goneBySymbol = new Map<string, string[]>();
  for (const st of state.values()) if (!present.has(st.path)) goneBySymbol.set(st.symbol, [...(goneBySymbol.get(st.symbol) ?? []), st.path]);
  const groups = groupBySymbol(bars);
  const touchedGroups = groups.filter((g) => goneBySymbol.has(g.symbol) || g.files.some((f) => {
    const st = state.get(f.path);
    const mf = manifestFiles.get(f.path)!;
    return st === undefined || st.size !== mf.size || st.mtime_ms !== mf.mtime_ms;
  }));
  r.files_unchanged = bars.length - touchedGroups.reduce((s, g) => s + g.files.length, 0);
  const removedSymbols = [...goneBySymbol.keys()].filter((s) => !groups.some((g) => g.symbol === s));
  if (touchedGroups.length === 0 && removedSymbols.length === 0) {
    r.mode = 'unchanged';
    const cur = currentSnapshot(reg, 'prices')!;
    return cur;
  }
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
    return grownTail(join(m.root, g.files[0]!.path), { size: st.size, head_hash: st.head_hash, tail_hash: st.tail_hash }, manifestFiles.get(g.files[0]!.path)!.size);
  });
  for (const [gi, g] of touchedGroups.entries()) {
    const st = g.files.length === 1 ? state.get(g.files[0]!.path) : undefined;
    const f = g.files[0]!;
    const tail = tails[gi]!;
    if (st !== undefined && st.last_date !== null) {
      if (tail !== null) {
        let parsed: ParsedBars | null = null;
        try {
          parsed = parseBarsCsv(tail.bytes);
        } catch (err) {
          if (!(err instanceof HeaderError)) throw err;
        }
        const last = daysFromIso(st.last_date);
        if (parsed !== null && (parsed.rows === 0 || parsed.day[0]! > last)) {
          account(c, f.path, parsed, st.lines, issues);
          lines.set(f.path, st.lines + parsed.rowsRead);
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
    const pool = new ParsePool({ root: m.root, layout: m.layout, files: files.map((f) => f.path), threads: Math.min(ws.threads, Math.max(1, files.length)), lookahead: 256 });
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
    // The rows to write: each changed symbol's rows from its first changed date, unchanged ones keeping their lineage.
    await conn.run(`CREATE OR REPLACE TEMP TABLE sp_from AS SELECT * FROM (VALUES ${[...changes].filter(([, ch]) => ch.from !== null).map(([s, ch]) => `(${sqlString(s)}, ${sqlString(ch.from!)})`).join(', ') || "(NULL, NULL)"}) t("Symbol", from_date)`);
    const keepLineage = oldRows === null ? `n.${sqlIdent(LINEAGE_COLUMN)}` : `coalesce(CASE WHEN ${same} THEN o.${sqlIdent(LINEAGE_COLUMN)} END, n.${sqlIdent(LINEAGE_COLUMN)})`;
    await conn.run(`COPY (SELECT n.* REPLACE (${keepLineage} AS ${sqlIdent(LINEAGE_COLUMN)}) FROM ${fresh} n JOIN sp_from f ON n."Symbol" = f."Symbol" AND n."Date" >= f.from_date
      ${oldRows === null ? '' : `LEFT JOIN ${oldRows} o ON n."Symbol" = o."Symbol" AND n."Date" = o."Date"`} ORDER BY n."Symbol", n."Date") TO ${sqlString(delta)} (FORMAT parquet, COMPRESSION zstd)`);
    if (changes.size === 0) {
      r.mode = 'unchanged';
      const states = await statesOf(c, touchedGroups.flatMap((g) => g.files), lines, new Map(touched.map((t) => [t.symbol, t.batch === null ? null : civilFromDays(t.batch.day[t.batch.rows - 1]!)])));
      // The files were read again but hold the same rows: remember their new state, no new snapshot.
      reg.transaction(() => { for (const st of states) reg.run('record source file', 'UPDATE ingest_files SET size = ?, mtime_ms = ?, head_hash = ?, tail_hash = ?, lines = ? WHERE path = ?', [st.size, st.mtime_ms, st.head_hash, st.tail_hash, st.lines, st.path]); });
      return currentSnapshot(reg, 'prices');
    }
    lap('compared');
    const applied = await applyChanges(conn, w, delta, changes);
    lap('files written');
    const prevSummary = (w.base?.summary ?? {}) as { symbols?: number; symbols_without_metadata?: number };
    let symbols = prevSummary.symbols ?? 0;
    let withoutMeta = prevSummary.symbols_without_metadata ?? 0;
    for (const [s, ch] of changes) {
      const delta1 = ch.from === null ? -1 : existedBefore.has(s) ? 0 : 1;
      symbols += delta1;
      if (!c.names.has(s)) withoutMeta += delta1;
    }
    r.symbols_changed = changes.size;
    const lastDates = new Map(touched.map((t) => [t.symbol, t.batch === null ? null : civilFromDays(t.batch.day[t.batch.rows - 1]!)]));
    const states = await statesOf(c, touchedGroups.flatMap((g) => g.files), lines, lastDates, known);
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

function daysFromIso(d: string): number {
  return daysFromCivil(Number(d.slice(0, 4)), Number(d.slice(5, 7)), Number(d.slice(8, 10)));
}

async function readPreviousReport(ws: Workspace): Promise<IngestReport | null> {
  const text = await readFileOrNull(ws.pricesReport);
  if (text === null) return null;
  try {
    return JSON.parse(text) as IngestReport;
  } catch (err) {
    if (err instanceof SyntaxError) return null; // a torn or edited report only means no cache hit
    throw err;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
