/** @module ml/rescore
 * Champion / challenger on the rows promotion compares (docs/models.md: never the test slice): the alias
 * holder's promotion metric measured on the candidate's selection rows — the validation rows of its
 * CV folds inside the pre-test dates, or its validation window (day-ahead models, the holdout
 * protocol) — so registry/promote can compare the two when they were scored on different rows (the
 * data grew, a holder trained before the protocol). The candidate keeps its recorded backtest score
 * when its data is the workspace's; otherwise (or when it has none: a model trained before the
 * protocol) both are measured there, the candidate on its recorded split's default folds. Rows are
 * chosen by date; test-slice rows are never read. The data is loaded lazily from the workspace's
 * features table (or taken from the caller, who has it loaded already). */
import { readModelJson, readRecordedMetrics } from './artifacts.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlString, type DuckDBConnection } from '../db/duckdb.js';
import { StockpipeError } from '../core/errors.js';
import { type AsOf, currentSnapshot } from '../registry/catalog.js';
import { featuresSnapshotBuild, featuresWindow, modelLineage } from '../registry/lineage.js';
import { openRegistry } from '../registry/store.js';
import { describeSelection } from '../registry/compare.js';
import type { Rescored, Unmeasured } from '../registry/promote.js';
import type { SelectionSlice, TestSlice } from '../registry/types.js';
import { readTable, type TableRead, sourceOf } from '../store/read.js';
import { type DataLineage, loadVolumeDataset, type VolumeDataset } from './dataset.js';
import { DEFAULT_FOLDS, pretestRows, timeSeriesFolds } from './cv.js';
import { forecastRows, frameHash, LacksExtendedError, loadForecastFrame, type ForecastFrame, type InputSink } from './forecast-dataset.js';
import { forecastFromJSON, type ForecastModel } from './forecast-model.js';
import { scoreForecastOnDays } from './forecast-train.js';
import { regressionMetrics } from './metrics/regression.js';
import { parseDay, testFromLastDays } from './split.js';
import { nextTradingDay } from '../core/calendar.js';
import { SHORT_LOOKBACK } from '../features/lagged.js';
import { makeSlicesFromDays } from './train.js';
import { civilFromDays } from '../etl/csv-parse.js';
import { predictRows, scorerFromJSON, type VolumeScorer } from './volume-model.js';


/** A registered model as the re-scorer needs it (registry ModelVersion fits). */
export interface ModelFiles { id: string; kind: string; path: string; test_slice?: TestSlice | null }

type Window = SelectionSlice['windows'][number];

export interface RescoreData {
  volume: () => Promise<VolumeDataset>;
  forecast: () => Promise<ForecastFrame>;
  /** The rolling window (`features --window`) model `id` was trained on and that of features snapshot `read` (null: not
   * recorded); absent: not known, nothing said. */
  windows?: (id: string, read: number | null) => { trained: number | null; read: number | null };
}

