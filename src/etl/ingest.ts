/** @module etl/ingest
 * Combine (SPEC §2): every bars file of a fetched source → one sorted zstd Parquet table,
 * tables/prices.parquet, plus a report that accounts for every input row. Parsing runs on worker
 * threads; rows stream into DuckDB's Parquet writer in (Symbol, Date) order, never all in memory. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BIGINT, DOUBLE, ENUM } from '@duckdb/node-api';
import { StockpipeError } from '../core/errors.js';
import { hashJson, withAtomicOutput, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import { openDuckDB } from '../db/duckdb.js';
import { enumIndexArray } from '../db/enum-index.js';
import { CHUNK_ROWS, copyStreamToParquet, type ChunkWriter } from '../db/parquet-stream.js';
import { forEachZipEntry } from '../sources/zip.js';
import type { Manifest } from '../sources/types.js';
import { DROP_REASONS, MAX_DAY, MIN_DAY, civilFromDays, emptyDrops, keepOrder, pickRows, sortAndDedupe, type DropCounts, type ParsedBars } from './csv-parse.js';
import { classifyFiles, type Asset, type BarFile } from './layout.js';
import { parseSymbolMetadata } from './metadata.js';
import { ParsePool } from './parse-pool.js';

/** Bumped when ingest's output for the same input changes (part of the cache key). */
export const INGEST_VERSION = 1;
export const PRICES_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;
const MAX_REPORTED_ISSUES = 200;

export interface IngestOptions {
  workspace: string;
  manifest: Manifest;
  threads: number;
  strict: boolean;
  memoryLimit: string;
  force: boolean;
  log: Logger;
  progress: Progress;
}

export interface MalformedLine {
  path: string;
  line: number;
  reason: string;
}

export interface IngestReport {
  output: string;
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
  empty_files: string[];
  /** Malformed lines by path and line (the first 200; malformed_total counts them all). */
  malformed: MalformedLine[];
  malformed_total: number;
}

export function pricesPath(workspace: string): string {
  return join(workspace, 'tables', 'prices.parquet');
}

function reportPath(workspace: string): string {
  return join(workspace, 'tables', 'prices.report.json');
}

