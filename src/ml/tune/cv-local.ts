/** @module ml/tune/cv-local
 * Expanding-window CV folds over the pre-test rows (the reference protocol's: fold k validates on
 * the k-th of the last `folds` tenths of the rows by date, and trains on every row before it) and
 * an Evaluator that boosts each fold on log1p(Volume) from the naive forecast, as `train` does. */
import { StockpipeError } from '../../core/errors.js';
import { FEATURE_NAMES } from '../baselines.js';
import { trainGbdt } from '../gbdt/booster.js';
import type { TrainSet } from '../gbdt/dataset.js';
import { type CvData, type Evaluation, type Evaluator, mean, medianIteration } from './evaluate.js';

/** Each fold's first validation day; the last fold validates up to the end of the data. */
export function foldEdges(day: Int32Array, folds: number): number[] {
  const sorted = Int32Array.from(day).sort();
  const n = sorted.length;
  return Array.from({ length: folds }, (_, k) => sorted[Math.floor(n * (1 - 0.1 * (folds - k)))]!);
}

function rowsWhere(day: Int32Array, keep: (d: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < day.length; i++) if (keep(day[i]!)) out.push(i);
  return Int32Array.from(out);
}

function set(d: CvData, idx: Int32Array): TrainSet {
  const n = idx.length;
  const vma = new Float64Array(n);
  const acm = new Float64Array(n);
  const y = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    vma[k] = d.vma[i]!;
    acm[k] = d.acm[i]!;
    y[k] = Math.log1p(d.volume[i]!) - Math.log1p(Math.max(0, d.vma[i]!));
  }
  return { columns: [vma, acm], y, featureNames: FEATURE_NAMES, targetTransform: 'log1p' };
}

/** An evaluator over `data` (pre-test rows only) with `folds` folds. */
export function localCvEvaluator(data: CvData, folds: number): Evaluator {
  if (folds < 1 || folds > 9) throw new StockpipeError('SP_ERR_USAGE', `--folds must be from 1 to 9 (got ${folds}): each fold validates on a tenth of the pre-test rows`);
  const edges = foldEdges(data.day, folds);
  return async (req): Promise<Evaluation> => {
    const t0 = performance.now();
    if (req.params.half_life_days !== null) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', 'half_life_days needs sample weights, which this evaluator does not support');
    const scores: number[] = [];
    const iters: number[] = [];
    for (let k = 0; k < folds; k++) {
      const from = edges[k]!;
      const to = k + 1 < folds ? edges[k + 1]! : Number.POSITIVE_INFINITY;
      const start = req.params.window_years === null ? Number.NEGATIVE_INFINITY : from - Math.round(req.params.window_years * 365.25);
      const train = rowsWhere(data.day, (d) => d < from && d >= start);
      const valid = rowsWhere(data.day, (d) => d >= from && d < to);
      if (train.length === 0 || valid.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `CV fold ${k + 1} of ${folds} has ${train.length} training and ${valid.length} validation rows`, { hint: 'Use fewer --folds, or more history.' });
      const r = await trainGbdt(set(data, train), set(data, valid), {
        num_trees: req.budget, learning_rate: req.params.learning_rate, num_leaves: req.params.num_leaves, max_depth: req.params.max_depth,
        min_data_in_leaf: req.params.min_data_in_leaf, lambda_l2: req.params.lambda_l2, early_stopping_rounds: req.params.patience, seed: req.seed, threads: req.threads,
      }, { signal: req.signal });
      let best = 0;
      for (let i = 1; i < r.log.length; i++) if (r.log[i]!.valid_loss! < r.log[best]!.valid_loss!) best = i;
      scores.push(Math.sqrt(r.log[best]!.valid_loss!));
      iters.push(best + 1);
    }
    return { fold_scores: scores, fold_iterations: iters, score: mean(scores), best_iteration: medianIteration(iters), seconds: (performance.now() - t0) / 1000 };
  };
}