/** The features table is opened with the workspace's DuckDB settings (config threads and memory_limit). */
async function withDuck<T>(ws: Workspace, fn: (db: Awaited<ReturnType<typeof openDuckDB>>) => Promise<T>): Promise<T> {
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** The features table as of `asOf` (current when undefined); no snapshot → SP_ERR_TRAIN_DATA as before the store. */
export function featuresRead(ws: Workspace, asOf?: string | AsOf): TableRead {
  return readTable(ws, 'features', asOf, { missingCode: 'SP_ERR_TRAIN_DATA' });
}

/**
 * `--test-days N` (train, tune): the first day of a test slice of the last `n` trading days, counted
 * back from the last day a row of the task can be tested on (as of `asOf`, up to `until`) — not the
 * table's last date, which may be a symbol's lone first row. SP_ERR_TRAIN_DATA when the slice would
 * reach back to the first such day: nothing would be left to fit.
 */
export async function testFromDays(ws: Workspace, task: 'volume' | 'forecast', asOf: string | undefined, until: string | undefined, n: number): Promise<string> {
  const t = featuresRead(ws, asOf);
  const { first, last } = await usableSpan(ws, task, asOf, until);
  const upTo = until === undefined ? '' : ` up to ${until}`;
  if (first === null || last === null) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${readLabel(ws, t)} has no row the ${task} model can use${upTo}: no last day to count --test-days back from`, { hint: 'Run `stockpipe features` on more data (with --extended for the day-ahead model), or give a later --date.' });
  const from = testFromLastDays(last, n);
  if (from <= first) {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `--test-days ${n} reaches back to ${from}, and the first day the ${task} model can use${upTo} is ${first}: no row would be left to fit`, { hint: 'Give fewer --test-days (the daily pipeline: monitor.train_test_days; 0 = the default cut), or more history.' });
  }
  return from;
}

/** The first and last day a row of the task can be tested on in the features table (as of `asOf`, up to `until`); nulls when none. */
export async function usableSpan(ws: Workspace, task: 'volume' | 'forecast', asOf: string | undefined, until: string | undefined): Promise<{ first: string | null; last: string | null }> {
  const t = featuresRead(ws, asOf);
  return withDuck(ws, (db) => usableDays(db.connection, sourceOf(t), task, until));
}

/** The first and last day a row of the task can be tested on: a volume row's date (both features and Volume
 * present); a day-ahead row's target day (its symbol's previous row has SHORT_LOOKBACK earlier rows, is the
 * previous NYSE trading day, and both Adj Close are positive: ml/forecast-dataset forecastRows). */
async function usableDays(conn: DuckDBConnection, src: string, task: 'volume' | 'forecast', until: string | undefined): Promise<{ first: string | null; last: string | null }> {
  const upTo = until === undefined ? '' : ` AND "Date" <= ${sqlString(until)}`;
  if (task === 'volume') {
    const [r] = await queryRows(conn, `SELECT min("Date")::VARCHAR AS a, max("Date")::VARCHAR AS b FROM ${src} WHERE vol_moving_avg IS NOT NULL AND adj_close_rolling_med IS NOT NULL AND "Volume" IS NOT NULL${upTo}`);
    return { first: typeof r?.a === 'string' ? r.a.slice(0, 10) : null, last: typeof r?.b === 'string' ? r.b.slice(0, 10) : null };
  }
  // Each (target day, previous day) pair of the candidate rows, the NYSE calendar checked here (it is not SQL's).
  const rows = await queryRows(conn, `WITH r AS (SELECT "Date" AS d, lag("Date") OVER w AS p, row_number() OVER w AS k, "Adj Close" AS a, lag("Adj Close") OVER w AS pa
    FROM ${src} WHERE true${upTo} WINDOW w AS (PARTITION BY "Symbol" ORDER BY "Date"))
    SELECT d::VARCHAR AS d, p::VARCHAR AS p FROM r WHERE k > ${SHORT_LOOKBACK + 1} AND a > 0 AND pa > 0 AND isfinite(a) AND isfinite(pa) GROUP BY 1, 2 ORDER BY 1`);
  let first: string | null = null;
  let last: string | null = null;
  for (const row of rows) {
    const d = String(row.d).slice(0, 10);
    if (nextTradingDay(String(row.p).slice(0, 10)) !== d) continue;
    if (first === null) first = d;
    last = d;
  }
  return { first, last };
}

/** How the features snapshot of `lineage` was built (its recorded build: code version, window, extended; not
 * the prices snapshot it read), or null: part of a model's procedure fingerprint — another window is
 * another input (ml/train-run procedureHash). */
export function featuresBuild(ws: Workspace, lineage: DataLineage | undefined): Record<string, unknown> | null {
  if (lineage === undefined) return null;
  const reg = openRegistry(ws, { readonly: true });
  try {
    return featuresSnapshotBuild(reg, lineage.features_snapshot);
  } finally {
    reg.close();
  }
}

/** The snapshots a read came from: the features snapshot and the prices snapshot it was built from (when its writer recorded it). */
export function lineageOf(t: TableRead): DataLineage {
  const p = t.snapshot.source?.prices_snapshot;
  return { features_snapshot: t.snapshot.id, prices_snapshot: typeof p === 'number' ? p : null };
}

/** How a table read is named in messages and model cards. */
export function readLabel(ws: Workspace, t: TableRead): string {
  return `${ws.relative(ws.tableDir(t.table))} @ snapshot ${t.snapshot.id}`;
}

/** The volume model rows of the workspace's features table as of `asOf` (current when undefined). */
export async function loadWorkspaceVolumeData(ws: Workspace, asOf?: string | AsOf): Promise<VolumeDataset> {
  const t = featuresRead(ws, asOf);
  return withDuck(ws, async (db) => ({ ...(await loadVolumeDataset(db.connection, sourceOf(t), readLabel(ws, t))), lineage: lineageOf(t) }));
}

/** The day-ahead model rows of the workspace's features table (built with --extended) as of `asOf`, dated up to `until` (a logical date) when given;
 * `cuts`: where to cut their inputs into row blocks, `sink`: what takes the first block's or 'skip' (ml/forecast-dataset),
 * `features`: the inputs to compute (default: the day-ahead model's default inputs). */
export async function loadWorkspaceForecastData(ws: Workspace, asOf?: string | AsOf, until?: string, cuts?: (targetDay: Int32Array) => readonly number[], sink?: InputSink | 'skip', features?: readonly string[]): Promise<ForecastFrame> {
  const t = featuresRead(ws, asOf);
  try {
    return await withDuck(ws, async (db) => ({ ...(await loadForecastFrame(db.connection, sourceOf(t), readLabel(ws, t), until, features, cuts, sink)), lineage: lineageOf(t) }));
  } catch (err) {
    throw asOf === undefined ? err : asOfWithoutExtended(ws, t, asOf, err);
  }
}

/** `--as-of` naming a features snapshot built without the day-ahead columns while the current one has them: rebuilding
 * with --extended (the plain error's hint) would not change what --as-of reads, so the error says to drop or change it. */
function asOfWithoutExtended(ws: Workspace, t: TableRead, asOf: string | AsOf, err: unknown): unknown {
  if (!(err instanceof LacksExtendedError)) return err;
  const reg = openRegistry(ws, { readonly: true });
  try {
    const current = currentSnapshot(reg, 'features');
    if (current === null || current.id === t.snapshot.id || featuresSnapshotBuild(reg, current.id).extended !== true) return err;
    const given = typeof asOf === 'string' ? asOf : 'snapshot' in asOf ? String(asOf.snapshot) : asOf.time.toISOString();
    return new StockpipeError('SP_ERR_TRAIN_DATA', `${err.message} (--as-of ${given} reads snapshot ${t.snapshot.id}, built without --extended)`, {
      hint: `Drop --as-of: the current features snapshot, ${current.id}, has the day-ahead columns. Or give --as-of a snapshot built with --extended (\`stockpipe snapshots features\`).`,
      cause: err,
    });
  } finally {
    reg.close();
  }
}