/** The cache key: the source's files as the manifest saw them, the options, and the code. */
function inputHash(m: Manifest, strict: boolean): string {
  return hashJson({ v: INGEST_VERSION, root: m.root, layout: m.layout, version: m.source_version, files: m.files.map((f) => [f.path, f.size, f.mtime_ms, f.sha256]), strict });
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

function groupBySymbol(bars: BarFile[]): SymbolGroup[] {
  const groups: SymbolGroup[] = [];
  bars.forEach((b, i) => {
    const last = groups[groups.length - 1];
    if (last && last.symbol === b.symbol) last.files.push(b);
    else groups.push({ symbol: b.symbol, files: [b], first: i });
  });
  return groups;
}

/** Concatenates a symbol's files in path order and re-applies sort + keep-last on dates. */
function mergeParsed(parts: { parsed: ParsedBars; asset: Asset }[]): { parsed: ParsedBars; asset: Uint8Array } {
  const assetCode = (a: Asset): number => (a === 'etf' ? 0 : 1);
  if (parts.length === 1) {
    const p = parts[0]!;
    return { parsed: p.parsed, asset: new Uint8Array(p.parsed.rows).fill(assetCode(p.asset)) };
  }
  const rows = parts.reduce((s, p) => s + p.parsed.rows, 0);
  const cat = <T extends Float64Array | Int32Array>(pick: (p: ParsedBars) => T, out: T): T => {
    let o = 0;
    for (const p of parts) {
      out.set(pick(p.parsed), o);
      o += p.parsed.rows;
    }
    return out;
  };
  const asset = new Uint8Array(rows);
  let o = 0;
  for (const p of parts) {
    asset.fill(assetCode(p.asset), o, o + p.parsed.rows);
    o += p.parsed.rows;
  }
  const dropped = emptyDrops();
  for (const p of parts) for (const r of DROP_REASONS) dropped[r] += p.parsed.dropped[r];
  const merged: ParsedBars = {
    rows,
    day: cat((p) => p.day, new Int32Array(rows)),
    open: cat((p) => p.open, new Float64Array(rows)),
    high: cat((p) => p.high, new Float64Array(rows)),
    low: cat((p) => p.low, new Float64Array(rows)),
    close: cat((p) => p.close, new Float64Array(rows)),
    adjClose: cat((p) => p.adjClose, new Float64Array(rows)),
    volume: cat((p) => p.volume, new Float64Array(rows)),
    rowsRead: 0,
    dropped,
    issues: [],
  };
  const keep = keepOrder(merged.day, rows);
  return { parsed: sortAndDedupe(merged), asset: keep === null ? asset : pickRows(asset, keep) };
}

/** Writes prices.parquet from the manifest's files; returns the ingest report. */
export async function ingest(opts: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const { manifest: m, workspace, log } = opts;
  const output = pricesPath(workspace);
  const hash = inputHash(m, opts.strict);
  if (!opts.force) {
    const prev = await readPreviousReport(workspace);
    const st = await stat(output).catch(() => null);
    if (prev && st && prev.input_hash === hash) {
      log.info({ output }, 'inputs unchanged since the last ingest: nothing to do');
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

  const groups = groupBySymbol(layout.bars);
  const symbols = groups.map((g) => g.symbol);
  const nameList = [...new Set(symbols.map((s) => names.get(s)).filter((n): n is string => n !== undefined))].sort();
  const nameIndex = new Map(nameList.map((n, i) => [n, i]));
  const dateDict: string[] = [];
  for (let d = MIN_DAY; d <= MAX_DAY; d++) dateDict.push(civilFromDays(d));

  const pool = new ParsePool({ root: m.root, layout: m.layout, files: layout.bars.map((b) => b.path), threads: opts.threads, lookahead: 256 });
  const report: IngestReport = {
    output,
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
    empty_files: [],
    malformed: [],
    malformed_total: 0,
  };
  let dayMin = Infinity;
  let dayMax = -Infinity;

  // Producer state: the current symbol's rows and how far they were emitted.
  const symIdx = enumIndexArray(symbols.length, CHUNK_ROWS);
  const nameIdx = enumIndexArray(Math.max(nameList.length, 1), CHUNK_ROWS);
  const dateIdx = new Uint32Array(CHUNK_ROWS);
  const vol64 = new Int32Array(CHUNK_ROWS * 2);
  const noNames = new Uint32Array(CHUNK_ROWS / 32);
  let g = 0;
  let file = 0;
  let cur: { parsed: ParsedBars; asset: Uint8Array; sym: number; name: number | undefined } | null = null;
  let off = 0;
  opts.progress.start('ingest', layout.bars.length);

  const nextGroup = (): boolean => {
    while (g < groups.length) {
      const group = groups[g]!;
      const parts: { parsed: ParsedBars; asset: Asset }[] = [];
      for (const f of group.files) {
        const r = pool.takeSync(file++);
        if (!r.ok) {
          const where = join(m.root, f.path);
          if (r.kind === 'header') throw new StockpipeError('SP_ERR_INPUT_HEADER', `${where}: ${r.message}`);
          if (r.kind === 'missing') throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `${where} is listed in the manifest but missing`, { hint: 'Run `stockpipe fetch` again: the source changed since it was fetched.' });
          throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `cannot read ${where}: ${r.message}`);
        }
        const p = r.parsed;
        report.rows_read += p.rowsRead;
        if (p.rowsRead === 0) report.empty_files.push(f.path);
        for (const reason of DROP_REASONS) report.rows_dropped[reason] += p.dropped[reason];
        report.malformed_total += p.dropped.malformed;
        for (const issue of p.issues) {
          if (opts.strict) throw new StockpipeError('SP_ERR_INPUT_MALFORMED', `${join(m.root, f.path)}:${issue.line}: ${issue.reason}`);
          if (report.malformed.length < MAX_REPORTED_ISSUES) report.malformed.push({ path: f.path, line: issue.line, reason: issue.reason });
        }
        parts.push({ parsed: p, asset: f.asset });
      }
      opts.progress.update(file);
      g++;
      const merged = mergeParsed(parts);
      const extraDup = merged.parsed.dropped.duplicate - parts.reduce((s, p) => s + p.parsed.dropped.duplicate, 0);
      report.rows_dropped.duplicate += extraDup;
      if (merged.parsed.rows === 0) continue;
      const name = names.get(group.symbol);
      report.symbols++;
      if (name === undefined) report.symbols_without_metadata++;
      report.rows_kept += merged.parsed.rows;
      dayMin = Math.min(dayMin, merged.parsed.day[0]!);
      dayMax = Math.max(dayMax, merged.parsed.day[merged.parsed.rows - 1]!);
      cur = { ...merged, sym: g - 1, name: name === undefined ? undefined : nameIndex.get(name) };
      off = 0;
      return true;
    }
    return false;
  };

  const produce = (w: ChunkWriter): number => {
    if ((cur === null || off >= cur.parsed.rows) && !nextGroup()) return 0;
    const c = cur!;
    const n = Math.min(CHUNK_ROWS, c.parsed.rows - off);
    symIdx.fill(c.sym, 0, n);
    w.set(0, symIdx, 0, n);
    if (c.name === undefined) w.setValidity(1, noNames, n);
    else {
      nameIdx.fill(c.name, 0, n);
      w.set(1, nameIdx, 0, n);
    }
    const p = c.parsed;
    for (let i = 0; i < n; i++) dateIdx[i] = p.day[off + i]! - MIN_DAY;
    w.set(2, dateIdx, 0, n);
    w.set(3, p.open, off, n);
    w.set(4, p.high, off, n);
    w.set(5, p.low, off, n);
    w.set(6, p.close, off, n);
    w.set(7, p.adjClose, off, n);
    for (let i = 0; i < n; i++) {
      const v = p.volume[off + i]!; // a whole number in [0, 2^53)
      const hi = Math.floor(v / 4294967296);
      vol64[2 * i] = (v - hi * 4294967296) | 0;
      vol64[2 * i + 1] = hi | 0;
    }
    w.set(8, vol64, 0, 2 * n);
    w.set(9, c.asset, off, n);
    off += n;
    return n;
  };

  const db = await openDuckDB({ tempDir: join(workspace, 'tmp', 'duckdb'), memoryLimit: opts.memoryLimit, threads: Math.max(1, opts.threads) });
  try {
    await withAtomicOutput(output, async (tmp) => {
      await copyStreamToParquet(
        db.connection,
        [
          { name: 'Symbol', type: ENUM(symbols) },
          { name: 'Security Name', type: ENUM(nameList.length > 0 ? nameList : ['']) },
          { name: 'Date', type: ENUM(dateDict) },
          { name: 'Open', type: DOUBLE },
          { name: 'High', type: DOUBLE },
          { name: 'Low', type: DOUBLE },
          { name: 'Close', type: DOUBLE },
          { name: 'Adj Close', type: DOUBLE },
          { name: 'Volume', type: BIGINT },
          { name: 'Asset', type: ENUM(['etf', 'stock']) },
        ],
        produce,
        tmp,
        { kvMetadata: { stockpipe_table: 'prices', stockpipe_sorted_by: 'Symbol,Date', stockpipe_ingest_version: String(INGEST_VERSION) } },
      );
    });
  } finally {
    opts.progress.stop();
    db.close();
    await pool.close();
  }
  report.duplicates = report.rows_dropped.duplicate;
  report.date_min = report.rows_kept > 0 ? civilFromDays(dayMin) : null;
  report.date_max = report.rows_kept > 0 ? civilFromDays(dayMax) : null;
  report.seconds = round3((performance.now() - t0) / 1000);
  const dropped = DROP_REASONS.reduce((s, r) => s + report.rows_dropped[r], 0);
  if (report.rows_read !== report.rows_kept + dropped) {
    throw new StockpipeError('SP_ERR_INTERNAL', `ingest lost rows: read ${report.rows_read} ≠ kept ${report.rows_kept} + dropped ${dropped}`);
  }
  await writeFileAtomic(reportPath(workspace), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

async function readPreviousReport(workspace: string): Promise<IngestReport | null> {
  try {
    return JSON.parse(await readFile(reportPath(workspace), 'utf8')) as IngestReport;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return null; // an unreadable report only means no cache hit
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
