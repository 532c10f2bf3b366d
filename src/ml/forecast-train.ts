/** @module ml/forecast-train
 * Trains the day-ahead model (docs/models.md): one global gbdt over all symbols for the next trading
 * day's log return of Adj Close and one for its log1p(Volume) (boosted from persistence), on the
 * time split of ml/split cut on the target day (test = rows whose target day is on/after the 80th
 * percentile, validation = the 10% before, early stopping on validation; nothing is tuned on test).
 * Scores the model and the baselines on the test rows — persistence (tomorrow = today) and, for
 * volume, the 20-day mean — with skill against persistence. Pure over the frame: no files, no
 * registry (ml/train-forecast-run does those). */
import { StockpipeError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { civilFromDays } from '../core/calendar.js';
import { EXTENDED_COLUMNS } from '../features/lagged.js';
import { forecastRows, FORECAST_FEATURES, LOG_VOLUME_FEATURE, modelColumns, type ForecastFrame, type ForecastRows } from './forecast-dataset.js';
import { scoreForecast, type ForecastModel } from './forecast-model.js';
import { trainGbdt, type GbdtResult } from './gbdt/booster.js';
import type { IterationInfo, TrainSet } from './gbdt/dataset.js';
import { forecastMetrics, withSkill, type ForecastActuals } from './metrics/forecast.js';
import { parseDay } from './split.js';
import { makeSlicesFromDays } from './train.js';
import { gbdtParams, type TreeTrainParams } from './tree-train.js';

export interface ForecastTrainParams extends TreeTrainParams {
  /** First test (target) day, YYYY-MM-DD; default: the 80th percentile of the target days. */
  testFrom?: string;
  /** A logical date: train on the rows dated up to it only (`train --task forecast --date D`). */
  until?: string;
}

export interface ForecastOutcome {
  model: ForecastModel;
  rows_train: number;
  rows_valid: number;
  rows_test: number;
  /** Rows left out because the symbol's next bar was not the next NYSE trading day. */
  rows_skipped_gaps: number;
  split: { kind: 'time'; test_from: string | null; valid_from: string | null; leaky: false; on: 'target_day' };
  test: { date_min: string; date_max: string; rows: number };
  /** Test metrics keyed by model: forecast (this model), persistence, vol_ma_20. */
  metrics: Record<string, Record<string, number>>;
  valid_metrics: Record<string, number> | null;
  /** The validation window (target days, first and last) promotion compares on, or null when empty. */
  valid_window: { from: string; to: string; rows: number } | null;
  train_seconds: number;
  training_log: string;
  best_iteration: { adj_close: number; volume: number };
  params: Record<string, unknown>;
}

const f = (x: number | null): string => (x === null ? '-' : x.toPrecision(8));

function gather(cols: readonly Float64Array[], rows: ForecastRows, idx: Int32Array): Float64Array[] {
  return cols.map((c) => {
    const out = new Float64Array(idx.length);
    for (let k = 0; k < idx.length; k++) out[k] = c[rows.row[idx[k]!]!]!;
    return out;
  });
}

function targets(rows: ForecastRows, idx: Int32Array, logVolume: Float64Array): { ret: Float64Array; volResidual: Float64Array } {
  const ret = new Float64Array(idx.length);
  const volResidual = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const j = idx[k]!;
    ret[k] = rows.ret[j]!;
    volResidual[k] = Math.log1p(rows.volumeNext[j]!) - logVolume[rows.row[j]!]!;
  }
  return { ret, volResidual };
}

