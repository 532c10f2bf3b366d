/** @module ml/tune/forecast
 * `tune --task forecast`: the day-ahead model's volume booster tuned by the same study machinery
 * (ml/tune/study). The rows: the forecast frame's training rows whose target day is before the test
 * cut, with a copy of the bars in which every bar dated on or after the cut is NaN — the test slice
 * is not in reach. A trial is scored as `train --task forecast` trains that booster: fitted on the
 * train slice (its training window and recency weights), early-stopped on the validation window
 * (the 10% of rows before the test cut), scored there by volume_mae_ratio = MAE / MAE of
 * persistence = 1 − volume skill (minimised). One window, not folds: the forecast's promotion
 * compares that window too. Evaluations run in this thread (the booster's workers use the threads). */
import { StockpipeError } from '../../core/errors.js';
import { civilFromDays } from '../../etl/csv-parse.js';
import type { Registry } from '../../registry/store.js';
import { hashArrays } from '../dataset.js';
import { columnParts } from '../forecast-blocks.js';
import type { ForecastFrame } from '../forecast-dataset.js';
import { binForecast, fitForecastVolume, range, size, volumeMaeRatio, type Range, type VolumeChoice } from '../forecast-slices.js';
import type { BinnedSets } from '../gbdt/booster.js';
import { makeSlicesFromDays } from '../train.js';
import type { Evaluation, Evaluator } from './evaluate.js';
import { boosterParams, dataChoices } from './evaluator.js';
import type { Lanes } from './lanes.js';
import { studyChoice, type StudyChoice } from './refit.js';

export const FORECAST_METRIC = 'volume_mae_ratio';
/** The day-ahead model's tree cap (train --task forecast): the last rung's budget. */
export const FORECAST_MAX_TREES = 1000;

/** The rows a forecast study tunes on. */
export interface ForecastTuneData {
  /** The frame cut at the test cut: training rows before it, bars from it NaN. */
  frame: ForecastFrame;
  train: Range;
  valid: Range;
  test_from: string;
  rows: number;
  data_hash: string;
}

/** The training rows of `frame` whose target day is before the test cut (`testFrom`, or the 80th percentile). */
export function forecastTuneData(frame: ForecastFrame, testFrom?: string): ForecastTuneData {
  const s = makeSlicesFromDays(frame.set.targetDay, testFrom);
  const cut = s.testFrom!;
  const train = range(s.train);
  const valid = range(s.valid);
  if (size(train) === 0 || size(valid) === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no ${size(train) === 0 ? 'training' : 'validation'} rows before the test slice (test from ${civilFromDays(cut)})`, { hint: 'Use a later --test-from or fewer --test-days, or more history.' });
  if (s.test.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `the test slice is empty: no row's target day is on or after ${civilFromDays(cut)}`, { hint: 'Use an earlier --test-from (on or before the data\'s last day): the study\'s test slice is the one `train --params-from` reports on.' });
  const n = valid.hi;
  // Bars dated on or after the cut (the test targets) are NaN in the copy: nothing can read them.
  const adjClose = Float64Array.from(frame.adjClose, (v, i) => (frame.day[i]! < cut ? v : Number.NaN));
  const volume = Float64Array.from(frame.volume, (v, i) => (frame.day[i]! < cut ? v : Number.NaN));
  // The frame's row blocks up to n (views, no copies).
  const blocks = frame.set.blocks.filter((b) => b.lo < n).map((b) => ({ lo: b.lo, hi: Math.min(b.hi, n), x: b.x.map((c) => c?.subarray(0, Math.min(b.hi, n) - b.lo) ?? null) }));
  const set = { skippedGaps: frame.set.skippedGaps, row: frame.set.row.subarray(0, n), targetDay: frame.set.targetDay.subarray(0, n), features: [...frame.set.features], blocks, ma20: frame.set.ma20.subarray(0, n) };
  const pre: ForecastFrame = { path: `${frame.path} (target days before ${civilFromDays(cut)})`, rows: frame.rows, symbolStart: frame.symbolStart, day: frame.day, adjClose, volume, set };
  return { frame: pre, train, valid, test_from: civilFromDays(cut), rows: n, data_hash: hashArrays([set.row, set.targetDay, adjClose, volume, ...set.features.map((name, k) => columnParts(blocks, k, name))]) };
}