/** Loaders over the workspace that read at most once; `loaded` is data the caller holds already. */
export function workspaceData(ws: Workspace, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): RescoreData {
  let ds: Promise<VolumeDataset> | undefined = loaded.ds && Promise.resolve(loaded.ds);
  let frame: Promise<ForecastFrame> | undefined = loaded.frame && Promise.resolve(loaded.frame);
  return {
    volume: () => (ds ??= loadWorkspaceVolumeData(ws)),
    forecast: () => (frame ??= loadWorkspaceForecastData(ws)),
    windows: (id, read) => {
      const reg = openRegistry(ws, { readonly: true });
      try {
        return { trained: featuresWindow(reg, modelLineage(reg, reg.getModel(id, { checkFiles: false }).run_id).features_snapshot), read: featuresWindow(reg, read) };
      } finally {
        reg.close();
      }
    },
  };
}

/** The rows of `days` dated within the window (inclusive), ascending. */
function windowRows(days: Int32Array, w: Window): Int32Array {
  const lo = parseDay(w.from, 'window start');
  const hi = parseDay(w.to, 'window end');
  const out: number[] = [];
  for (let i = 0; i < days.length; i++) if (days[i]! >= lo && days[i]! <= hi) out.push(i);
  return Int32Array.from(out);
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The candidate's windows when it recorded none: the default folds (volume) or validation window (day-ahead) of its recorded split. */
async function fallbackWindows(candidate: ModelFiles, days: Int32Array, forecast: boolean): Promise<Window[] | undefined> {
  const { split } = await readRecordedMetrics(candidate);
  if (split.kind !== 'time') return undefined; // a random split holds no pre-test dates
  const s = makeSlicesFromDays(days, split.test_from ?? undefined);
  const window = (rows: Int32Array): Window => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of rows) {
      lo = Math.min(lo, days[i]!);
      hi = Math.max(hi, days[i]!);
    }
    return { from: civilFromDays(lo), to: civilFromDays(hi), rows: rows.length };
  };
  if (forecast) return s.valid.length > 0 ? [window(s.valid)] : undefined;
  return timeSeriesFolds(days, pretestRows(s), DEFAULT_FOLDS).map((f) => window(f.valid));
}

/**
 * The holder's `metric` on the candidate's selection rows (the mean over windows), and the
 * candidate's when it must be measured too; undefined when the two are of different families (a
 * volume model against a forecast model: not comparable), there are no such rows, or the metric is absent.
 */
