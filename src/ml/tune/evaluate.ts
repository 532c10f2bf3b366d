/** @module ml/tune/evaluate
 * One trial's evaluation: a configuration and a tree budget → the expanding-window time-series CV
 * score over the pre-test rows (fold scores, best iterations, their median, seconds). The data a
 * study gets holds the pre-test rows only (ml/tune/data): the test slice is never in reach. */
import type { TrialParams } from './space.js';

/** The rows tuning may read: the pre-test rows of the volume dataset, in the dataset's order. */
export interface CvData {
  day: Int32Array;
  vma: Float64Array;
  acm: Float64Array;
  volume: Float64Array;
  /** The first test day (day number): every row above is dated before it. */
  cut: number;
}

export interface EvalRequest {
  params: TrialParams;
  /** Trees per fold at most. */
  budget: number;
  seed: number;
  threads: number;
  signal?: AbortSignal;
  /** The study row this evaluation is for (an evaluator that records the row itself, a queued trial's, needs it). */
  trial?: { study_id: string; number: number; rung: number };
}

export interface Evaluation {
  /** rmse_log per fold at the fold's best iteration. */
  fold_scores: number[];
  fold_iterations: number[];
  /** Each fold's trees kept by early stopping (the booster stopped at kept + patience, or at the budget). */
  fold_trees: number[];
  /** Mean of the fold scores. */
  score: number;
  /** Median of the folds' best iterations (the refit's number of trees). */
  best_iteration: number;
  seconds: number;
  /** True when the evaluator wrote the row itself (a queued trial's worker): the study does not write it again. */
  recorded?: boolean;
}

export type Evaluator = (req: EvalRequest) => Promise<Evaluation>;