/** Refuses data on which the study's metric has no value: persistence's volume error on the
 * validation window is 0 (every next volume equal to the day's: every volume 0, or constant), so
 * every trial's ratio would be NaN. Called before a study starts or resumes (not by `train
 * --params-from`, which reads these rows for their data hash only). */
export function assertScorable(d: ForecastTuneData): void {
  const { frame, valid } = d;
  let persistenceError = 0;
  for (let k = valid.lo; k < valid.hi; k++) {
    const i = frame.set.row[k]!;
    persistenceError += Math.abs(frame.volume[i + 1]! - frame.volume[i]!);
  }
  if (!(persistenceError > 0)) {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${frame.path}: on the validation window (target days ${civilFromDays(frame.set.targetDay[valid.lo]!)}..${civilFromDays(frame.set.targetDay[valid.hi - 1]!)}) every next day's volume equals the day's, so persistence's volume error is 0 and ${FORECAST_METRIC} (volume MAE / persistence's) has no value`, {
      hint: 'Tune on data whose volumes vary (every volume 0 or constant leaves nothing to tune); `train --task forecast` trains with its defaults on it.',
    });
  }
}

/** A trial's volume-booster settings (ml/forecast-slices VolumeChoice) for a tree budget. */
export function volumeChoiceOf(params: StudyChoice['params'], seed: number, budget: number, threads: number): VolumeChoice {
  const d = dataChoices(params);
  return { params: { ...boosterParams(params, seed), num_trees: budget, early_stopping_rounds: params.patience, threads: Math.max(1, threads) }, windowDays: d.trainWindowDays, halfLifeDays: d.halfLifeDays };
}

/** The study's evaluator: fit on the train slice, early stopping and score on the validation window. */
export function forecastEvaluator(d: ForecastTuneData): Evaluator {
  const bins = new Map<number, BinnedSets>();
  return async (req): Promise<Evaluation> => {
    const t0 = performance.now();
    const c = volumeChoiceOf(req.params, req.seed, req.budget, req.threads);
    if (!bins.has(req.seed)) bins.set(req.seed, binForecast(d.frame, d.train, d.valid, { seed: req.seed }));
    const { result } = await fitForecastVolume(d.frame, d.train, d.valid, c.params, c, { signal: req.signal }, bins.get(req.seed));
    const score = volumeMaeRatio(d.frame, result.model, d.valid);
    if (!Number.isFinite(score)) throw new StockpipeError('SP_ERR_TRAIN_DATA', `the validation window's volume MAE ratio is ${score}`);
    const best = result.best_iteration;
    return { fold_scores: [score], fold_iterations: [best], fold_trees: [best], score, best_iteration: best, seconds: Math.round(performance.now() - t0) / 1000 };
  };
}

/** `parallel` lanes in this thread, each with threads / parallel booster threads. */
export function forecastLanes(d: ForecastTuneData, parallel: number, threads: number): Lanes {
  const evaluate = forecastEvaluator(d);
  return { evaluators: Array.from({ length: parallel }, () => evaluate), threadsPerLane: Math.max(1, Math.floor(threads / parallel)), close: async () => {} };
}

/** What `train --task forecast --params-from STUDY` trains with: the choice's volume booster. */
export function forecastChoice(reg: Registry, idOrName: string, threads: number): { choice: StudyChoice; volume: VolumeChoice & { record: Record<string, unknown> } } {
  const c = studyChoice(reg, idOrName, 'forecast');
  const v = volumeChoiceOf(c.params, c.seed, c.budget, threads);
  return { choice: c, volume: { ...v, record: { study_id: c.study_id, study_trial: c.trial, study_cv_score: c.cv_score, study_metric: c.metric, window_years: c.params.window_years, half_life_days: c.params.half_life_days, patience: c.params.patience, objective: c.params.objective, huber_delta: c.params.huber_delta } } };
}
