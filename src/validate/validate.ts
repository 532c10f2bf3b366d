/** @module validate/validate
 * `validate` end to end: scan the table (db/table-stats, a few aggregate passes), infer and save a
 * reference when asked or when none exists, run every check against it, and write the report
 * (validation/report-<stamp>.json + latest.json). Failing the command is the caller's decision. */
import { StockpipeError } from '../core/errors.js';
import { readFileOrNull, statOrNull, writeFilesAtomic } from '../core/fs.js';
import { createHash } from 'node:crypto';
import type { Logger } from '../core/log.js';
import { type Progress, silentProgress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, sqlIdent, type DuckDBConnection } from '../db/duckdb.js';
import { getSnapshot, listSnapshots, liveFiles } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { isResourceFailure, storeFileError } from '../db/duckdb-errors.js';
import {
  BAR_RULES, type BinSpec, type ColumnInfo, type DateGroup, dateCounts, datesOfSymbols, isNumericType, parquetColumns, type PeriodBins, type PeriodSplit, periodBinCounts, rangeRules, scanTable, type SymbolGroup, symbolGroups,
} from '../db/table-stats.js';
import { missingDates, scanDates, staleSymbols, symbolGaps } from './calendar-gaps.js';
import * as C from './checks.js';
import { driftBaseline, columnPsi, newRowsPsi, totalCounts, type DriftOptions } from './drift.js';
import { buildProfile, decileEdges, QUANTILE_PROBS } from './profile.js';
import { nextReferenceVersion, readCurrentReference, readReference, referenceFiles, type TableName } from './reference.js';
import { checkOverrides, finalizeAnomalies, statusOf, summarize, type SeverityOverride } from './report.js';
import type { Anomaly, DriftValue, Reference, ValidationReport } from './types.js';
import { LINEAGE_COLUMN } from '../store/partition.js';
import { readTable, sourceOf } from '../store/read.js';
import { type CountedFile, tableBinCounts, tableDuplicates } from './file-cache.js';

export interface ValidateSettings {
  null_rate_tolerance: number;
  out_of_range_rate: number;
  missing_days_rate: number;
  stale_after_days: number;
  min_symbol_rows: number;
  severity: Record<string, SeverityOverride>;
  drift: { k: number; floor: number; min_period_rows: number };
}

export interface ValidateOptions {
  /** The workspace: its tables, validation/ files and DuckDB settings. */
  ws: Workspace;
  table: TableName;
  /** A saved reference to validate against (default: the workspace's current one). */
  referencePath?: string;
  /** Infer a new reference version from this table first. */
  setReference: boolean;
  settings: ValidateSettings;
  now: () => Date;
  log: Logger;
  /** Shows which pass runs (a terminal's bar; silent otherwise). */
  progress?: Progress;
  /** The workspace's current source (source.json): its identity, and when it was last switched to
   * (null: never switched). A current reference of another source is not reused: a new version is
   * inferred and a `source_changed` anomaly (info) says so. */
  source?: { identity: string; switchedAt: string | null } | null;
  /** `--as-of SNAPSHOT|TIME`: validate the table as it was then (default: its current snapshot). */
  asOf?: string;
  /**
   * A partitioned check's commit (validate/partitions): the whole-table passes, added up over the
   * partitions, for exactly this snapshot, base and reference version (else SP_ERR_STORE_CONFLICT).
   */
  partials?: { snapshot: number; since: number; referenceVersion: number; stats: WholeStats };
}