export async function rescoreHolder(data: RescoreData, candidate: ModelFiles, holder: ModelFiles, metric: string): Promise<Rescored | Unmeasured | undefined> {
  try {
    return await rescore(data, candidate, holder, metric);
  } catch (err) {
    // No features table, or one without the columns the models read: not measurable, and promotion's refusal says why and what to do.
    if (err instanceof StockpipeError && err.code === 'SP_ERR_TRAIN_DATA') return { unmeasured: err.message, hint: err.hint };
    // A candidate folder without metrics.json: not measurable (promotion refuses and says so).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function rescore(data: RescoreData, candidate: ModelFiles, holder: ModelFiles, metric: string): Promise<Rescored | undefined> {
  const forecast = candidate.kind === 'forecast';
  if (forecast !== (holder.kind === 'forecast')) return undefined;
  const recorded = candidate.test_slice?.selection ?? null;
  let score: (model: ModelFiles) => Promise<number | undefined>;
  let hash: string;
  let days: Int32Array;
  let read: number | null;
  if (forecast) {
    const frame = await data.forecast();
    hash = frameHash(frame);
    read = frame.lineage?.features_snapshot ?? null;
    days = forecastRows(frame).targetDay;
    score = async (m) => {
      const { file, text } = await readModelJson(m);
      const model: ForecastModel = forecastFromJSON(text, file);
      const values = windows.map((w) => scoreForecastOnDays(model, frame, w.from, w.to)?.[metric]);
      return values.every((v) => typeof v === 'number') ? mean(values as number[]) : undefined;
    };
  } else {
    const ds = await data.volume();
    hash = ds.dataHash;
    read = ds.lineage?.features_snapshot ?? null;
    days = ds.day;
    const rowsOf = new Map<Window, Int32Array>();
    score = async (m) => {
      const { file, text } = await readModelJson(m);
      const scorer: VolumeScorer = scorerFromJSON(text, file);
      const values = windows.map((w) => {
        const rows = rowsOf.get(w) ?? windowRows(ds.day, w);
        rowsOf.set(w, rows);
        if (rows.length === 0) return undefined;
        const y = Float64Array.from(rows, (i) => ds.volume[i]!);
        return (regressionMetrics(y, predictRows(scorer, ds.vma, ds.acm, rows)) as unknown as Record<string, number>)[metric];
      });
      return values.every((v) => typeof v === 'number') ? mean(values as number[]) : undefined;
    };
  }
  const windows: Window[] = recorded?.windows ?? (await fallbackWindows(candidate, days, forecast)) ?? [];
  if (windows.length === 0) return undefined;
  // The candidate keeps its recorded score whenever it has one, even when the data changed since: that
  // score is out of sample (CV folds or the validation window, before the refit), while its final model
  // was refitted on every pre-test row, those windows included, so re-scoring it there would be in-sample.
  // Only a candidate without one (registered before the protocol) is measured, with the holder.
  const keep = recorded !== null && typeof recorded.metrics[metric] === 'number';
  // A recorded backtest without this metric: re-scoring the candidate would be in-sample too, so
  // nothing is measured (promotion refuses, naming the metrics its backtest has).
  if (recorded !== null && !keep) return undefined;
  const value = await score(holder);
  const candidateValue = keep ? null : await score(candidate);
  if (value === undefined || (!keep && candidateValue === undefined)) return undefined;
  const on = describeSelection({ kind: recorded?.kind ?? (forecast ? 'validation' : 'cv'), data_hash: hash, windows, metrics: {} });
  const sameData = recorded !== null && recorded.data_hash.split(':')[0] === hash;
  const how = !keep ? 'both re-scored there' : sameData ? `${holder.id} re-scored there` : `${holder.id} re-scored there on today's rows; ${candidate.id}'s own score, from before its refit`;
  // A holder trained on features of another window reads its inputs with another meaning there: said, not hidden.
  const w = data.windows?.(holder.id, read);
  const window = w !== undefined && w.trained !== null && w.read !== null && w.trained !== w.read ? `; ${holder.id} was trained on features of --window ${w.trained}, these are of --window ${w.read}` : '';
  return { value, candidate_value: candidateValue ?? null, on: `${on} (${how}${window})` };
}

/** A registry/promote HolderRescorer over `data`. */
export function holderRescorer(data: RescoreData): (candidate: ModelFiles, holder: ModelFiles, metric: string) => Promise<Rescored | Unmeasured | undefined> {
  return (candidate, holder, metric) => rescoreHolder(data, candidate, holder, metric);
}

/** registry/promote's re-scorer over the workspace's features table (reusing data the caller loaded already). */
export function workspaceRescorer(ws: Workspace, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): ReturnType<typeof holderRescorer> {
  return holderRescorer(workspaceData(ws, loaded));
}
