/** @module etl/ingest
 * Combine (docs/data.md): every bars file of a fetched source → one sorted zstd Parquet table,
 * tables/prices.parquet, plus a report that accounts for every input row. Parsing runs on worker
 * threads; rows stream into DuckDB's Parquet writer in (Symbol, Date) order, never all in memory. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { hashJson, readFileOrNull, statOrNull, withAtomicOutput, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import { DateRangeError, writeBarsParquet, type BarsBatch } from '../db/bars-writer.js';
import { forEachZipEntry } from '../sources/zip.js';
import type { Manifest } from '../sources/types.js';
import { MAX_DAY, MIN_DAY, civilFromDays } from './csv-parse.js';
import { DROP_REASONS, emptyDrops, mergeParsed, type DropCounts, type ParsedBars } from './parsed-bars.js';
import { classifyFiles, type Asset, type BarFile } from './layout.js';
import { scanDateRange } from './date-range.js';
import { parseSymbolMetadata } from './metadata.js';
import { ParsePool } from './parse-pool.js';

/** Bumped when ingest's output for the same input changes (part of the cache key). */
export const INGEST_VERSION = 1;
export const PRICES_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;
const MAX_REPORTED_ISSUES = 200;

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

function groupBySymbol(bars: BarFile[]): SymbolGroup[] {
  const groups: SymbolGroup[] = [];
  bars.forEach((b, i) => {
    const last = groups[groups.length - 1];
    if (last && last.symbol === b.symbol) last.files.push(b);
    else groups.push({ symbol: b.symbol, files: [b], first: i });
  });
  return groups;
}

/** Writes prices.parquet from the manifest's files; returns the ingest report. */
export async function ingest(opts: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const { manifest: m, ws, log } = opts;
  const output = ws.pricesTable;
  const hash = inputHash(m, opts.strict);
  if (!opts.force) {
    const prev = await readPreviousReport(ws);
    const st = await statOrNull(output);
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
  // The Date dictionary spans the data's dates when a quick look at each file's first and last
  // line can tell them (sorted files, a folder); otherwise, or if a file proves unsorted, 1900..2099.
  const guessed = m.layout === 'dir' ? await scanDateRange(m.root, layout.bars.map((b) => b.path)) : null;
  const ranges = guessed ? [guessed, { min: MIN_DAY, max: MAX_DAY }] : [{ min: MIN_DAY, max: MAX_DAY }];
  let report: IngestReport | undefined;
  let dayMin = Infinity;
  let dayMax = -Infinity;
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    for (const [attempt, range] of ranges.entries()) {
      dayMin = Infinity;
      dayMax = -Infinity;
      const r: IngestReport = {
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
        files_skipped: m.skipped ?? [],
        empty_files: [],
        malformed: [],
        malformed_total: 0,
      };
      const pool = new ParsePool({ root: m.root, layout: m.layout, files: layout.bars.map((b) => b.path), threads: ws.threads, lookahead: 256 });
      let g = 0;
      let file = 0;
      opts.progress.start('ingest', layout.bars.length);
      const next = (): BarsBatch | null => {
        while (g < groups.length) {
          const group = groups[g]!;
          const parts: { parsed: ParsedBars; asset: Asset }[] = [];
          for (const f of group.files) {
            const res = pool.takeSync(file++);
            if (!res.ok) {
              const where = join(m.root, f.path);
              if (res.kind === 'header') throw new StockpipeError('SP_ERR_INPUT_HEADER', `${where}: ${res.message}`);
              if (res.kind === 'zip') throw new StockpipeError('SP_ERR_ZIP_CORRUPT', `${m.root}: entry ${f.path} cannot be read: ${res.message}`, { hint: 'The archive is damaged: download it again (fetch checks only its directory, not each entry).' });
              if (res.kind === 'missing') throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `${where} is listed in the manifest but missing`, { hint: 'Run `stockpipe fetch` again: the source changed since it was fetched.' });
              throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `cannot read ${where}: ${res.message}`);
            }
            const p = res.parsed;
            r.rows_read += p.rowsRead;
            if (p.rowsRead === 0) r.empty_files.push(f.path);
            for (const reason of DROP_REASONS) r.rows_dropped[reason] += p.dropped[reason];
            r.malformed_total += p.dropped.malformed;
            for (const issue of p.issues) {
              const value = issue.value === undefined ? '' : ` (got ${JSON.stringify(issue.value)})`;
              if (opts.strict) throw new StockpipeError('SP_ERR_INPUT_MALFORMED', `${join(m.root, f.path)}:${issue.line}: ${issue.reason}${value}`);
              if (r.malformed.length < MAX_REPORTED_ISSUES) r.malformed.push({ path: f.path, line: issue.line, reason: issue.reason, ...(issue.value === undefined ? {} : { value: issue.value }) });
            }
            parts.push({ parsed: p, asset: f.asset });
          }
          opts.progress.update(file);
          g++;
          const merged = mergeParsed(parts);
          r.rows_dropped.duplicate += merged.parsed.dropped.duplicate - parts.reduce((s, p) => s + p.parsed.dropped.duplicate, 0);
          const p = merged.parsed;
          if (p.rows === 0) continue;
          const name = names.get(group.symbol);
          r.symbols++;
          if (name === undefined) r.symbols_without_metadata++;
          r.rows_kept += p.rows;
          dayMin = Math.min(dayMin, p.day[0]!);
          dayMax = Math.max(dayMax, p.day[p.rows - 1]!);
          return { sym: g - 1, name: name === undefined ? undefined : nameIndex.get(name), rows: p.rows, day: p.day, open: p.open, high: p.high, low: p.low, close: p.close, adjClose: p.adjClose, volume: p.volume, ...(p.volumeExact ? { volumeExact: p.volumeExact } : {}), asset: merged.asset };
        }
        return null;
      };
      try {
        await withAtomicOutput(output, (tmp) =>
          writeBarsParquet(
            db.connection,
            {
              symbols,
              names: nameList,
              dayMin: range.min,
              dayMax: range.max,
              formatDay: civilFromDays,
              kvMetadata: { stockpipe_table: 'prices', stockpipe_sorted_by: 'Symbol,Date', stockpipe_ingest_version: String(INGEST_VERSION) },
            },
            next,
            tmp,
          ),
        );
        report = r;
        break;
      } catch (err) {
        if (!(err instanceof DateRangeError) || attempt === ranges.length - 1) throw err;
        log.debug({ err: err.message }, 'a file is not sorted by date: writing again with the full date dictionary');
      } finally {
        opts.progress.stop();
        await pool.close();
      }
    }
  } finally {
    db.close();
  }
  if (!report) throw new StockpipeError('SP_ERR_INTERNAL', 'ingest wrote nothing');
  report.duplicates = report.rows_dropped.duplicate;
  report.date_min = report.rows_kept > 0 ? civilFromDays(dayMin) : null;
  report.date_max = report.rows_kept > 0 ? civilFromDays(dayMax) : null;
  report.seconds = round3((performance.now() - t0) / 1000);
  const dropped = DROP_REASONS.reduce((s, r) => s + report.rows_dropped[r], 0);
  if (report.rows_read !== report.rows_kept + dropped) {
    throw new StockpipeError('SP_ERR_INTERNAL', `ingest lost rows: read ${report.rows_read} ≠ kept ${report.rows_kept} + dropped ${dropped}`);
  }
  await writeFileAtomic(ws.pricesReport, `${JSON.stringify(report, null, 2)}\n`);
  return report;
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
