/** @module etl/ingest-report
 * What every ingest starts from and ends with, whether it runs in one process (etl/ingest) or as
 * partitions committed by a coordinator (etl/ingest-partitions, etl/ingest-commit): the report's
 * shape, the cache key, the source's identity, the layout and metadata read once, and the final
 * accounting (rows_read = rows_kept + Σ rows_dropped) before the report is written. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { hashJson, readFileOrNull, statOrNull, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import type { SnapshotRecord } from '../registry/catalog.js';
import { forEachZipEntry } from '../sources/zip.js';
import { noBarsFileHint } from '../sources/manifest.js';
import type { Manifest } from '../sources/types.js';
import { classifyFiles, type SourceLayout } from './layout.js';
import { decodeMetadata, parseSymbolMetadata, type MetadataDuplicate } from './metadata.js';
import { DROP_REASONS, emptyDrops, type DropCounts } from './parsed-bars.js';
import { ChangedSinceFetchError, FileTooLargeError, MAX_BARS_FILE_BYTES, readBarsFileSync, readFetchedBarsFileSync } from './bars-file.js';

/**
 * Bumped when ingest's output for the same input changes (part of the cache key and of a snapshot's
 * source identity, so a table built before is rebuilt in full): 2 = numbers padded with blanks read,
 * numeric columns without Parquet dictionaries (every zero keeps its sign).
 */
export const INGEST_VERSION = 2;
/**
 * Bumped when what ingest accepts changes but its output for valid input does not (so the table's
 * ingest_version metadata, and its bytes, stay the same): 2 = range checks, quoting, symlinks;
 * 3 = lines of only spaces and tabs are blank (were malformed).
 */
const PARSER_REVISION = 3;
export const MAX_REPORTED_ISSUES = 200;
/** Malformed lines held while files are read (then sorted and cut to MAX_REPORTED_ISSUES). */
export const MAX_KEPT_ISSUES = 20_000;

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
  /** A full ingest also computed the features table's rows (features.prepare) and staged them for the next `features` (docs/store.md, "Features prepared by ingest"). */
  features_prepared?: boolean;
  input_hash: string;
  metadata_file: string | null;
  metadata_rows: number;
  /** Symbols the metadata file gives more than one Security Name (the first row's is used). */
  metadata_duplicate_symbols: number;
  /** The first MAX_METADATA_DUPLICATES of them: the symbol, the name used, the names ignored. */
  metadata_duplicates: MetadataDuplicate[];
  files_ignored: string[];
  /** Entries the source could not follow (broken symlinks, loops), from its manifest. */
  files_skipped: { path: string; reason: string }[];
  empty_files: string[];
  /** Malformed lines by path and line (the first 200; malformed_total counts them all). */
  malformed: MalformedLine[];
  malformed_total: number;
  /** `--strict`: a malformed line failed the ingest, so the table holds none (see strictBase). */
  strict: boolean;
}

/** The cache key: the source's files as the manifest saw them, the options, and the code. */
export function inputHash(m: Manifest, strict: boolean): string {
  return hashJson({ v: INGEST_VERSION, p: PARSER_REVISION, root: m.root, layout: m.layout, version: m.source_version, files: m.files.map((f) => [f.path, f.size, f.mtime_ms, f.sha256]), strict });
}

/**
 * A source's file (or archive) that changed or went since its fetch: SP_ERR_SOURCE_NOT_FOUND, whose
 * hint names the command that fetches the source again. That is `stockpipe fetch`, which fetches the
 * workspace's own source; `refetchedBy` names another (etl/ingest-workspace, for a source ingested
 * with --switch-source, which that fetch would not take again).
 */
export class SourceChangedError extends StockpipeError {
  private readonly hintOf: (refetch: string) => string;
  constructor(message: string, hintOf: (refetch: string) => string, refetch = '`stockpipe fetch`', cause?: unknown) {
    super('SP_ERR_SOURCE_NOT_FOUND', message, { hint: hintOf(refetch), cause });
    this.hintOf = hintOf;
  }

  /** The same error, hinting `refetch` (a command in backquotes) and then `note`. */
  refetchedBy(refetch: string, note: string): SourceChangedError {
    return new SourceChangedError(this.message, (r) => `${this.hintOf(r)} ${note}`, refetch, this);
  }
}

/** A source changed since its fetch: the file, entry or archive `message` names. */
export function sourceChanged(message: string): SourceChangedError {
  return new SourceChangedError(message, (refetch) => `Run ${refetch} again: the source changed since it was fetched.`);
}

