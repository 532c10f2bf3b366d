/** @module ml/train
 * Trains one volume model on the time-split train slice (validation slice for early stopping),
 * then scores it and every cheap baseline on the test slice: the numbers a model card and the
 * registry need. Pure over the dataset: no files, no registry (ml/train-volume does those). */
import { StockpipeError } from '../core/errors.js';
import type { Progress } from '../core/progress.js';
import { civilFromDays } from '../etl/csv-parse.js';
import { fitPolyreg, naiveModel } from './baselines.js';
import { calibrateConformal, coverageReport, unreportedCoverages, type ConformalCalibration, type CoverageRow, type UnreportedCoverage } from './conformal.js';
import type { VolumeDataset } from './dataset.js';
import { regressionMetrics, type RegressionMetrics } from './metrics/regression.js';
import { sliceMetrics, type SliceMetrics } from './metrics/slices.js';
import { parseDay, randomSplit, timeSplit, type Slices } from './split.js';
import { fitTrees, type TreeTrainParams } from './tree-train.js';
import { pretestRows } from './cv.js';
import { baselineByCv, DEFAULT_FOLDS, gbdtByCv, holdoutReport, holdoutSelection, protocolName, type CvChoice, type ProtocolReport } from './train-protocol.js';
import type { SelectionSlice } from '../registry/types.js';
import { naiveScorer, polyScorer, predictRows, type ModelKind, type VolumeScorer } from './volume-model.js';

export interface TrainParams extends TreeTrainParams {
  kind: ModelKind;
  split: 'time' | 'random';
  /** CV folds inside the pre-test dates (default 3); 0 = the holdout protocol (ml/train-protocol). */
  folds?: number;
  /** 'holdout' keeps validation-slice early stopping (the comparison); default cv on the time split. */
  protocol?: 'cv' | 'holdout';
  /** First test day (YYYY-MM-DD); default: the 80th percentile of the rows' dates. */
  testFrom?: string;
  /** Replaces gbdt's CV under the cv protocol (`train --params-from`: a tuning study's choice refitted, ml/tune/refit). */
  fit?: (ds: VolumeDataset, s: Slices, hooks: { progress: Progress; signal?: AbortSignal }) => Promise<CvChoice>;
}

export interface TrainOutcome {
  kind: ModelKind;
  scorer: VolumeScorer;
  rows_train: number;
  rows_valid: number;
  rows_test: number;
  split: { kind: 'time' | 'random'; test_from: string | null; valid_from: string | null; leaky: boolean };
  test: { date_min: string; date_max: string; rows: number };
  /** Test metrics of the model and of each baseline, keyed by kind. */
  metrics: Record<string, RegressionMetrics>;
  valid_metrics: RegressionMetrics | null;
  slices: SliceMetrics;
  train_seconds: number;
  training_log: string;
  best_iteration: number | null;
  params: Record<string, unknown>;
  /** How the model was chosen (cv folds and score, or holdout). */
  protocol: ProtocolReport;
  /** What promotion compares (never the test slice); null on a random split. */
  selection: SelectionSlice | null;
  /** Split-conformal calibration (intervals.json), null without calibration rows; its coverage on the test slice. */
  intervals: ConformalCalibration | null;
  interval_coverage: CoverageRow[];
  /** The reported coverages (80/90/95%) the calibration cannot give, and why. */
  interval_not_reported: UnreportedCoverage[];
}

export function makeSlices(ds: VolumeDataset, split: 'time' | 'random', testFrom?: string): Slices {
  if (split === 'random') return randomSplit(ds.rows, 42);
  return makeSlicesFromDays(ds.day, testFrom);
}

/** The time split of rows dated `days`, cut at `testFrom` (YYYY-MM-DD) or the 80th percentile. */
export function makeSlicesFromDays(days: Int32Array, testFrom?: string): Slices {
  return timeSplit(days, { testFrom: testFrom === undefined ? undefined : parseDay(testFrom, '--test-from') });
}

function dateRange(ds: VolumeDataset, idx: Int32Array): { date_min: string; date_max: string } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < idx.length; k++) {
    const d = ds.day[idx[k]!]!;
    if (d < lo) lo = d;
    if (d > hi) hi = d;
  }
  return { date_min: civilFromDays(lo), date_max: civilFromDays(hi) };
}

function pick(a: Float64Array | Int32Array | Uint8Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = a[idx[k]!]!;
  return out;
}

/** With --params-from the test cut is the study's (--test-from and --test-days are refused beside it). */
export const STUDY_CUT_HINT = 'The study\'s test cut leaves no rows here now: tune a new study on this data (`stockpipe tune`), or train without --params-from.';

