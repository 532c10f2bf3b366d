/** @module ml/forecast-slices
 * The day-ahead model's training rows as ranges (they are sorted by target day, so every time slice
 * is one), the input columns over a range (views, no copies), the two targets, and the volume
 * booster's fit and validation score — shared by `train --task forecast` (ml/forecast-train) and
 * `tune --task forecast` (ml/tune/forecast), so a study scores exactly what the refit trains. */
import { StockpipeError } from '../core/errors.js';
import { collectGarbage } from '../core/gc.js';
import { logRatio } from '../features/lagged.js';
import { inputColumn, releaseInputs, type ForecastFrame } from './forecast-dataset.js';
import { binSetsBy, trainGbdt, type BinnedSets, type GbdtResult } from './gbdt/booster.js';
import { sharedFloat64Array, type IterationInfo, type TrainSet } from './gbdt/dataset.js';
import { predictBatch } from './gbdt/model.js';
import type { GbdtParams } from './gbdt/params.js';

/** A slice of the training rows [lo, hi). */
export interface Range {
  lo: number;
  hi: number;
}

export const size = (r: Range): number => r.hi - r.lo;

/** The range of ascending, contiguous row indices `idx`. */
export function range(idx: Int32Array): Range {
  if (idx.length === 0) return { lo: 0, hi: 0 };
  const lo = idx[0]!;
  const hi = idx[idx.length - 1]! + 1;
  if (hi - lo !== idx.length) throw new StockpipeError('SP_ERR_INTERNAL', `a time slice of ${idx.length} rows spans rows ${lo}..${hi - 1}: the rows are not sorted by target day`);
  return { lo, hi };
}

/** The model's input columns over the rows `r` (views when one row block holds them, which every time slice of a
 * frame cut at its split does), mapped by name. */
export function inputs(frame: ForecastFrame, names: readonly string[], r: Range): Float32Array[] {
  return names.map((name) => {
    const k = frame.set.features.indexOf(name);
    if (k < 0) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `the model's input '${name}' is not one this stockpipe computes (${frame.set.features.join(', ')})`);
    return inputColumn(frame, k, r.lo, r.hi);
  });
}

/** Fills `y` (shared memory: the trainer reads it in place) with a target of the rows `r`: the log
 * return, or log1p(Volume_t+1) less the volume model's offset (log_volume, as stored). */
export function fillTarget(frame: ForecastFrame, r: Range, which: 'ret' | 'volume', y: Float64Array): Float64Array {
  const logv = inputs(frame, ['log_volume'], r)[0]!;
  for (let k = 0; k < r.hi - r.lo; k++) {
    const i = frame.set.row[r.lo + k]!;
    y[k] = which === 'ret' ? logRatio(frame.adjClose[i + 1]!, frame.adjClose[i]!) : Math.log1p(frame.volume[i + 1]!) - logv[k]!;
  }
  return y;
}

/** The first row of `r` whose target day is ≥ `day` (rows are sorted by target day). */
export function firstRowFrom(frame: ForecastFrame, r: Range, day: number): number {
  let a = r.lo;
  let b = r.hi;
  while (a < b) {
    const m = (a + b) >> 1;
    if (frame.set.targetDay[m]! < day) a = m + 1;
    else b = m;
  }
  return a;
}

/** The volume booster's settings chosen by a study (`tune --task forecast`). */
export interface VolumeChoice {
  params: Partial<GbdtParams>;
  /** Train on the rows whose target day is less than this many days before the validation window. */
  windowDays?: number;
  /** Recency weights 0.5^(age / halfLifeDays), age = first validation day − target day. */
  halfLifeDays?: number;
}

/**
 * The volume booster (log1p(Volume_t+1) − log_volume, early stopping on `valid`) on the rows `train`
 * — from `choice.windowDays` before the validation window when given, weighted by recency when
 * asked — with its offset set. `binned`: shared bins of exactly these train and valid rows (the
 * training rows' inputs are then not read: they may be released, but log_volume). `targets`: shared
 * buffers of the train and valid rows' length to fill with the targets instead of new ones.
 */
