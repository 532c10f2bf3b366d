/** @module ml/cv
 * Expanding-window time-series cross-validation of the gbdt volume model inside the pre-test
 * dates (docs/models.md "Evaluation protocol"), and the refit on all pre-test rows.
 *
 * API contract (stable; `stockpipe train` and `stockpipe tune` call it):
 * - `timeSeriesFolds(days, pretest, folds, trainFrom?)` → `CvFoldSpec[]`. Sort the pre-test rows'
 *   days; with n rows and K folds, fold k (0-based) starts at the day found at sorted position
 *   floor(n·(1 − 0.1·(K − k))): it validates on the rows dated from that day up to the next fold's
 *   start (the last fold: up to the test slice) and trains on every row dated before its start
 *   (and on or after `trainFrom` when given). K in 1..9. A fold without training or validation rows
 *   → SP_ERR_TRAIN_DATA. The folds are those of the scikit-learn reference protocol.
 * - `crossValidate(ds, pretest, opts)` → `CvResult`. For each fold: fit `opts.params` with up to
 *   `opts.maxTrees` trees, then the validation curve: rmse_log (log1p of Volume against log1p of
 *   the clipped prediction) after each tree. With `opts.patience` > 0 the booster also watches the
 *   fold's validation rows and stops after that many trees without improvement of its loss (the
 *   objective's: l2 on the log target, or poisson / tweedie on raw Volume), keeping the trees up to its best: the curve then covers those. best_iter = argmin of the
 *   curve (1-based, the first minimum), best_score = its minimum. score = mean of the fold
 *   minima; iterations = median of the best_iters (the lower-middle mean, truncated, for even K,
 *   as numpy's median then int()). oof = the validation rows' log residuals yLog − predLog at
 *   their fold's best_iter. Reads only `pretest` rows of `ds` (and `ds.day` of those rows).
 * - `refit(ds, pretest, opts)` → the gbdt fitted on every pre-test row (from `trainFrom`) with
 *   exactly `opts.trees` trees and no early stopping: the final model after the CV.
 * - Data choices: `trainFrom` (day number): rows dated before it are not used for training;
 *   `trainWindowDays`: a sliding window instead — each fold trains on the rows dated within that
 *   many days before its first validation day, the refit within that many days before `refDay`;
 *   `halfLifeDays`: sample weight 0.5^(age / halfLifeDays), age = (first day after the training
 *   window: the fold's first validation day, or `refDay` for the refit) − the row's day.
 * - `params` are the booster's (ml/gbdt/params); `num_trees`, `early_stopping_rounds` and `threads`
 *   are set from maxTrees, patience and threads; `params.objective` (l2 on log1p(Volume) by default,
 *   or poisson / tweedie on raw Volume with the log link: ml/tree-train gbdtVolumeSet). `boostFrom`
 *   as ml/tree-train (default naive). The curve is rmse_log whatever the objective.
 * - Deterministic: same data, options and seed → same folds, curves, scores and model.
 * - `signal` aborts between trees; `onFold` is called after each fold with its result;
 *   `onIteration(fold, tree)` after each tree (fold = -1 for the refit).
 */
import { StockpipeError } from '../core/errors.js';
import { civilFromDays } from '../etl/csv-parse.js';
import type { VolumeDataset } from './dataset.js';
import { trainGbdt, type GbdtResult } from './gbdt/booster.js';
import type { TrainSet } from './gbdt/dataset.js';
import { offsetValue, treeValue, type TreeModel } from './gbdt/model.js';
import { GBDT_DEFAULTS, type GbdtParams } from './gbdt/params.js';
import type { ObjectiveName } from './gbdt/objectives/index.js';
import type { Slices } from './split.js';
import { gbdtVolumeSet } from './tree-train.js';

export interface CvFoldSpec {
  /** 0-based fold number (0 = earliest). */
  index: number;
  /** First validation day (day number); training rows are dated before it. */
  validFrom: number;
  /** First day after the validation rows (the next fold's start), or null: up to the test slice. */
  validTo: number | null;
  /** Dataset row indices of the training rows (ascending). */
  train: Int32Array;
  /** Dataset row indices of the validation rows (ascending). */
  valid: Int32Array;
}

export interface CvDataOptions {
  /** Rows dated before this day number are not used for training. */
  trainFrom?: number;
  /** Train on the rows dated less than this many days before the fold's first validation day (the refit: before `refDay`). */
  trainWindowDays?: number;
  /** Recency half-life in days: sample weights 0.5^(age/halfLifeDays). */
  halfLifeDays?: number;
  /** gbdt on log1p: boost from the naive forecast (default) or from the mean. */
  boostFrom?: 'naive' | 'mean';
}