/** A folder source's file that the manifest lists and that cannot be read now (`where`: its path). */
export function unreadableSourceFile(where: string, missing: boolean, message: string): SourceChangedError {
  if (missing) return sourceChanged(`${where} is listed in the manifest but missing`);
  return new SourceChangedError(
    `cannot read ${where}: ${message}`,
    (refetch) => `It was a readable file when the source was fetched: make it one again (a file, not a folder or a FIFO, that stockpipe may read), or run ${refetch} again to take the source as it is now.`,
  );
}

/** A read of a folder source's file (`where`, its path) by ingest itself: any failure becomes unreadableSourceFile's error. */
export function readingSourceFile<T>(where: string, read: (where: string) => T): T {
  try {
    return read(where);
  } catch (err) {
    throw unreadableSourceFile(where, (err as NodeJS.ErrnoException).code === 'ENOENT', err instanceof Error ? err.message : String(err));
  }
}

/** The metadata file over MAX_BARS_FILE_BYTES (`where`: its path, or the archive and entry). */
function metadataTooLarge(where: string, err: FileTooLargeError): StockpipeError {
  return new StockpipeError('SP_ERR_INPUT_TOO_LARGE', `${where}: ${err.message}`);
}

async function readMetadataText(m: Manifest, path: string): Promise<string> {
  if (m.layout === 'dir') {
    const where = join(m.root, path);
    // As fetched, as a bars file is (its manifest size): one cut short since (rewritten while ingest ran) lost
    // every Security Name after the cut without a word; one that grew gives what the fetch listed.
    const size = m.files.find((f) => f.path === path)?.size;
    // readingSourceFile makes every failure "cannot read": the size's and the change's own errors are passed back instead.
    const text = readingSourceFile(where, (p) => {
      try {
        return decodeMetadata(size === undefined ? readBarsFileSync(p) : readFetchedBarsFileSync(p, size));
      } catch (err) {
        if (err instanceof FileTooLargeError || err instanceof ChangedSinceFetchError) return err;
        throw err;
      }
    });
    if (text instanceof FileTooLargeError) throw metadataTooLarge(where, text);
    if (text instanceof ChangedSinceFetchError) throw sourceChanged(`${where}: ${text.message}`);
    return text;
  }
  let text = '';
  await forEachZipEntry(m.root, async (entry, read) => {
    if (entry.name !== path) return;
    // Inflated whole, as a bars entry is: refused by its declared size (a zip bomb), never held.
    if (entry.size > MAX_BARS_FILE_BYTES) throw metadataTooLarge(`${m.root}: entry ${path}`, new FileTooLargeError(entry.size));
    text = decodeMetadata(await read());
  });
  return text;
}

/**
 * What a prices snapshot was built from: a full ingest starts over when any of it differs. The
 * metadata file counts by its content (`metadataText`: its sha256), not its mtime: touching it, or a
 * feed re-sending it unchanged, changes no Security Name and so no row (it made a full rebuild and
 * a new snapshot of every row before).
 */
export function sourceIdentity(m: Manifest, layout: SourceLayout, metadataText: string | null): Record<string, unknown> {
  const metadata = { path: layout.metadata, sha256: metadataText === null ? null : createHash('sha256').update(metadataText).digest('hex') };
  return { source: m.source, spec: m.source_spec, root: m.root, layout: m.layout, ingest_version: INGEST_VERSION, parser_revision: PARSER_REVISION, metadata };
}

/**
 * A zip source's archive as fetch saw it (`archive:SIZE:MTIME…`, sources/zip-source): ingest reads its
 * entries by the manifest's names, so another archive put in its place read as a metadata file that
 * "lacks Symbol" or entries "damaged". Like a folder's file missing since the fetch, it is refused.
 */
async function checkArchiveAsFetched(m: Manifest): Promise<void> {
  const [size, mtime] = /^archive:(\d+):(\d+)/.exec(m.source_version)?.slice(1).map(Number) ?? [];
  if (size === undefined || mtime === undefined) return;
  const st = await statOrNull(m.root);
  if (st === null) throw unreadableSourceFile(m.root, true, 'missing');
  if (st.size !== size || Math.floor(st.mtimeMs) !== mtime) {
    throw sourceChanged(`${m.root} changed since it was fetched (${size} bytes then, ${st.size} now${st.size === size ? ', modified since' : ''})`);
  }
}

