/** @module ml/tune/evaluator
 * A trial's evaluation on ml/cv (the lanes in this thread and the trial workers both take it from
 * here): the trial's booster parameters, its tree budget and patience, and its data choices — the
 * training window as the last `window_years` before each fold's first validation day (the refit:
 * before the first test day), the recency half-life as sample weights — over the pre-test rows only. */
import { civilFromDays } from '../../etl/csv-parse.js';
import { crossValidate, type CvDataOptions } from '../cv.js';
import type { VolumeDataset } from '../dataset.js';
import type { GbdtParams } from '../gbdt/params.js';
import type { CvData, Evaluation, Evaluator } from './evaluate.js';
import type { TrialParams } from './space.js';

/** The booster's parameters of a trial (ml/gbdt/params names), its loss included. */
export function boosterParams(p: TrialParams, seed: number): Partial<GbdtParams> {
  const loss: Partial<GbdtParams> = p.objective === 'huber' ? { objective: 'huber', huber_delta: p.huber_delta! } : { objective: 'l2' };
  // monotone_vma is a volume study's dimension (a forecast study's trials hold 0): the inputs vma, acm.
  const mono: Partial<GbdtParams> = p.monotone_vma === 1 ? { monotone_constraints: '1,0' } : {};
  return { learning_rate: p.learning_rate, num_leaves: p.num_leaves, max_depth: p.max_depth, min_data_in_leaf: p.min_data_in_leaf, lambda_l2: p.lambda_l2, ...loss, ...mono, seed };
}

/** A trial's data choices as ml/cv options. */
export function dataChoices(p: TrialParams): CvDataOptions {
  return { trainWindowDays: p.window_years === null ? undefined : Math.round(p.window_years * 365.25), halfLifeDays: p.half_life_days ?? undefined };
}

/** The pre-test rows as the dataset ml/cv reads (no test row exists in it). */
export function pretestDataset(d: CvData): { ds: VolumeDataset; rows: Int32Array } {
  const n = d.day.length;
  const ds: VolumeDataset = { path: `pre-test rows before ${civilFromDays(d.cut)}`, dataHash: '', rows: n, day: d.day, vma: d.vma, acm: d.acm, volume: d.volume, isStock: new Uint8Array(n) };
  return { ds, rows: Int32Array.from({ length: n }, (_, i) => i) };
}

export function studyEvaluator(data: CvData, folds: number): Evaluator {
  const { ds, rows } = pretestDataset(data);
  return async (req): Promise<Evaluation> => {
    const r = await crossValidate(ds, rows, {
      ...dataChoices(req.params), params: boosterParams(req.params, req.seed), maxTrees: req.budget, patience: req.params.patience, folds, threads: req.threads, signal: req.signal,
    });
    return { fold_scores: r.folds.map((f) => f.best_score), fold_iterations: r.folds.map((f) => f.best_iter), fold_trees: r.folds.map((f) => f.curve.length), score: r.score, best_iteration: r.iterations, seconds: r.seconds };
  };
}