export async function trainVolumeModel(ds: VolumeDataset, p: TrainParams, hooks: { progress: Progress; signal?: AbortSignal }): Promise<TrainOutcome> {
  const s = makeSlices(ds, p.split, p.testFrom);
  if (s.train.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no training rows before the test slice (test from ${s.testFrom === null ? '?' : civilFromDays(s.testFrom)})`, { hint: p.fit === undefined ? 'Use a later --test-from or fewer --test-days, or more history.' : STUDY_CUT_HINT });
  if (s.test.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'the test slice is empty', { hint: 'Use an earlier --test-from.' });
  const t0 = performance.now();
  let scorer: VolumeScorer;
  let log = '';
  let best: number | null = null;
  const protocol = protocolName(p.kind, p.split, p.folds ?? DEFAULT_FOLDS, p.protocol);
  let params: Record<string, unknown> = { kind: p.kind, split: p.split, protocol };
  let report: ProtocolReport | null = null;
  let selection: SelectionSlice | null = null;
  let oofResiduals: Float64Array | null = null;
  let rowsFit: number | undefined;
  // The polyreg baseline is fitted on the rows the protocol trains on: all pre-test rows under cv.
  const poly = polyScorer(fitPolyreg(ds.vma, ds.acm, ds.volume, protocol === 'cv' ? pretestRows(s) : s.train));
  const folds = p.folds ?? DEFAULT_FOLDS;
  if (protocol === 'cv' && (p.kind === 'naive' || p.kind === 'polyreg')) {
    const b = baselineByCv(p.kind, ds, s, folds);
    ({ scorer, report, selection } = b);
    params = { ...params, folds };
  } else if (protocol === 'cv') {
    const c = p.fit === undefined ? await gbdtByCv(ds, s, { ...p, folds }, hooks) : await p.fit(ds, s, hooks);
    oofResiduals = c.oof;
    rowsFit = c.rowsFit;
    scorer = c.fit.scorer;
    log = c.fit.log;
    best = c.fit.bestIteration;
    params = { ...params, ...c.fit.params };
    ({ report, selection } = c);
  } else if (p.kind === 'naive') scorer = naiveScorer(naiveModel());
  else if (p.kind === 'polyreg') scorer = poly;
  else {
    const fit = await fitTrees(p.kind, ds, s, p, hooks);
    scorer = fit.scorer;
    log = fit.log;
    best = fit.bestIteration;
    params = { ...params, ...fit.params };
  }
  if (report === null) {
    report = holdoutReport(protocol === 'random-holdout' ? 'random-holdout' : 'holdout', p.kind, best);
    selection = holdoutSelection(scorer, ds, s);
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  // The test slice is read here, once, for the report.
  const yTest = pick(ds.volume, s.test);
  const metrics: Record<string, RegressionMetrics> = {};
  const predTest = predictRows(scorer, ds.vma, ds.acm, s.test);
  metrics[p.kind] = regressionMetrics(yTest, predTest);
  if (p.kind !== 'polyreg') metrics.polyreg = regressionMetrics(yTest, predictRows(poly, ds.vma, ds.acm, s.test));
  if (p.kind !== 'naive') metrics.naive = regressionMetrics(yTest, predictRows(naiveScorer(), ds.vma, ds.acm, s.test));
  // The validation slice is scored only when something reads it (not for gbdt under cv).
  const needValid = s.valid.length > 0 && (protocol !== 'cv' || oofResiduals === null);
  const yValid = needValid ? pick(ds.volume, s.valid) : new Float64Array(0);
  const predValid = needValid ? predictRows(scorer, ds.vma, ds.acm, s.valid) : new Float64Array(0);
  const validMetrics = protocol !== 'cv' && s.valid.length > 0 ? regressionMetrics(yValid, predValid) : null;
  // Prediction intervals (ml/conformal) from residuals of rows the model was not fitted on, on the
  // log1p scale: gbdt under cv, the folds' out-of-fold residuals (each at its fold's best iteration);
  // otherwise the validation slice's (under cv the polyreg baseline's final fit has seen those rows:
  // six coefficients, so the effect is small, and the source says so). Coverage is read on the test slice.
  const intervals =
    oofResiduals !== null
      ? calibrateConformal(oofResiduals, new Float64Array(oofResiduals.length), 'cv out-of-fold')
      : s.valid.length > 0
        ? calibrateConformal(yValid.map(Math.log1p), predValid.map(Math.log1p), protocol === 'cv' && p.kind === 'polyreg' ? 'validation (in the final fit)' : 'validation')
        : null;
  const testDays = Int32Array.from(s.test, (i) => ds.day[i]!);
  const testStock = Uint8Array.from(s.test, (i) => ds.isStock[i]!);
  return {
    kind: p.kind,
    scorer,
    // Under cv the final model trains on every pre-test row (a study's training window: those in it); the folds are in `protocol`.
    rows_train: protocol === 'cv' ? (rowsFit ?? s.train.length + s.valid.length) : s.train.length,
    rows_valid: protocol === 'cv' ? 0 : s.valid.length,
    rows_test: s.test.length,
    split: { kind: s.kind, test_from: s.testFrom === null ? null : civilFromDays(s.testFrom), valid_from: s.validFrom === null ? null : civilFromDays(s.validFrom), leaky: s.kind === 'random' },
    test: { ...dateRange(ds, s.test), rows: s.test.length },
    metrics,
    valid_metrics: validMetrics,
    slices: sliceMetrics(yTest, predTest, testDays, testStock),
    train_seconds: Math.round(trainSeconds * 1000) / 1000,
    training_log: log,
    best_iteration: best,
    params,
    protocol: report,
    selection,
    intervals,
    interval_coverage: intervals ? coverageReport(intervals, yTest, predTest) : [],
    interval_not_reported: intervals ? unreportedCoverages(intervals) : [],
  };
}