/** Actuals, persistence inputs and the 20-day mean of the rows `idx`. */
function slice(frame: ForecastFrame, rows: ForecastRows, idx: Int32Array): { y: ForecastActuals; lastAdj: Float64Array; lastVol: Float64Array; ma20: Float64Array } {
  const n = idx.length;
  const s = { y: { adjClose: new Float64Array(n), ret: new Float64Array(n), volume: new Float64Array(n) }, lastAdj: new Float64Array(n), lastVol: new Float64Array(n), ma20: new Float64Array(n) };
  const ma = frame.ext[EXTENDED_COLUMNS.indexOf('vol_ma_20')]!;
  for (let k = 0; k < n; k++) {
    const j = idx[k]!;
    const i = rows.row[j]!;
    s.y.adjClose[k] = rows.adjCloseNext[j]!;
    s.y.ret[k] = rows.ret[j]!;
    s.y.volume[k] = rows.volumeNext[j]!;
    s.lastAdj[k] = frame.adjClose[i]!;
    s.lastVol[k] = frame.volume[i]!;
    s.ma20[k] = ma[i]!;
  }
  return s;
}

/** Metrics of the model and the baselines on the rows `idx`, with skill against persistence. */
function evaluate(model: ForecastModel, cols: readonly Float64Array[], frame: ForecastFrame, rows: ForecastRows, idx: Int32Array): Record<string, Record<string, number>> {
  const s = slice(frame, rows, idx);
  const pred = scoreForecast(model, gather(cols, rows, idx), s.lastAdj);
  const persistence = forecastMetrics(s.y, { adjClose: s.lastAdj, ret: new Float64Array(idx.length), volume: s.lastVol });
  return {
    forecast: withSkill(forecastMetrics(s.y, pred), persistence),
    persistence: withSkill(persistence, persistence),
    vol_ma_20: withSkill(forecastMetrics(s.y, { volume: s.ma20 }), persistence),
  };
}

export async function trainForecastModel(frame: ForecastFrame, p: ForecastTrainParams, hooks: { progress: Progress; signal?: AbortSignal }): Promise<ForecastOutcome> {
  const rows = forecastRows(frame);
  if (rows.row.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${frame.path} has no row with ${EXTENDED_COLUMNS.length} complete lagged columns and a next trading day`, { hint: 'Symbols need more than 21 rows of history.' });
  const s = makeSlicesFromDays(rows.targetDay, p.testFrom);
  if (s.train.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no training rows before the test slice (test from ${s.testFrom === null ? '?' : civilFromDays(s.testFrom)})`, { hint: 'Use an earlier --test-from, or more history.' });
  if (s.test.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'the test slice is empty', { hint: 'Use an earlier --test-from.' });
  const t0 = performance.now();
  const cols = modelColumns(frame);
  const logVolume = cols[LOG_VOLUME_FEATURE]!;
  const featureNames = [...FORECAST_FEATURES];
  const trainX = gather(cols, rows, s.train);
  const validX = s.valid.length > 0 ? gather(cols, rows, s.valid) : null;
  const trainY = targets(rows, s.train, logVolume);
  const validY = s.valid.length > 0 ? targets(rows, s.valid, logVolume) : null;
  const lines: string[] = [];
  const fit = async (name: string, y: Float64Array, vy: Float64Array | null, transform: 'identity' | 'log1p', what: string): Promise<GbdtResult> => {
    lines.push(`# ${name}: gbdt on ${s.train.length} rows, target ${what}; iteration train_loss valid_loss (mean squared error on the target)`);
    hooks.progress.start(`train forecast ${name}`, p.trees);
    try {
      const train: TrainSet = { columns: trainX, y, featureNames, targetTransform: transform };
      const valid: TrainSet | null = validX && vy ? { columns: validX, y: vy, featureNames, targetTransform: transform } : null;
      const onIteration = (it: IterationInfo): void => {
        lines.push(`${it.iteration} ${f(it.train_loss)} ${f(it.valid_loss)}`);
        hooks.progress.update(it.iteration);
      };
      const r = await trainGbdt(train, valid, gbdtParams(p), { onIteration, signal: hooks.signal });
      lines.push(`# best iteration ${r.best_iteration} of ${r.iterations}; initial train loss ${f(r.initial_train_loss)}`);
      return r;
    } finally {
      hooks.progress.stop();
    }
  };
  const ret = await fit('adj_close', trainY.ret, validY?.ret ?? null, 'identity', 'ln(AdjClose_t+1 / AdjClose_t)');
  const vol = await fit('volume', trainY.volResidual, validY?.volResidual ?? null, 'log1p', 'log1p(Volume_t+1) - log1p(Volume_t), i.e. boosting from persistence');
  vol.model.offset = { feature: LOG_VOLUME_FEATURE, transform: 'identity' };
  const model: ForecastModel = { featureNames, adjClose: ret.model, volume: vol.model };
  const trainSeconds = (performance.now() - t0) / 1000;
  const metrics = evaluate(model, cols, frame, rows, s.test);
  const valid = s.valid.length > 0 ? evaluate(model, cols, frame, rows, s.valid).forecast! : null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const k of s.test) {
    lo = Math.min(lo, rows.targetDay[k]!);
    hi = Math.max(hi, rows.targetDay[k]!);
  }
  let vlo = Infinity;
  let vhi = -Infinity;
  for (const k of s.valid) {
    vlo = Math.min(vlo, rows.targetDay[k]!);
    vhi = Math.max(vhi, rows.targetDay[k]!);
  }
  return {
    model,
    valid_window: s.valid.length > 0 ? { from: civilFromDays(vlo), to: civilFromDays(vhi), rows: s.valid.length } : null,
    rows_train: s.train.length,
    rows_valid: s.valid.length,
    rows_test: s.test.length,
    rows_skipped_gaps: rows.skippedGaps,
    split: { kind: 'time', test_from: s.testFrom === null ? null : civilFromDays(s.testFrom), valid_from: s.validFrom === null ? null : civilFromDays(s.validFrom), leaky: false, on: 'target_day' },
    test: { date_min: civilFromDays(lo), date_max: civilFromDays(hi), rows: s.test.length },
    metrics,
    valid_metrics: valid,
    train_seconds: Math.round(trainSeconds * 1000) / 1000,
    training_log: `${lines.join('\n')}\n`,
    best_iteration: { adj_close: ret.best_iteration, volume: vol.best_iteration },
    params: { task: 'forecast', split: 'time', features: featureNames.join(','), adj_close_target: 'log_return', volume_target: 'log1p', volume_boost_from: 'persistence', ...ret.model.params },
  };
}