export interface CvOptions extends CvDataOptions {
  /** Booster parameters (defaults for the rest); num_trees, early_stopping_rounds, threads are overridden. */
  params?: Partial<GbdtParams>;
  /** Tree budget per fold. */
  maxTrees: number;
  /** Stop a fold after this many trees without improvement (0 / absent: grow maxTrees). */
  patience?: number;
  /** Number of folds, 1..9 (default 3). */
  folds?: number;
  threads?: number;
  signal?: AbortSignal;
  onFold?(fold: CvFoldResult, folds: number): void;
  onIteration?(fold: number, tree: number): void;
}

export interface CvFoldResult {
  index: number;
  /** Dates (YYYY-MM-DD): first training day used, first validation day, last validation day. */
  train_from: string;
  valid_from: string;
  valid_to: string;
  rows_train: number;
  rows_valid: number;
  /** 1-based number of trees at the curve's minimum. */
  best_iter: number;
  /** rmse_log at best_iter. */
  best_score: number;
  /** rmse_log on the fold's validation rows after 1, 2, … trees. */
  curve: number[];
  seconds: number;
}

export interface CvResult {
  folds: CvFoldResult[];
  /** Mean of the folds' best scores (cv_rmse_log). */
  score: number;
  /** Median of the folds' best iterations: the refit's number of trees. */
  iterations: number;
  /** Out-of-fold log residuals yLog − predLog, fold after fold; `rows` are dataset row indices. */
  oof: { rows: Int32Array; fold: Uint8Array; residual: Float64Array };
  seconds: number;
}

export interface RefitOptions extends CvDataOptions {
  params?: Partial<GbdtParams>;
  trees: number;
  /** Reference day of the recency weights (the first test day). */
  refDay: number;
  threads?: number;
  signal?: AbortSignal;
  onIteration?(fold: number, tree: number): void;
}

export const DEFAULT_FOLDS = 3;

/** The pre-test rows of a time split (train ∪ valid, ascending). */
export function pretestRows(s: Slices): Int32Array {
  if (s.kind !== 'time') throw new StockpipeError('SP_ERR_USAGE', 'time-series cross-validation needs the time split', { hint: 'Drop --split random, or use --protocol holdout.' });
  const out = new Int32Array(s.train.length + s.valid.length);
  out.set(s.train);
  out.set(s.valid, s.train.length);
  return out.sort();
}

function rowsWhere(days: Int32Array, rows: Int32Array, keep: (d: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < rows.length; k++) if (keep(days[rows[k]!]!)) out.push(rows[k]!);
  return Int32Array.from(out).sort();
}

