/** @module ml/gbdt/dataset
 * What the trainers share: the input type, its checks (SP_ERR_TRAIN_DATA), binning a data set into
 * a shared column-major Uint8 matrix, and turning a bin-space tree into model arrays. */
import { StockpipeError } from '../../core/errors.js';
import { deriveSeed } from '../../core/rng.js';
import { binColumn, computeBinEdges, type NumericColumn } from './binning.js';
import type { BinnedMatrix } from './histogram.js';
import type { BinTree } from './kernels.js';
import type { TargetTransform, TreeArrays } from './model.js';

/** A Float64Array in shared memory: as TrainSet.y it saves the trainer a copy (workers read it in place). */
export function sharedFloat64Array(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

export interface TrainSet {
  /** One column per feature, all of y's length; empty when the trainer is given the set's bins
   * instead (booster BinnedSets: the columns are then not read). */
  columns: readonly NumericColumn[];
  /** The target, already transformed by the caller (e.g. log1p(Volume)); finite. Read in place,
   * not copied, when it is a whole sharedFloat64Array. */
  y: Float64Array | Float32Array;
  /** Sample weights (finite, ≥ 0, not all 0): each row's gradient and hessian are multiplied by
   * its weight, the base score is the weighted optimum and train_loss the weighted mean. Absent = 1. */
  weight?: Float64Array | Float32Array;
  /** Default f0, f1, …; stored in the model. */
  featureNames?: readonly string[];
  /** What the caller applied to y (stored; scoring undoes it). Default 'identity'. A log-link
   * objective (poisson, tweedie) sets 'log' itself: y is then the raw, non-negative target. */
  targetTransform?: TargetTransform;
  /** A per-row start of the raw output (base_margin), added before the base score and the trees;
   * the caller stores it with the model (its offset). Absent = 0. */
  init?: Float64Array | Float32Array;
}

export interface IterationInfo {
  /** 1-based number of trees so far. */
  iteration: number;
  /** Mean training loss after this tree (gbdt), or null (forest). */
  train_loss: number | null;
  /** Mean validation loss after this tree, or null without a validation set. */
  valid_loss: number | null;
}

export interface TrainHooks {
  /** Called after every tree (training.log lines, a progress bar). */
  onIteration?(info: IterationInfo): void;
  /** Aborts between trees and between splits; the workers are always terminated. */
  signal?: AbortSignal;
}

/** Throws SP_ERR_TRAIN_DATA when the set is unusable; `what` names it ('train', 'valid'). `binned`:
 * the set's bins, standing in for its columns (which may then be empty). */
export function checkTrainSet(set: TrainSet, what: string, nFeatures?: number, binned?: BinnedMatrix): void {
  const fail = (msg: string): never => {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${what} set: ${msg}`);
  };
  const n = set.y.length;
  const features = binned && set.columns.length === 0 ? binned.features : set.columns.length;
  if (binned && binned.rows !== n) fail(`its bins have ${binned.rows} rows, y has ${n}`);
  if (features === 0) fail('no feature columns');
  if (nFeatures !== undefined && features !== nFeatures) fail(`has ${features} feature columns, the training set ${nFeatures}`);
  if (n === 0) fail('no rows');
  if (n >= 2 ** 31 - 1) fail(`${n} rows is more than 2^31 - 2`);
  set.columns.forEach((c, f) => {
    if (c.length !== n) fail(`column ${f} has ${c.length} rows, y has ${n}`);
  });
  for (let i = 0; i < n; i++) if (!Number.isFinite(set.y[i]!)) fail(`y[${i}] is ${set.y[i]} (the target must be finite)`);
  if (set.init) {
    if (set.init.length !== n) fail(`init has ${set.init.length} rows, y has ${n}`);
    for (let i = 0; i < n; i++) if (!Number.isFinite(set.init[i]!)) fail(`init[${i}] is ${set.init[i]} (the start must be finite)`);
  }
  if (set.weight) {
    if (set.weight.length !== n) fail(`weight has ${set.weight.length} rows, y has ${n}`);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const w = set.weight[i]!;
      if (!(Number.isFinite(w) && w >= 0)) fail(`weight[${i}] is ${w} (weights must be finite and ≥ 0)`);
      sum += w;
    }
    if (!(sum > 0)) fail('every weight is 0');
  }
  if (set.featureNames && set.featureNames.length !== features) fail(`${set.featureNames.length} feature names for ${features} columns`);
}

export function featureNames(set: TrainSet, features = set.columns.length): string[] {
  return set.featureNames ? [...set.featureNames] : Array.from({ length: features }, (_, f) => `f${f}`);
}

/** Bin edges of feature `f` from its own seeded sample. */
export function featureEdges(column: NumericColumn, f: number, maxBins: number, sampleSize: number, seed: number): Float64Array {
  return computeBinEdges(column, { maxBins, sampleSize, seed: deriveSeed(seed, 100 + f) });
}

/** Bin edges per feature, each from its own seeded sample. */
export function fitEdges(columns: readonly NumericColumn[], maxBins: number, sampleSize: number, seed: number): Float64Array[] {
  return columns.map((c, f) => featureEdges(c, f, maxBins, sampleSize, seed));
}

/** The column-major binned matrix of a set, in a SharedArrayBuffer (workers read it in place). */
export function binSet(columns: readonly NumericColumn[], edges: readonly Float64Array[]): BinnedMatrix {
  const m = emptyBinned(columns[0]?.length ?? 0, columns.length);
  columns.forEach((c, f) => binColumn(c, edges[f]!, m.bins, f * m.rows));
  return m;
}

/** A binned matrix of `rows` × `features` to fill column by column (binColumn at offset f × rows). */
export function emptyBinned(rows: number, features: number): BinnedMatrix {
  return { rows, features, bins: new Uint8Array(new SharedArrayBuffer(Math.max(1, rows * features))) };
}

export function valueBinCounts(edges: readonly Float64Array[]): Int32Array {
  return Int32Array.from(edges, (e) => e.length);
}

/** Significant digits of the split gains kept in model.json (importance needs no more; the file stays small). */
const GAIN_DIGITS = 6;

/** Model arrays of a bin-space tree: threshold = upper edge of the threshold bin; gain rounded to GAIN_DIGITS. */
export function toTreeArrays(t: BinTree, edges: readonly Float64Array[]): TreeArrays {
  const n = t.feature.length;
  const threshold = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = t.feature[i]!;
    if (f >= 0) threshold[i] = edges[f]![t.bin[i]!]!;
  }
  return { feature: t.feature.slice(), threshold, left: t.left.slice(), right: t.right.slice(), value: t.value.slice(), ...(t.gain ? { gain: t.gain.map((g) => Number(g.toPrecision(GAIN_DIGITS))) } : {}) };
}

/** Feature indices 0..F-1, or a seeded sample of round(F·fraction) ≥ 1 of them, sorted. */
export function sampleFeatures(nFeatures: number, fraction: number, next: (n: number) => number): Int32Array {
  const all = Int32Array.from({ length: nFeatures }, (_, i) => i);
  const k = Math.max(1, Math.round(nFeatures * fraction));
  if (k >= nFeatures) return all;
  for (let i = 0; i < k; i++) {
    const j = i + next(nFeatures - i);
    const x = all[i]!;
    all[i] = all[j]!;
    all[j] = x;
  }
  return all.slice(0, k).sort();
}