/** The snapshot's data version: sha256 over its files as the catalog lists them (store files are immutable and uniquely named, so no byte is read). */
async function filesHash(files: readonly { path: string; rows: number; bytes: number }[]): Promise<string> {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.path}\t${f.rows}\t${f.bytes}\n`);
  return h.digest('hex');
}

/** The reference's identity: sha256 of its JSON (the same for reference.json and its reference-v<N>.json copy). Two
 * references of one version number may differ (another workspace's v1 given as --reference). */
export function referenceHash(ref: Reference): string {
  return createHash('sha256').update(JSON.stringify(ref)).digest('hex');
}

/** Whether the current reference describes another source than the workspace's (see ValidateOptions.source). */
export function referenceOfOtherSource(ref: Reference, source: ValidateOptions['source']): boolean {
  if (!source) return false;
  if (typeof ref.data_source === 'string') return ref.data_source !== source.identity;
  // Written before sources were recorded: another source only if the workspace switched since.
  return source.switchedAt !== null && ref.created_at < source.switchedAt;
}

export interface ValidateResult {
  report: ValidationReport;
  report_path: string;
  latest_path: string;
  reference_path: string;
}

const numericNow = (cols: readonly ColumnInfo[], name: string): boolean => cols.some((c) => c.name === name && isNumericType(c.type));

interface Scanned {
  cols: ColumnInfo[];
  scan: Awaited<ReturnType<typeof scanTable>>;
  symbols: Awaited<ReturnType<typeof symbolGroups>> | null;
  dates: ReturnType<typeof scanDates> | null;
  dateList: string[] | null;
}

/** Seconds per phase, for the report (where the time goes at scale), and the pass shown as it runs. */
class Laps {
  readonly times: Record<string, number> = {};
  constructor(readonly progress: Progress) {}
}
async function lap<T>(laps: Laps, name: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  laps.progress.start(`validate: ${name}`, 1);
  try {
    return await f();
  } finally {
    laps.progress.update(1);
    laps.progress.stop();
    laps.times[name] = (laps.times[name] ?? 0) + Math.round(performance.now() - t0) / 1000;
  }
}

/**
 * The whole-table passes of an incremental check, added up over partitions (validate/partitions:
 * each bucket's symbols are in its files only, so per-symbol and per-date counts and drift bin
 * counts add up exactly): rows per date, symbol groups, drift bins.
 */
export interface WholeStats {
  dates: DateGroup[];
  /** With their distinct_dates (repeated rows taken off) and off_dates counted. */
  symbols: SymbolGroup[];
  /** periodBinCounts of the reference's drift columns over the table, split after the reference's last date. */
  drift: PeriodBins[];
}

/** Column statistics and rules over `input` (the rows to check); symbol and date checks over `whole` (the table; its repeated rows from `duplicates`), or from `pre`. */
async function scanAll(conn: DuckDBConnection, input: string, ref: Reference | null, laps: Laps, whole: string, duplicates: () => Promise<Map<string, number>>, pre?: WholeStats): Promise<Scanned> {
  // The lineage column is the store's, not data: it changes with every snapshot (never profiled, never drift).
  const all = await parquetColumns(conn, input).catch((err: unknown) => {
    if (isResourceFailure(err)) throw err;
    // A store data file damaged or deleted under the read: named, with the rebuild, as every other pass of validate and
    // every reader says it (it was SP_ERR_VALIDATE_INPUT with DuckDB's SQL excerpt, hinting `stockpipe ingest`).
    const stored = storeFileError(err);
    if (stored !== undefined) throw stored;
    throw new StockpipeError('SP_ERR_VALIDATE_INPUT', `the table is not readable Parquet: ${(err as Error).message}`, { cause: err });
  });
  const cols = all.filter((c) => c.name !== LINEAGE_COLUMN);
  const has = (n: string, type?: string): boolean => cols.some((c) => c.name === n && (type === undefined || c.type === type));
  const ranges = ref === null ? [] : rangeRules(ref.columns.filter((c) => numericNow(cols, c.name)));
  const scan = await lap(laps, 'columns', () => scanTable(conn, input, cols, QUANTILE_PROBS, [...BAR_RULES, ...ranges]));
  const dateGroups = has('Date', 'VARCHAR') ? (pre?.dates ?? (await lap(laps, 'dates', () => dateCounts(conn, whole)))) : null;
  let symbols: Scanned['symbols'] = null;
  let dates: Scanned['dates'] = null;
  if (has('Symbol') && dateGroups !== null) {
    if (pre !== undefined) symbols = pre.symbols;
    else {
      // Rows on days the calendar calls closed must not count as present trading days.
      const closedDays = scanDates(dateGroups, []);
      const repeated = await lap(laps, 'duplicates', duplicates);
      symbols = await lap(laps, 'symbols', () => symbolGroups(conn, whole, { hasSecurityName: has('Security Name'), offDates: closedDays.off.map((g) => g.date), duplicates: repeated }));
    }
    dates = scanDates(dateGroups, symbols);
  } else if (has('Symbol')) {
    symbols = await symbolGroups(conn, whole, { hasSecurityName: has('Security Name'), offDates: [], duplicates: new Map() });
  }
  const dateList = dateGroups === null ? null : dateGroups.map((g) => g.date).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d));
  return { cols, scan, symbols, dates, dateList };
}

/** Infers a reference (profile + drift baseline) from a scanned table. */
async function inferReference(conn: DuckDBConnection, input: string, origin: { label: string; files: readonly { path: string; rows: number; bytes: number }[] }, s: Scanned, o: ValidateOptions, version: number, laps: Laps): Promise<Reference> {
  const profile = buildProfile(s.scan.rows, s.scan.columns, s.symbols, s.dateList);
  const specs: BinSpec[] = profile.columns.filter((c) => numericNow(s.cols, c.name)).map((c) => ({ column: c.name, edges: decileEdges(c) })).filter((b) => b.edges.length > 0);
  const byMonth = s.dateList !== null && specs.length > 0;
  const periods = specs.length > 0 ? await lap(laps, 'reference_bins', () => periodBinCounts(conn, input, specs, byMonth ? { by: 'month', column: 'Date' } : null)) : [];
  const d: DriftOptions = { k: o.settings.drift.k, floor: o.settings.drift.floor, minPeriodRows: o.settings.drift.min_period_rows };
  return {
    format: 'stockpipe-validation-reference',
    version,
    created_at: o.now().toISOString(),
    table: o.table,
    source: origin.label,
    data_hash: await lap(laps, 'hash', () => filesHash(origin.files)),
    data_source: o.source?.identity ?? null,
    ...profile,
    symbols: profile.symbols === null || s.symbols === null ? null : { ...profile.symbols, names: s.symbols.map((g) => g.symbol) },
    drift: { method: 'psi', period: 'month', k: d.k, floor: d.floor, min_period_rows: d.minPeriodRows, columns: driftBaseline(specs, periods, d) },
  };
}

type Drift = Record<string, DriftValue>;

/** The reference's drift columns present (numeric) in the table, and the split of their counts: before and after the reference's last date. */
export function driftSpecs(ref: Reference, cols: readonly ColumnInfo[]): { specs: BinSpec[]; split: PeriodSplit } {
  const specs: BinSpec[] = Object.entries(ref.drift.columns).filter(([name]) => numericNow(cols, name)).map(([column, d]) => ({ column, edges: d.edges }));
  const since = ref.dates?.max ?? null;
  const split = since !== null && cols.some((c) => c.name === 'Date' && c.type === 'VARCHAR');
  return { specs, split: split ? { by: 'after', column: 'Date', date: since! } : null };
}
type NewRowsDrift = ValidationReport['drift_new_rows'];

/** PSI of new bin counts (in the order of ref.drift.columns) against the reference. */
function driftOfCounts(ref: Reference, counts: readonly ArrayLike<number>[]): Drift {
  const out: Drift = {};
  Object.entries(ref.drift.columns).forEach(([column, base], i) => {
    const psi = columnPsi(base, counts[i]!);
    if (Number.isFinite(psi)) out[column] = { psi, threshold: base.threshold };
  });
  return out;
}

/**
 * PSI of each reference-binned column of the new table, and of its rows dated after the reference
 * against the reference's last month (one pass per column, split on the date).
 */
async function driftOf(conn: DuckDBConnection, table: { ws: Workspace; name: TableName; files: readonly CountedFile[]; log: Logger }, ref: Reference, cols: readonly ColumnInfo[], minRows: number, pre?: PeriodBins[]): Promise<{ whole: Drift; fresh: NewRowsDrift }> {
  const { specs, split } = driftSpecs(ref, cols);
  if (specs.length === 0) return { whole: {}, fresh: null };
  const since = ref.dates?.max ?? null;
  // Counted file by file, each file once per reference (validate/file-cache).
  const periods = pre ?? (await tableBinCounts(conn, table.ws, table.name, table.files, specs, split, table.log));
  const totals = totalCounts(specs, periods);
  const recent = periods.find((p) => p.period === 'new');
  const whole: Drift = {};
  const columns: Drift = {};
  specs.forEach((s, i) => {
    const base = ref.drift.columns[s.column]!;
    const psi = columnPsi(base, totals[i]!);
    if (Number.isFinite(psi)) whole[s.column] = { psi, threshold: base.threshold };
    const fresh = recent === undefined ? Number.NaN : newRowsPsi(base, recent.counts[i]!, minRows);
    if (Number.isFinite(fresh)) columns[s.column] = { psi: fresh, threshold: base.threshold };
  });
  const against = Object.values(ref.drift.columns)[0]?.last_period?.period;
  const fresh = recent !== undefined && since !== null && against !== undefined && Object.keys(columns).length > 0 ? { since, against, rows: recent.rows, columns } : null;
  return { whole, fresh };
}

/**
 * The snapshot the last report validated, when this run may check only the rows brought since: the
 * same table and reference version, an older snapshot, and only appends, restatements or compactions
 * since (an overwrite is a new table: check it whole).
 */
export async function incrementalBase(o: Pick<ValidateOptions, 'ws' | 'table'>, snapshot: number, ref: Reference): Promise<number | null> {
  const text = await readFileOrNull(o.ws.latestValidation);
  if (text === null) return null;
  let last: Partial<ValidationReport>;
  try {
    last = JSON.parse(text) as Partial<ValidationReport>;
  } catch (err) {
    if (err instanceof SyntaxError) return null; // a torn report only means a full check
    throw err;
  }
  // The same reference, not only its version number: `--reference` of another workspace's v1 checked only the new rows
  // against it, and the next plain check only those after it against the workspace's own (a report without the hash: whole).
  if (last.table !== o.table || last.reference_version !== ref.version || last.reference_hash !== referenceHash(ref) || typeof last.snapshot !== 'number' || last.snapshot >= snapshot) return null;
  const reg = openRegistry(o.ws, { readonly: true });
  try {
    const between = listSnapshots(reg, o.table).filter((x) => x.id > last.snapshot! && x.id <= snapshot);
    if (between.length === 0 || between.some((x) => x.operation === 'overwrite')) return null;
    // The snapshot the report validated must be this registry's: a registry moved aside (docs/errors.md:
    // a new empty one is created) numbers its snapshots from 1 again, and its rows up to that number
    // were never checked. Its files as this catalog lists them must hash to the report's data_hash.
    const base = getSnapshot(reg, last.snapshot);
    if (base === null || base.table !== o.table || typeof last.data_hash !== 'string' || (await filesHash(liveFiles(reg, base))) !== last.data_hash) return null;
    return last.snapshot;
  } finally {
    reg.close();
  }
}

export async function validateTable(o: ValidateOptions): Promise<ValidateResult> {
  const t0 = performance.now();
  const overrides = checkOverrides(o.settings.severity);
  const t = readTable(o.ws, o.table, o.asOf, { missingCode: 'SP_ERR_VALIDATE_INPUT' });
  const input = sourceOf(t);
  const label = `${o.ws.tableDir(o.table)} @ snapshot ${t.snapshot.id}`;
  const current = o.ws.currentReference(o.table);
  let refPath = o.referencePath ?? current;
  let ref: Reference | null = null;
  if (o.referencePath !== undefined) ref = await readReference(refPath, o.table);
  else if (!o.setReference && (await statOrNull(current))) ref = await readCurrentReference(o.ws, o.table);
  let renewed: Anomaly | null = null;
  if (ref !== null && o.referencePath === undefined && referenceOfOtherSource(ref, o.source)) {
    renewed = { code: 'source_changed', severity: 'info', column: null, detail: `the workspace's source is now '${o.source!.identity}'; reference v${ref.version} describes ${typeof ref.data_source === 'string' ? `'${ref.data_source}'` : 'the data before the switch'}, so a new reference was inferred from this table`, values: { previous_reference_version: ref.version } };
    ref = null;
  }
  // Incremental: the last report validated an older snapshot of this table against this same
  // reference, and every snapshot since only added or replaced rows: check the rows they brought.
  const since = ref !== null && o.asOf === undefined && !o.setReference ? await incrementalBase(o, t.snapshot.id, ref) : null;
  const pre = o.partials;
  if (pre !== undefined && (pre.snapshot !== t.snapshot.id || pre.since !== since || ref === null || ref.version !== pre.referenceVersion)) {
    throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the ${o.table} table or its validation moved since the plan (snapshot ${t.snapshot.id}, checked since ${since ?? 'none'}, reference v${ref?.version ?? 'none'}; the partitions saw ${pre.snapshot}, ${pre.since}, v${pre.referenceVersion}): nothing was written`, { hint: 'Run the validate task again.' });
  }
  const rowsToCheck = since === null ? input : `(SELECT * FROM ${input} WHERE ${sqlIdent(LINEAGE_COLUMN)} > ${since})`;
  const db = await openDuckDB(o.ws.duckdbSettings());
  try {
    const conn = db.connection;
    const laps = new Laps(o.progress ?? silentProgress);
    // Repeated rows and drift bins file by file, each file once (validate/file-cache).
    const s = await scanAll(conn, rowsToCheck, ref, laps, input, () => tableDuplicates(conn, o.ws, o.table, input, t.files, o.log), pre?.stats);
    let created = false;
    // A new reference is written with the report at the end: all of the outputs or none of them.
    let newReference: { path: string; data: string }[] = [];
    if (ref === null) {
      ref = await inferReference(conn, input, { label, files: t.files }, s, o, await nextReferenceVersion(o.ws, o.table), laps);
      newReference = referenceFiles(o.ws, ref);
      refPath = newReference[0]!.path;
      created = true;
      o.log.debug({ reference: refPath }, 'inferred a new validation reference (written with the report)');
      if (renewed !== null) renewed.detail += ` (v${ref.version})`;
    }
    const cur = buildProfile(s.scan.rows, s.scan.columns, s.symbols, s.dateList);
    // A reference inferred in this run was binned from this very scan: its counts are the new counts.
    // Drift stays a whole-table measure (and the rows after the reference's last date, as before).
    const drift = created
      ? { whole: driftOfCounts(ref, Object.values(ref.drift.columns).map((c) => c.counts)), fresh: null }
      : await lap(laps, 'drift', () => driftOf(conn, { ws: o.ws, name: o.table, files: t.files, log: o.log }, ref!, s.cols, o.settings.drift.min_period_rows, pre?.stats.drift));
    const checked = s.scan.rows;
    // Table-level checks (empty, coverage) see the whole table's row count.
    const whole = since === null ? cur : { ...cur, rows: t.snapshot.rows };
    // Values of no new row to check (only removals): the row checks have nothing to say.
    const rowChecks = since === null || checked > 0;
    const psis = drift.whole;
    const st = o.settings;
    const anomalies: Anomaly[] = [
      ...(renewed === null ? [] : [renewed]),
      ...C.checkEmpty(whole),
      ...C.checkSchema(ref.columns, cur.columns),
      ...(rowChecks ? [
        ...C.checkNonFinite(cur.columns),
        // A null rate needs rows to mean anything: new rows are judged once there are enough of them.
        ...(since === null || checked >= st.drift.min_period_rows ? C.checkNullSpike(ref.columns, cur.columns, st.null_rate_tolerance) : []),
        ...C.checkOutOfRange(ref.columns, s.scan.rules, cur.rows, st.out_of_range_rate),
        ...C.checkPrices(s.scan.rules),
        ...C.checkVolume(s.scan.rules),
        ...C.checkHighLow(s.scan.rules),
      ] : []),
      ...C.checkCoverage(ref, whole, s.symbols),
      ...C.checkDrift(psis),
      ...(drift.fresh === null ? [] : C.checkDrift(drift.fresh.columns, `the ${drift.fresh.rows} rows after ${drift.fresh.since} against the reference's ${drift.fresh.against}`)),
    ];
    if (s.symbols !== null) {
      anomalies.push(...C.checkDuplicates(s.symbols), ...C.checkShortHistory(s.symbols, st.min_symbol_rows));
      if (s.cols.some((c) => c.name === 'Security Name')) anomalies.push(...C.checkMetadata(s.symbols));
    }
    if (s.dates !== null && s.symbols !== null) {
      const gaps = symbolGaps(s.dates, s.symbols);
      const worst = gaps.filter((g) => g.missing > 0).sort((a, b) => b.missing / b.expected - a.missing / a.expected).slice(0, 3);
      const have = await datesOfSymbols(conn, input, worst.map((g) => g.symbol));
      const closed = new Set(s.dates.closed);
      const examples = new Map([...have].map(([sym, ds]) => [sym, missingDates(ds, closed, 3)]));
      anomalies.push(...C.checkCalendar(s.dates), ...C.checkMissingDays(gaps, st.missing_days_rate, examples), ...C.checkStale(staleSymbols(s.dates, s.symbols, st.stale_after_days), st.stale_after_days));
    }
    const final = finalizeAnomalies(anomalies, overrides);
    const summary = summarize(final);
    const createdAt = o.now().toISOString();
    const report: ValidationReport = {
      status: statusOf(summary),
      created_at: createdAt,
      table: o.table,
      input: label,
      snapshot: t.snapshot.id,
      data_hash: created ? ref.data_hash : await lap(laps, 'hash', () => filesHash(t.files)),
      reference_version: ref.version,
      reference_hash: referenceHash(ref),
      reference: refPath,
      reference_created: created,
      rows: t.snapshot.rows,
      mode: since === null ? 'full' : 'incremental',
      since_snapshot: since,
      rows_checked: checked,
      anomalies: final,
      summary,
      columns: cur.columns,
      symbols: cur.symbols,
      dates: cur.dates,
      drift: psis,
      drift_new_rows: drift.fresh,
      seconds: Math.round(performance.now() - t0) / 1000,
      phases: laps.times,
    };
    const reportPath = o.ws.validationReport(createdAt.replace(/[-:.]/g, ''));
    const text = `${JSON.stringify(report, null, 2)}\n`;
    const latest = o.ws.latestValidation;
    await writeFilesAtomic([...newReference, { path: reportPath, data: text }, { path: latest, data: text }]);
    if (created) o.log.info({ reference: refPath }, 'inferred and saved a new validation reference');
    return { report, report_path: reportPath, latest_path: latest, reference_path: refPath };
  } finally {
    db.close();
  }
}