/**
 * A trained forecast model's metrics (with skill) next to the baselines (persistence, vol_ma_20)
 * on the test slice of `frame` cut at `testFrom` — the rows a candidate trained on this frame was
 * tested on: re-scores a champion on new data, and `evaluate` re-scores a forecast model.
 */
export function scoreForecastOnTestSlice(model: ForecastModel, frame: ForecastFrame, testFrom: string | null): { metrics: Record<string, Record<string, number>>; test: { date_min: string; date_max: string; rows: number } } {
  const rows = forecastRows(frame);
  const s = makeSlicesFromDays(rows.targetDay, testFrom ?? undefined);
  if (s.test.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'the test slice is empty', { hint: 'Use an earlier --test-from.' });
  let lo = Infinity;
  let hi = -Infinity;
  for (const k of s.test) {
    lo = Math.min(lo, rows.targetDay[k]!);
    hi = Math.max(hi, rows.targetDay[k]!);
  }
  return { metrics: evaluate(model, modelColumns(frame), frame, rows, s.test), test: { date_min: civilFromDays(lo), date_max: civilFromDays(hi), rows: s.test.length } };
}

/**
 * A trained forecast model's own metrics on the rows of `frame` whose target day lies in
 * [from, to] (YYYY-MM-DD): a validation window promotion compares on. Null when no row is there.
 */
export function scoreForecastOnDays(model: ForecastModel, frame: ForecastFrame, from: string, to: string): Record<string, number> | null {
  const rows = forecastRows(frame);
  const lo = parseDay(from, 'window start');
  const hi = parseDay(to, 'window end');
  const idx: number[] = [];
  for (let k = 0; k < rows.targetDay.length; k++) if (rows.targetDay[k]! >= lo && rows.targetDay[k]! <= hi) idx.push(k);
  if (idx.length === 0) return null;
  return evaluate(model, modelColumns(frame), frame, rows, Int32Array.from(idx)).forecast!;
}
