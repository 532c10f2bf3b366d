/** @module ml/forecast-next
 * The day-ahead forecast of every symbol (`stockpipe forecast`): for the next NYSE trading day after
 * its last bar, from the model the alias `forecast_champion` (or `model`) names, written to the
 * store's `forecasts` table in one transaction under a tracked run. Reads each symbol's newest row
 * of the features table's current snapshot (built with --extended) and batch-scores them on typed arrays. Returns the
 * command's --json data. */
import { readModelJson } from './artifacts.js';
import { civilFromDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import { NextTradingDay } from '../features/lagged.js';
import { writeForecasts, type ForecastInput } from '../registry/forecasts.js';
import { currentSnapshot } from '../registry/catalog.js';
import { featuresWindow, modelLineage } from '../registry/lineage.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { loadLastRows } from './forecast-dataset.js';
import { KNOWN_INPUTS } from './forecast-inputs.js';
import { featuresRead, readLabel } from './rescore.js';
import { sourceOf } from '../store/read.js';
import { forecastFromJSON, scoreForecast } from './forecast-model.js';
import { FORECAST_ALIAS } from './train-forecast-run.js';

/** Where the forecast reads and writes: the workspace (with its DuckDB settings), the clock. */
export interface ForecastEnv { ws: Workspace; now: () => Date }

export interface ForecastData {
  model_id: string;
  /** The logical date the forecast was bounded by (`--date`), or null. */
  logical_date: string | null;
  run_id: string;
  /** The newest last bar over the symbols. */
  asof_date_max: string;
  /** The distinct target days written, sorted. */
  target_dates: string[];
  symbols: number;
  rows_in: number;
  rows_out: number;
  seconds: number;
  /** The rolling window (`features --window`) of the features snapshot read and of the one the model was trained on (null: not
   * recorded); `same` false: vol_moving_avg and adj_close_rolling_med (the inputs log_vol_moving_avg, price_vs_med) mean other
   * things than the model learned, and the forecasts with them. */
  window: { read: number | null; trained_on: number | null; same: boolean | null };
}

/** The forecasts one scoring produces (run_id left to the writer) and what --json reports of them. */
export interface ScoredForecasts {
  model_id: string;
  rows: Omit<ForecastInput, 'run_id'>[];
  /** The symbols read and scored (a partition keeps only its own: `rows` may be fewer). */
  symbols: number;
  /** The features snapshot read. */
  features_snapshot: number;
}

/**
 * Scores every symbol's last bar with the model `opts.model` (default: forecast_champion); with
 * `until` (a logical date), each symbol's last bar dated up to it. `only` keeps the forecasts of
 * some symbols (a partition's): the whole table is still read, so every feature is what a whole run sees.
 */
export async function scoreNextDay(env: ForecastEnv, opts: { model?: string; until?: string; only?: (symbol: string) => boolean } = {}): Promise<ScoredForecasts> {
  const ref = opts.model ?? FORECAST_ALIAS;
  const reg = openRegistry(env.ws, { now: env.now });
  let mv: ReturnType<typeof reg.getModel>;
  try {
    mv = reg.getModel(ref);
  } catch (err) {
    // No --model and no day-ahead model trained yet: the way out is training one, not listing the volume models.
    if (opts.model !== undefined || !(err instanceof StockpipeError && err.code === 'SP_ERR_MODEL_NOT_FOUND')) throw err;
    throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no day-ahead model to forecast with: the alias ${FORECAST_ALIAS} has none (${err.message})`, {
      hint: `Train one: \`stockpipe features --extended\`, then \`stockpipe train --task forecast\` (an empty ${FORECAST_ALIAS} takes it); or pass --model <forecast-model-id>.`,
      cause: err,
    });
  } finally {
    reg.close();
  }
  if (mv.kind !== 'forecast') throw new StockpipeError('SP_ERR_USAGE', `model ${mv.id} ('${ref}') is a ${mv.kind} volume model, not a day-ahead forecast model`, { hint: 'Train one with `stockpipe train --task forecast --promote-if-better`, or pass --model <forecast-model-id>.' });
  const { file, text } = await readModelJson(mv);
  const model = forecastFromJSON(text, file);
  const unknown = model.featureNames.filter((name) => !KNOWN_INPUTS.includes(name));
  if (unknown.length > 0) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${file}: input(s) ${unknown.join(', ')} are not day-ahead inputs this stockpipe computes (${KNOWN_INPUTS.join(', ')})`);
  const t = featuresRead(env.ws);
  const db = await openDuckDB(env.ws.duckdbSettings());
  let frame: Awaited<ReturnType<typeof loadLastRows>>;
  try {
    frame = await loadLastRows(db.connection, sourceOf(t), readLabel(env.ws, t), opts.until, model.featureNames);
  } finally {
    db.close();
  }
  const { symbols, x: columns } = frame;
  const scores = scoreForecast(model, columns, frame.adjClose);
  const cal = new NextTradingDay();
  const rows: Omit<ForecastInput, 'run_id'>[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (opts.only !== undefined && !opts.only(symbols[i]!)) continue;
    const day = frame.day[i]!;
    rows.push({ model_id: mv.id, symbol: symbols[i]!, asof_date: civilFromDays(day), target_date: civilFromDays(cal.next(day)), adj_close: scores.adjClose[i]!, volume: scores.volume[i]!, last_adj_close: frame.adjClose[i]!, last_volume: frame.volume[i]! });
  }
  return { model_id: mv.id, rows, symbols: symbols.length, features_snapshot: t.snapshot.id };
}

/** The window of features snapshot `read` (default: the current one) and of the one model `modelId` was trained on. */
export function forecastWindow(reg: Registry, modelId: string, read?: number): ForecastData['window'] {
  // The current snapshot's id from the open store (no table read: its files were read when the rows were scored).
  const id = read ?? currentSnapshot(reg, 'features')?.id ?? null;
  const w = { read: featuresWindow(reg, id), trained_on: featuresWindow(reg, modelLineage(reg, reg.getModel(modelId, { checkFiles: false }).run_id).features_snapshot) };
  return { ...w, same: w.read === null || w.trained_on === null ? null : w.read === w.trained_on };
}

/**
 * Writes scored forecasts in one transaction under a new tracked run (`runName`, default `forecast
 * <model>`); returns the command's --json data. `rowsIn`: the symbols read (every partition's, added up, when partitioned);
 * `featuresSnapshot`: the features snapshot they were scored on (default: the current one).
 */
export function writeNextDay(env: ForecastEnv, s: { model_id: string; rows: readonly Omit<ForecastInput, 'run_id'>[]; rowsIn: number; symbols: number; until?: string; runName?: string; featuresSnapshot?: number }, t0: number): ForecastData {
  if (s.rows.length === 0) {
    // Nothing to forecast is a failure, not an empty success: a --date before the data starts, most often.
    throw new StockpipeError('SP_ERR_FEATURES_MISSING', `no symbol of the features table has a bar${s.until === undefined ? '' : ` dated on or before ${s.until}`}: nothing to forecast, nothing written`, {
      hint: s.until === undefined ? 'Run `stockpipe features` first.' : 'Give a --date on or after the data\'s first trading day (`stockpipe export features --symbols SYM` shows it), or leave --date out for the newest bars.',
    });
  }
  const reg = openRegistry(env.ws, { now: env.now });
  try {
    const runId = reg.startRun({ kind: 'forecast', name: s.runName ?? `forecast ${s.model_id}` });
    const targets = new Set<string>();
    let asofMax = '';
    const rows: ForecastInput[] = s.rows.map((r) => {
      targets.add(r.target_date);
      if (r.asof_date > asofMax) asofMax = r.asof_date;
      return { ...r, run_id: runId };
    });
    try {
      writeForecasts(reg, rows);
    } catch (err) {
      reg.endRun(runId, 'failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
    reg.endRun(runId, 'finished');
    return {
      model_id: s.model_id,
      logical_date: s.until ?? null,
      run_id: runId,
      asof_date_max: asofMax,
      target_dates: [...targets].sort(),
      symbols: s.symbols,
      rows_in: s.rowsIn,
      rows_out: rows.length,
      seconds: Math.round(performance.now() - t0) / 1000,
      window: forecastWindow(reg, s.model_id, s.featuresSnapshot),
    };
  } finally {
    reg.close();
  }
}

/**
 * Scores every symbol's last bar with the model `opts.model` (default: forecast_champion) and stores
 * the forecasts. With `until` (a logical date), each symbol's last bar dated up to it.
 */
export async function forecastNextDay(env: ForecastEnv, opts: { model?: string; until?: string } = {}): Promise<ForecastData> {
  const t0 = performance.now();
  const s = await scoreNextDay(env, opts);
  return writeNextDay(env, { model_id: s.model_id, rows: s.rows, rowsIn: s.rows.length, symbols: s.symbols, until: opts.until, featuresSnapshot: s.features_snapshot }, t0);
}