/** The metadata file's text (null without one); for a zip source, first checks the archive is the one fetched. */
export async function metadataTextOf(m: Manifest, layout: SourceLayout): Promise<string | null> {
  if (m.layout === 'zip') await checkArchiveAsFetched(m);
  return layout.metadata === null ? null : readMetadataText(m, layout.metadata);
}

/** How many of the metadata file's duplicate symbols the report lists (metadata_duplicate_symbols counts them all). */
export const MAX_METADATA_DUPLICATES = 5;

/** A source read for ingest: its bars files, the metadata's names, its identity, and an empty report. */
export interface PreparedSource {
  layout: SourceLayout;
  names: Map<string, string>;
  identity: Record<string, unknown>;
  report: IngestReport;
}

/** Classifies the manifest's files and reads the metadata (SP_ERR_SOURCE_LAYOUT without bars, SP_ERR_METADATA on a bad header). */
export async function prepareSource(ws: Workspace, m: Manifest, hash: string, log: Logger, strict: boolean): Promise<PreparedSource> {
  const layout = classifyFiles(m.files);
  if (layout.bars.length === 0) {
    throw new StockpipeError('SP_ERR_SOURCE_LAYOUT', `${m.root} holds no stocks/<SYMBOL>.csv or etfs/<SYMBOL>.csv files (${m.files.length} files seen)`, { hint: noBarsFileHint(m.files.map((f) => f.path)) });
  }
  let names = new Map<string, string>();
  let metadataRows = 0;
  let duplicates: MetadataDuplicate[] = [];
  const metadataText = await metadataTextOf(m, layout);
  if (layout.metadata !== null && metadataText !== null) {
    const parsed = parseSymbolMetadata(metadataText);
    if ('missing' in parsed) {
      throw new StockpipeError('SP_ERR_METADATA', `${join(m.root, layout.metadata)}: ${parsed.problem ?? `header lacks ${parsed.missing.join(' and ')}`}`);
    }
    names = parsed.names;
    metadataRows = parsed.rows;
    duplicates = parsed.duplicates;
  } else log.warn({ root: m.root }, 'no symbols_valid_meta.csv: Security Name will be null for every symbol');
  const report: IngestReport = {
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
    features_prepared: false,
    input_hash: hash,
    metadata_file: layout.metadata,
    metadata_rows: metadataRows,
    metadata_duplicate_symbols: duplicates.length,
    metadata_duplicates: duplicates.slice(0, MAX_METADATA_DUPLICATES),
    files_ignored: layout.ignored.filter((p) => !p.endsWith('manifest.json')),
    files_skipped: m.skipped ?? [],
    empty_files: [],
    malformed: [],
    malformed_total: 0,
    strict,
    mode: 'full',
    snapshot_id: null,
    table_rows: 0,
    files_read: 0,
    files_tail_read: 0,
    files_unchanged: 0,
    symbols_changed: 0,
  };
  return { layout, names, identity: sourceIdentity(m, layout, metadataText), report };
}

/** The malformed lines to report: the first MAX_REPORTED_ISSUES by path and line (lanes find them in no fixed order). */
export function keepIssues(r: IngestReport, issues: MalformedLine[]): void {
  issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line));
  r.malformed = issues.slice(0, MAX_REPORTED_ISSUES);
}

/** Checks the row accounting, takes the table's figures from the snapshot written (or found current), and writes the report. */
export async function finishReport(ws: Workspace, r: IngestReport, snap: SnapshotRecord | null, t0: number): Promise<IngestReport> {
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
}

/**
 * Whether a `--strict` ingest may read only the changed files on top of the current snapshot: only when
 * the ingest that wrote it was strict too (each strict ingest then vouches for every file of the table:
 * the ones it read, and the unchanged ones a strict ingest read before). After a plain ingest, which
 * drops malformed lines, a strict one reads every file again, and fails on them. Plain ingests: always.
 */
export function strictBase(strict: boolean, prev: IngestReport | null, cur: { id: number } | null): boolean {
  return !strict || (prev !== null && prev.strict === true && prev.snapshot_id === (cur?.id ?? null));
}

export async function readPreviousReport(ws: Workspace): Promise<IngestReport | null> {
  const text = await readFileOrNull(ws.pricesReport);
  if (text === null) return null;
  try {
    // Its path is this workspace's (a copied or moved one holds the report of where it was built).
    const r = JSON.parse(text) as IngestReport | null;
    return typeof r === 'object' && r !== null ? { ...r, output: ws.tableDir('prices') } : null;
  } catch (err) {
    if (err instanceof SyntaxError) return null; // a torn or edited report only means no cache hit
    throw err;
  }
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
