/** @module ml/evaluate
 * Evaluating a registered model (`stockpipe evaluate [id|alias]`): scores it on its own test slice
 * (the same split it was trained with) next to every baseline — naive, polyreg (refitted on the
 * same train slice) and the newest registered model of each other kind evaluated on the same slice
 * — with raw and log-scale metrics and per-slice metrics (stock/etf, volume deciles, years), and
 * records the evaluation run. A day-ahead (`forecast`) model is re-scored on its target-day test
 * slice next to persistence and the 20-day mean. Returns the command's --json data. */
import { readModelFileOrNull, readModelJson, readRecordedMetrics } from './artifacts.js';
import { pretestRows } from './cv.js';
import { sameTestSlice } from '../registry/compare.js';
import { civilFromDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { featuresWindow, modelLineage } from '../registry/lineage.js';
import { openRegistry, type ModelVersion, type Registry } from '../registry/store.js';
import { fitPolyreg, POLYREG_MIN_ROWS } from './baselines.js';
import { forecastFromJSON } from './forecast-model.js';
import { forecastTestCut, scoreForecastOnTestSlice } from './forecast-train.js';
import { regressionMetrics, type RegressionMetrics } from './metrics/regression.js';
import { sliceMetrics, type SliceMetrics } from './metrics/slices.js';
import { loadWorkspaceForecastData, loadWorkspaceVolumeData } from './rescore.js';
import { makeSlices } from './train.js';
import { naiveScorer, polyScorer, predictRows, scorerFromJSON } from './volume-model.js';

/** Where the evaluation reads: the workspace (with its DuckDB settings). */
export interface EvaluateEnv { ws: Workspace }

export interface EvaluateData {
  model_id: string;
  kind: string;
  split: { kind: string; test_from: string | null; leaky: boolean };
  test: { date_min: string; date_max: string; rows: number };
  /** The features snapshot scored (`--as-of`, else the current one) and the one the model was trained on. */
  snapshot: EvaluatedSnapshot;
  metrics: Record<string, RegressionMetrics>;
  /** A baseline that could not be fitted here (polyreg: too few rows before the test slice), and why; `metrics` lacks it. */
  baselines_skipped: Record<string, string>;
  /** Which registered model each tree-kind row of `metrics` is. */
  compared_models: Record<string, string>;
  slices: SliceMetrics;
  seconds: number;
}

export interface EvaluateForecastData {
  model_id: string;
  kind: 'forecast';
  /** `until`: the logical date (`train --task forecast --date D`) the model's rows, and so its test slice, ended on; null: none. */
  split: { kind: 'time'; test_from: string | null; until: string | null; leaky: false; on: 'target_day' };
  test: { date_min: string; date_max: string; rows: number };
  snapshot: EvaluatedSnapshot;
  /** forecast (this model), persistence, vol_ma_20 → mae_/rmse_ of adj_close, return, volume, volume_log, skill_*. */
  metrics: Record<string, Record<string, number>>;
  seconds: number;
}

export interface EvaluatedSnapshot {
  /** The features snapshot read. */
  read: number | null;
  /** The one the model was trained (and first tested) on; null when its run did not record it. */
  trained_on: number | null;
  /** Whether they are the same: when not, the test slice's rows may have changed since, and the scores with them. */
  same: boolean | null;
  /** The rolling window (`features --window`) of the snapshot read and of the one the model was trained on (null: not recorded).
   * When they differ, vol_moving_avg and adj_close_rolling_med mean other things than the model learned. */
  window: { read: number | null; trained_on: number | null; same: boolean | null };
}

function evaluatedSnapshot(reg: Registry, model: ModelVersion, read: number | null): EvaluatedSnapshot {
  const trained = modelLineage(reg, model.run_id).features_snapshot;
  const w = { read: featuresWindow(reg, read), trained_on: featuresWindow(reg, trained) };
  return { read, trained_on: trained, same: read === null || trained === null ? null : read === trained, window: { ...w, same: w.read === null || w.trained_on === null ? null : w.read === w.trained_on } };
}

/** A day-ahead model re-scored on its own (target-day) test slice of the current features. */
async function evaluateForecast(env: EvaluateEnv, reg: Registry, model: ModelVersion, t0: number, asOf?: string): Promise<EvaluateForecastData> {
  const { file, text } = await readModelJson(model);
  const recorded = await readRecordedMetrics(model);
  const forecast = forecastFromJSON(text, file);
  const testFrom = recorded.split.test_from ?? undefined;
  // A model trained with --date D read the rows dated up to D only: its test slice ends there, not at the table's end.
  const until = recorded.data_until ?? null;
  // Only the test slice is scored: the pre-test rows' inputs are never computed (a frame of the model's own inputs).
  const frame = await loadWorkspaceForecastData(env.ws, asOf, until ?? undefined, forecastTestCut(testFrom), 'skip', forecast.featureNames);
  const scored = scoreForecastOnTestSlice(forecast, frame, recorded.split.test_from, { modelId: model.id, trainedOn: modelLineage(reg, model.run_id).features_snapshot });
  const runId = reg.startRun({ kind: 'evaluate', name: `evaluate ${model.id}` });
  reg.transaction(() => {
    reg.logParams(runId, { model_id: model.id, split: 'time' });
    for (const [kind, m] of Object.entries(scored.metrics)) reg.logMetrics(runId, m, { slice: `test/${kind}` });
  });
  reg.endRun(runId, 'finished');
  const data: EvaluateForecastData = {
    model_id: model.id, kind: 'forecast', split: { kind: 'time', test_from: recorded.split.test_from, until, leaky: false, on: 'target_day' },
    test: scored.test, snapshot: evaluatedSnapshot(reg, model, frame.lineage?.features_snapshot ?? null), metrics: scored.metrics, seconds: Math.round(performance.now() - t0) / 1000,
  };
  return data;
}

/** Evaluates `ref` (default: the champion, else the newest model) and records the evaluation run. */
export async function evaluateModel(env: EvaluateEnv, ref: string | undefined, asOf?: string): Promise<EvaluateData | EvaluateForecastData> {
  const t0 = performance.now();
  const reg = openRegistry(env.ws);
  try {
    const target = ref ?? (reg.aliasTarget('champion') ?? reg.listModels({ limit: 1 })[0]?.id);
    if (target === undefined) throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no model is registered in ${reg.file}`, { hint: 'Run `stockpipe train` first.' });
    const model = reg.getModel(target);
    if (model.kind === 'forecast') return await evaluateForecast(env, reg, model, t0, asOf);
    const recorded = await readRecordedMetrics(model);
    const own = await readModelJson(model);
    const scorer = scorerFromJSON(own.text, own.file);
    const ds = await loadWorkspaceVolumeData(env.ws, asOf);
    const s = makeSlices(ds, recorded.split.kind, recorded.split.test_from ?? undefined);
    if (s.test.length === 0) {
      const trained = modelLineage(reg, model.run_id).features_snapshot;
      throw new StockpipeError('SP_ERR_TRAIN_DATA', `model ${model.id}'s test slice is empty in ${ds.path}: no row with both features is dated on or after ${recorded.split.test_from ?? '?'}`, {
        hint: `The features table no longer reaches the model's test slice (the data was replaced by shorter data, or features rebuilt).${trained === null ? '' : ` \`stockpipe evaluate ${model.id} --as-of ${trained}\` scores it on the snapshot it was trained on.`}`,
      });
    }
    const y = Float64Array.from(s.test, (i) => ds.volume[i]!);
    const pred = predictRows(scorer, ds.vma, ds.acm, s.test);
    const metrics: Record<string, RegressionMetrics> = { [model.kind]: regressionMetrics(y, pred) };
    const compared: Record<string, string> = { [model.kind]: model.id };
    // The newest model of every other kind that was evaluated on the same slice.
    for (const other of reg.listModels({ limit: 200 })) {
      if (other.id === model.id || metrics[other.kind] !== undefined || other.kind === 'naive' || other.kind === 'polyreg') continue;
      if (!sameTestSlice(other.test_slice, model.test_slice)) continue;
      const theirs = await readModelFileOrNull(other, 'model.json');
      if (theirs === null) continue; // its files are gone: it cannot be compared
      metrics[other.kind] = regressionMetrics(y, predictRows(scorerFromJSON(theirs.text, theirs.file), ds.vma, ds.acm, s.test));
      compared[other.kind] = other.id;
    }
    // The polyreg baseline is fitted on the rows the model's protocol trained on, as train fits it: every pre-test row under cv.
    const polyRows = recorded.protocol?.name === 'cv' ? pretestRows(s) : s.train;
    // Too few of them (features rebuilt with a longer window, shorter data): the model is still scored, the baseline is said to be missing.
    const baselinesSkipped: Record<string, string> = {};
    if (metrics.polyreg === undefined && polyRows.length < POLYREG_MIN_ROWS) baselinesSkipped.polyreg = `not fitted: ${polyRows.length} rows with both features before the test slice in ${ds.path}, it needs ${POLYREG_MIN_ROWS}`;
    else if (metrics.polyreg === undefined) metrics.polyreg = regressionMetrics(y, predictRows(polyScorer(fitPolyreg(ds.vma, ds.acm, ds.volume, polyRows)), ds.vma, ds.acm, s.test));
    if (metrics.naive === undefined) metrics.naive = regressionMetrics(y, predictRows(naiveScorer(), ds.vma, ds.acm, s.test));
    const slices = sliceMetrics(y, pred, Int32Array.from(s.test, (i) => ds.day[i]!), Uint8Array.from(s.test, (i) => ds.isStock[i]!));
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of s.test) {
      lo = Math.min(lo, ds.day[i]!);
      hi = Math.max(hi, ds.day[i]!);
    }
    const runId = reg.startRun({ kind: 'evaluate', name: `evaluate ${model.id}` });
    reg.transaction(() => {
      reg.logParams(runId, { model_id: model.id, split: s.kind });
      for (const [kind, m] of Object.entries(metrics)) reg.logMetrics(runId, { mae: m.mae, rmse: m.rmse, r2: m.r2, mae_log: m.mae_log, rmse_log: m.rmse_log, r2_log: m.r2_log }, { slice: `test/${kind}` });
    });
    reg.endRun(runId, 'finished');
    const data: EvaluateData = {
      model_id: model.id,
      kind: model.kind,
      split: { kind: s.kind, test_from: s.testFrom === null ? null : civilFromDays(s.testFrom), leaky: s.kind === 'random' },
      test: { date_min: civilFromDays(lo), date_max: civilFromDays(hi), rows: s.test.length },
      snapshot: evaluatedSnapshot(reg, model, ds.lineage?.features_snapshot ?? null),
      metrics,
      baselines_skipped: baselinesSkipped,
      compared_models: compared,
      slices,
      seconds: Math.round(performance.now() - t0) / 1000,
    };
    return data;
  } finally {
    reg.close();
  }
}

/** A day-ahead model's evaluation (the volume models' kinds are gbdt, rf, polyreg, naive). */
export function isForecastEvaluation(d: EvaluateData | EvaluateForecastData): d is EvaluateForecastData {
  return d.kind === 'forecast';
}