/** The folds of the contract above. */
export function timeSeriesFolds(days: Int32Array, pretest: Int32Array, folds: number, trainFrom?: number, windowDays?: number): CvFoldSpec[] {
  if (!Number.isInteger(folds) || folds < 1 || folds > 9) throw new StockpipeError('SP_ERR_USAGE', `--folds must be an integer in 1..9 (got ${folds})`, { hint: 'Each fold validates on a tenth of the pre-test rows; 3 is the default.' });
  const sorted = Int32Array.from(pretest, (i) => days[i]!).sort();
  const n = sorted.length;
  const starts: number[] = [];
  for (let k = 0; k < folds; k++) starts.push(sorted[Math.floor(n * (1 - 0.1 * (folds - k)))] ?? Infinity);
  return starts.map((validFrom, k) => {
    const from = Math.max(trainFrom ?? -Infinity, windowDays === undefined ? -Infinity : validFrom - windowDays);
    const validTo = k + 1 < folds ? starts[k + 1]! : null;
    const spec: CvFoldSpec = {
      index: k,
      validFrom,
      validTo,
      train: rowsWhere(days, pretest, (d) => d < validFrom && d >= from),
      valid: rowsWhere(days, pretest, (d) => d >= validFrom && (validTo === null || d < validTo)),
    };
    const what = `fold ${k + 1} of ${folds}`;
    if (spec.valid.length === 0) {
      // Most often a test cut close to the data's first day: the pre-test rows are a few days only (the history after the cut does not count).
      let dayCount = 0;
      for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) dayCount++;
      const span = n === 0 ? '' : ` on ${dayCount} day${dayCount === 1 ? '' : 's'}, ${civilFromDays(sorted[0]!)}..${civilFromDays(sorted[n - 1]!)}`;
      throw new StockpipeError('SP_ERR_TRAIN_DATA', `${what} has no validation rows (${n} pre-test rows${span}: several folds start on the same day)`, { hint: 'Use a later --test-from (or fewer --test-days), fewer --folds, or more history.' });
    }
    if (spec.train.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${what} has no training rows before ${civilFromDays(validFrom)}${from === -Infinity ? '' : ` from the training-window start ${civilFromDays(from)}`}`, { hint: 'Use fewer --folds, an earlier training-window start, or more history.' });
    return spec;
  });
}

/** Recency weights 0.5^((refDay − day) / halfLifeDays) of `rows`. */
export function recencyWeights(days: Int32Array, rows: Int32Array, refDay: number, halfLifeDays: number): Float64Array {
  if (!(Number.isFinite(halfLifeDays) && halfLifeDays > 0)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `the recency half-life must be a number of days > 0 (got ${halfLifeDays})`);
  return Float64Array.from(rows, (i) => 0.5 ** ((refDay - days[i]!) / halfLifeDays));
}

function checkData(o: CvDataOptions): void {
  if (o.trainWindowDays !== undefined && !(Number.isInteger(o.trainWindowDays) && o.trainWindowDays > 0)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `the training window must be a whole number of days > 0 (got ${o.trainWindowDays})`);
  if (o.trainFrom !== undefined && !Number.isInteger(o.trainFrom)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `the training-window start must be a day number (got ${o.trainFrom})`);
  if (o.halfLifeDays !== undefined && !(Number.isFinite(o.halfLifeDays) && o.halfLifeDays > 0)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `the recency half-life must be a number of days > 0 (got ${o.halfLifeDays})`);
}

function fitSet(ds: VolumeDataset, rows: Int32Array, o: CvDataOptions, refDay: number, objective: ObjectiveName | undefined): TrainSet {
  const set = gbdtVolumeSet(ds, rows, objective, (o.boostFrom ?? 'naive') === 'naive');
  return o.halfLifeDays === undefined ? set : { ...set, weight: recencyWeights(ds.day, rows, refDay, o.halfLifeDays) };
}

function engineParams(params: Partial<GbdtParams> | undefined, trees: number, patience: number, threads: number | undefined): Partial<GbdtParams> {
  return { ...params, num_trees: trees, early_stopping_rounds: patience, threads: Math.max(1, threads ?? params?.threads ?? GBDT_DEFAULTS.threads) };
}

/** rmse_log on `rows` after each tree, its first argmin (1-based), and the log residuals there. */
function validationCurve(model: TreeModel, ds: VolumeDataset, rows: Int32Array): { curve: number[]; best: number; residual: Float64Array } {
  const n = rows.length;
  const raw = new Float64Array(n);
  const bestRaw = new Float64Array(n);
  const yLog = new Float64Array(n);
  const row = new Float64Array(2);
  const log1pTarget = model.targetTransform === 'log1p';
  const logLink = model.targetTransform === 'log';
  const o = model.offset;
  for (let k = 0; k < n; k++) {
    const i = rows[k]!;
    yLog[k] = Math.log1p(ds.volume[i]!);
    raw[k] = model.baseScore + (o ? offsetValue(o, o.feature === 0 ? ds.vma[i]! : ds.acm[i]!) : 0);
  }
  // log1p of the clipped prediction: max(raw, 0) for a log1p target (= log1p(max(0, expm1(raw)))),
  // log1p(exp(raw)) under the log link.
  const predLog = (r: number): number => (log1pTarget ? (r > 0 ? r : 0) : logLink ? Math.log1p(Math.exp(r)) : Math.log1p(r > 0 ? r : 0));
  const curve: number[] = [];
  let best = 0;
  for (let t = 0; t < model.trees.length; t++) {
    const tree = model.trees[t]!;
    let se = 0;
    for (let k = 0; k < n; k++) {
      const i = rows[k]!;
      row[0] = ds.vma[i]!;
      row[1] = ds.acm[i]!;
      raw[k] = raw[k]! + treeValue(tree, row);
      const d = yLog[k]! - predLog(raw[k]!);
      se += d * d;
    }
    curve.push(Math.sqrt(se / n));
    if (t === 0 || curve[t]! < curve[best]!) {
      best = t;
      bestRaw.set(raw);
    }
  }
  const residual = Float64Array.from(yLog, (y, k) => y - predLog(bestRaw[k]!));
  return { curve, best: best + 1, residual };
}

/** The median of the contract (numpy median, truncated to an integer). */
export function medianIterations(iters: readonly number[]): number {
  const s = [...iters].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : Math.trunc((s[m - 1]! + s[m]!) / 2);
}

export async function crossValidate(ds: VolumeDataset, pretest: Int32Array, opts: CvOptions): Promise<CvResult> {
  checkData(opts);
  if (!Number.isInteger(opts.maxTrees) || opts.maxTrees < 1) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `the tree budget must be an integer ≥ 1 (got ${opts.maxTrees})`);
  const patience = opts.patience ?? 0;
  if (!Number.isInteger(patience) || patience < 0) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `early-stopping patience must be an integer ≥ 0 (got ${patience})`);
  const t0 = performance.now();
  const specs = timeSeriesFolds(ds.day, pretest, opts.folds ?? DEFAULT_FOLDS, opts.trainFrom, opts.trainWindowDays);
  const params = engineParams(opts.params, opts.maxTrees, patience, opts.threads);
  const folds: CvFoldResult[] = [];
  const oofRows: Int32Array[] = [];
  const oofRes: Float64Array[] = [];
  for (const f of specs) {
    const tf = performance.now();
    const train = fitSet(ds, f.train, opts, f.validFrom, params.objective);
    // The booster sees the validation rows only to stop early (patience); the curve is computed below.
    const valid = patience > 0 ? gbdtVolumeSet(ds, f.valid, params.objective, (opts.boostFrom ?? 'naive') === 'naive') : null;
    const r = await trainGbdt(train, valid, params, { signal: opts.signal, onIteration: (it) => opts.onIteration?.(f.index, it.iteration) });
    // With patience the booster keeps the trees up to its best validation loss: the curve covers those.
    const c = validationCurve(withOffset(r, opts), ds, f.valid);
    let lo = Infinity;
    for (const k of f.train) lo = Math.min(lo, ds.day[k]!);
    let hi = -Infinity;
    for (const k of f.valid) hi = Math.max(hi, ds.day[k]!);
    const result: CvFoldResult = {
      index: f.index,
      train_from: civilFromDays(lo),
      valid_from: civilFromDays(f.validFrom),
      valid_to: civilFromDays(hi),
      rows_train: f.train.length,
      rows_valid: f.valid.length,
      best_iter: c.best,
      best_score: c.curve[c.best - 1]!,
      curve: c.curve,
      seconds: Math.round(performance.now() - tf) / 1000,
    };
    folds.push(result);
    oofRows.push(f.valid);
    oofRes.push(c.residual);
    opts.onFold?.(result, specs.length);
  }
  const total = oofRows.reduce((s, a) => s + a.length, 0);
  const oof = { rows: new Int32Array(total), fold: new Uint8Array(total), residual: new Float64Array(total) };
  let at = 0;
  oofRows.forEach((rows, k) => {
    oof.rows.set(rows, at);
    oof.fold.fill(k, at, at + rows.length);
    oof.residual.set(oofRes[k]!, at);
    at += rows.length;
  });
  return {
    folds,
    score: folds.reduce((s, f) => s + f.best_score, 0) / folds.length,
    iterations: medianIterations(folds.map((f) => f.best_iter)),
    oof,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}

function withOffset(r: GbdtResult, o: CvDataOptions): TreeModel {
  if ((o.boostFrom ?? 'naive') === 'naive') r.model.offset = { feature: 0, transform: 'log1p' };
  return r.model;
}

/** The pre-test rows the refit trains on: those dated from `trainFrom` and within the training window before `refDay`. */
export function refitRows(ds: VolumeDataset, pretest: Int32Array, opts: Pick<RefitOptions, 'trainFrom' | 'trainWindowDays' | 'refDay'>): Int32Array {
  const from = Math.max(opts.trainFrom ?? -Infinity, opts.trainWindowDays === undefined ? -Infinity : opts.refDay - opts.trainWindowDays);
  return from === -Infinity ? pretest : rowsWhere(ds.day, pretest, (d) => d >= from);
}

/** The final fit on every pre-test row (dated from `trainFrom`), `opts.trees` trees, no early stopping. */
export async function refit(ds: VolumeDataset, pretest: Int32Array, opts: RefitOptions): Promise<GbdtResult> {
  checkData(opts);
  const rows = refitRows(ds, pretest, opts);
  if (rows.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'no pre-test rows from the training-window start', { hint: 'Use an earlier training-window start.' });
  const r = await trainGbdt(fitSet(ds, rows, opts, opts.refDay, opts.params?.objective), null, engineParams(opts.params, opts.trees, 0, opts.threads), { signal: opts.signal, onIteration: (it) => opts.onIteration?.(-1, it.iteration) });
  withOffset(r, opts);
  return r;
}