export async function fitForecastVolume(frame: ForecastFrame, train: Range, valid: Range | null, params: Partial<GbdtParams>, choice: Omit<VolumeChoice, 'params'>, hooks: { onIteration?(it: IterationInfo): void; signal?: AbortSignal }, binned?: BinnedSets, targets?: { train: Float64Array; valid: Float64Array | null }): Promise<{ result: GbdtResult; train: Range }> {
  const featureNames = [...frame.set.features];
  const logVolume = featureNames.indexOf('log_volume');
  if (logVolume < 0) throw new StockpipeError('SP_ERR_INTERNAL', 'the day-ahead inputs lack log_volume (the volume model\'s offset)');
  const validFrom = valid && size(valid) > 0 ? frame.set.targetDay[valid.lo]! : frame.set.targetDay[train.hi - 1]! + 1;
  const t: Range = choice.windowDays === undefined ? train : { lo: firstRowFrom(frame, train, validFrom - choice.windowDays), hi: train.hi };
  if (size(t) === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no training rows in the ${choice.windowDays}-day window before the validation window`, { hint: 'Use a longer training window, or more history.' });
  const bins = t === train ? binned : undefined;
  const yTrain = targets && t === train && targets.train.length === size(t) ? targets.train : sharedFloat64Array(size(t));
  const set: TrainSet = { columns: bins ? [] : inputs(frame, featureNames, t), y: fillTarget(frame, t, 'volume', yTrain), featureNames, targetTransform: 'log1p' };
  if (choice.halfLifeDays !== undefined) {
    const hl = choice.halfLifeDays;
    set.weight = Float64Array.from({ length: size(t) }, (_, k) => 0.5 ** ((validFrom - frame.set.targetDay[t.lo + k]!) / hl));
  }
  const yValid = (n: number): Float64Array => (targets?.valid && targets.valid.length === n ? targets.valid : sharedFloat64Array(n));
  const v: TrainSet | null = valid && size(valid) > 0 ? { columns: bins ? [] : inputs(frame, featureNames, valid), y: fillTarget(frame, valid, 'volume', yValid(size(valid))), featureNames, targetTransform: 'log1p' } : null;
  const result = await trainGbdt(set, v, params, hooks, bins);
  result.model.offset = { feature: logVolume, transform: 'identity' };
  return { result, train: t };
}

/**
 * Binned sets of the train and valid rows over every input (for boosters that share them), binned
 * one input at a time. `release`: let go of each input of the training rows once binned (but
 * log_volume, which the volume target reads) where a row block of the frame holds exactly them —
 * the trainer then reads bins only (1 byte a feature-row, the input 4).
 */
export function binForecast(frame: ForecastFrame, train: Range, valid: Range | null, params: Partial<GbdtParams>, release = false): BinnedSets {
  const names = frame.set.features;
  const v = valid && size(valid) > 0 ? valid : null;
  return binSetsBy({ train: size(train), valid: v ? size(v) : null }, names.length, (f, set) => inputs(frame, [names[f]!], set === 'train' ? train : v!)[0]!, params, (f) => {
    // Collected at once: V8 would keep the released column resident under the bins that follow.
    if (release && names[f] !== 'log_volume' && releaseInputs(frame, train.lo, train.hi, [names[f]!]) > 0) collectGarbage();
  });
}

/** MAE of the volume model's prediction over MAE of persistence on the rows `r` (= 1 − volume skill). */
export function volumeMaeRatio(frame: ForecastFrame, model: GbdtResult['model'], r: Range): number {
  const n = size(r);
  const pred = predictBatch(model, inputs(frame, model.featureNames, r), new Float64Array(n));
  let e = 0;
  let ep = 0;
  for (let k = 0; k < n; k++) {
    const i = frame.set.row[r.lo + k]!;
    e += Math.abs(frame.volume[i + 1]! - pred[k]!);
    ep += Math.abs(frame.volume[i + 1]! - frame.volume[i]!);
  }
  return ep > 0 ? e / ep : Number.NaN;
}
